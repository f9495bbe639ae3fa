-- Every landed candle and every rollup, with finality and segments (docs/bars-and-drivers.md).
-- Key: exchange, symbol, bar_interval, bar_start, origin. is_primary marks the bar the
-- drivers use: the rollup from the finest interval where one exists, else the landed bar.
with rolled as (
    select
        exchange, symbol, bar_interval, bar_start, open, high, low, close, volume, quote_volume,
        n_sub_bars, expected_sub_bars, is_complete,
        'rollup' as origin, source_interval, true as is_primary
    from {{ ref('int_symbol_bars_rolled_up') }}
),

landed as (
    select
        l.exchange, l.symbol, l.bar_interval, l.bar_start, l.open, l.high, l.low, l.close, l.volume, l.quote_volume,
        1 as n_sub_bars, 1 as expected_sub_bars, true as is_complete,
        'landed' as origin, l.bar_interval as source_interval,
        not exists (
            select 1 from rolled as r
            where r.exchange = l.exchange and r.symbol = l.symbol
              and r.bar_interval = l.bar_interval and r.bar_start = l.bar_start
        ) as is_primary
    from {{ ref('stg_landing__klines') }} as l
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
    -- both counts BIGINT (the landed rows' literal 1 and the rollups' INTEGER would differ)
    cast(n_sub_bars as bigint) as n_sub_bars, cast(expected_sub_bars as bigint) as expected_sub_bars,
    is_complete, is_final, segment_id, origin, source_interval, is_primary
from finalised
