-- The refinement of one index's official levels: raw -> refined, every stored year at once (a year's
-- first change needs the previous year's last level). The ONE definition, run by DuckDB locally
-- (ibovcli/engines/local.py) and by Spark SQL in the Glue job (glue_scripts/refine_job.py).
-- Input: a view named raw_rows holding every raw row of the index (index_code, session_date, level, ...).
--
-- change_points and change_pct compare each session with the index's previous stored session;
-- ytd_change_pct compares it with the last stored level of the previous calendar year. Percentages are
-- computed in double precision (the same IEEE operations on both engines); levels stay exact decimals.
-- current_scale is false before 1997-03-03: B3 reports older IBOV values in the scale of their day,
-- before the last of the /10 rescalings, so a change across such a date is not a market move.
WITH ordered AS (
    SELECT
        index_code,
        session_date,
        level,
        lag(session_date) OVER (PARTITION BY index_code ORDER BY session_date) AS previous_session_date,
        lag(level) OVER (PARTITION BY index_code ORDER BY session_date) AS previous_level,
        year(session_date) AS y
    FROM raw_rows
),
year_ends AS (
    SELECT index_code, y + 1 AS next_y, max(session_date) AS last_date
    FROM ordered
    GROUP BY index_code, y
),
bases AS (
    SELECT e.index_code, e.next_y, o.level AS base_level
    FROM year_ends AS e
    JOIN ordered AS o
        ON o.index_code = e.index_code
        AND o.session_date = e.last_date
)
SELECT
    CAST(o.session_date AS DATE) AS session_date,
    CAST(o.level AS DECIMAL(18, 2)) AS level,
    CAST(o.previous_session_date AS DATE) AS previous_session_date,
    CAST(o.previous_level AS DECIMAL(18, 2)) AS previous_level,
    CAST(o.level - o.previous_level AS DECIMAL(18, 2)) AS change_points,
    CAST(CAST(o.level AS DOUBLE) / CAST(o.previous_level AS DOUBLE) * 100 - 100 AS DOUBLE) AS change_pct,
    CAST(b.base_level AS DECIMAL(18, 2)) AS year_base_level,
    CAST(CAST(o.level AS DOUBLE) / CAST(b.base_level AS DOUBLE) * 100 - 100 AS DOUBLE) AS ytd_change_pct,
    CAST(o.session_date >= DATE '1997-03-03' AS BOOLEAN) AS current_scale,
    CAST(o.index_code AS STRING) AS index_code,
    CAST(o.y AS INT) AS year
FROM ordered AS o
LEFT JOIN bases AS b
    ON b.index_code = o.index_code
    AND b.next_y = o.y
