-- Exchange candles rolled up from each (exchange, symbol)'s finest landed interval to
-- every coarser interval of seed bar_intervals (docs/bars-and-drivers.md).
-- Partitioned (Dagster daily partitions, docs/orchestration.md): with vars partition_start/end set, a
-- run deletes and rebuilds only the rollup bars starting in that window; without them,
-- every bar. On Spark the table is partitioned by UTC day (day_partitioned: the window's
-- day partitions are dropped and overwritten, no table rewrite).
{{ config(materialized='incremental', tags=['daily_partitioned'], **day_partitioned('bar_start')) }}
{% call time_partition_select('bar_start', 'day') -%}
{{ rollup_to_coarser(ref('stg_landing__klines'), ['exchange', 'symbol'], window_column='bar_start',
                     max_columns=['loaded_at']) }}
{%- endcall %}
