-- description: DERIVED weights between stored portfolios (quantities at newer closes), never B3's.
-- example: --index IBOV --date 2024-11-12
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date | session YYYY-MM-DD to derive the weights at the open of
-- derived_weight_pct is never B3's: weight_source says 'derived' (or 'b3' when a portfolio is stored
-- for the date: then only b3_weight_pct, B3's own, is given). Quantities come from the last stored
-- portfolio on or before the date (base_portfolio_date, within 130 days; b3_weight_pct is its weight);
-- prices are the closes of the latest quotes session before the date (prices_date), as B3 weighs a
-- day. A missing close leaves every derived weight of the day null. docs/quotes.md.
WITH base AS (
    SELECT max(t.dt) AS dt
    FROM ${portfolio} AS t
    WHERE t.index_code = :index AND t.dt <= :date AND t.month <= substr(:date, 1, 7)
        AND t.dt >= CAST(CAST(CAST(:date AS DATE) - INTERVAL '130' DAY AS DATE) AS VARCHAR)
),
members AS (
    SELECT t.session_date, t.ticker, t.company, t.corporate_event, t.weight_pct, t.theoretical_qty
    FROM ${portfolio} AS t
    JOIN base AS b ON t.dt = b.dt
    WHERE t.index_code = :index
),
prices AS (
    SELECT q.session_date, q.ticker, q.close
    FROM ${quotes} AS q
    WHERE q.session_date BETWEEN CAST(:date AS DATE) - INTERVAL '14' DAY AND CAST(:date AS DATE) - INTERVAL '1' DAY
),
day AS (SELECT max(session_date) AS session_date FROM prices),
valued AS (
    SELECT m.*, d.session_date AS prices_date, p.close, p.close * m.theoretical_qty AS value
    FROM members AS m
    CROSS JOIN day AS d
    LEFT JOIN prices AS p ON p.session_date = d.session_date AND p.ticker = m.ticker
)
SELECT
    CAST(:date AS DATE) AS session_date,
    CASE WHEN CAST(v.session_date AS VARCHAR) = :date THEN 'b3' ELSE 'derived' END AS weight_source,
    v.session_date AS base_portfolio_date, v.prices_date, v.ticker, v.company, v.corporate_event,
    v.weight_pct AS b3_weight_pct, v.close AS price,
    CASE WHEN CAST(v.session_date AS VARCHAR) <> :date AND count(v.value) OVER () = count(*) OVER () THEN round(
        CAST(v.value AS DOUBLE) / CAST(sum(v.value) OVER () AS DOUBLE) * 100, 4
    ) END AS derived_weight_pct
FROM valued AS v
ORDER BY coalesce(derived_weight_pct, CAST(v.weight_pct AS DOUBLE)) DESC, v.ticker
