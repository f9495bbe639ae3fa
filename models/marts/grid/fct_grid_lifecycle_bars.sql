-- The per-bar inputs of the grid lifecycle engine (market_regimes.engines.grid_lifecycle,
-- docs/grid-lifecycle.md): every final bar of every grid series at var
-- grid_lifecycle_interval (1h) with a verdict row, in the engine's column names:
-- close / high / low, atr_14, the Bollinger mid and standard deviation (bb_std_20 =
-- (bb_upper_20 - bb_mid_20) / 2: the bands are mid +- 2 std), the 1h verdict and the last
-- ended 4h bar's, the OU half-life (infinite for AR(1) b >= 1) and b, atr_ratio, er_24, the
-- RANGE_OK support min(RQS, MeanRevScore), the scores the restart gates read, adx_slope_10,
-- the primary range [S, R], and next_high_vol_prob: the probability that the next bar is
-- in the high-volatility HMM state, hmm_p_low_vol (1 - stay_low) + hmm_p_high_vol stay_high, from
-- the symbol's row of fct_volatility_regimes at the same bar (NULL where it has none).
-- The derived inputs are rounded to 10 significant digits (macro significant_digits): a full
-- build and an as_of or incremental one compute them in different window frames and can
-- differ in the last bits, and the triggers compare them with thresholds that they can
-- meet exactly (a score fall of exactly 10 points is common: percentile ranks are
-- multiples of 1/500); rounded, both builds compare the same doubles.
{{ config(materialized='view') }}
{%- set rounded = {
    'atr_14': 'b.atr_14', 'bb_mid_20': 'b.bb_mid_20', 'bb_std_20': '(b.bb_upper_20 - b.bb_mid_20) / 2',
    'ou_ar1_b': 'b.ou_ar1_b', 'atr_ratio': 'b.atr_ratio', 'er_short': 'b.er_short',
    'range_ok_support': 'least(r.range_quality_score, r.mean_rev_score)',
    'vol_change_score': 'r.vol_change_score', 'trend_score': 'r.trend_score', 'adx_slope_10': 'b.adx_slope_10',
    'range_quality_score': 'r.range_quality_score', 'mean_rev_score': 'r.mean_rev_score',
    'next_high_vol_prob': 'v.hmm_p_low_vol * (1 - v.hmm_stay_prob_low) + v.hmm_p_high_vol * v.hmm_stay_prob_high'} %}
select
    r.series_part, r.idx, r.exchange, r.symbol, r.segment_id, r.bar_start,
    r.close, b.high, b.low,
    r.verdict, r.coarse_bar_start, r.coarse_verdict,
    case when {{ is_infinite('b.ou_half_life') }} then b.ou_half_life else {{ significant_digits('b.ou_half_life', 10) }} end
        as ou_half_life,
    {%- for name, expr in rounded.items() %}
    {{ significant_digits(expr, 10) }} as {{ name }},
    {%- endfor %}
    r.support, r.resistance
from {{ ref('fct_grid_regimes') }} as r
join {{ ref('int_grid_bars_prepared') }} as b using (series_part, idx)
left join {{ ref('fct_volatility_regimes') }} as v
    on v.series_type = 'symbol' and v.exchange = r.exchange and v.symbol = r.symbol
    and v.bar_interval = r.bar_interval and v.bar_start = r.bar_start
where r.bar_interval = '{{ var("grid_lifecycle_interval") }}'
