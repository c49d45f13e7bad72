-- description: A ticker's weight in an index over time, with the change since the previous stored day it was a member.
-- example: --ticker PETR4
-- example: --ticker VALE3 --index IBXX --from 2025-01-01 --json
-- param ticker: ticker | ticker, e.g. PETR4
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default first: no lower bound)
-- param to: date = latest | last session YYYY-MM-DD (default latest: no upper bound)
-- ibov resolves from and to before the query runs (first and latest become the index's first and last
-- stored day; a date stays as given), so dt and ticker are filtered with plain parameters: the query
-- reads the ticker's partitions up to --to, never the other tickers' and never a day after --to.
-- delta_weight_pct compares with previous_date, the ticker's previous stored day in this index, even
-- when that day is before --from; it is empty on the ticker's first stored day.
WITH history AS (
    SELECT
        t.dt,
        t.session_date,
        t.ticker,
        t.company,
        t.weight_rank,
        t.index_members,
        t.weight_pct,
        lag(t.session_date) OVER (ORDER BY t.dt) AS previous_date,
        lag(t.weight_pct) OVER (ORDER BY t.dt) AS previous_weight_pct
    FROM ${portfolio} AS t
    WHERE t.index_code = :index
        AND t.ticker = :ticker
        AND t.dt <= :to
        AND t.month <= substr(:to, 1, 7)
)
SELECT
    h.session_date,
    h.ticker,
    h.company,
    h.weight_rank,
    h.index_members,
    h.weight_pct,
    h.previous_date,
    h.weight_pct - h.previous_weight_pct AS delta_weight_pct
FROM history AS h
WHERE h.dt >= :from
ORDER BY h.dt
