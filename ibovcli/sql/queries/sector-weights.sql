-- description: Each sector's weight and member count in an index on a day (default: the index's latest day), largest first.
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = latest | session date YYYY-MM-DD, or latest
-- sector_weight_pct is the sum of the members' weight_pct; largest_ticker is the sector's heaviest member.
-- Constituents without a sector (a source that carries none) are grouped as '(no sector)'.
SELECT
    t.session_date,
    coalesce(t.sector, '(no sector)') AS sector,
    t.sector_members,
    t.sector_weight_pct,
    min_by(t.ticker, t.weight_rank) AS largest_ticker,
    max(t.weight_pct) AS largest_weight_pct
FROM ${table} AS t
WHERE t.index_code = :index
    AND t.dt = (
        SELECT coalesce(nullif(:date, ''), max(d.dt))
        FROM ${table} AS d
        WHERE d.index_code = :index
    )
GROUP BY t.session_date, t.sector, t.sector_members, t.sector_weight_pct
ORDER BY t.sector_weight_pct DESC, coalesce(t.sector, '(no sector)')
