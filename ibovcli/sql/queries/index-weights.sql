-- description: Every constituent's weight on each stored day of an index (or on every Nth day), for sparklines and exports.
-- example: --index IBOV --from 2025-01-01
-- example: --index IBOV --every 5 --json
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default first: no lower bound)
-- param to: date = latest | last session YYYY-MM-DD (default latest: no upper bound)
-- param every: int = 1 | keep every Nth stored day, counted back from --to (which is always kept)
-- ibov resolves from and to before the query runs (first and latest become the index's first and last
-- stored day; a date stays as given), so dt is filtered with plain parameters. days_back is 0 on the
-- last stored day of the range, 1 on the one before, and so on; a day is kept when days_back is a
-- multiple of --every.
WITH days AS (
    SELECT
        d.dt,
        row_number() OVER (ORDER BY d.dt DESC) - 1 AS days_back
    FROM (
        SELECT DISTINCT t.dt
        FROM ${portfolio} AS t
        WHERE t.index_code = :index
            AND t.dt >= :from
            AND t.dt <= :to
            AND t.month BETWEEN substr(:from, 1, 7) AND substr(:to, 1, 7)
    ) AS d
)
SELECT
    t.session_date,
    d.days_back,
    t.ticker,
    t.company,
    t.sector,
    t.weight_rank,
    t.weight_pct
FROM ${portfolio} AS t
JOIN days AS d ON t.dt = d.dt
WHERE t.index_code = :index
    AND t.dt >= :from
    AND t.dt <= :to
    AND t.month BETWEEN substr(:from, 1, 7) AND substr(:to, 1, 7)
    AND d.days_back % :every = 0
ORDER BY t.ticker, t.session_date
