-- description: An index's official closing levels between two dates, with the daily and year-to-date changes.
-- example: --index IBOV --from 2024-01-01
-- example: --index SMLL --from 2022-01-01 --to 2022-12-31 --format csv
-- dataset: levels
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default: the first stored)
-- param to: date = latest | last session YYYY-MM-DD (default: the latest stored)
-- The year partition is filtered first, so a range reads only its years. change_pct compares each
-- session with the index's previous stored session; ytd_change_pct with the previous year's last level.
-- current_scale is false before 1997-03-03 (IBOV values then are in the scale of their day).
SELECT
    l.session_date,
    l.level,
    l.change_points,
    round(l.change_pct, 4) AS change_pct,
    round(l.ytd_change_pct, 4) AS ytd_change_pct,
    l.current_scale
FROM ${levels} AS l
WHERE l.index_code = :index
    AND l.year BETWEEN year(CAST(:from AS DATE)) AND year(CAST(:to AS DATE))
    AND l.session_date BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
ORDER BY l.session_date
