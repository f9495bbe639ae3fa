-- Trailing percentile ranks of the grid features (docs/grid-regimes.md): pr(x) = the share
-- of the series' last percentile_rank_window values (var, 500 bars, the bar included)
-- that are <= x (over the non-NULL values of the framed window), NULL until the window holds
-- pr_min_share (seed grid_config, 0.5) of that many values. Point-in-time: the window ends
-- at the bar. Ranked at 10 significant digits (as int_indicators_ranked) after rounding to 12
-- decimals, so rounding noise in the last bits of a windowed feature (and the 1e-16 noise
-- of an OLS slope over a flat stretch, which becomes 0) cannot reorder values between builds.
-- The OU half-life is int_grid_bars_prepared's (b >= 1 infinite, b <= 0 zero).
-- pr = (values <= x) / (non-NULL values), both whole counts, so a full build (cume_dist over
-- the window) and an incremental one give the same double.
-- Incremental (as int_indicators_ranked): only bars after each series' last stored bar are
-- written; a series with at most percentile_rank_counting_max_bars new bars (var) ranks them
-- by counting, in a join with their own window, the values <= theirs (a window pass over the
-- look-back would rank every look-back bar too); one with more takes the window pass over
-- its look-back and new bars, and only the new are written.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}) }}
{%- set window = var('percentile_rank_window') | int %}
{%- set features = grid_feature_names() %}
{#- the window pass for series without stored bars where the engine has framed ranks; the
    counting join for every other bar -#}
{%- set window_pass = framed_ranks_supported() %}
{%- set counting = is_incremental() or not window_pass %}
with frontier as (
    {{ indicator_frontier() }}
),

features as (
    select {{ compute_once_hint(['series_part']) }}g.series_part, g.idx, f.carry_idx
        {%- for feature in features %},
        case when {{ is_infinite(feature) }} then {{ feature }}
             else {{ significant_digits('round(' ~ feature ~ ', 12)', 10) }} end as {{ feature }}
        {%- endfor %}
    from {{ ref('int_grid_bars_prepared') }} as g
    left join frontier as f using (series_part)
    where {{ indicator_lookback('f.carry_idx', window - 1) }}
),

{%- if is_incremental() %}

counted as (
    -- stored series with few new bars: ranked by counting; the others by the window pass
    {{ rank_counted_series(ref('int_grid_bars_prepared')) }}
),
{%- endif %}

min_count as (
    select ceil({{ window }} * cast(value as double)) as min_values
    from {{ ref('grid_config') }}
    where key = 'pr_min_share'
),

{% if window_pass -%}
ranked as (
    select
        series_part,
        idx,
        carry_idx
        {%- for feature in features %},
        case when {{ feature }} is not null and count({{ feature }}) over rank_window >= (select min_values from min_count)
             -- cume_dist counts the frame's rows <= x over all its rows; NULLs sort last, so
             -- rows x cume_dist is the number of non-NULL values <= x (a whole number)
             then round(cume_dist(order by {{ feature }} asc nulls last) over rank_window * count(*) over rank_window)
                  / count({{ feature }}) over rank_window
        end as pr_{{ feature }}
        {%- endfor %}
    from features
    {%- if is_incremental() %}
    where series_part not in (select series_part from counted)
    {%- endif %}
    window rank_window as (partition by series_part order by idx rows between {{ window - 1 }} preceding and current row)
)
{%- endif %}
{%- if counting %}{{ ',' if window_pass }}

ranked_new as (
    select
        n.series_part,
        n.idx
        {%- for feature in features %},
        case when any_value(n.{{ feature }}) is not null and count(o.{{ feature }}) >= (select min_values from min_count)
             then count(o.{{ feature }}) filter (where o.{{ feature }} <= n.{{ feature }}) / count(o.{{ feature }})
        end as pr_{{ feature }}
        {%- endfor %}
    from features as n
    join features as o
        on o.series_part = n.series_part and o.idx between n.idx - {{ window - 1 }} and n.idx
    where {{ 'n.series_part in (select series_part from counted) and n.idx > n.carry_idx' if window_pass else '(n.carry_idx is null or n.idx > n.carry_idx)' }}
    group by n.series_part, n.idx
)
{%- endif %}

{% if window_pass -%}
select {{ star_except(['carry_idx']) }} from ranked
{%- if is_incremental() %}
where carry_idx is null or idx > carry_idx
{%- endif %}
{%- endif %}
{%- if window_pass and counting %}
union all
{%- endif %}
{%- if counting %}
select * from ranked_new
{%- endif %}
