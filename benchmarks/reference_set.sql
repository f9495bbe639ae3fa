{#- The ten indicators of the reference measurement (benchmarks/README.md) ("~2.6 s for all
    ten indicators on 1M rows, about 13x TA-Lib"), written with this project's macros
    (linear_recursions, ema_recursion, wilder_recursion, efficiency_ratio,
    return_autocorrelation, ols_slope) exactly as int_indicators_smoothed uses them:
    EMA 20, EMA 333, SMA 200, RSI 14, ATR 14, ADX 14, Bollinger width (20, k = 2),
    efficiency ratio 10, lag-1 return autocorrelation 50, OLS slope 20.
    Input: a relation `bars_in` shaped like int_indicator_bars_prepared. Output: one row
    per bar, series_part, idx and the ten columns. Compiled with `dbt compile --inline` by
    benchmarks/indicator_reference_set.py; not a dbt model. -#}
{%- set stage_one = [ema_recursion('close', 20), ema_recursion('close', 333),
    wilder_recursion('atr_14', 14, 1, 14, 'true_range'),
    wilder_recursion('avg_gain_14', 14, 1, 14, 'gain'),
    wilder_recursion('avg_loss_14', 14, 1, 14, 'loss'),
    wilder_recursion('plus_dm_sum_14', 14, 1, 13, 'plus_dm', average=false),
    wilder_recursion('minus_dm_sum_14', 14, 1, 13, 'minus_dm', average=false)] %}
{%- set stage_two = [wilder_recursion('adx_14', 14, 14, 27, 'dx_14')] %}
{%- set frames = [
    {'name': 'sma_200', 'expr': rolling_mean('close', 200, 199)},
    {'name': 'bb_mid_20', 'expr': rolling_mean('close', 20, 19)},
    {'name': 'bb_std_20', 'expr': 'case when idx >= 19 then stddev_pop(close) over (series_order rows between 19 preceding and current row) end'},
    {'name': 'efficiency_ratio_10', 'expr': efficiency_ratio(10)},
    {'name': 'return_autocorr_50', 'expr': return_autocorrelation(50)},
    {'name': 'slope_20', 'expr': ols_slope('close', 20, 19)}] %}
{%- set passed = ['close', 'abs_change', 'log_return', 'prev_log_return'] %}
with bars as (
    select series_part, idx, close, true_range, gain, loss, plus_dm, minus_dm, abs_change, log_return,
           prev_log_return, null::bigint as carry_idx
           {%- for rec in stage_one + stage_two %}, null::double as state_{{ rec.name }}{% endfor %}
    from bars_in
),

first_stage as (
    {{ linear_recursions('bars', ['series_part'], stage_one, keep=passed + ['state_adx_14']) }}
),

with_dx as (
    select
        *,
        {{ wilder_rsi('avg_gain_14', 'avg_loss_14', 14) }} as rsi_14,
        {{ directional_index('plus_dm_sum_14', 'minus_dm_sum_14', 14) }} as dx_14
    from first_stage
),

second_stage as (
    {{ linear_recursions('with_dx', ['series_part'], stage_two, keep=passed + ['ema_20', 'ema_333', 'atr_14', 'rsi_14'],
                         extra=frames) }}
)

select series_part, idx, ema_20, ema_333, sma_200, rsi_14, atr_14, adx_14,
       4 * bb_std_20 / nullif(bb_mid_20, 0) as bb_width_20, efficiency_ratio_10, return_autocorr_50, slope_20
from second_stage
