-- The virtual-grid bars the grid exit-event report evaluates (docs/grid-lifecycle.md): per
-- series and 1h bar the lifecycle state, the placement in force (or the last one), the
-- close, high, low and atr_14 the confirmed-break and post-stop rules read, the verdict, the
-- triggers that fired, whether a notification was sent, the number of state changes at the
-- bar (a walk's start not counted), bars since the stop and whether the gates restarted the
-- grid at the bar. A table (read by two reports: a view would join the lifecycle with its
-- inputs twice); the Python reports look ahead by design.
{{ config(materialized='table') }}
with changes as (
    select walk_id, bar_start, count(*) as from_state_changes, count(*) filter (where reason = 'restart') as restarts
    from {{ ref('fct_exit_states') }}
    where grid_kind = 'virtual' and from_state is not null
    group by all
)

select
    l.walk_id, l.grid_id as series_key, l.exchange, l.symbol, l.bar_start, l.state, l.lower, l.upper,
    i.close, i.high, i.low, i.atr_14, i.verdict, l.fired_triggers, l.is_sent, l.bars_since_stop,
    coalesce(c.from_state_changes, 0) as from_state_changes,
    coalesce(c.restarts, 0) > 0 as is_restart
from {{ ref('fct_grid_lifecycle') }} as l
join {{ ref('fct_grid_lifecycle_bars') }} as i
    on i.exchange = l.exchange and i.symbol = l.symbol and i.bar_start = l.bar_start
left join changes as c on c.walk_id = l.walk_id and c.bar_start = l.bar_start
where l.grid_kind = 'virtual'
