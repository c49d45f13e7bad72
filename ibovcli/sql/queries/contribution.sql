-- description: What moved an index on a day: each constituent's weight, return and contribution.
-- example: --index IBOV --date 2024-11-08
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = latest | stored portfolio day YYYY-MM-DD, or latest
-- weight_pct is B3's weight at the open of D (from the previous closes); return_pct runs from the
-- previous session's close to D's; contribution_pct = weight_pct x return_pct / 100 (pp);
-- contribution_points = theoretical_qty x (close - previous_close) / reductor. The previous session
-- comes from the stored levels, else it is the latest quotes day in the 14 days before D. A missing
-- close leaves nulls and says so in missing. docs/quotes.md explains every column.
WITH members AS (
    SELECT t.session_date, t.ticker, t.company, t.corporate_event, t.weight_pct, t.theoretical_qty, t.reductor
    FROM ${portfolio} AS t
    WHERE t.index_code = :index AND t.dt = :date AND t.month = substr(:date, 1, 7)
),
official AS (
    SELECT l.previous_session_date, l.change_pct
    FROM ${levels} AS l
    WHERE l.index_code = :index AND l.year = year(CAST(:date AS DATE)) AND l.session_date = CAST(:date AS DATE)
),
recent AS (
    SELECT q.session_date, q.ticker, q.close
    FROM ${quotes} AS q
    WHERE q.session_date BETWEEN CAST(:date AS DATE) - INTERVAL '14' DAY AND CAST(:date AS DATE)
),
previous AS (
    SELECT coalesce(max(o.previous_session_date), max(r.session_date)) AS session_date
    FROM (SELECT max(session_date) AS session_date FROM recent WHERE session_date < CAST(:date AS DATE)) AS r
    LEFT JOIN official AS o ON TRUE
),
rows AS (
    SELECT
        m.session_date, p.session_date AS previous_session_date, m.ticker, m.company, m.corporate_event,
        m.weight_pct, y.close AS previous_close, d.close,
        CAST(d.close AS DOUBLE) / CAST(y.close AS DOUBLE) * 100 - 100 AS return_pct,
        CAST(m.weight_pct AS DOUBLE) * (CAST(d.close AS DOUBLE) / CAST(y.close AS DOUBLE) - 1) AS contribution,
        CAST(m.theoretical_qty * (d.close - y.close) AS DOUBLE) / CAST(m.reductor AS DOUBLE) AS points,
        CASE
            WHEN p.session_date IS NULL THEN 'no quotes stored for the previous session'
            WHEN y.close IS NULL THEN 'no close on ' || CAST(p.session_date AS VARCHAR)
            WHEN d.close IS NULL THEN 'no close on ' || CAST(m.session_date AS VARCHAR)
        END AS missing
    FROM members AS m
    CROSS JOIN previous AS p
    LEFT JOIN recent AS d ON d.session_date = m.session_date AND d.ticker = m.ticker
    LEFT JOIN recent AS y ON y.session_date = p.session_date AND y.ticker = m.ticker
)
SELECT
    r.session_date, r.previous_session_date, r.ticker, r.company, r.corporate_event, r.weight_pct,
    r.previous_close, r.close,
    round(r.return_pct, 4) AS return_pct, round(r.contribution, 4) AS contribution_pct,
    round(r.points, 2) AS contribution_points, round(r.total, 4) AS total_contribution_pct,
    round(o.change_pct, 4) AS official_return_pct, round(o.change_pct - r.total, 4) AS residual_pp, r.missing
FROM (
    SELECT x.*, CASE WHEN count(x.contribution) OVER () = count(*) OVER () THEN sum(x.contribution) OVER () END AS total
    FROM rows AS x
) AS r
LEFT JOIN official AS o ON TRUE
ORDER BY abs(r.contribution) DESC NULLS LAST, r.ticker
