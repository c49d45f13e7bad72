-- description: How concentrated an index is, per day: Herfindahl-Hirschman index (0-10000 scale) and top-5/top-10 weight.
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default first: no lower bound)
-- param to: date = latest | last session YYYY-MM-DD (default latest: no upper bound)
-- hhi = sum of squared weights in percent = 10000 x the sum of squared weight shares (0-1); 10000 means
-- one stock, 10000/N means N equal weights. effective_members = 10000 / hhi, the number of equal
-- weights that would be as concentrated.
WITH bounds AS (
    SELECT
        coalesce(nullif(:from, ''), max(d.dt)) AS from_dt,
        coalesce(nullif(:to, ''), max(d.dt)) AS to_dt
    FROM ${table} AS d
    WHERE d.index_code = :index
)
SELECT
    t.session_date,
    count(*) AS members,
    CAST(sum(t.weight_pct * t.weight_pct) AS DECIMAL(12, 3)) AS hhi,
    round(CAST(10000 AS DOUBLE) / CAST(sum(t.weight_pct * t.weight_pct) AS DOUBLE), 2) AS effective_members,
    CAST(sum(CASE WHEN t.weight_rank <= 5 THEN t.weight_pct ELSE 0 END) AS DECIMAL(9, 3)) AS top5_weight_pct,
    CAST(sum(CASE WHEN t.weight_rank <= 10 THEN t.weight_pct ELSE 0 END) AS DECIMAL(9, 3)) AS top10_weight_pct
FROM ${table} AS t
CROSS JOIN bounds AS b
WHERE t.index_code = :index
    AND t.dt >= b.from_dt
    AND t.dt <= b.to_dt
GROUP BY t.session_date
ORDER BY t.session_date
