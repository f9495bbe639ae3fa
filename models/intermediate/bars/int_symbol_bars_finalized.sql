-- Every landed candle and every rollup, with finality and segments (docs/bars-and-drivers.md).
-- Key: exchange, symbol, bar_interval, bar_start, origin. is_primary marks the bar the
-- drivers use: the rollup from the finest interval where one exists, else the landed bar.
-- Incremental (docs/bars-and-drivers.md, "Incremental runs"): the pre-hook rewind_symbol_bars
-- removes each series' provisional newest bar and, for every symbol with landed rows newer
-- than the stored ones (loaded_at), its bars from one longest interval before the first
-- changed bar on; the run then appends each series' bars after its last stored bar, with
-- that bar as context (gap to the first new bar, segment_id carried on).
{{ config(materialized='incremental', incremental_strategy='append', pre_hook="{{ rewind_symbol_bars() }}",
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
{%- if is_incremental() %}
with stored as (
    select exchange, symbol, bar_interval, origin, max(bar_start) as last_bar_start,
           max_by(segment_id, bar_start) as last_segment_id
    from {{ this }}
    group by exchange, symbol, bar_interval, origin
),
{%- else %}
with stored as (
    select cast(null as {{ dbt.type_string() }}) as exchange, cast(null as {{ dbt.type_string() }}) as symbol, cast(null as {{ dbt.type_string() }}) as bar_interval,
           cast(null as {{ dbt.type_string() }}) as origin, cast(null as timestamp) as last_bar_start, cast(null as bigint) as last_segment_id
    where false
),
{%- endif %}

all_rolled as (
    select * from {{ ref('int_symbol_bars_rolled_up') }}
),

-- each series from its last stored bar on (the context row) or whole when new
rolled as (
    select
        r.exchange, r.symbol, r.bar_interval, r.bar_start, r.open, r.high, r.low, r.close, r.volume, r.quote_volume,
        r.n_sub_bars, r.expected_sub_bars, r.is_complete,
        'rollup' as origin, r.source_interval, true as is_primary, r.loaded_at,
        s.last_bar_start, s.last_segment_id
    from all_rolled as r
    left join stored as s
        on s.exchange = r.exchange and s.symbol = r.symbol and s.bar_interval = r.bar_interval and s.origin = 'rollup'
    where s.last_bar_start is null or r.bar_start >= s.last_bar_start
),

landed as (
    select
        l.exchange, l.symbol, l.bar_interval, l.bar_start, l.open, l.high, l.low, l.close, l.volume, l.quote_volume,
        1 as n_sub_bars, 1 as expected_sub_bars, true as is_complete,
        'landed' as origin, l.bar_interval as source_interval,
        not exists (
            select 1 from all_rolled as r
            where r.exchange = l.exchange and r.symbol = l.symbol
              and r.bar_interval = l.bar_interval and r.bar_start = l.bar_start
        ) as is_primary,
        l.loaded_at, s.last_bar_start, s.last_segment_id
    from {{ ref('stg_landing__klines') }} as l
    left join stored as s
        on s.exchange = l.exchange and s.symbol = l.symbol and s.bar_interval = l.bar_interval and s.origin = 'landed'
    where s.last_bar_start is null or l.bar_start >= s.last_bar_start
),

-- every series' newest bar is in `bars` (from its context row on), so the horizon of
-- finality_and_segments (the newest bar of the exchange x interval x origin) is the full one
bars as (
    select b.*, i.interval_minutes
    from (
        select * from landed
        union all
        select * from rolled
    ) as b
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

finalised as (
    {{ finality_and_segments('bars', ['exchange', 'symbol', 'bar_interval', 'origin'], horizon_columns=['exchange', 'bar_interval', 'origin']) }}
)

select
    exchange, symbol, bar_interval, bar_start, open, high, low, close, volume, quote_volume,
    -- both counts BIGINT (the landed rows' literal 1 and the rollups' INTEGER would differ)
    cast(n_sub_bars as bigint) as n_sub_bars, cast(expected_sub_bars as bigint) as expected_sub_bars,
    is_complete, is_final,
    -- the context row is segment last_segment_id of the stored series
    cast(segment_id + coalesce(last_segment_id - 1, 0) as bigint) as segment_id,
    origin, source_interval, is_primary, loaded_at
from finalised
where last_bar_start is null or bar_start > last_bar_start
{%- endcall %}
