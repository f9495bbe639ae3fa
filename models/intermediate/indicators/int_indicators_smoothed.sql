-- The TA-Lib-covered indicators, in SQL (SPEC §5): EMA 20/30/60/144/250/333 (SMA-seeded),
-- SMA 200, Bollinger bands (20, k = 2, population std), ATR 14, RSI 14, +DI/-DI 14 and
-- ADX 14 (Wilder, TA-Lib seeds), plus the EWMA mean/variance behind volume_z.
-- Recursions use the exact chunked closed form of macro linear_recursions on a narrow
-- projection (window passes copy whole rows), joined back once. NULL until warm inside
-- the segment; warm-up = TA-Lib's lookback.
{%- set ema_periods = [20, 30, 60, 144, 250, 333] %}
{%- set volume_alpha = 2.0 / 65 %}
with bars as (
    select series_part, idx, close, true_range, gain, loss, plus_dm, minus_dm, log_volume
    from {{ ref('int_indicator_bars_prepared') }}
),

-- seeds from each segment's first bars (a small aggregate instead of framed windows);
-- compensated sums (fsum), so the seeds do not depend on thread scheduling (SPEC determinism)
seeds as (
    select
        series_part,
        {%- for n in ema_periods %}
        fsum(close) filter (where idx < {{ n }}) / count(close) filter (where idx < {{ n }}) as seed_ema_{{ n }},
        {%- endfor %}
        fsum(true_range) filter (where idx between 1 and 14) / count(true_range) filter (where idx between 1 and 14) as seed_atr_14,
        fsum(gain) filter (where idx between 1 and 14) / count(gain) filter (where idx between 1 and 14) as seed_avg_gain_14,
        fsum(loss) filter (where idx between 1 and 14) / count(loss) filter (where idx between 1 and 14) as seed_avg_loss_14,
        fsum(plus_dm) filter (where idx between 1 and 13) as seed_plus_dm_14,
        fsum(minus_dm) filter (where idx between 1 and 13) as seed_minus_dm_14,
        fsum(true_range) filter (where idx between 1 and 13) as seed_tr_14
    from bars
    where idx < {{ ema_periods | max }}
    group by series_part
),

seeded as (
    select b.*, s.* exclude (series_part)
    from bars as b
    join seeds as s using (series_part)
),

first_stage as (
    {%- set recursions = [] %}
    {%- for n in ema_periods %}{% do recursions.append(ema_recursion('close', n)) %}{% endfor %}
    {%- do recursions.append(wilder_recursion('atr_14', 14, 14, 'seed_atr_14', 'true_range')) %}
    {%- do recursions.append(wilder_recursion('avg_gain_14', 14, 14, 'seed_avg_gain_14', 'gain')) %}
    {%- do recursions.append(wilder_recursion('avg_loss_14', 14, 14, 'seed_avg_loss_14', 'loss')) %}
    {%- do recursions.append(wilder_recursion('plus_dm_sum_14', 14, 13, 'seed_plus_dm_14', 'plus_dm', average=false)) %}
    {%- do recursions.append(wilder_recursion('minus_dm_sum_14', 14, 13, 'seed_minus_dm_14', 'minus_dm', average=false)) %}
    {%- do recursions.append(wilder_recursion('tr_sum_14', 14, 13, 'seed_tr_14', 'true_range', average=false)) %}
    {%- do recursions.append({'name': 'volume_ewma_mean', 'b': 1.0 - volume_alpha, 'start_idx': 0,
                              'seed': 'log_volume', 'input': volume_alpha ~ ' * log_volume'}) %}
    {{ linear_recursions('seeded', ['series_part'], recursions) }}
),

directional as (
    select
        series_part, idx, log_volume, volume_ewma_mean,
        {%- for n in ema_periods %} ema_{{ n }},{% endfor %}
        atr_14,
        case when idx < 14 then null
             when avg_gain_14 + avg_loss_14 > 0 then 100 * avg_gain_14 / (avg_gain_14 + avg_loss_14)
             else 0 end as rsi_14,
        case when idx < 14 then null when tr_sum_14 > 0 then 100 * plus_dm_sum_14 / tr_sum_14 else 0 end as plus_di_14,
        case when idx < 14 then null when tr_sum_14 > 0 then 100 * minus_dm_sum_14 / tr_sum_14 else 0 end as minus_di_14
    from first_stage
),

with_dx as (
    select
        *,
        case when idx < 14 then null
             when plus_di_14 + minus_di_14 > 0 then 100 * abs(plus_di_14 - minus_di_14) / (plus_di_14 + minus_di_14)
             else 0 end as dx_14
    from directional
),

adx_seeds as (
    select series_part, fsum(dx_14) filter (where idx between 14 and 27) / count(dx_14) filter (where idx between 14 and 27) as seed_adx_14
    from with_dx
    where idx <= 27
    group by series_part
),

second_stage_input as (
    select d.*, a.seed_adx_14
    from with_dx as d
    join adx_seeds as a using (series_part)
),

second_stage as (
    {%- set recursions = [wilder_recursion('adx_14', 14, 27, 'seed_adx_14', 'dx_14')] %}
    {#- EWMA variance v_t = (1 - a)(v_(t-1) + a (x_t - m_(t-1))^2), v_0 = 0; since
        x_t - m_(t-1) = (x_t - m_t) / (1 - a), the input is a (x_t - m_t)^2 / (1 - a). #}
    {%- do recursions.append({'name': 'volume_ewma_var', 'b': 1.0 - volume_alpha, 'start_idx': 0, 'seed': '0',
                              'input': (volume_alpha / (1.0 - volume_alpha)) ~ ' * pow(log_volume - volume_ewma_mean, 2)'}) %}
    {{ linear_recursions('second_stage_input', ['series_part'], recursions) }}
),

band_windows as (
    select
        series_part,
        idx,
        case when idx >= 199 then avg(close) over (series_order rows between 199 preceding and current row) end as sma_200,
        case when idx >= 19 then avg(close) over (series_order rows between 19 preceding and current row) end as bb_mid_20,
        case when idx >= 19 then stddev_pop(close) over (series_order rows between 19 preceding and current row) end as bb_std_20
    from bars
    window series_order as (partition by series_part order by idx)
)

select
    s.series_part,
    s.idx,
    {%- for n in ema_periods %}
    s.ema_{{ n }},
    {%- endfor %}
    w.sma_200,
    s.atr_14,
    s.rsi_14,
    s.adx_14,
    s.plus_di_14,
    s.minus_di_14,
    w.bb_mid_20 + 2 * w.bb_std_20 as bb_upper_20,
    w.bb_mid_20,
    w.bb_mid_20 - 2 * w.bb_std_20 as bb_lower_20,
    4 * w.bb_std_20 / nullif(w.bb_mid_20, 0) as bb_bandwidth_20,
    s.log_volume,
    s.volume_ewma_mean,
    s.volume_ewma_var
from second_stage as s
join band_windows as w using (series_part, idx)
