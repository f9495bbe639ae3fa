-- Trailing percentile ranks pr_<feature> (SPEC §5) of the features in var
-- percentile_rank_features over the last var percentile_rank_window bars of the segment:
-- percent_rank = (rank - 1) / (n - 1) of the bar's value among the window's values
-- (0 = lowest, 1 = highest; ties take the lowest rank). NULL until the window holds
-- percentile_rank_window non-NULL values. Point-in-time: the window ends at the bar.
-- Values are ranked at 10 significant digits, so rounding noise in the last bits (a
-- shorter as_of build's window frames round differently) cannot reorder equal values.
{%- set features = var('percentile_rank_features') %}
{%- set window = var('percentile_rank_window') | int %}
with features as (
    select m.series_part, m.idx, m.* exclude (series_part, idx), w.* exclude (series_part, idx)
    from {{ ref('int_indicators_smoothed') }} as m
    join {{ ref('int_indicators_windowed') }} as w using (series_part, idx)
)

select
    series_part,
    idx
    {%- for feature in features %},
    case when count({{ feature }}) over rank_window = {{ window }}
         then percent_rank(order by {{ significant_digits(feature, 10) }}) over rank_window end as pr_{{ feature }}
    {%- endfor %}
from features
window rank_window as (partition by series_part order by idx rows between {{ window - 1 }} preceding and current row)
