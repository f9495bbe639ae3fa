-- Single-symbol drivers (e.g. BTC = BTCUSDT) per regime timeframe: per bar the
-- highest-priority exchange with a final bar wins, else the highest-priority provisional
-- bar; one bar never mixes sources (docs/bars-and-drivers.md). Volume is quote volume (USDT).
with members as (
    select driver, symbol, exchange, priority from {{ ref('int_driver_members_listed') }} where kind = 'single'
),

candidates as (
    select
        m.driver, t.timeframe, b.bar_interval, b.bar_start, b.open, b.high, b.low, b.close,
        b.quote_volume as volume, b.is_complete, b.is_final, b.exchange as source,
        row_number() over (
            partition by m.driver, t.timeframe, b.bar_start order by b.is_final desc, m.priority
        ) as source_rank
    from {{ ref('int_symbol_bars_finalized') }} as b
    join members as m on m.symbol = b.symbol and m.exchange = b.exchange
    join {{ ref('regime_timeframes') }} as t on t.bar_interval = b.bar_interval
    where b.is_primary
)

select
    driver, timeframe, bar_interval, bar_start, open, high, low, close, volume,
    1 as n_constituents, is_complete, is_final, source
from candidates
where source_rank = 1
