-- Trailing percentile ranks pr_<feature> (docs/indicators.md) of the features in var
-- percentile_rank_features over the last var percentile_rank_window bars of the segment:
-- percent_rank = (rank - 1) / (n - 1) of the bar's value among the window's values
-- (0 = lowest, 1 = highest; ties take the lowest rank). NULL until the window holds
-- percentile_rank_window non-NULL values. Point-in-time: the window ends at the bar.
-- Values are ranked at 10 significant digits, so rounding noise in the last bits (a
-- shorter as_of build's window frames round differently) cannot reorder equal values.
-- Incremental: only bars after each series' last stored bar are written, ranked against
-- the previous percentile_rank_window - 1 bars. A series with at most
-- percentile_rank_counting_max_bars new bars (var; an hourly update) ranks them by counting,
-- in a join with their own window, the values below theirs: rank - 1 of percent_rank, so
-- the result is the same double (a window pass over the look-back would rank every
-- look-back bar too). A series with more new bars (a long gap) and a series without stored
-- bars take the window pass (over the look-back and the new bars; only the new are written):
-- counting costs new bars x window, 8x the window pass for a year of hourly bars.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}) }}
{%- set features = var('percentile_rank_features') %}
{%- set window = var('percentile_rank_window') | int %}
{#- the window pass for series without stored bars where the engine has framed ranks; the
    counting join for every other bar -#}
{%- set window_pass = framed_ranks_supported() %}
{%- set counting = is_incremental() or not window_pass %}
with frontier as (
    {{ indicator_frontier() }}
),

smoothed as (
    select m.*
    from {{ ref('int_indicators_smoothed') }} as m
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', window - 1) }}
),

windowed as (
    select w.*, f.carry_idx
    from {{ ref('int_indicators_windowed') }} as w
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', window - 1) }}
),

features as (
    select w.series_part, w.idx, w.carry_idx
        {%- for feature in features %}, {{ feature }}{% endfor %}
    from smoothed
    join windowed as w using (series_part, idx)
),

{%- if is_incremental() %}

counted as (
    -- stored series with few new bars: ranked by counting; the others by the window pass
    {{ rank_counted_series(ref('int_indicators_windowed')) }}
),
{%- endif %}

{% if window_pass -%}
ranked as (
    select
        series_part,
        idx,
        carry_idx
        {%- for feature in features %},
        case when count({{ feature }}) over rank_window = {{ window }}
             then percent_rank(order by {{ significant_digits(feature, 10) }}) over rank_window end as pr_{{ feature }}
        {%- endfor %}
    from features
    {%- if is_incremental() %}
    where series_part not in (select series_part from counted)
    {%- endif %}
    window rank_window as (partition by series_part order by idx rows between {{ window - 1 }} preceding and current row)
)
{%- endif %}
{%- if counting %}{{ ',' if window_pass }}

rounded as (
    select {{ compute_once_hint(['series_part']) }}*{% for feature in features %}, {{ significant_digits(feature, 10) }} as rounded_{{ feature }}{% endfor %}
    from features
    {%- if window_pass %}
    where series_part in (select series_part from counted)
    {%- endif %}
),

ranked_new as (
    -- the new bars of stored series (every bar where the engine has no framed ranks): the
    -- same percent_rank, (values below) / (window - 1)
    select
        n.series_part,
        n.idx,
        n.carry_idx
        {%- for feature in features %},
        case when count(o.{{ feature }}) = {{ window }}
             then count(*) filter (where o.rounded_{{ feature }} < n.rounded_{{ feature }}) / {{ [window - 1, 1] | max }}
        end as pr_{{ feature }}
        {%- endfor %}
    from rounded as n
    join rounded as o
        on o.series_part = n.series_part and o.idx between n.idx - {{ window - 1 }} and n.idx
    where {{ 'n.idx > n.carry_idx' if window_pass else '(n.carry_idx is null or n.idx > n.carry_idx)' }}
    group by n.series_part, n.idx, n.carry_idx
)
{%- endif %}

{% if window_pass -%}
select {{ star_except(['carry_idx']) }}
from ranked
{%- if is_incremental() %}
where carry_idx is null or idx > carry_idx
{%- endif %}
{%- endif %}
{%- if window_pass and counting %}
union all
{%- endif %}
{%- if counting %}
select {{ star_except(['carry_idx']) }}
from ranked_new
{%- endif %}
