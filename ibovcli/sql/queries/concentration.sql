-- description: How concentrated an index is, per day: Herfindahl-Hirschman index (0-10000 scale) and top-5/top-10 weight.
-- example: --index IBOV
-- example: --from 2025-01-01 --to 2025-06-30 --format csv
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default first: no lower bound)
-- param to: date = latest | last session YYYY-MM-DD (default latest: no upper bound)
-- ibov resolves from and to before the query runs (first and latest become the index's first and last
-- stored day; a date stays as given), so dt is filtered with plain parameters.
-- hhi = sum of squared weights in percent = 10000 x the sum of squared weight shares (0-1); 10000 means
-- one stock, 10000/N means N equal weights. effective_members = 10000 / hhi, the number of equal
-- weights that would be as concentrated.
SELECT
    t.session_date,
    count(*) AS members,
    CAST(sum(t.weight_pct * t.weight_pct) AS DECIMAL(12, 3)) AS hhi,
    round(CAST(10000 AS DOUBLE) / CAST(sum(t.weight_pct * t.weight_pct) AS DOUBLE), 2) AS effective_members,
    CAST(sum(CASE WHEN t.weight_rank <= 5 THEN t.weight_pct ELSE 0 END) AS DECIMAL(9, 3)) AS top5_weight_pct,
    CAST(sum(CASE WHEN t.weight_rank <= 10 THEN t.weight_pct ELSE 0 END) AS DECIMAL(9, 3)) AS top10_weight_pct
FROM ${portfolio} AS t
WHERE t.index_code = :index
    AND t.dt >= :from
    AND t.dt <= :to
    AND t.month BETWEEN substr(:from, 1, 7) AND substr(:to, 1, 7)
GROUP BY t.session_date
ORDER BY t.session_date
