-- EWMA mean and variance of ln(1 + volume) (alpha = 2 / 65), the baseline of volume_z
-- (docs/indicators.md): m_0 = x_0, m_t = (1 - a) m_(t-1) + a x_t; v_0 = 0,
-- v_t = (1 - a)(v_(t-1) + a (x_t - m_(t-1))^2) (the exponentially weighted variance
-- update; T. Finch, Incremental calculation of weighted mean and variance, 2009).
-- Since x_t - m_(t-1) = (x_t - m_t) / (1 - a), v is a second linear recursion with input
-- a (x_t - m_t)^2 / (1 - a). Both use macro linear_recursions (exact chunked closed form).
-- Kept apart from int_indicators_smoothed, which holds only the TA-Lib-covered columns.
-- Incremental: series with a stored last bar continue from its stored m and v.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}) }}
{%- set alpha = 2.0 / 65 %}
{%- set mean = {'name': 'volume_ewma_mean', 'b': 1.0 - alpha, 'seed_from': 0, 'seed_to': 0, 'seed': 'mean',
                'input': 'log_volume', 'gain': alpha, 'state': 'state_volume_ewma_mean'} %}
{%- set variance = {'name': 'volume_ewma_var', 'b': 1.0 - alpha, 'seed_from': 0, 'seed_to': 0, 'seed': 'sum',
                    'input': 'pow(log_volume - volume_ewma_mean, 2)', 'gain': alpha / (1.0 - alpha),
                    'state': 'state_volume_ewma_var'} %}
with frontier as (
    {{ indicator_frontier(['volume_ewma_mean', 'volume_ewma_var']) }}
),

bars as (
    select b.series_part, b.idx, b.log_volume, {{ star_except(['series_part'], 'f') }}
    from {{ ref('int_indicator_bars_prepared') }} as b
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', 0) }}
),

ewma_mean as (
    {{ linear_recursions('bars', ['series_part'], [mean], keep=['log_volume', 'state_volume_ewma_var']) }}
),

ewma_variance as (
    {{ linear_recursions('ewma_mean', ['series_part'], [variance], keep=['log_volume', 'volume_ewma_mean']) }}
)

select series_part, idx, log_volume, volume_ewma_mean, volume_ewma_var
from ewma_variance
where carry_idx is null or idx > carry_idx
