-- The bars the simulated grid by verdict reads (docs/grid-lifecycle.md): every grid bar of
-- fct_grid_lifecycle_bars (the lifecycle engine's inputs: verdict, primary range
-- [support, resistance], triggers' inputs) with the bar's open from fct_symbol_bars (the
-- simulated grid opens at the next bar's open) and the series key exchange|symbol. A view;
-- the Python report looks ahead by design.
{{ config(materialized='view') }}
select
    i.exchange || '|' || i.symbol as series_key, i.exchange, i.symbol, i.segment_id, i.bar_start, b.open,
    i.close, i.high, i.low, i.atr_14, i.bb_mid_20, i.bb_std_20, i.verdict, i.coarse_bar_start, i.coarse_verdict,
    i.ou_half_life, i.ou_ar1_b, i.atr_ratio, i.er_short, i.range_ok_support, i.vol_change_score, i.trend_score,
    i.adx_slope_10, i.range_quality_score, i.mean_rev_score, i.next_high_vol_prob, i.support, i.resistance
from {{ ref('fct_grid_lifecycle_bars') }} as i
join {{ ref('fct_symbol_bars') }} as b
    on b.exchange = i.exchange and b.symbol = i.symbol and b.bar_start = i.bar_start
    and b.bar_interval = '{{ var("grid_lifecycle_interval") }}' and b.is_primary
