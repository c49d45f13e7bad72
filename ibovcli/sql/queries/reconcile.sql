-- description: Check stored portfolios against B3 quotes and official levels: the level each day and the weights from the previous closes.
-- example: --index IBOV --date 2024-11-08
-- example: --index IBOV --from 2024-01-01 --to 2024-12-31 --json
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = none | one stored portfolio day YYYY-MM-DD (default: every day from --from to --to)
-- param from: date = first | first portfolio day YYYY-MM-DD (default: the first stored)
-- param to: date = latest | last portfolio day YYYY-MM-DD (default: the latest stored)
-- One row per stored portfolio day D. computed_level = sum of D's closes x D's theoretical quantities
-- / D's reductor (B3's formula), against official_level (the stored official level of D):
-- level_diff_pct = (computed / official - 1) x 100. The weights: each constituent's close of the
-- previous session x D's quantity, as a share of their sum, against B3's weight_pct, over the
-- constituents without a corporate-event flag (weights_checked of them); max_weight_diff_pp is the
-- largest absolute difference and worst_weight_ticker its ticker. The previous session is the one
-- before D in the stored levels, else the latest stored quotes day in the 14 days before D. Missing
-- inputs leave the numbers null and are said in missing (no quotes for D or the previous session, no
-- level for D); nothing is guessed.
WITH members AS (
    SELECT
        t.session_date,
        t.ticker,
        t.corporate_event,
        t.weight_pct,
        t.theoretical_qty,
        t.reductor
    FROM ${portfolio} AS t
    WHERE t.index_code = :index
        AND ((:date = '' AND t.dt BETWEEN :from AND :to) OR t.dt = :date)
),
days AS (
    SELECT DISTINCT session_date FROM members
),
official AS (
    SELECT
        l.session_date,
        l.level,
        l.previous_session_date
    FROM ${levels} AS l
    WHERE l.index_code = :index
        AND l.session_date IN (SELECT session_date FROM days)
),
recent AS (
    SELECT
        q.session_date,
        q.ticker,
        q.close
    FROM ${quotes} AS q
    WHERE q.session_date BETWEEN (SELECT min(session_date) FROM days) - INTERVAL '14' DAY
        AND (SELECT max(session_date) FROM days)
),
quote_days AS (
    SELECT DISTINCT session_date FROM recent
),
previous AS (
    SELECT
        d.session_date,
        coalesce(max(o.previous_session_date), max(qd.session_date)) AS previous_session_date,
        max(o.level) AS official_level,
        count(o.session_date) AS has_level
    FROM days AS d
    LEFT JOIN quote_days AS qd
        ON qd.session_date < d.session_date
        AND qd.session_date >= d.session_date - INTERVAL '14' DAY
    LEFT JOIN official AS o ON o.session_date = d.session_date
    GROUP BY d.session_date
),
joined AS (
    SELECT
        m.session_date,
        p.previous_session_date,
        p.official_level,
        m.ticker,
        m.corporate_event,
        m.weight_pct,
        m.theoretical_qty,
        m.reductor,
        c.close,
        y.close AS previous_close,
        y.close * m.theoretical_qty AS previous_value
    FROM members AS m
    JOIN previous AS p ON p.session_date = m.session_date
    LEFT JOIN recent AS c
        ON c.session_date = m.session_date
        AND c.ticker = m.ticker
    LEFT JOIN recent AS y
        ON y.session_date = p.previous_session_date
        AND y.ticker = m.ticker
),
weighed AS (
    SELECT
        j.*,
        count(j.previous_close) OVER (PARTITION BY j.session_date) AS quoted_previous,
        count(*) OVER (PARTITION BY j.session_date) AS constituents,
        CAST(j.previous_value AS DOUBLE)
        / CAST(sum(j.previous_value) OVER (PARTITION BY j.session_date) AS DOUBLE)
        * 100 AS computed_weight_pct
    FROM joined AS j
),
per_day AS (
    SELECT
        session_date,
        max(previous_session_date) AS previous_session_date,
        max(official_level) AS official_level,
        count(*) AS constituents,
        count(close) AS quoted,
        max(quoted_previous) AS quoted_previous,
        min(CASE WHEN close IS NULL THEN ticker END) AS first_unquoted,
        min(CASE WHEN previous_close IS NULL THEN ticker END) AS first_unquoted_previous,
        sum(close * theoretical_qty) AS value,
        max(reductor) AS reductor,
        count(CASE WHEN corporate_event IS NULL THEN 1 END) AS unflagged,
        max(CASE WHEN corporate_event IS NULL THEN abs(computed_weight_pct - CAST(weight_pct AS DOUBLE)) END)
            AS max_diff,
        max_by(
            ticker, CASE WHEN corporate_event IS NULL THEN abs(computed_weight_pct - CAST(weight_pct AS DOUBLE)) END
        ) AS worst_ticker
    FROM weighed
    GROUP BY session_date
),
checked AS (
    SELECT
        d.*,
        CASE WHEN d.quoted = d.constituents THEN CAST(d.value AS DOUBLE) / CAST(d.reductor AS DOUBLE) END AS computed,
        d.quoted_previous = d.constituents AND d.previous_session_date IS NOT NULL AS weights_ok
    FROM per_day AS d
)
SELECT
    session_date,
    previous_session_date,
    constituents,
    official_level,
    round(computed, 2) AS computed_level,
    round((computed / CAST(official_level AS DOUBLE) - 1) * 100, 6) AS level_diff_pct,
    CASE WHEN weights_ok THEN unflagged ELSE 0 END AS weights_checked,
    round(CASE WHEN weights_ok THEN max_diff END, 6) AS max_weight_diff_pp,
    CASE WHEN weights_ok THEN worst_ticker END AS worst_weight_ticker,
    nullif(
        concat_ws(
            '; ',
            CASE WHEN official_level IS NULL THEN 'no official level stored for ' || CAST(session_date AS VARCHAR) END,
            CASE
                WHEN quoted = 0 THEN 'no quotes stored for ' || CAST(session_date AS VARCHAR)
                WHEN quoted < constituents
                    THEN 'no close on ' || CAST(session_date AS VARCHAR) || ' for '
                    || CAST(constituents - quoted AS VARCHAR) || ' constituents (' || first_unquoted || '...)'
            END,
            CASE
                WHEN previous_session_date IS NULL THEN 'no quotes stored for the previous session'
                WHEN quoted_previous = 0
                    THEN 'no quotes stored for the previous session ' || CAST(previous_session_date AS VARCHAR)
                WHEN quoted_previous < constituents
                    THEN 'no close on ' || CAST(previous_session_date AS VARCHAR) || ' for '
                    || CAST(constituents - quoted_previous AS VARCHAR) || ' constituents ('
                    || first_unquoted_previous || '...)'
            END
        ),
        ''
    ) AS missing
FROM checked
ORDER BY session_date
