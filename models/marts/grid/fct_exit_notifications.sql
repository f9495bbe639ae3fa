-- The exit notifications of every grid (docs/grid-lifecycle.md): one row per bar in
-- WARNING, LATEST_ACCEPTABLE_EXIT or MANDATORY_EXIT, sent or suppressed. Rate limits per
-- (grid, state) on bar_start time (seed grid_lifecycle_config notify_*_hours: WARNING 4 h,
-- LATEST 2 h, MANDATORY 1 h); a higher state is never suppressed by a lower one's limit;
-- suppressed_reason says which limit held it back. Append-only (incremental: bars after the
-- grid's last stored one).
{{ config(materialized='incremental', incremental_strategy='append', meta={'revision_rewind': 'grid_walk'}) }}
select
    l.grid_id, l.grid_kind, l.walk_id, l.exchange, l.symbol, l.bar_start,
    l.notified_state as state,
    l.is_sent,
    l.suppressed_reason,
    l.fired_triggers
from {{ ref('fct_grid_lifecycle') }} as l
where l.notified_state is not null and {{ after_stored_grid_bars('l') }}
