-- Trailing percentile ranks of the grid features (docs/grid-regimes.md): pr(x) = the share
-- of the series' last percentile_rank_window values (var, 500 bars, the bar included)
-- that are <= x (over the non-NULL values of the framed window), NULL until the window holds
-- pr_min_share (seed grid_config, 0.5) of that many values. Point-in-time: the window ends
-- at the bar. Ranked at 10 significant digits (as int_indicators_ranked) after rounding to 12
-- decimals, so rounding noise in the last bits of a windowed feature (and the 1e-16 noise
-- of an OLS slope over a flat stretch, which becomes 0) cannot reorder values between builds.
-- The OU half-life is int_grid_bars_prepared's (b >= 1 infinite, b <= 0 zero).
{{ config(materialized='table') }}
{%- set window = var('percentile_rank_window') | int %}
{%- set features = grid_feature_names() %}
with features as (
    select series_part, idx, {{ grid_feature_names() | join(', ') }}
    from {{ ref('int_grid_bars_prepared') }}
),

min_count as (
    select ceil({{ window }} * cast(value as double)) as n
    from {{ ref('grid_config') }}
    where key = 'pr_min_share'
)

select
    series_part,
    idx
    {%- for feature in features %},
    case when {{ feature }} is not null and count({{ feature }}) over rank_window >= (select n from min_count)
         -- cume_dist counts the frame's rows <= x over all its rows; NULLs sort last, so
         -- rescaled by rows / non-NULL values it is the share of the non-NULL values <= x
         then cume_dist(order by case when isinf({{ feature }}) then {{ feature }}
                                      else {{ significant_digits('round(' ~ feature ~ ', 12)', 10) }} end asc nulls last) over rank_window
              * count(*) over rank_window / count({{ feature }}) over rank_window
    end as pr_{{ feature }}
    {%- endfor %}
from features
window rank_window as (partition by series_part order by idx rows between {{ window - 1 }} preceding and current row)
