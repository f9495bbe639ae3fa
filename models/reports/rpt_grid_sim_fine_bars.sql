-- The landed bars finer than the grid interval (1m, 5m: bars at their own source interval,
-- not rolled up) of every grid series, with their length in minutes: the simulated grid
-- fills on them where they cover a placement's window (docs/grid-lifecycle.md). A view.
{{ config(materialized='view') }}
with grid_series as (
    select distinct exchange, symbol from {{ ref('fct_grid_lifecycle_bars') }}
)

select
    b.exchange || '|' || b.symbol as series_key, b.bar_start, i.interval_minutes, b.open, b.high, b.low, b.close
from {{ ref('fct_symbol_bars') }} as b
join grid_series as g on g.exchange = b.exchange and g.symbol = b.symbol
join {{ ref('bar_intervals') }} as i on i.bar_interval = b.bar_interval
join {{ ref('bar_intervals') }} as grid on grid.bar_interval = '{{ var("grid_lifecycle_interval") }}'
where b.is_primary and b.source_interval = b.bar_interval and i.interval_minutes < grid.interval_minutes
