-- Rolled-up bars vs the exchange's own coarser candles (docs/bars-and-drivers.md): for every bar where both
-- a rollup (complete, final) and a landed candle (final) exist, open/high/low/close must be
-- equal exactly and volume within 1e-9 relative. A rollup of close-only bars (hourly-snapshot
-- minute prices: o = h = l = c, no volume, so the rollup's volume is NULL) cannot know the
-- true open, high and low: it must close at the candle's close and lie inside its range.
-- One row per exchange x symbol x interval.
with pairs as (
    select
        r.exchange, r.symbol, r.bar_interval, r.source_interval, r.bar_start,
        case
            when r.volume is null then r.close = l.close and r.high <= l.high and r.low >= l.low
            else r.open = l.open and r.high = l.high and r.low = l.low and r.close = l.close
                and abs(r.volume - l.volume) <= 1e-9 * greatest(abs(l.volume), 1e-300)
        end as is_match
    from {{ ref('fct_symbol_bars') }} as r
    join {{ ref('fct_symbol_bars') }} as l
        on l.exchange = r.exchange and l.symbol = r.symbol and l.bar_interval = r.bar_interval
        and l.bar_start = r.bar_start and l.origin = 'landed'
    where r.origin = 'rollup' and r.is_complete and r.is_final and l.is_final
)

select
    exchange,
    symbol,
    bar_interval,
    any_value(source_interval) as source_interval,
    count(*) as n_bars_compared,
    count(*) filter (where is_match) as n_matches,
    count(*) filter (where not is_match) as n_mismatches,
    min(bar_start) filter (where not is_match) as first_mismatch_bar_start
from pairs
group by exchange, symbol, bar_interval
