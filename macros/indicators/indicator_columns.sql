{#- The indicator columns (docs/indicators.md), in order (used by both indicator marts). -#}
{% macro indicator_columns() -%}
    {%- set ranks = [] -%}
    {%- for feature in var('percentile_rank_features') %}{% do ranks.append('pr_' ~ feature) %}{% endfor -%}
    {%- do return([
        'ema_20', 'ema_30', 'ema_60', 'ema_144', 'ema_250', 'ema_333',
        'ema_20_slope', 'ema_60_slope', 'ema_144_slope', 'ema_250_slope', 'ema_333_slope', 'd_ema_144_slope',
        'sma_200', 'atr_14', 'atr_mean_20', 'rsi_14', 'rsi_slope_10',
        'adx_14', 'plus_di_14', 'minus_di_14', 'adx_slope_10',
        'bb_upper_20', 'bb_mid_20', 'bb_lower_20', 'bb_bandwidth_20',
        'efficiency_ratio_10', 'return_autocorr_50', 'ou_half_life_100', 'normalized_slope_20',
        'realized_vol_20', 'volume_z', 'sep_fast', 'sep_mid', 'd_sep_fast_5', 'd_sep_mid_5'
    ] + ranks) -%}
{%- endmacro %}

{#- Select the indicator columns for one series type ('driver' | 'symbol') with its keys:
    series keys from int_indicator_series_listed, bar_start from int_indicator_bars_prepared,
    the TA-Lib-covered columns from int_indicators_smoothed, the rest from
    int_indicators_windowed. -#}
{% macro select_indicators(series_type, key_columns) -%}
{%- set smoothed = ['ema_20', 'ema_30', 'ema_60', 'ema_144', 'ema_250', 'ema_333', 'sma_200', 'atr_14', 'rsi_14',
                    'adx_14', 'plus_di_14', 'minus_di_14', 'bb_upper_20', 'bb_mid_20', 'bb_lower_20', 'bb_bandwidth_20'] -%}
select
    {%- for col in key_columns %}
    s.{{ col }},
    {%- endfor %}
    b.bar_start,
    {%- for col in indicator_columns() %}
    {{ 'r' if col.startswith('pr_') else ('m' if col in smoothed else 'w') }}.{{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref('int_indicator_series_listed') }} as s
join {{ ref('int_indicator_bars_prepared') }} as b using (series_part)
join {{ ref('int_indicators_smoothed') }} as m using (series_part, idx)
join {{ ref('int_indicators_windowed') }} as w using (series_part, idx)
join {{ ref('int_indicators_ranked') }} as r using (series_part, idx)
where s.series_type = '{{ series_type }}'
{%- endmacro %}
