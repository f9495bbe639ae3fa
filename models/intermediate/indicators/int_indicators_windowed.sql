-- The window-function indicators on top of the smoothed ones (docs/indicators.md; Uptrend Engine
-- inputs): EMA slopes, ATR mean, RSI/ADX slopes, efficiency ratio, return
-- autocorrelation, OU half-life, normalized slope, realized volatility, volume z-score,
-- EMA separations and their 5-bar changes. NULL until warm inside the segment. Narrow:
-- the marts are views joining it with int_indicators_smoothed (writing the 1.8M x 40
-- values of a wide table costs ~3 s more per build; the join costs queries ~1 s).
-- Incremental: for series already stored, only bars after the last stored one are
-- written, computed from the previous 100 bars (the longest frame: OU half-life, 100).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}) }}
{%- set slope_emas = [20, 60, 144, 250, 333] %}
{%- set lookback = 100 %}
with frontier as (
    {{ indicator_frontier() }}
),

-- each input cut to the look-back before joining (an incremental run joins ~100 rows
-- per series, not the whole history)
prepared as (
    select b.series_part, b.idx, b.close, b.prev_close, b.abs_change, b.log_return, b.prev_log_return, f.carry_idx
    from {{ ref('int_indicator_bars_prepared') }} as b
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', lookback) }}
),

smoothed as (
    select i.*
    from {{ ref('int_indicators_smoothed') }} as i
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', lookback) }}
),

volume as (
    select v.series_part, v.idx, v.log_volume, v.volume_ewma_mean, v.volume_ewma_var
    from {{ ref('int_indicators_volume_smoothed') }} as v
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', lookback) }}
),

inputs as (
    select
        b.*,
        s.interval_minutes,
        {{ star_except(['series_part', 'idx'], 'i') }},
        v.log_volume, v.volume_ewma_mean, v.volume_ewma_var
    from prepared as b
    join smoothed as i using (series_part, idx)
    join volume as v using (series_part, idx)
    join {{ ref('int_indicator_series_listed') }} as s using (series_part)
),

first_pass as (
    select
        series_part,
        idx,
        carry_idx,
        {%- for n in slope_emas %}
        -- slope of the last 10 EMA values over the latest EMA: a fraction per bar
        {{ ols_slope('ema_' ~ n, 10, n - 1 + 9) }} / ema_{{ n }} as ema_{{ n }}_slope,
        {%- endfor %}
        {{ rolling_mean('atr_14', 20, 14 + 19) }} as atr_mean_20,
        {{ ols_slope('rsi_14', 10, 14 + 9) }} as rsi_slope_10,
        {{ ols_slope('adx_14', 10, 27 + 9) }} as adx_slope_10,
        {{ efficiency_ratio(10) }} as efficiency_ratio_10,
        {{ return_autocorrelation(50) }} as return_autocorr_50,
        {{ ou_half_life(100) }} as ou_half_life_100,
        {{ ols_slope('close', 20, 19) }} / nullif(atr_14, 0) as normalized_slope_20,
        {{ realized_volatility(20) }} as realized_vol_20,
        -- volume z: today's ln(1 + volume) against the EWMA mean/variance before today
        case when lag(volume_ewma_var) over series_order > 0
             then least(greatest(
                 (log_volume - lag(volume_ewma_mean) over series_order) / sqrt(lag(volume_ewma_var) over series_order),
                 -4), 6)
             else 0 end as volume_z,
        (ema_20 - ema_60) / ema_60 as sep_fast,
        (ema_60 - ema_144) / ema_144 as sep_mid
    from inputs
    window series_order as (partition by series_part order by idx)
),

second_pass as (
    select
        *,
        case when idx >= 143 + 9 + 10 then ema_144_slope - lag(ema_144_slope, 10) over series_order end as d_ema_144_slope,
        case when idx >= 59 + 5 then sep_fast - lag(sep_fast, 5) over series_order end as d_sep_fast_5,
        case when idx >= 143 + 5 then sep_mid - lag(sep_mid, 5) over series_order end as d_sep_mid_5
    from first_pass
    window series_order as (partition by series_part order by idx)
)

select {{ star_except(['carry_idx']) }}
from second_pass
where carry_idx is null or idx > carry_idx
