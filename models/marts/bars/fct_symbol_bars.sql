-- Every landed candle and every rollup, with finality and segments (SPEC §4).
-- Key: exchange, symbol, bar_interval, bar_start, origin. is_primary marks the bar the
-- drivers use: the rollup from the finest interval where one exists, else the landed bar.
with landed as (
    select
        exchange, symbol, bar_interval, bar_start, open, high, low, close, volume, quote_volume,
        1 as n_sub_bars, 1 as expected_sub_bars, true as is_complete,
        'landed' as origin, bar_interval as source_interval
    from {{ ref('stg_landing__klines') }}
),

rolled as (
    select
        exchange, symbol, bar_interval, bar_start, open, high, low, close, volume, quote_volume,
        n_sub_bars, expected_sub_bars, is_complete,
        'rollup' as origin, source_interval
    from {{ ref('int_symbol_bars_rolled_up') }}
),

bars as (
    select b.*, i.interval_minutes
    from (select * from landed union all select * from rolled) as b
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

finalised as (
    {{ finality_and_segments('bars', ['exchange', 'symbol', 'bar_interval', 'origin'], horizon_columns=['exchange', 'bar_interval', 'origin']) }}
)

select
    exchange, symbol, bar_interval, bar_start, open, high, low, close, volume, quote_volume,
    n_sub_bars, expected_sub_bars, is_complete, is_final, segment_id, origin, source_interval,
    row_number() over (
        partition by exchange, symbol, bar_interval, bar_start
        order by case origin when 'rollup' then 0 else 1 end
    ) = 1 as is_primary
from finalised
