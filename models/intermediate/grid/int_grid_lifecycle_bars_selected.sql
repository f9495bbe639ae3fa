-- The per-bar inputs of the grid lifecycle engine (market_regimes.engines.grid_lifecycle,
-- docs/grid-lifecycle.md): every final bar of every grid series at var
-- grid_lifecycle_interval (1h) with a verdict row, in the engine's column names:
-- close / high / low, atr_14, the Bollinger mid and standard deviation (bb_std_20 =
-- (bb_upper_20 - bb_mid_20) / 2: the bands are mid +- 2 std), the 1h verdict and the last
-- ended 4h bar's, the OU half-life (infinite for AR(1) b >= 1) and b, atr_ratio, er_24, the
-- RANGE_OK support min(RQS, MeanRevScore), the scores the restart gates read, adx_slope_10,
-- the primary range [S, R], and next_high_vol_prob: the probability that the next bar is
-- in the high-volatility HMM state, p_low_vol (1 - stay_low) + p_high_vol stay_high, from
-- the symbol's row of fct_volatility_regimes at the same bar (NULL where it has none).
{{ config(materialized='view') }}
select
    r.series_part, r.idx, r.exchange, r.symbol, r.segment_id, r.bar_start,
    r.close, b.high, b.low, b.atr_14, b.bb_mid_20, (b.bb_upper_20 - b.bb_mid_20) / 2 as bb_std_20,
    r.verdict, r.coarse_bar_start, r.coarse_verdict,
    b.ou_half_life, b.ou_ar1_b, b.atr_ratio, b.er_short,
    least(r.range_quality_score, r.mean_rev_score) as range_ok_support,
    r.vol_change_score, r.trend_score, b.adx_slope_10, r.range_quality_score, r.mean_rev_score,
    v.p_low_vol * (1 - v.hmm_stay_prob_low) + v.p_high_vol * v.hmm_stay_prob_high as next_high_vol_prob,
    r.support, r.resistance
from {{ ref('fct_grid_regimes') }} as r
join {{ ref('int_grid_bars_prepared') }} as b using (series_part, idx)
left join {{ ref('fct_volatility_regimes') }} as v
    on v.series_type = 'symbol' and v.exchange = r.exchange and v.symbol = r.symbol
    and v.bar_interval = r.bar_interval and v.bar_start = r.bar_start
where r.bar_interval = '{{ var("grid_lifecycle_interval") }}'
