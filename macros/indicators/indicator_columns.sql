{#- The SPEC §5 indicator columns, in order (used by both indicator marts). -#}
{% macro indicator_columns() -%}
    {%- do return([
        'ema_20', 'ema_30', 'ema_60', 'ema_144', 'ema_250', 'ema_333',
        'ema_20_slope', 'ema_60_slope', 'ema_144_slope', 'ema_250_slope', 'ema_333_slope', 'd_ema_144_slope',
        'sma_200', 'atr_14', 'atr_mean_20', 'rsi_14', 'rsi_slope_10',
        'adx_14', 'plus_di_14', 'minus_di_14', 'adx_slope_10',
        'bb_upper_20', 'bb_mid_20', 'bb_lower_20', 'bb_bandwidth_20',
        'efficiency_ratio_10', 'return_autocorr_50', 'ou_half_life_100', 'normalized_slope_20',
        'realized_vol_20', 'volume_z', 'sep_fast', 'sep_mid', 'd_sep_fast_5', 'd_sep_mid_5'
    ]) -%}
{%- endmacro %}

{#- Select the indicator columns for one series type ('driver' | 'symbol') with its keys,
    from int_indicators_windowed (which holds every indicator column). -#}
{% macro select_indicators(series_type, key_columns) -%}
select
    {%- for col in key_columns %}
    s.{{ col }},
    {%- endfor %}
    w.bar_start,
    {%- for col in indicator_columns() %}
    w.{{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref('int_indicators_windowed') }} as w
join {{ ref('int_indicator_series_listed') }} as s using (series_part)
where s.series_type = '{{ series_type }}'
{%- endmacro %}
