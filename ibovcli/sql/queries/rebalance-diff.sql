-- description: What changed in an index between two days: tickers that entered or left, and weight changes.
-- example: --from 2025-04-30 --to 2025-05-05
-- example: --index IBOV --from 2025-01-01
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date | the earlier day YYYY-MM-DD (or first, latest)
-- param to: date = latest | the later day YYYY-MM-DD, or latest
-- day from: on-or-before
-- day to: on-or-before
-- Each date is read as the portfolio in force on it: the last stored day on or before it. ibov resolves
-- that before the query runs, so from and to reach the SQL as stored days (from_date and to_date say
-- which days were compared), or as '' when nothing was stored by then: then there are no rows.
-- change is entered, left, changed or unchanged; delta_weight_pct = to_weight_pct - from_weight_pct,
-- a missing weight counting as 0.
WITH before AS (
    SELECT t.ticker, t.company, t.weight_pct
    FROM ${portfolio} AS t
    WHERE t.index_code = :index
        AND t.dt = :from
        AND t.month = substr(:from, 1, 7)
),
after AS (
    SELECT t.ticker, t.company, t.weight_pct
    FROM ${portfolio} AS t
    WHERE t.index_code = :index
        AND t.dt = :to
        AND t.month = substr(:to, 1, 7)
),
diff AS (
    SELECT
        CAST(nullif(:from, '') AS DATE) AS from_date,
        CAST(nullif(:to, '') AS DATE) AS to_date,
        coalesce(z.ticker, a.ticker) AS ticker,
        coalesce(z.company, a.company) AS company,
        CASE
            WHEN a.ticker IS NULL THEN 'entered'
            WHEN z.ticker IS NULL THEN 'left'
            WHEN z.weight_pct <> a.weight_pct THEN 'changed'
            ELSE 'unchanged'
        END AS change,
        a.weight_pct AS from_weight_pct,
        z.weight_pct AS to_weight_pct,
        coalesce(z.weight_pct, 0) - coalesce(a.weight_pct, 0) AS delta_weight_pct
    FROM before AS a
    FULL OUTER JOIN after AS z ON a.ticker = z.ticker
)
SELECT
    from_date,
    to_date,
    ticker,
    company,
    change,
    from_weight_pct,
    to_weight_pct,
    delta_weight_pct
FROM diff
WHERE from_date IS NOT NULL
    AND to_date IS NOT NULL
ORDER BY
    CASE change WHEN 'entered' THEN 1 WHEN 'left' THEN 2 WHEN 'changed' THEN 3 ELSE 4 END,
    abs(delta_weight_pct) DESC,
    ticker
