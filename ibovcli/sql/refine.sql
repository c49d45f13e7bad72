-- The refinement of one trading day: raw -> refined. The ONE definition of the transformations,
-- run by DuckDB locally (ibovcli/engines/local.py) and by Spark SQL in the Glue job (glue_scripts/refine_job.py).
-- Input: a view named raw_rows holding every raw row of the day (all indices), or of several days: every
-- grouping, join and window is per session, so refining days together gives each day the rows it gets
-- alone (tests/test_refine_batch.py).
-- Written in the subset of SQL both engines accept; the only shim is unix_date(d) (days since
-- 1970-01-01), built into Spark and defined as a macro on DuckDB.
--
-- R5 A (aggregation): sector_weight_pct = SUM(part) and sector_members = COUNT(*) per index, day and
--       sector, joined back to each row; index_members = COUNT(*) per index and day.
-- R5 B (renames, none of them a grouping column): asset -> company, part -> weight_pct,
--       theoricalQty -> theoretical_qty.
-- R5 C (dates): next_rebalance_date = the first Monday of the next January/May/September after the
--       session; days_to_rebalance and weekdays_to_rebalance count the days until then.
-- Sectors (ibovcli/sectors.py): the row's own B3 segment text, else the same ticker's in another index's
--       answer of the day, else the shipped table (sector_table), else the same issuer's (another share
--       class); then mapped to B3's eleven sectors.
WITH sector_table AS (
    ${sector_table}
),
same_day AS (
    SELECT session_date, cod AS ticker, max(segment) AS segment
    FROM raw_rows
    WHERE segment IS NOT NULL AND trim(segment) <> ''
    GROUP BY session_date, cod
),
sessions AS (
    SELECT DISTINCT session_date FROM raw_rows
),
-- B3 classifies issuers, not share classes: another ticker of the same issuer (its first four letters)
same_issuer AS (
    SELECT session_date, substr(ticker, 1, 4) AS issuer, max(segment) AS segment
    FROM (
        SELECT session_date, ticker, segment FROM same_day
        UNION ALL
        SELECT s.session_date, t.ticker, t.segment FROM sessions AS s CROSS JOIN sector_table AS t
    ) AS known
    GROUP BY session_date, substr(ticker, 1, 4)
),
segmented AS (
    SELECT
        r.*,
        coalesce(nullif(trim(r.segment), ''), d.segment, t.segment, i.segment) AS segment_text
    FROM raw_rows AS r
    LEFT JOIN same_day AS d ON d.session_date = r.session_date AND d.ticker = r.cod
    LEFT JOIN sector_table AS t ON t.ticker = r.cod
    LEFT JOIN same_issuer AS i ON i.session_date = r.session_date AND i.issuer = substr(r.cod, 1, 4)
),
split AS (
    SELECT
        *,
        trim(replace(replace(split_part(segment_text, '/', 1), '  ', ' '), '  ', ' ')) AS head,
        nullif(trim(replace(replace(split_part(segment_text, '/', 2), '  ', ' '), '  ', ' ')), '') AS tail
    FROM segmented
),
base AS (
    SELECT
        index_code,
        session_date,
        cod,
        asset,
        type,
        part,
        theoricalQty,
        total_theoricalQty,
        reductor,
        head AS sector_raw,
        CASE
            WHEN tail IS NOT NULL THEN tail
            -- B3 sometimes sends only the subsector: keep it as the subsector
            WHEN head LIKE 'Petr%' OR head LIKE 'Outros%' OR head = '' THEN NULL
            ELSE head
        END AS subsector,
        year(session_date) AS y
    FROM split
),
labelled AS (
    SELECT
        *,
        CASE
            WHEN sector_raw IS NULL OR sector_raw = '' THEN NULL
            -- B3's sector names, abbreviated as B3 abbreviates them
            WHEN sector_raw LIKE 'Bens Ind%' THEN 'Bens Industriais'
            WHEN sector_raw LIKE 'Cons N%' OR sector_raw LIKE 'Consumo N%' THEN 'Consumo não Cíclico'
            WHEN sector_raw LIKE 'Consumo C%' OR sector_raw LIKE 'Cons C%' THEN 'Consumo Cíclico'
            WHEN sector_raw LIKE 'Financ%' THEN 'Financeiro'
            WHEN sector_raw LIKE 'Mats B%' OR sector_raw LIKE 'Materiais B%' THEN 'Materiais Básicos'
            WHEN sector_raw LIKE 'Petr%' THEN 'Petróleo, Gás e Biocombustíveis'
            WHEN sector_raw LIKE 'Sa_de%' THEN 'Saúde'
            WHEN sector_raw LIKE 'Tec.%' OR sector_raw LIKE 'Tec Inf%' OR sector_raw LIKE 'Tecnologia%'
                THEN 'Tecnologia da Informação'
            WHEN sector_raw LIKE 'Comunica%' THEN 'Comunicações'
            WHEN sector_raw LIKE 'Utilidade P%' OR sector_raw LIKE 'Util P%' THEN 'Utilidade Pública'
            WHEN sector_raw LIKE 'Outros%' THEN 'Outros'
            -- a subsector sent alone: its sector (B3's classification)
            WHEN sector_raw LIKE 'Comput%' OR sector_raw LIKE 'Programas%' THEN 'Tecnologia da Informação'
            WHEN sector_raw LIKE 'Telecom%' OR sector_raw LIKE 'M_dia%' THEN 'Comunicações'
            WHEN sector_raw LIKE 'Diversos%' OR sector_raw LIKE 'Autos%' OR sector_raw LIKE 'Constr Civil%'
                OR sector_raw LIKE 'Tecid%' OR sector_raw LIKE 'Viagens%' OR sector_raw LIKE 'Hot%is%'
                OR sector_raw LIKE 'Utilidades Dom%' THEN 'Consumo Cíclico'
            WHEN sector_raw LIKE 'Agropec%' OR sector_raw LIKE 'Alimentos%' OR sector_raw LIKE 'Bebidas%'
                OR sector_raw LIKE 'Pr Pessoal%' THEN 'Consumo não Cíclico'
            WHEN sector_raw LIKE 'M_qs%' OR sector_raw LIKE 'Mat Transporte%' OR sector_raw LIKE 'Transporte%'
                OR sector_raw LIKE 'Constr e Eng%' THEN 'Bens Industriais'
            WHEN sector_raw LIKE 'Explor Im%' OR sector_raw LIKE 'Holdings%' OR sector_raw LIKE 'Interms%'
                OR sector_raw LIKE 'Previd%' OR sector_raw LIKE 'Securit%' OR sector_raw LIKE 'Serv%Financ%'
                THEN 'Financeiro'
            WHEN sector_raw LIKE 'Madeira%' OR sector_raw LIKE 'Minera%' OR sector_raw LIKE 'Qu_micos%'
                OR sector_raw LIKE 'Sid%' OR sector_raw LIKE 'Embalagens%' THEN 'Materiais Básicos'
            WHEN sector_raw LIKE 'Energ%' OR sector_raw LIKE '_gua%' OR sector_raw = 'Gás' THEN 'Utilidade Pública'
            WHEN sector_raw LIKE 'SM Hosp%' OR sector_raw LIKE 'Medicamentos%' THEN 'Saúde'
            -- a text B3 has never sent: no sector rather than a twelfth one (the refine says so)
            ELSE NULL
        END AS sector,
        make_date(y, 1, 1) AS jan1,
        make_date(y, 5, 1) AS may1,
        make_date(y, 9, 1) AS sep1,
        make_date(y + 1, 1, 1) AS jan1_next
    FROM base
),
mondays AS (
    -- first Monday of a month = its 1st + (7 - weekday(1st)) % 7, weekday 0 = Monday;
    -- 1970-01-01 was a Thursday, hence the + 3.
    SELECT
        *,
        jan1 + CAST((7 - (unix_date(jan1) + 3) % 7) % 7 AS INT) AS jan_monday,
        may1 + CAST((7 - (unix_date(may1) + 3) % 7) % 7 AS INT) AS may_monday,
        sep1 + CAST((7 - (unix_date(sep1) + 3) % 7) % 7 AS INT) AS sep_monday,
        jan1_next + CAST((7 - (unix_date(jan1_next) + 3) % 7) % 7 AS INT) AS next_jan_monday
    FROM labelled
),
dated AS (
    SELECT
        *,
        CASE
            WHEN jan_monday > session_date THEN jan_monday
            WHEN may_monday > session_date THEN may_monday
            WHEN sep_monday > session_date THEN sep_monday
            ELSE next_jan_monday
        END AS next_rebalance
    FROM mondays
),
sectors AS (
    SELECT index_code, session_date, sector, SUM(part) AS sector_part, COUNT(*) AS sector_count
    FROM labelled
    GROUP BY index_code, session_date, sector
),
indices AS (
    SELECT index_code, session_date, COUNT(*) AS member_count
    FROM raw_rows
    GROUP BY index_code, session_date
)
SELECT
    CAST(d.index_code AS STRING) AS index_code,
    CAST(d.session_date AS DATE) AS session_date,
    CAST(d.asset AS STRING) AS company,
    CAST(trim(substr(d.type, 1, 4)) AS STRING) AS share_class,
    CAST(nullif(trim(substr(d.type, 5, 4)), '') AS STRING) AS corporate_event,
    CAST(nullif(trim(substr(d.type, 9, 2)), '') AS STRING) AS listing_segment,
    CAST(d.part AS DECIMAL(7, 3)) AS weight_pct,
    CAST(d.theoricalQty AS BIGINT) AS theoretical_qty,
    CAST(d.sector AS STRING) AS sector,
    CAST(d.subsector AS STRING) AS subsector,
    CAST(s.sector_part AS DECIMAL(9, 3)) AS sector_weight_pct,
    CAST(s.sector_count AS INT) AS sector_members,
    CAST(i.member_count AS INT) AS index_members,
    CAST(row_number() OVER (PARTITION BY d.index_code, d.session_date ORDER BY d.part DESC, d.cod) AS INT) AS weight_rank,
    CAST(d.total_theoricalQty AS BIGINT) AS index_theoretical_qty,
    CAST(d.reductor AS DECIMAL(20, 8)) AS reductor,
    CAST(d.next_rebalance AS DATE) AS next_rebalance_date,
    CAST(unix_date(d.next_rebalance) - unix_date(d.session_date) AS INT) AS days_to_rebalance,
    CAST(
        (5 * CAST(floor((unix_date(d.next_rebalance) + 3) / 7) AS BIGINT)
            + least(CAST((unix_date(d.next_rebalance) + 3) % 7 AS BIGINT), 5))
        - (5 * CAST(floor((unix_date(d.session_date) + 3) / 7) AS BIGINT)
            + least(CAST((unix_date(d.session_date) + 3) % 7 AS BIGINT), 5))
        AS INT
    ) AS weekdays_to_rebalance,
    CAST(d.session_date AS STRING) AS dt,
    CAST(d.cod AS STRING) AS ticker
FROM dated AS d
JOIN sectors AS s
    ON s.index_code = d.index_code
    AND s.session_date = d.session_date
    AND (s.sector = d.sector OR (s.sector IS NULL AND d.sector IS NULL))
JOIN indices AS i
    ON i.index_code = d.index_code
    AND i.session_date = d.session_date
