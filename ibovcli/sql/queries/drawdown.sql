-- description: An index's deepest falls from a peak, with the dates of the peak, the trough and the recovery.
-- example: --index IBOV --limit 5
-- example: --index IBOV --from 2020-01-01 --json
-- dataset: levels
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date = first | first session YYYY-MM-DD (default: the first stored)
-- param to: date = latest | last session YYYY-MM-DD (default: the latest stored)
-- param limit: int = 10 | number of falls
-- A fall starts at a closing high (peak) and lasts until the index closes at or above it again
-- (recovery, empty while it has not); drawdown_pct is the trough against the peak. Sessions before
-- 1997-03-03 (not on today's scale) are left out.
WITH sessions AS (
    SELECT l.session_date, l.level
    FROM ${levels} AS l
    WHERE l.index_code = :index
        AND l.current_scale
        AND l.year BETWEEN year(CAST(:from AS DATE)) AND year(CAST(:to AS DATE))
        AND l.session_date BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
),
running AS (
    SELECT
        session_date,
        level,
        max(level) OVER (ORDER BY session_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS peak_level
    FROM sessions
),
marked AS (
    SELECT
        session_date,
        level,
        peak_level,
        max(CASE WHEN level = peak_level THEN session_date END)
            OVER (ORDER BY session_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS peak_date
    FROM running
),
episodes AS (
    SELECT
        peak_date,
        max(peak_level) AS peak_level,
        min(level) AS trough_level,
        min_by(session_date, level) AS trough_date
    FROM marked
    GROUP BY peak_date
),
falls AS (
    SELECT
        peak_date,
        peak_level,
        trough_date,
        trough_level,
        lead(peak_date) OVER (ORDER BY peak_date) AS recovery_date
    FROM episodes
),
ranked AS (
    SELECT
        peak_date,
        peak_level,
        trough_date,
        trough_level,
        round((CAST(trough_level AS DOUBLE) / CAST(peak_level AS DOUBLE) - 1) * 100, 4) AS drawdown_pct,
        recovery_date,
        row_number() OVER (ORDER BY CAST(trough_level AS DOUBLE) / CAST(peak_level AS DOUBLE), peak_date) AS rank
    FROM falls
    WHERE trough_level < peak_level
)
SELECT
    rank,
    peak_date,
    peak_level,
    trough_date,
    trough_level,
    drawdown_pct,
    recovery_date,
    date_diff('day', peak_date, trough_date) AS days_to_trough,
    date_diff('day', trough_date, recovery_date) AS days_to_recovery
FROM ranked
WHERE rank <= :limit
ORDER BY rank
