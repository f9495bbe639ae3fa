-- Rows of seed grid_configs left out because their (exchange, symbol) has no series at a
-- grid interval (only with env MARKET_REGIMES_GRID_UNKNOWN_SYMBOL=warn; the default
-- stops the build in int_grid_configs_validated instead). docs/grid-regimes.md.
{{ config(severity='warn') }}
select c.grid_id, c.exchange, c.symbol, c.valid_from
from {{ ref('grid_configs') }} as c
anti join {{ ref('int_grid_configs_validated') }} as v using (grid_id, valid_from)
