-- The virtual-grid bars the grid exit-event report evaluates (docs/grid-lifecycle.md): per
-- series and 1h bar the lifecycle state, the placement in force (or the last one), the
-- close and atr_14 the confirmed-break rule reads, the verdict, the triggers that fired,
-- whether a notification was sent and the number of state changes at the bar (a walk's
-- start not counted). A view; the Python report looks ahead by design.
{{ config(materialized='view') }}
with changes as (
    select walk_id, bar_start, count(*) as from_state_changes
    from {{ ref('fct_exit_states') }}
    where grid_kind = 'virtual' and from_state is not null
    group by all
)

select
    l.walk_id, l.grid_id as series_key, l.exchange, l.symbol, l.bar_start, l.state, l.lower, l.upper,
    i.close, i.atr_14, i.verdict, l.fired_triggers, l.is_sent,
    coalesce(c.from_state_changes, 0) as from_state_changes
from {{ ref('fct_grid_lifecycle') }} as l
join {{ ref('int_grid_lifecycle_bars_selected') }} as i
    on i.exchange = l.exchange and i.symbol = l.symbol and i.bar_start = l.bar_start
left join changes as c on c.walk_id = l.walk_id and c.bar_start = l.bar_start
where l.grid_kind = 'virtual'
