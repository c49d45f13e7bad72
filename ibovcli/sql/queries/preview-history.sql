-- description: How a ticker's weight moved across the stored previews of each period, one row per preview version.
-- dataset: preview
-- example: --index IBOV --ticker PETR4
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param ticker: ticker | B3 ticker, e.g. PETR4
-- A version is a distinct content of the period's preview (a new one each time a collection differs
-- from the previous one); first_seen and last_seen are the days it was collected, collections how many
-- collections it covers, members its constituents. in_preview says whether the ticker is in it;
-- weight_pct is its weight there (null when out); delta_weight_pct is the change from the period's
-- previous version (null on the first, a missing weight counting as 0). Periods in whose previews
-- the ticker never appears are left out.
WITH versions AS (
    SELECT
        p.period,
        p.version,
        min(p.version_first_seen) AS first_seen,
        max(p.version_last_seen) AS last_seen,
        count(DISTINCT p.collection) AS collections,
        max(p.members) AS members
    FROM ${preview} AS p
    WHERE p.index_code = :index
    GROUP BY p.period, p.version
),
held AS (
    SELECT p.period, p.version, max(p.weight_pct) AS weight_pct
    FROM ${preview} AS p
    WHERE p.index_code = :index
        AND p.ticker = :ticker
        AND p.first_of_version
    GROUP BY p.period, p.version
),
joined AS (
    SELECT
        v.period,
        v.version,
        v.first_seen,
        v.last_seen,
        v.collections,
        v.members,
        h.weight_pct IS NOT NULL AS in_preview,
        h.weight_pct
    FROM versions AS v
    LEFT JOIN held AS h ON h.period = v.period AND h.version = v.version
    WHERE v.period IN (SELECT period FROM held)
)
SELECT
    period,
    version,
    first_seen,
    last_seen,
    collections,
    members,
    in_preview,
    weight_pct,
    CASE
        WHEN version = 1 THEN NULL
        ELSE coalesce(weight_pct, 0) - coalesce(lag(weight_pct) OVER (PARTITION BY period ORDER BY version), 0)
    END AS delta_weight_pct
FROM joined
ORDER BY period, version
