-- What to do with each configured grid (seed grid_configs, checked by
-- int_grid_configs_validated) at every 1h bar of its symbol while a version of it is in
-- force (valid_from <= bar_start < the next version's valid_from): the first rule that
-- matches decides, `rule` names it (docs/grid-regimes.md):
--   1 mandatory_exit  the grid's lifecycle is in MANDATORY_EXIT             -> stop
--   2 trend_or_transition  verdict TREND or TRANSITION                    -> stop (enabled) / informational
--   3 range_weak     enabled and RANGE_WEAK -> keep when the close is inside and overlap >= min_overlap, else hold_off
--   4 reposition     enabled, RANGE_OK, (grid_outside_closes closes outside the grid, or overlap < min_overlap on
--                    grid_low_overlap_bars bars) and the version is older than grid_min_lifetime_bars
--                    -> reposition to [S, R] with capacity-checked levels
--   5 range_ok       enabled and RANGE_OK -> keep (narrow when the last grid_narrow_lookback_bars bars spanned
--                    less than narrow_width_frac of the grid width)
--   6 enable         disabled, RANGE_OK and restart permitted -> enable with the probation parameters
--   7 disabled       disabled otherwise -> informational
-- overlap = |[lower, upper] and [S, R]| / |[lower, upper] or [S, R]| (intersection over union).
-- Rule 1 and "restart permitted" read the grid's lifecycle (fct_grid_lifecycle: its state
-- and restart_permitted at the bar; a disabled grid never stopped is permitted).
{{ config(materialized='table') }}
{%- set spacing = var('grid_probation_spacing_atr') | float %}
{%- if not (0.45 <= spacing <= 0.55) %}
    {{ exceptions.raise_compiler_error("dbt_project.yml var grid_probation_spacing_atr " ~ spacing
        ~ " must stay inside the probation bounds 0.45-0.55") }}
{%- endif %}
{%- set lookback = var('grid_narrow_lookback_bars') | int %}
{%- set outside_n = var('grid_outside_closes') | int %}
{%- set overlap_n = var('grid_low_overlap_bars') | int %}
with configs as (
    select * from {{ ref('int_grid_configs_validated') }}
),

market as (
    -- the symbol's recent span, for the narrow test
    select
        series_part, idx,
        max(high) over recent - min(low) over recent as recent_span,
        count(*) over recent = {{ lookback }} as has_recent_span
    from {{ ref('int_grid_bars_prepared') }}
    where bar_interval = '1h' and symbol in (select symbol from configs)
    window recent as (partition by series_part order by idx rows between {{ lookback - 1 }} preceding and current row)
),

grid_bars as (
    select
        c.grid_id, c.symbol, c.exchange, c.valid_from, c.lower, c.upper, c.levels, c.allocation_frac, c.enabled,
        r.bar_start, r.close, r.verdict, r.confidence, r.support, r.resistance,
        b.atr_14, m.recent_span, m.has_recent_span,
        (r.close >= c.lower and r.close <= c.upper) as is_price_inside,
        greatest(0.0, least(c.upper, r.resistance) - greatest(c.lower, r.support))
            / (greatest(c.upper, r.resistance) - least(c.lower, r.support)) as overlap,
        row_number() over version_order - 1 as version_age_bars
    from configs as c
    join {{ ref('fct_grid_regimes') }} as r
        on r.exchange = c.exchange and r.symbol = c.symbol and r.bar_interval = '1h'
        and r.bar_start >= c.valid_from and (c.valid_to is null or r.bar_start < c.valid_to)
    join {{ ref('int_grid_bars_prepared') }} as b using (series_part, idx)
    join market as m using (series_part, idx)
    window version_order as (partition by c.grid_id, c.valid_from order by r.bar_start)
),

lifecycle as (
    select grid_id, bar_start, state as exit_state, restart_permitted
    from {{ ref('fct_grid_lifecycle') }}
    where grid_kind = 'configured'
),

-- the version window spelled out where it is framed (Spark cannot refine a named window)
{%- set version_order = 'partition by g.grid_id, g.valid_from order by g.bar_start' %}
flagged as (
    select
        g.*,
        l.exit_state,
        coalesce(l.restart_permitted, true) as is_restart_permitted,
        count(*) filter (where not g.is_price_inside) over ({{ version_order }} rows between {{ outside_n - 1 }} preceding and current row)
            = {{ outside_n }} as is_outside_long,
        count(*) filter (where g.overlap < {{ grid_param('min_overlap') }}) over ({{ version_order }} rows between {{ overlap_n - 1 }} preceding and current row)
            = {{ overlap_n }} as is_misplaced_long
    from grid_bars as g
    left join lifecycle as l using (grid_id, bar_start)
    window version_order as (partition by g.grid_id, g.valid_from order by g.bar_start)
),

decided as (
    select
        *,
        case
            when exit_state = 'MANDATORY_EXIT' then 'mandatory_exit'
            when verdict in ('TREND', 'TRANSITION') then 'trend_or_transition'
            when enabled and verdict = 'RANGE_WEAK' then 'range_weak'
            when enabled and verdict = 'RANGE_OK' and (is_outside_long or is_misplaced_long)
                 and version_age_bars >= {{ var('grid_min_lifetime_bars') }} then 'reposition'
            when enabled and verdict = 'RANGE_OK' then 'range_ok'
            when not enabled and verdict = 'RANGE_OK' and is_restart_permitted then 'enable'
            when not enabled then 'disabled'
            else 'no_verdict'
        end as rule
    from flagged
)

select
    grid_id, symbol, exchange, bar_start, valid_from, lower, upper, levels, allocation_frac, enabled,
    verdict, confidence, support, resistance, close, is_price_inside, overlap, exit_state,
    rule,
    case rule
        when 'mandatory_exit' then 'stop'
        when 'trend_or_transition' then case when enabled then 'stop' else 'informational' end
        when 'range_weak' then case when is_price_inside and overlap >= {{ grid_param('min_overlap') }}
                                    then 'keep' else 'hold_off' end
        when 'reposition' then 'reposition'
        when 'range_ok' then case when has_recent_span and recent_span < {{ grid_param('narrow_width_frac') }} * (upper - lower)
                                  then 'narrow' else 'keep' end
        when 'enable' then 'enable'
        when 'disabled' then 'informational'
        else 'informational'
    end as recommendation,
    rule in ('mandatory_exit', 'reposition', 'enable') or (rule = 'trend_or_transition' and enabled) as is_actionable,
    case when rule in ('reposition', 'enable') then support end as suggested_lower,
    case when rule in ('reposition', 'enable') then resistance end as suggested_upper,
    case when rule = 'reposition' then
             greatest(2, least(levels, floor((resistance - support)
                 / greatest({{ grid_param('spacing_atr') }} * atr_14,
                            {{ grid_param('min_edge_multiple') }} * 2 * {{ grid_param('fee_rate') }} * close))))::integer
         when rule = 'enable' then {{ grid_lifecycle_param('probation_levels') }}::integer
    end as suggested_levels,
    case when rule = 'reposition' then allocation_frac when rule = 'enable' then {{ grid_lifecycle_param('probation_allocation') }} end
        as suggested_allocation_frac,
    case when rule = 'enable' then {{ spacing }} * atr_14 end as suggested_spacing
from decided
