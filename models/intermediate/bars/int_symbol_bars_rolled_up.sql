-- Exchange candles rolled up from each (exchange, symbol)'s finest landed interval to
-- every coarser interval of seed bar_intervals (SPEC §4).
{{ rollup_to_coarser(ref('stg_landing__klines'), ['exchange', 'symbol']) }}
