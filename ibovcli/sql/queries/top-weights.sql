-- description: The largest weights of an index on a day (default: the index's latest day).
-- example: --index IBOV --limit 5
-- example: --date 2025-07-10 --json
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = latest | session date YYYY-MM-DD, or latest
-- param limit: int = 10 | number of rows
-- ibov resolves date before the query runs (latest and first become the index's last and first stored
-- day; a day without data matches no row), so dt is filtered with a plain parameter and read for that
-- one day only.
SELECT
    t.session_date,
    t.weight_rank,
    t.ticker,
    t.company,
    t.sector,
    t.weight_pct
FROM ${portfolio} AS t
WHERE t.index_code = :index
    AND t.dt = :date
    AND t.month = substr(:date, 1, 7)
    AND t.weight_rank <= :limit
ORDER BY t.weight_pct DESC, t.ticker
