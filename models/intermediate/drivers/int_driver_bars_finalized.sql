-- The eight regime drivers (BTC, ALT, nano, small, mid, big, BTC.d, USDT.d) at the regime
-- timeframes of seed regime_timeframes wherever data exists (docs/bars-and-drivers.md). Volume is quote
-- volume (USDT) for price drivers and NULL for dominance. segment_id restarts after a gap
-- of more than var max_gap_bars bars between final bars.
-- Finality is per driver, not per source: the last bar of a source island (a run of bars
-- from one exchange or dominance source) is final once the driver has a later bar from any
-- source (docs/bars-and-drivers.md, "Finality of a driver bar").
with single as (
    select driver, timeframe, bar_interval, bar_start, open, high, low, close, volume,
           n_constituents, is_complete, is_final, source
    from {{ ref('int_driver_bars_selected') }}
),

composite as (
    select c.driver, c.timeframe, c.bar_interval, c.bar_start, c.open, c.high, c.low, c.close, c.volume,
           c.n_constituents, c.is_complete, c.is_final, c.composite_method as source
    from {{ ref('int_composite_bars_computed') }} as c
    join {{ ref('drivers') }} as d on d.driver = c.driver and d.composite_method = c.composite_method
),

dominance_series as (
    select
        d.*, t.timeframe, i.interval_minutes
    from {{ ref('int_dominance_bars_rolled_up') }} as d
    join {{ ref('regime_timeframes') }} as t using (bar_interval)
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

dominance_final as (
    {{ finality_and_segments('dominance_series', ['driver', 'source', 'bar_interval']) }}
),

dominance as (
    select driver, timeframe, bar_interval, bar_start, open, high, low, close, cast(null as double) as volume,
           1 as n_constituents, is_complete, is_final, source
    from dominance_final
    qualify row_number() over (partition by driver, timeframe, bar_start order by is_final desc, priority) = 1
),

drivers as (
    select u.*, i.interval_minutes
    from (
        select * from single
        union all
        select * from composite
        union all
        select * from dominance
    ) as u
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

-- A single or dominance bar is provisional only while it is its source's newest bar. When
-- the driver's next bar comes from another source (BTC: Binance until 2023-12-30 19:00,
-- Bybit from 2025-04-03 on the sample) the driver has moved on and the bar is final, as a
-- bar with a newer bar in its series is (a late candle of the old source for it would be
-- a revision, like any late correction). Point in time: decided by the driver's next bar
-- alone. Composites have one source (their method), so this never applies to them: their
-- finality stays the members' (int_composite_bars_computed, lagging and stopped members).
island_final as (
    select
        {{ star_except(['is_final']) }},
        is_final or coalesce(source <> lead(source) over (partition by driver, timeframe order by bar_start),
                             false) as is_final
    from drivers
),

segmented as (
    {{ finality_and_segments('island_final', ['driver', 'timeframe'], has_is_final=true) }}
)

select
    driver, timeframe, bar_interval, bar_start, open, high, low, close, volume,
    n_constituents, is_complete, is_final, segment_id, source
from segmented
