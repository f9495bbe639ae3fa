-- The TA-Lib-covered indicators, in SQL (docs/indicators.md): EMA 20/30/60/144/250/333 (SMA-seeded),
-- SMA 200, Bollinger bands (20, k = 2, population std), ATR 14, RSI 14, +DI/-DI 14 and
-- ADX 14 (Wilder, TA-Lib seeds), plus the Wilder averages and sums an incremental run
-- carries (avg_gain_14, avg_loss_14, plus/minus_dm_sum_14, tr_sum_14).
-- Recursions use the exact chunked closed form of macro linear_recursions (seeds folded
-- into the terms) on a narrow projection: one window pass for the 12 first-stage
-- recursions, one for ADX together with the SMA/Bollinger frames. NULL until warm inside
-- the segment; warm-up = TA-Lib's lookback.
-- Incremental: series whose last stored bar is warm (idx >= 332, the EMA 333 seed)
-- continue every recursion from the stored state at that bar and read the previous 199
-- bars for the SMA/Bollinger frames; other series are recomputed from their first bar.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}) }}
{%- set ema_periods = [20, 30, 60, 144, 250, 333] %}
{%- set stage_one = [] %}
{%- for n in ema_periods %}{% do stage_one.append(ema_recursion('close', n)) %}{% endfor %}
{%- do stage_one.append(wilder_recursion('atr_14', 14, 1, 14, 'true_range')) %}
{%- do stage_one.append(wilder_recursion('avg_gain_14', 14, 1, 14, 'gain')) %}
{%- do stage_one.append(wilder_recursion('avg_loss_14', 14, 1, 14, 'loss')) %}
{%- do stage_one.append(wilder_recursion('plus_dm_sum_14', 14, 1, 13, 'plus_dm', average=false)) %}
{%- do stage_one.append(wilder_recursion('minus_dm_sum_14', 14, 1, 13, 'minus_dm', average=false)) %}
{%- do stage_one.append(wilder_recursion('tr_sum_14', 14, 1, 13, 'true_range', average=false)) %}
{%- set stage_two = [wilder_recursion('adx_14', 14, 14, 27, 'dx_14')] %}
{%- set bands = [
    {'name': 'sma_200', 'expr': 'case when idx >= 199 then avg(close) over ' ~ trailing_rows(200) ~ ' end'},
    {'name': 'bb_mid_20', 'expr': 'case when idx >= 19 then avg(close) over ' ~ trailing_rows(20) ~ ' end'},
    {'name': 'bb_std_20', 'expr': 'case when idx >= 19 then stddev_pop(close) over ' ~ trailing_rows(20) ~ ' end'},
] %}
{%- set state_columns = [] %}
{%- for rec in stage_one + stage_two %}{% do state_columns.append(rec.name) %}{% endfor %}
with frontier as (
    {{ indicator_frontier(state_columns, warm_idx=(ema_periods | max) - 1) }}
),

bars as (
    select b.series_part, b.idx, b.close, b.true_range, b.gain, b.loss, b.plus_dm, b.minus_dm, {{ star_except(['series_part'], 'f') }}
    from {{ ref('int_indicator_bars_prepared') }} as b
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', 199) }}
),

first_stage as (
    {{ linear_recursions('bars', ['series_part'], stage_one, keep=['close', 'state_adx_14']) }}
),

with_dx as (
    select
        *,
        {{ wilder_rsi('avg_gain_14', 'avg_loss_14', 14) }} as rsi_14,
        {{ directional_indicator('plus_dm_sum_14', 'tr_sum_14', 14) }} as plus_di_14,
        {{ directional_indicator('minus_dm_sum_14', 'tr_sum_14', 14) }} as minus_di_14,
        {{ directional_index('plus_dm_sum_14', 'minus_dm_sum_14', 14) }} as dx_14
    from first_stage
),

second_stage as (
    {%- set keep = ['close'] %}
    {%- for rec in stage_one %}{% do keep.append(rec.name) %}{% endfor %}
    {%- do keep.extend(['rsi_14', 'plus_di_14', 'minus_di_14']) %}
    {{ linear_recursions('with_dx', ['series_part'], stage_two, keep=keep, extra=bands) }}
)

select
    series_part,
    idx,
    {%- for n in ema_periods %}
    ema_{{ n }},
    {%- endfor %}
    sma_200,
    atr_14,
    rsi_14,
    adx_14,
    plus_di_14,
    minus_di_14,
    bb_mid_20 + 2 * bb_std_20 as bb_upper_20,
    bb_mid_20,
    bb_mid_20 - 2 * bb_std_20 as bb_lower_20,
    4 * bb_std_20 / nullif(bb_mid_20, 0) as bb_bandwidth_20,
    -- carried state of the Wilder averages and sums
    avg_gain_14,
    avg_loss_14,
    plus_dm_sum_14,
    minus_dm_sum_14,
    tr_sum_14
from second_stage
where carry_idx is null or idx > carry_idx
