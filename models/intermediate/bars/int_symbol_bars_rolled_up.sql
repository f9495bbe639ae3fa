-- Exchange candles rolled up from each (exchange, symbol)'s finest landed interval to
-- every coarser interval of seed bar_intervals (SPEC §4).
-- Partitioned (Dagster daily partitions, SPEC §11): with vars partition_start/end set, a
-- run deletes and rebuilds only the rollup bars starting in that window; without them,
-- every bar.
{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook="{{ delete_partition_window('bar_start') }}") }}
{{ rollup_to_coarser(ref('stg_landing__klines'), ['exchange', 'symbol'], window_column='bar_start') }}
