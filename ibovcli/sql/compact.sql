-- The compact serving copy of the refined portfolio (datasets.COMPACT): the ONE definition, run by
-- DuckDB locally (ibovcli/engines/local.py) and by Spark SQL in the Glue job (glue_scripts/refine_job.py).
-- Input: a view named compact_input holding every refined row (the columns of ibov_refined, dt and ticker
-- included) of whole months, all indices. Output: the same rows, the day and ticker kept as data columns,
-- partitioned by month (YYYY-MM of dt) then index_code, in (month, index_code, dt, ticker) order, so
-- each month-and-index file holds its rows sorted by day and ticker.
SELECT
    dt,
    ticker,
    session_date,
    company,
    share_class,
    corporate_event,
    listing_segment,
    weight_pct,
    theoretical_qty,
    sector,
    subsector,
    sector_weight_pct,
    sector_members,
    index_members,
    weight_rank,
    index_theoretical_qty,
    reductor,
    next_rebalance_date,
    days_to_rebalance,
    weekdays_to_rebalance,
    substr(dt, 1, 7) AS month,
    index_code
FROM compact_input
ORDER BY month, index_code, dt, ticker
