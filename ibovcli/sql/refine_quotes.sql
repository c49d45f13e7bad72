-- The refinement of one session's quotes (B3 COTAHIST): raw -> refined. The ONE definition, run by
-- DuckDB locally (ibovcli/engines/local.py) and by Spark SQL in the Glue job (glue_scripts/refine_job.py).
-- Input: a view named raw_rows holding the session's raw rows (one raw file per session).
--
-- The raw rows are already exactly what the COTAHIST reader kept (ibovcli/cotahist.py: cash market,
-- shares, units, BDRs and funds, prices divided by FATCOT); the refine keeps the quote fields, drops the
-- lineage, and makes session_date the partition. A ticker quoted twice in one session (which B3's files
-- do not do) keeps the record with the most trades, then the highest volume, so a ticker is one row.
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.session_date, r.ticker
            ORDER BY r.trades DESC, r.volume DESC, r.bdi_code
        ) AS rn
    FROM raw_rows AS r
)
SELECT
    CAST(ticker AS STRING) AS ticker,
    CAST(isin AS STRING) AS isin,
    CAST(bdi_code AS STRING) AS bdi_code,
    CAST(market_type AS STRING) AS market_type,
    CAST(short_name AS STRING) AS short_name,
    CAST(specification AS STRING) AS specification,
    CAST(currency AS STRING) AS currency,
    CAST(open AS DECIMAL(20, 8)) AS open,
    CAST(high AS DECIMAL(20, 8)) AS high,
    CAST(low AS DECIMAL(20, 8)) AS low,
    CAST(average AS DECIMAL(20, 8)) AS average,
    CAST(close AS DECIMAL(20, 8)) AS close,
    CAST(best_bid AS DECIMAL(20, 8)) AS best_bid,
    CAST(best_ask AS DECIMAL(20, 8)) AS best_ask,
    CAST(trades AS INT) AS trades,
    CAST(quantity AS BIGINT) AS quantity,
    CAST(volume AS DECIMAL(20, 2)) AS volume,
    CAST(quote_factor AS INT) AS quote_factor,
    CAST(distribution AS INT) AS distribution,
    CAST(session_date AS DATE) AS session_date
FROM ranked
WHERE rn = 1
