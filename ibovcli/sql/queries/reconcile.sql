-- description: Stored portfolios against B3's quotes: the official level and B3's weights, per day.
-- example: --index IBOV --date 2024-11-08
-- example: --index IBOV --from 2024-01-01 --to 2024-12-31 --json
-- param index: index = IBOV | B3 index code, e.g. IBOV
-- param date: date = none | one stored portfolio day YYYY-MM-DD (default: every day from --from to --to)
-- param from: date = first | first portfolio day YYYY-MM-DD (default: the first stored)
-- param to: date = latest | last portfolio day YYYY-MM-DD (default: the latest stored)
-- Per stored portfolio day D: computed_level = sum(D's closes x quantities) / reductor against B3's
-- official_level; B3's weights against the previous closes x D's quantities, over the constituents
-- without a corporate-event flag (weights_checked). Missing inputs leave nulls and are said in missing,
-- never guessed. docs/quotes.md explains every column and the tolerances.
WITH members AS (
    SELECT t.session_date, t.ticker, t.corporate_event, t.weight_pct, t.theoretical_qty, t.reductor
    FROM ${portfolio} AS t
    WHERE t.index_code = :index AND ((:date = '' AND t.dt BETWEEN :from AND :to) OR t.dt = :date)
        AND t.month BETWEEN substr(coalesce(nullif(:date, ''), :from), 1, 7)
            AND substr(coalesce(nullif(:date, ''), :to), 1, 7)
),
days AS (SELECT DISTINCT session_date FROM members),
bounds AS (
    SELECT
        CAST(CASE WHEN :date = '' THEN :from ELSE :date END AS DATE) AS first_day,
        CAST(CASE WHEN :date = '' THEN :to ELSE :date END AS DATE) AS last_day
),
official AS (
    SELECT l.session_date, l.level, l.previous_session_date
    FROM ${levels} AS l, bounds AS b
    WHERE l.index_code = :index AND l.session_date BETWEEN b.first_day AND b.last_day
),
recent AS (
    SELECT q.session_date, q.ticker, q.close
    FROM ${quotes} AS q, bounds AS b
    WHERE q.session_date BETWEEN b.first_day - INTERVAL '14' DAY AND b.last_day
),
previous AS (
    SELECT d.session_date, max(o.level) AS official_level,
        coalesce(max(o.previous_session_date), max(r.session_date)) AS previous_session_date
    FROM days AS d
    LEFT JOIN (SELECT DISTINCT session_date FROM recent) AS r
        ON r.session_date < d.session_date AND r.session_date >= d.session_date - INTERVAL '14' DAY
    LEFT JOIN official AS o ON o.session_date = d.session_date
    GROUP BY d.session_date
),
joined AS (
    SELECT
        m.*, p.previous_session_date, p.official_level, c.close, y.close AS previous_close,
        y.close * m.theoretical_qty AS previous_value
    FROM members AS m
    JOIN previous AS p ON p.session_date = m.session_date
    LEFT JOIN recent AS c ON c.session_date = m.session_date AND c.ticker = m.ticker
    LEFT JOIN recent AS y ON y.session_date = p.previous_session_date AND y.ticker = m.ticker
),
diffs AS (
    SELECT
        j.*,
        CASE WHEN j.corporate_event IS NULL THEN abs(
            CAST(j.previous_value AS DOUBLE) / CAST(sum(j.previous_value) OVER (PARTITION BY j.session_date) AS DOUBLE)
            * 100 - CAST(j.weight_pct AS DOUBLE)
        ) END AS diff
    FROM joined AS j
),
per_day AS (
    SELECT
        session_date, max(previous_session_date) AS previous_session_date, max(official_level) AS official_level,
        count(*) AS constituents, count(close) AS quoted, count(previous_close) AS quoted_previous,
        sum(close * theoretical_qty) AS value, max(reductor) AS reductor,
        count(CASE WHEN corporate_event IS NULL THEN 1 END) AS unflagged,
        max(diff) AS max_diff, max_by(ticker, diff) AS worst_ticker
    FROM diffs
    GROUP BY session_date
),
checked AS (
    SELECT d.*,
        CASE WHEN quoted = constituents THEN CAST(value AS DOUBLE) / CAST(reductor AS DOUBLE) END AS computed,
        quoted_previous = constituents AND previous_session_date IS NOT NULL AS weights_ok,
        CAST(session_date AS VARCHAR) AS d, CAST(previous_session_date AS VARCHAR) AS p
    FROM per_day AS d
)
SELECT
    session_date, previous_session_date, constituents, official_level, round(computed, 2) AS computed_level,
    round((computed / CAST(official_level AS DOUBLE) - 1) * 100, 6) AS level_diff_pct,
    CASE WHEN weights_ok THEN unflagged ELSE 0 END AS weights_checked,
    round(CASE WHEN weights_ok THEN max_diff END, 6) AS max_weight_diff_pp,
    CASE WHEN weights_ok THEN worst_ticker END AS worst_weight_ticker,
    nullif(concat_ws(
        '; ',
        CASE WHEN official_level IS NULL THEN 'no official level stored for ' || d END,
        CASE
            WHEN quoted = 0 THEN 'no quotes stored for ' || d
            WHEN quoted < constituents THEN 'no close on ' || d || ' for ' || CAST(constituents - quoted AS VARCHAR)
        END,
        CASE
            WHEN p IS NULL THEN 'no quotes stored for the previous session'
            WHEN quoted_previous = 0 THEN 'no quotes stored for the previous session ' || p
            WHEN quoted_previous < constituents
                THEN 'no close on ' || p || ' for ' || CAST(constituents - quoted_previous AS VARCHAR)
        END
    ), '') AS missing
FROM checked
ORDER BY session_date
