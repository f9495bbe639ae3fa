-- Dominance readings as bars (docs/bars-and-drivers.md): a date-stamped reading is that day's 1d bar
-- (o = h = l = c); timestamped readings become 1m bars (first/max/min/last in the minute)
-- and roll up to every coarser interval like candles. Percent points, no volume.
-- Partitioned like int_symbol_bars_rolled_up: vars partition_start/end rebuild one window.
-- Not day-partitioned on Spark (unlike the symbol rollups): a few rows per day over years, so
-- day partitions would be ~1,100 files of a few rows (docs/scale-out.md).
{{ config(materialized='incremental', incremental_strategy='append', tags=['daily_partitioned'],
          pre_hook="{{ delete_partition_window('bar_start') }}") }}
with readings as (
    select r.*, i.interval_minutes as reading_minutes
    from {{ ref('stg_landing__dominance_readings') }} as r
    join {{ ref('bar_intervals') }} as i on i.bar_interval = r.reading_interval
    where r.driver is not null
),

base as (
    select
        driver, source, priority, reading_interval as bar_interval,
        {{ bar_bucket('reading_at', 'reading_minutes') }} as bar_start,
        min_by(dominance_pct, reading_at) as open,
        max(dominance_pct) as high,
        min(dominance_pct) as low,
        max_by(dominance_pct, reading_at) as close,
        cast(null as double) as volume,
        cast(null as double) as quote_volume
    from readings
    group by all
),

rolled as (
    {{ rollup_to_coarser('base', ['driver', 'source', 'priority'], window_column='bar_start') }}
)

select
    driver, source, priority, bar_interval, bar_start, open, high, low, close,
    1 as n_sub_bars, 1 as expected_sub_bars, true as is_complete, bar_interval as source_interval
from base
where {{ partition_window_filter('bar_start') }}
union all
select
    driver, source, priority, bar_interval, bar_start, open, high, low, close,
    n_sub_bars, expected_sub_bars, is_complete, source_interval
from rolled
