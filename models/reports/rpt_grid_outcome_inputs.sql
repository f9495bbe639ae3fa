-- The bars the grid research reports evaluate (docs/grid-regimes.md): every grid series bar
-- with its range, ATR, verdict, confidence, the RANGE_OK support min(RQS, MeanRevScore)
-- and the single-indicator baselines the verdicts are compared with (thresholds: seed
-- grid_config rows baseline_*). A view; the outcomes after each bar are computed by the
-- Python report models (they look ahead by design).
{{ config(materialized='view') }}
select
    r.series_part as series_key, r.exchange, r.symbol, r.bar_interval, r.segment_id, r.idx, r.bar_start,
    b.close, b.high, b.low, b.atr_14, r.support, r.resistance,
    r.verdict, r.confidence, least(r.range_quality_score, r.mean_rev_score) as range_ok_support,
    b.adx_14 < {{ grid_param('baseline_adx_below') }} as baseline_adx_below_20,
    b.chop > {{ grid_param('baseline_chop_above') }} as baseline_chop_above_61_8,
    b.er_window < {{ grid_param('baseline_er_below') }} as baseline_er_below_0_3,
    b.variance_ratio < {{ grid_param('baseline_vr_below') }} as baseline_vr_below_1
from {{ ref('fct_grid_regimes') }} as r
join {{ ref('int_grid_bars_prepared') }} as b using (series_part, idx)
