-- The grid verdict per grid series and final bar (docs/grid-regimes.md): the five scores,
-- the verdict with the step that decided it, its confidence, the competing verdicts with
-- their support and the three features that weighed most. 1h rows also carry the verdict
-- of the last 4h bar that had ENDED by the end of the 1h bar (point-in-time alignment).
-- All constants: seed grid_config (macro grid_param), feature orientations: seed
-- grid_features. Scores 0-100, NULL until warm; verdict NULL until every score is known.
--   TrendScore     = 100 mean(pr(adx_14), pr(er_24), pr(|normalized_slope_20|))
--   MeanRevScore   = 100 mean(1 - pr(return_autocorr_50), 1 - pr(ou_half_life), 1 - pr(VR(4)))
--   RQS            = 100 (w_c containment_K + w_t min(1, traversals / traversals_full) + w_w width_score),
--                    width_score = clip((width_rw_zero - width_rw) / (width_rw_zero - width_rw_full), 0, 1)
--   VolChangeScore = 100 mean(pr(atr_ratio), pr(d_bandwidth_24))
--   GridCapacity   = 100 clip(floor((R - S) / spacing) / target_levels, 0, 1), spacing = spacing_atr atr_14;
--                    0 when that spacing is below min_edge_multiple x 2 x fee_rate x close (cannot clear fees)
-- Verdict, first that applies (project definition: TRANSITION and TREND are checked before
-- the RQS gate; the other way round a working RQS would label every trend RANGE_WEAK):
--   1 vol_change   VolChangeScore > vol_change_transition                 -> TRANSITION
--   2 trend        TrendScore >= trend_threshold on trend_confirm_bars bars -> TREND
--   3 rqs_weak     RQS < rqs_weak_below                                   -> RANGE_WEAK
--   4 range_quality RQS >= rqs_ok_min and MeanRev >= meanrev_ok_min -> RANGE_OK, else RANGE_WEAK
--   5 capacity     RANGE_OK with GridCapacity < capacity_ok_min           -> RANGE_WEAK (capacity_limited)
-- Incremental: only bars after each series' last stored bar are written, from their own bar
-- and the one before (the TREND confirmation); the coarse verdict of a new finer bar comes
-- from the new coarse rows or the stored ones.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'},
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
{%- set features = grid_feature_names() %}
{#- the score that speaks for each verdict (competing_verdicts) -#}
{%- set support_of = {'TREND': 'trend_score', 'TRANSITION': 'vol_change_score',
                      'RANGE_OK': 'least(range_quality_score, mean_rev_score)', 'RANGE_WEAK': '100 - range_quality_score'} %}
with frontier as (
    {{ indicator_frontier() }}
),

inputs as (
    select
        r.exchange, r.symbol, r.bar_interval, r.bar_start, r.segment_id, r.series_part, r.idx, f.carry_idx,
        r.support, r.resistance, r.containment_k, r.traversals, r.width_rw,
        b.close, b.atr_14, {% for f in grid_feature_names() %}b.{{ f }}, {% endfor %}
        {{ star_except(['series_part', 'idx'], 'p') }}
    from {{ ref('fct_grid_ranges') }} as r
    left join frontier as f using (series_part)
    join (select b.* from {{ ref('int_grid_bars_prepared') }} as b
          left join frontier as fb using (series_part) where {{ indicator_lookback('fb.carry_idx', 1) }})
        as b using (series_part, idx)
    join (select p.* from {{ ref('int_grid_features_ranked') }} as p
          left join frontier as fp using (series_part) where {{ indicator_lookback('fp.carry_idx', 1) }})
        as p using (series_part, idx)
    where {{ indicator_lookback('f.carry_idx', 1) }}
),

scores as (
    select
        *,
        100 * (pr_adx_14 + pr_er_short + pr_abs_normalized_slope_20) / 3 as trend_score,
        100 * ((1 - pr_return_autocorr_50) + (1 - pr_ou_half_life) + (1 - pr_variance_ratio)) / 3 as mean_rev_score,
        100 * ({{ grid_param('rqs_weight_containment') }} * containment_k
               + {{ grid_param('rqs_weight_traversals') }} * {{ clip("traversals / " ~ grid_param('traversals_full'), 0.0, 1.0) }}
               + {{ grid_param('rqs_weight_width') }}
                 * {{ clip("(" ~ grid_param('width_rw_zero') ~ " - width_rw) / (" ~ grid_param('width_rw_zero') ~ " - " ~ grid_param('width_rw_full') ~ ")", 0.0, 1.0) }})
            as range_quality_score,
        100 * (pr_atr_ratio + pr_d_bandwidth) / 2 as vol_change_score,
        case when {{ grid_param('spacing_atr') }} * atr_14
                  < {{ grid_param('min_edge_multiple') }} * 2 * {{ grid_param('fee_rate') }} * close then 0.0
             else 100 * {{ clip("floor((resistance - support) / (" ~ grid_param('spacing_atr') ~ " * atr_14)) / " ~ grid_param('target_levels'), 0.0, 1.0) }}
        end as grid_capacity
    from inputs
),

confirmed as (
    select
        *,
        trend_score >= {{ grid_param('trend_threshold') }}
            and ({{ grid_param('trend_confirm_bars') }} <= 1
                 or lag(trend_score) over (partition by series_part order by idx) >= {{ grid_param('trend_threshold') }})
            as is_trend_confirmed,
        trend_score is not null and mean_rev_score is not null and range_quality_score is not null
            and vol_change_score is not null and grid_capacity is not null as is_warm
    from scores
),

decided as (
    select
        *,
        case when not is_warm then null
             when vol_change_score > {{ grid_param('vol_change_transition') }} then 'vol_change'
             when is_trend_confirmed then 'trend'
             when range_quality_score < {{ grid_param('rqs_weak_below') }} then 'rqs_weak'
             when range_quality_score >= {{ grid_param('rqs_ok_min') }} and mean_rev_score >= {{ grid_param('meanrev_ok_min') }}
                  and grid_capacity < {{ grid_param('capacity_ok_min') }} then 'capacity'
             else 'range_quality'
        end as decided_by
    from confirmed
),

verdicts as (
    select
        *,
        case decided_by
            when 'vol_change' then 'TRANSITION'
            when 'trend' then 'TREND'
            when 'rqs_weak' then 'RANGE_WEAK'
            when 'capacity' then 'RANGE_WEAK'
            when 'range_quality' then
                case when range_quality_score >= {{ grid_param('rqs_ok_min') }}
                          and mean_rev_score >= {{ grid_param('meanrev_ok_min') }} then 'RANGE_OK' else 'RANGE_WEAK' end
        end as verdict,
        decided_by = 'capacity' as capacity_limited
    from decided
),

explained as (
    select
        *,
        -- the deciding margin past its threshold / the room from the threshold to 0 or 100
        case when verdict is null then null else greatest(0.0, least(1.0, case
            when decided_by = 'vol_change' then (vol_change_score - {{ grid_param('vol_change_transition') }})
                                                / (100 - {{ grid_param('vol_change_transition') }})
            when decided_by = 'trend' then (trend_score - {{ grid_param('trend_threshold') }}) / (100 - {{ grid_param('trend_threshold') }})
            when decided_by = 'rqs_weak' then ({{ grid_param('rqs_weak_below') }} - range_quality_score) / {{ grid_param('rqs_weak_below') }}
            when decided_by = 'capacity' then ({{ grid_param('capacity_ok_min') }} - grid_capacity) / {{ grid_param('capacity_ok_min') }}
            when verdict = 'RANGE_OK' then least((range_quality_score - {{ grid_param('rqs_ok_min') }}) / (100 - {{ grid_param('rqs_ok_min') }}),
                                                 (mean_rev_score - {{ grid_param('meanrev_ok_min') }}) / (100 - {{ grid_param('meanrev_ok_min') }}))
            else greatest(({{ grid_param('rqs_ok_min') }} - range_quality_score) / {{ grid_param('rqs_ok_min') }},
                          ({{ grid_param('meanrev_ok_min') }} - mean_rev_score) / {{ grid_param('meanrev_ok_min') }})
        end)) end as confidence,
        -- support of each verdict (0-100): the score that speaks for it
        -- (rounded to 6 decimals, the raw factor values below to 6 significant digits: the
        -- lists are compared exactly between builds, and window aggregates may differ in
        -- the last bits between an as_of build and a full one; values below 5e-11 are 0: an OLS
        -- slope over a flat stretch is 1e-16 noise)
        {%- for verdict, expr in support_of.items() %}
        round({{ expr }}, 6) as support_{{ verdict | lower }}{{ ',' if not loop.last }}
        {%- endfor %}
    from verdicts
),

orientation as (
    select
        {%- for feature in features %}
        max(orientation) filter (where feature = '{{ feature }}') as o_{{ feature }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('grid_features') }}
),

