-- One row per indicator series segment: every driver x timeframe and every primary
-- exchange x symbol x interval series, per segment_id, with its series_part =
-- hash(series_id, segment_id) (macro indicator_series_part), the key the indicator
-- models partition and join on.
with series as (
    select distinct
        'driver' as series_type, {{ indicator_series_id('driver') }} as series_id,
        driver, timeframe, cast(null as {{ dbt.type_string() }}) as exchange, cast(null as {{ dbt.type_string() }}) as symbol,
        bar_interval, segment_id
    from {{ ref('int_driver_bars_finalized') }}
    where is_final
    union all
    select distinct
        'symbol' as series_type, {{ indicator_series_id('symbol') }} as series_id,
        cast(null as {{ dbt.type_string() }}) as driver, cast(null as {{ dbt.type_string() }}) as timeframe, exchange, symbol,
        bar_interval, segment_id
    from {{ ref('int_symbol_bars_finalized') }}
    where is_final and is_primary
)

select
    {{ indicator_series_part('s.series_id', 's.segment_id') }} as series_part,
    s.*,
    i.interval_minutes
from series as s
join {{ ref('bar_intervals') }} as i using (bar_interval)
