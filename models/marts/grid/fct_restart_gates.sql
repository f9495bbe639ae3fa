-- Restart-gate progress of every stopped grid (docs/grid-lifecycle.md), one row per grid and
-- bar while a stop awaits its restart: the consecutive bars each gate's condition has held
-- (gate 1 VolChangeScore < 50 for 6 bars; gate 2 TrendScore < 50 and adx_slope_10 <= 0 for
-- 6; gate 3 RQS >= 60 and MeanRevScore >= 55 with the close inside the post-stop range for
-- 12; sequential, reset by a TREND or TRANSITION verdict), gates passed, bars since the stop
-- against the time floor (24 bars, doubled after 2 stops within 7 days), the post-stop range
-- and whether a restart is permitted. Append-only (incremental: bars after the grid's last
-- stored one).
{{ config(materialized='incremental', incremental_strategy='append', meta={'revision_rewind': 'grid_walk'}) }}
select
    l.grid_id, l.grid_kind, l.walk_id, l.exchange, l.symbol, l.bar_start,
    l.state, l.stop_reason,
    l.gate_1_bars, l.gate_2_bars, l.gate_3_bars, l.gates_passed,
    l.bars_since_stop, l.time_floor_bars,
    l.post_stop_lower, l.post_stop_upper,
    l.restart_permitted
from {{ ref('fct_grid_lifecycle') }} as l
where l.stop_reason is not null and {{ after_stored_grid_bars('l') }}
