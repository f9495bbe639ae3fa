-- Final bars of every indicator series segment (int_indicator_series_listed), numbered
-- idx = 0, 1, ... from the segment's first bar, with the per-bar inputs of the
-- indicators: previous close, absolute change, true range, gain/loss, Wilder directional
-- movement, log return (and the previous one) and
-- ln(1 + volume) (0 without volume). Indicators use final bars only and restart at every
-- segment (SPEC §5). Narrow on purpose: window passes downstream copy whole rows.
with series as (
    select * from {{ ref('int_indicator_series_listed') }}
),

bars as (
    select s.series_part, b.bar_start, b.high, b.low, b.close, b.volume
    from {{ ref('fct_driver_bars') }} as b
    join series as s
        on s.series_type = 'driver' and s.driver = b.driver and s.timeframe = b.timeframe
        and s.segment_id = b.segment_id
    where b.is_final
    union all
    select s.series_part, b.bar_start, b.high, b.low, b.close, b.volume
    from {{ ref('fct_symbol_bars') }} as b
    join series as s
        on s.series_type = 'symbol' and s.exchange = b.exchange and s.symbol = b.symbol
        and s.bar_interval = b.bar_interval and s.segment_id = b.segment_id
    where b.is_final and b.is_primary
),

sequenced as (
    select
        *,
        row_number() over series_order - 1 as idx,
        lag(close) over series_order as prev_close,
        lag(high) over series_order as prev_high,
        lag(low) over series_order as prev_low,
        lag(close, 2) over series_order as prev_prev_close
    from bars
    window series_order as (partition by series_part order by bar_start)
)

select
    series_part,
    idx,
    bar_start,
    high,
    low,
    close,
    prev_close,
    abs(close - prev_close) as abs_change,
    {{ true_range('high', 'low', 'prev_close') }} as true_range,
    greatest(close - prev_close, 0) as gain,
    greatest(prev_close - close, 0) as loss,
    {{ directional_movement('high', 'low', 'prev_high', 'prev_low', 'plus') }} as plus_dm,
    {{ directional_movement('high', 'low', 'prev_high', 'prev_low', 'minus') }} as minus_dm,
    ln(close / prev_close) as log_return,
    ln(prev_close / prev_prev_close) as prev_log_return,
    ln(1 + coalesce(volume, 0)) as log_volume
from sequenced
