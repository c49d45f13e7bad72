-- description: Each sector's weight and member count in an index on a day (default: the index's latest day), largest first.
-- example: --index IBOV
-- example: --index SMLL --date 2025-07-10 --format csv
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = latest | session date YYYY-MM-DD, or latest
-- ibov resolves date before the query runs (latest and first become the index's last and first stored
-- day; a day without data matches no row), so dt is filtered with a plain parameter.
-- sector_weight_pct is the sum of the members' weight_pct; largest_ticker is the sector's heaviest member.
-- Constituents without a sector (a source that carries none) are grouped as '(no sector)'.
SELECT
    t.session_date,
    coalesce(t.sector, '(no sector)') AS sector,
    t.sector_members,
    t.sector_weight_pct,
    min_by(t.ticker, t.weight_rank) AS largest_ticker,
    max(t.weight_pct) AS largest_weight_pct
FROM ${portfolio} AS t
WHERE t.index_code = :index
    AND t.dt = :date
    AND t.month = substr(:date, 1, 7)
GROUP BY t.session_date, t.sector, t.sector_members, t.sector_weight_pct
ORDER BY t.sector_weight_pct DESC, coalesce(t.sector, '(no sector)')
