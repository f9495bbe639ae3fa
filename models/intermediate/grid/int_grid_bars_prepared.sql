-- Inputs and window features of the grid range regimes (docs/grid-regimes.md), one row per
-- final bar of every primary symbol series at the grid intervals (var grid_bar_intervals:
-- 1h, 4h), per segment. Windows in hours (vars grid_window_hours W, grid_holdout_hours K,
-- grid_short_hours) become bars per interval, so a 4h series uses W / 4 bars. Every
-- window ends at the bar (point-in-time) and stays inside the segment; a column is NULL
-- until its window is full.
-- Ranges (whole window [t-W+1, t] and fit part [t-W+1, t-K]): quantile (5th percentile of
-- lows, 95th of highs; project definition: robust to single wicks) and donchian (min low,
-- max high). Features: Kaufman efficiency ratio over the short look-back and over W, the
-- Lo-MacKinlay variance ratio VR(q) of log returns over W, the Choppiness Index (Dreiss),
-- atr_ratio = atr_14 / mean(atr_14), d_bandwidth = bb_bandwidth_20 minus its value the
-- short look-back ago, the AR(1) coefficient b of the OU half-life fit, and sigma_bar =
-- sample std of 1-bar close changes over W (the random-walk scale of width_rw).
-- Incremental (as int_indicators_windowed): for series already stored, only bars after the
-- last stored one are written, computed from the look-back their longest frame needs
-- (max of W + q, the chop, ATR-mean and OU frames and the short look-back, in bars of the
-- finest interval: 172 on the 1h series with the shipped vars).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'},
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
{%- set intervals = var('grid_bar_intervals') %}
{%- set q = var('grid_variance_ratio_lag') | int %}
{%- set chop_n = var('grid_chop_bars') | int %}
{%- set atr_n = var('grid_atr_mean_bars') | int %}
{%- set ou_n = var('grid_ou_bars') | int %}
{%- set lookbacks = [] %}
{%- for interval, minutes in intervals.items() %}
{%- do lookbacks.append((var('grid_window_hours') * 60 // minutes) | int + q) %}
{%- do lookbacks.append((var('grid_short_hours') * 60 // minutes) | int) %}
{%- endfor %}
{%- set lookback = (lookbacks + [chop_n, atr_n, ou_n]) | max %}
with frontier as (
    {{ indicator_frontier() }}
),

series as (
    select series_part, exchange, symbol, bar_interval, segment_id
    from {{ ref('int_indicator_series_listed') }}
    where series_type = 'symbol' and bar_interval in ({% for i in intervals %}'{{ i }}'{{ ", " if not loop.last }}{% endfor %})
),

bars as (
    select
        s.series_part, s.exchange, s.symbol, s.bar_interval, s.segment_id, f.carry_idx,
        b.idx, b.bar_start, b.high, b.low, b.close, b.prev_close, b.abs_change, b.true_range, b.log_return,
        m.atr_14, m.adx_14, m.bb_mid_20, m.bb_upper_20, m.bb_bandwidth_20,
        w.adx_slope_10, w.normalized_slope_20, w.return_autocorr_50, w.ou_half_life_100,
        sum(b.log_return) over (partition by b.series_part order by b.idx rows between {{ q - 1 }} preceding and current row)
            as log_return_q
    from series as s
    left join frontier as f using (series_part)
    join {{ ref('int_indicator_bars_prepared') }} as b using (series_part)
    join (select m.* from {{ ref('int_indicators_smoothed') }} as m
          left join frontier as fm using (series_part) where {{ indicator_lookback('fm.carry_idx', lookback) }})
        as m using (series_part, idx)
    join (select w.* from {{ ref('int_indicators_windowed') }} as w
          left join frontier as fw using (series_part) where {{ indicator_lookback('fw.carry_idx', lookback) }})
        as w using (series_part, idx)
    where {{ indicator_lookback('f.carry_idx', lookback) }}
),

-- windows spelled out, not refined from a named one (Spark cannot refine a named window)
{%- set series_order = 'partition by series_part order by idx' %}
windowed as (
{%- for interval, minutes in intervals.items() %}
{%- set w_bars = (var('grid_window_hours') * 60 // minutes) | int %}
{%- set k_bars = (var('grid_holdout_hours') * 60 // minutes) | int %}
{%- set short = (var('grid_short_hours') * 60 // minutes) | int %}

{{ "union all" if not loop.first }}
(select
    series_part, exchange, symbol, bar_interval, segment_id, carry_idx, idx, bar_start, high, low, close,
    atr_14, adx_14, adx_slope_10, bb_mid_20, bb_upper_20, bb_bandwidth_20, normalized_slope_20,
    return_autocorr_50, ou_half_life_100,
    {{ w_bars }} as window_bars,
    {{ k_bars }} as holdout_bars,
    case when idx >= {{ w_bars - 1 }} then {{ quantile_continuous('low', 0.05) }} over whole_{{ loop.index }} end as quantile_support,
    case when idx >= {{ w_bars - 1 }} then {{ quantile_continuous('high', 0.95) }} over whole_{{ loop.index }} end as quantile_resistance,
    case when idx >= {{ w_bars - 1 }} then {{ quantile_continuous('low', 0.05) }} over fit_{{ loop.index }} end as quantile_support_fit,
    case when idx >= {{ w_bars - 1 }} then {{ quantile_continuous('high', 0.95) }} over fit_{{ loop.index }} end as quantile_resistance_fit,
    case when idx >= {{ w_bars - 1 }} then min(low) over whole_{{ loop.index }} end as donchian_support,
    case when idx >= {{ w_bars - 1 }} then max(high) over whole_{{ loop.index }} end as donchian_resistance,
    case when idx >= {{ w_bars - 1 }} then min(low) over fit_{{ loop.index }} end as donchian_support_fit,
    case when idx >= {{ w_bars - 1 }} then max(high) over fit_{{ loop.index }} end as donchian_resistance_fit,
    case when idx >= {{ w_bars - 1 }} then stddev_samp(close - prev_close) over whole_{{ loop.index }} end as sigma_bar,
    case when idx >= {{ short }} then
        coalesce(abs(close - lag(close, {{ short }}) over series_order_{{ loop.index }})
                 / nullif(sum(abs_change) over ({{ series_order }} rows between {{ short - 1 }} preceding and current row), 0), 0)
    end as er_short,
    case when idx >= {{ w_bars }} then
        coalesce(abs(close - lag(close, {{ w_bars }}) over series_order_{{ loop.index }}) / nullif(sum(abs_change) over whole_{{ loop.index }}, 0), 0)
    end as er_window,
    case when idx >= {{ w_bars + q - 1 }} then
        var_samp(log_return_q) over whole_{{ loop.index }} / nullif({{ q }} * var_samp(log_return) over whole_{{ loop.index }}, 0)
    end as variance_ratio,
    case when idx >= {{ chop_n }} then
        100 * log10(sum(true_range) over ({{ series_order }} rows between {{ chop_n - 1 }} preceding and current row)
                    / nullif(max(high) over ({{ series_order }} rows between {{ chop_n - 1 }} preceding and current row)
                             - min(low) over ({{ series_order }} rows between {{ chop_n - 1 }} preceding and current row), 0))
            / log10({{ chop_n }})
    end as chop,
    case when count(atr_14) over ({{ series_order }} rows between {{ atr_n - 1 }} preceding and current row) = {{ atr_n }} then
        atr_14 / nullif(avg(atr_14) over ({{ series_order }} rows between {{ atr_n - 1 }} preceding and current row), 0)
    end as atr_ratio,
    bb_bandwidth_20 - lag(bb_bandwidth_20, {{ short }}) over series_order_{{ loop.index }} as d_bandwidth,
    case when idx >= {{ ou_n }} then
        1 + regr_slope(close - prev_close, prev_close) over ({{ series_order }} rows between {{ ou_n - 1 }} preceding and current row)
    end as ou_ar1_b
from bars
where bar_interval = '{{ interval }}'
window
    series_order_{{ loop.index }} as (partition by series_part order by idx),
    whole_{{ loop.index }} as ({{ series_order }} rows between {{ w_bars - 1 }} preceding and current row),
    fit_{{ loop.index }} as ({{ series_order }} rows between {{ w_bars - 1 }} preceding and {{ k_bars }} preceding))
{%- endfor %}
)

select
    {{ star_except(['carry_idx']) }},
    abs(normalized_slope_20) as abs_normalized_slope_20,
    -- the OU half-life of the AR(1) fit in bars, for ranking: b >= 1 (no mean reversion)
    -- is an infinite half-life (slowest), b <= 0 zero (fastest), never "unknown" (project
    -- definition: a trending stretch has no finite half-life, which is information)
    case when ou_ar1_b >= 1 then 'infinity'::double
         when ou_ar1_b <= 0 then 0.0
         else -ln(2) / ln(ou_ar1_b) end as ou_half_life
from windowed
where carry_idx is null or idx > carry_idx
{%- endcall %}
