-- description: What changed in an index between two days: tickers that entered or left, and weight changes.
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param from: date | the earlier day YYYY-MM-DD (or first, latest)
-- param to: date = latest | the later day YYYY-MM-DD, or latest
-- Each date is read as the portfolio in force on it: the last stored day on or before it (from_date
-- and to_date say which days were compared; no rows when nothing was stored by then).
-- change is entered, left, changed or unchanged; delta_weight_pct = to_weight_pct - from_weight_pct,
-- a missing weight counting as 0.
WITH bounds AS (
    SELECT
        CASE
            WHEN :from = '' THEN max(d.dt)
            WHEN :from = '0000-00-00' THEN min(d.dt)
            ELSE max(CASE WHEN d.dt <= :from THEN d.dt END)
        END AS from_dt,
        CASE
            WHEN :to = '' THEN max(d.dt)
            WHEN :to = '0000-00-00' THEN min(d.dt)
            ELSE max(CASE WHEN d.dt <= :to THEN d.dt END)
        END AS to_dt
    FROM ${table} AS d
    WHERE d.index_code = :index
),
before AS (
    SELECT t.session_date, t.ticker, t.company, t.weight_pct
    FROM ${table} AS t
    JOIN bounds AS b ON t.dt = b.from_dt
    WHERE t.index_code = :index
),
after AS (
    SELECT t.session_date, t.ticker, t.company, t.weight_pct
    FROM ${table} AS t
    JOIN bounds AS b ON t.dt = b.to_dt
    WHERE t.index_code = :index
),
diff AS (
    SELECT
        CAST(b.from_dt AS DATE) AS from_date,
        CAST(b.to_dt AS DATE) AS to_date,
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
    CROSS JOIN bounds AS b
    WHERE b.from_dt IS NOT NULL
        AND b.to_dt IS NOT NULL
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
ORDER BY
    CASE change WHEN 'entered' THEN 1 WHEN 'left' THEN 2 WHEN 'changed' THEN 3 ELSE 4 END,
    abs(delta_weight_pct) DESC,
    ticker
