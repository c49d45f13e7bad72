-- description: An index's return per month or per year, from its official levels, with each period's best and worst day.
-- example: --index IBOV --by year
-- example: --index IBOV --by month --from 2024-01-01 --json
-- dataset: levels
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param by: choice(month,year) = month | month or year
-- param from: date = first | first session YYYY-MM-DD (default: the first stored)
-- param to: date = latest | last session YYYY-MM-DD (default: the latest stored)
-- A period's return runs from the close before its first session (start_level) to its last close
-- (end_level); the first stored period starts at its first close. Sessions before 1997-03-03 (not on
-- today's scale) are left out.
WITH sessions AS (
    SELECT
        CASE
            WHEN :by = 'year' THEN CAST(l.year AS VARCHAR)
            ELSE substr(CAST(l.session_date AS VARCHAR), 1, 7)
        END AS period,
        l.session_date,
        l.level,
        coalesce(l.previous_level, l.level) AS previous_level,
        l.change_pct
    FROM ${levels} AS l
    WHERE l.index_code = :index
        AND l.current_scale
        AND l.year BETWEEN year(CAST(:from AS DATE)) AND year(CAST(:to AS DATE))
        AND l.session_date BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
)
SELECT
    period,
    min(session_date) AS first_session,
    max(session_date) AS last_session,
    count(*) AS sessions,
    min_by(previous_level, session_date) AS start_level,
    max_by(level, session_date) AS end_level,
    round(
        (CAST(max_by(level, session_date) AS DOUBLE) / CAST(min_by(previous_level, session_date) AS DOUBLE) - 1)
        * 100,
        4
    ) AS return_pct,
    max_by(session_date, change_pct) AS best_day,
    round(max(change_pct), 4) AS best_day_pct,
    min_by(session_date, change_pct) AS worst_day,
    round(min(change_pct), 4) AS worst_day_pct
FROM sessions
GROUP BY period
ORDER BY period
