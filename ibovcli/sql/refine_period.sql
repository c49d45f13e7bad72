-- The refinement of one index's 4-month portfolios (theoretical or preview): raw -> refined, every
-- stored period and every collection at once. The ONE definition, run by DuckDB locally
-- (ibovcli/engines/local.py) and by Spark SQL in the Glue job (glue_scripts/refine_job.py), for both
-- datasets. Input: a view named raw_rows holding every raw row of the index.
--
-- Every collection is kept (one raw file = one collection; raw rows = refined rows). Within a period:
--   collection          1, 2, ... in collection order (collected_on, then collected_at, then sha256)
--   latest              the period's last collection
--   version             1, then + 1 each time the content (content_sha256: tickers, weights and
--                       quantities, whatever the file format) differs from the previous collection
--   first_of_version    the first collection of its version
--   version_first_seen / version_last_seen   the collected_on span of the version
WITH files AS (
    SELECT DISTINCT
        index_code,
        period,
        collected_on,
        collected_at,
        source_sha256,
        content_sha256
    FROM raw_rows
),
ordered AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY index_code, period ORDER BY collected_on, collected_at, source_sha256
        ) AS collection,
        lag(content_sha256) OVER (
            PARTITION BY index_code, period ORDER BY collected_on, collected_at, source_sha256
        ) AS previous_content,
        count(*) OVER (PARTITION BY index_code, period) AS collections
    FROM files
),
changes AS (
    SELECT
        *,
        CASE WHEN previous_content IS NULL OR previous_content <> content_sha256 THEN 1 ELSE 0 END AS changed
    FROM ordered
),
versioned AS (
    SELECT
        *,
        sum(changed) OVER (
            PARTITION BY index_code, period ORDER BY collection ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS version
    FROM changes
),
spans AS (
    SELECT
        *,
        min(collected_on) OVER (PARTITION BY index_code, period, version) AS version_first_seen,
        max(collected_on) OVER (PARTITION BY index_code, period, version) AS version_last_seen
    FROM versioned
),
rows_ AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.index_code, r.period, r.collected_on, r.collected_at, r.source_sha256
            ORDER BY r.part DESC, r.cod
        ) AS weight_rank,
        count(*) OVER (
            PARTITION BY r.index_code, r.period, r.collected_on, r.collected_at, r.source_sha256
        ) AS members,
        sum(r.part) OVER (
            PARTITION BY r.index_code, r.period, r.collected_on, r.collected_at, r.source_sha256
        ) AS weights_sum
    FROM raw_rows AS r
)
SELECT
    CAST(r.period_year AS INT) AS period_year,
    CAST(r.period_first_month AS INT) AS period_first_month,
    CAST(r.period_last_month AS INT) AS period_last_month,
    CAST(r.rebalance_date AS DATE) AS rebalance_date,
    CAST(r.cod AS STRING) AS ticker,
    CAST(r.asset AS STRING) AS company,
    CAST(r.type AS STRING) AS type,
    CAST(r.part AS DECIMAL(7, 3)) AS weight_pct,
    CAST(r.theoricalQty AS BIGINT) AS theoretical_qty,
    CAST(r.cont AS INT) AS company_rank,
    CAST(r.weight_rank AS INT) AS weight_rank,
    CAST(r.members AS INT) AS members,
    CAST(r.weights_sum AS DECIMAL(9, 3)) AS weights_sum_pct,
    CAST(r.total_theoricalQty AS BIGINT) AS index_theoretical_qty,
    CAST(r.reductor AS DECIMAL(20, 8)) AS reductor,
    CAST(r.collected_on AS DATE) AS collected_on,
    r.collected_at AS collected_at,
    CAST(s.collection AS INT) AS collection,
    CAST(s.collections AS INT) AS collections,
    CAST(s.collection = s.collections AS BOOLEAN) AS latest,
    CAST(s.version AS INT) AS version,
    CAST(s.changed = 1 AS BOOLEAN) AS first_of_version,
    CAST(s.version_first_seen AS DATE) AS version_first_seen,
    CAST(s.version_last_seen AS DATE) AS version_last_seen,
    CAST(r.content_sha256 AS STRING) AS content_sha256,
    CAST(r.source_format AS STRING) AS source_format,
    CAST(r.source_sha256 AS STRING) AS source_sha256,
    CAST(r.index_code AS STRING) AS index_code,
    CAST(r.period AS STRING) AS period
FROM rows_ AS r
JOIN spans AS s
    ON s.index_code = r.index_code
    AND s.period = r.period
    AND s.collected_on = r.collected_on
    AND s.collected_at = r.collected_at
    AND s.source_sha256 = r.source_sha256
