-- description: What the next rebalance changes: the latest stored preview of an index against its daily portfolio.
-- example: --index IBOV
-- example: --index IBOV --date 2025-08-29
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = latest | the daily portfolio in force on this day YYYY-MM-DD, or latest
-- day date: on-or-before
-- The preview is the latest collection of the latest stored period (period, preview_collected_on);
-- the daily portfolio is the last stored day on or before --date (portfolio_date). change is entering
-- (in the preview only), leaving (in the portfolio only) or staying; delta_weight_pct =
-- preview_weight_pct - current_weight_pct, a missing weight counting as 0. n_entering, n_leaving and
-- n_staying count the rows of each change. No rows when either side is not stored.
WITH preview_rows AS (
    SELECT p.period, p.collected_on, p.ticker, p.company, p.weight_pct
    FROM ${preview} AS p
    WHERE p.index_code = :index
        AND p.latest
),
last_period AS (
    SELECT max(period) AS period FROM preview_rows
),
next_portfolio AS (
    SELECT r.period, r.collected_on, r.ticker, r.company, r.weight_pct
    FROM preview_rows AS r
    JOIN last_period AS l ON r.period = l.period
),
current_portfolio AS (
    SELECT t.ticker, t.company, t.weight_pct
    FROM ${portfolio} AS t
    WHERE t.index_code = :index
        AND t.dt = :date
        AND t.month = substr(:date, 1, 7)
),
meta AS (
    SELECT
        (SELECT max(period) FROM next_portfolio) AS period,
        (SELECT max(collected_on) FROM next_portfolio) AS preview_collected_on,
        (SELECT count(*) FROM current_portfolio) AS current_rows
),
diff AS (
    SELECT
        coalesce(n.ticker, c.ticker) AS ticker,
        coalesce(n.company, c.company) AS company,
        CASE
            WHEN c.ticker IS NULL THEN 'entering'
            WHEN n.ticker IS NULL THEN 'leaving'
            ELSE 'staying'
        END AS change,
        c.weight_pct AS current_weight_pct,
        n.weight_pct AS preview_weight_pct,
        coalesce(n.weight_pct, 0) - coalesce(c.weight_pct, 0) AS delta_weight_pct
    FROM current_portfolio AS c
    FULL OUTER JOIN next_portfolio AS n ON c.ticker = n.ticker
)
SELECT
    m.period,
    m.preview_collected_on,
    CAST(nullif(:date, '') AS DATE) AS portfolio_date,
    d.ticker,
    d.company,
    d.change,
    d.current_weight_pct,
    d.preview_weight_pct,
    d.delta_weight_pct,
    sum(CASE WHEN d.change = 'entering' THEN 1 ELSE 0 END) OVER () AS n_entering,
    sum(CASE WHEN d.change = 'leaving' THEN 1 ELSE 0 END) OVER () AS n_leaving,
    sum(CASE WHEN d.change = 'staying' THEN 1 ELSE 0 END) OVER () AS n_staying
FROM diff AS d
CROSS JOIN meta AS m
WHERE m.period IS NOT NULL
    AND m.current_rows > 0
ORDER BY
    CASE d.change WHEN 'entering' THEN 1 WHEN 'leaving' THEN 2 ELSE 3 END,
    abs(d.delta_weight_pct) DESC,
    d.ticker