-- the three features that weighed most: the features with a rank, ordered by distance
-- -|pr - 0.5| then name (names are distinct), the first three. Picked one after the other
-- (factor_pick_1..3): the least distance among the features not picked yet, then the first
-- feature in name order at that distance; a few comparisons per row and pick, no list sort
-- (the same three, in the same order, as sorting the list of all eleven; 110 pairwise
-- comparisons per row before: 3 times the CPU). Distance of a ranked feature <= 0; 1 (after
-- every ranked one) when not ranked: a pick past the ranked features is not kept.
factor_distances as (
    select
        e.*
        {%- for a in features %},
        coalesce(-abs(e.pr_{{ a }} - 0.5), 1.0) as distance_{{ a }}
        {%- endfor %},
        0 {%- for a in features %} + cast(e.pr_{{ a }} is not null as integer){% endfor %} as ranked_features,
        {#- a competing verdict's place: the other verdicts (not the bar's) before it, by support
            then name, both descending -#}
        {%- for a in support_of %}
        case when e.verdict <> '{{ a }}' then 0
            {%- for b in support_of if b != a %}
            + cast(e.verdict <> '{{ b }}' and e.support_{{ b | lower }} {{ '>=' if b > a else '>' }} e.support_{{ a | lower }} as integer)
            {%- endfor %}
        end as place_{{ a | lower }}{{ ',' if not loop.last }}
        {%- endfor %}
    from explained as e
),
{%- set ns = namespace(previous='factor_distances', picked=[]) %}
{%- for k in range(1, 4) %}

factor_least_{{ k }} as (
    select
        p.*,
        least(
            {%- for b in features %}
            {% if ns.picked %}case when {% for c in ns.picked %}p.{{ c }} <> '{{ b }}'{{ ' and ' if not loop.last }}{% endfor %} then p.distance_{{ b }} end{% else %}p.distance_{{ b }}{% endif %}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as least_distance_{{ k }}
    from {{ ns.previous }} as p
),

factor_pick_{{ k }} as (
    select
        p.*,
        case
            {%- for a in features | sort %}
            when {% for c in ns.picked %}p.{{ c }} <> '{{ a }}' and {% endfor %}p.distance_{{ a }} = p.least_distance_{{ k }} then '{{ a }}'
            {%- endfor %}
        end as pick_{{ k }}
    from factor_least_{{ k }} as p
),
{%- set ns.previous = 'factor_pick_' ~ k %}
{%- do ns.picked.append('pick_' ~ k) %}
{%- endfor %}

factor_picks as (
    select
        p.*
        {%- for k in range(1, 4) %}
        {%- for field, prefix in [('feature', none), ('raw', 'p.'), ('rank', 'p.pr_'), ('orientation', 'o.o_')] %},
        case when p.ranked_features >= {{ k }} then case p.pick_{{ k }}
            {%- for a in features %} when '{{ a }}' then {{ "'" ~ a ~ "'" if prefix is none else prefix ~ a }}{% endfor %} end end
            as factor_{{ k }}_{{ field }}
        {%- endfor %}
        {%- endfor %}
    from {{ ns.previous }} as p
    cross join orientation as o
),

final as (
select
    e.exchange, e.symbol, e.bar_interval, e.bar_start, e.segment_id,
    e.verdict, e.decided_by, e.confidence, e.capacity_limited,
    e.trend_score, e.mean_rev_score, e.range_quality_score, e.vol_change_score, e.grid_capacity,
    e.support, e.resistance, e.close,
    {#- the other three verdicts with their support, the best supported first (ties: by name,
        descending) -#}
    {%- set competing = [] %}
    {%- for k in range(3) %}
    {%- set support, verdict = [], [] %}
    {%- for a in support_of %}
    {%- do support.append('when e.place_' ~ (a | lower) ~ ' = ' ~ k ~ ' then e.support_' ~ (a | lower)) %}
    {%- do verdict.append('when e.place_' ~ (a | lower) ~ ' = ' ~ k ~ " then '" ~ a ~ "'") %}
    {%- endfor %}
    {%- do competing.append(struct_of({
        'support': 'case ' ~ support | join(' ') ~ ' end',
        'verdict': 'case ' ~ verdict | join(' ') ~ ' end',
    })) %}
    {%- endfor %}
    case when e.verdict is not null then {{ list_of(competing) }} end as competing_verdicts,
    {#- each kept feature's name, raw value (rounded to 6 significant digits), rank and
        whether its side of the median speaks for the verdict (orientation of seed grid_features) -#}
    {%- set factors = [] %}
    {%- for k in range(1, 4) %}
    {%- set f = 'e.factor_' ~ k ~ '_' %}
    {%- do factors.append(struct_of({
        'feature': f ~ 'feature',
        'value': 'case when ' ~ is_infinite(f ~ 'raw') ~ ' then ' ~ f ~ 'raw else '
                 ~ significant_digits('round(' ~ f ~ 'raw, 10)', 6) ~ ' end',
        'rank': f ~ 'rank',
        'supports': "case when e.verdict in ('TREND', 'TRANSITION', 'RANGE_WEAK') then (" ~ f ~ 'rank - 0.5) * ' ~ f ~ 'orientation > 0'
                    ~ ' else (' ~ f ~ 'rank - 0.5) * ' ~ f ~ 'orientation < 0 end',
    })) %}
    {%- endfor %}
    case when e.verdict is not null then {{ list_head(list_of(factors), 'least(e.ranked_features, 3)') }}
    end as decision_factors,
    e.series_part, e.idx
from factor_picks as e
where e.carry_idx is null or e.idx > e.carry_idx
)

-- the coarse interval's verdict (var grid_coarse_interval, 4h) on the finer rows: the last
-- coarse bar that ended by the end of the finer bar (ASOF join on end times)
{%- set coarse = var('grid_coarse_interval') %}
{%- set minutes = var('grid_bar_intervals') %}
{%- set fine_minutes -%}
case bar_interval {% for i, m in minutes.items() %}when '{{ i }}' then {{ m }} {% endfor %}end
{%- endset %}
{%- set fine_rows -%}
(
    select *, {{ add_minutes('bar_start', fine_minutes) }} as ended_at
    from final
    where bar_interval <> '{{ coarse }}'
)
{%- endset %}
{%- set coarse_rows -%}
(
    select exchange, symbol, bar_start, verdict, confidence, {{ add_minutes('bar_start', minutes[coarse]) }} as ended_at
    from final
    where bar_interval = '{{ coarse }}'
    {%- if is_incremental() %}
    union all
    select exchange, symbol, bar_start, verdict, confidence, {{ add_minutes('bar_start', minutes[coarse]) }} as ended_at
    from {{ this }}
    where bar_interval = '{{ coarse }}'
    {%- endif %}
)
{%- endset %}
select {{ star_except(['ended_at']) }}
from (
    {{ asof_latest(fine_rows, coarse_rows, ['exchange', 'symbol'], 'ended_at', 'ended_at',
                   {'coarse_bar_start': 'bar_start', 'coarse_verdict': 'verdict', 'coarse_confidence': 'confidence'}) }}
) as f
-- the same columns in the same order (final's, then the three coarse_ ones)
union all
select *, cast(null as timestamp) as coarse_bar_start, cast(null as {{ dbt.type_string() }}) as coarse_verdict,
       cast(null as double) as coarse_confidence
from final
where bar_interval = '{{ coarse }}'
{%- endcall %}
