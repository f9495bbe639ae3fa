-- The exit-state history of every grid (docs/grid-lifecycle.md): one row per state change,
-- append-only, with every trigger that fired at that bar and its value (JSON list of
-- {trigger, value}; "inf" for an infinite half-life ratio). The first row of a walk has
-- from_state NULL and reason `start`. change_seq orders several changes of one bar
-- (e.g. MANDATORY_EXIT then, next bar, EXITED are separate bars; a restart and its
-- probation start are one). Incremental: only bars after the grid's last stored one.
{{ config(materialized='incremental', incremental_strategy='append', meta={'revision_rewind': 'grid_walk'}) }}
with changed as (
    select
        l.grid_id, l.grid_kind, l.walk_id, l.exchange, l.symbol, l.bar_start,
        {{ json_struct_list('l.state_changes', {'from_state': 'text', 'to_state': 'text', 'reason': 'text', 'triggers': 'json'}) }}
            as changes
    from {{ ref('fct_grid_lifecycle') }} as l
    where l.state_changes is not null and {{ after_stored_grid_bars('l') }}
),

unnested as (
    select
        grid_id, grid_kind, walk_id, exchange, symbol, bar_start,
        {{ unnest_with_position('changes', 'change', 'change_seq') }}
    from changed
)

select
    grid_id, grid_kind, walk_id, exchange, symbol, bar_start, change_seq,
    change.from_state,
    change.to_state,
    change.reason,
    change.triggers
from unnested
