-- Lever seeds are complete (docs/levers.md): every driver has a weight, every regime timeframe a
-- weight, every execution timeframe a multiplier for every regime timeframe, and
-- levers_config has all six keys. Returns one row per gap.
select 'driver_weights' as seed, d.driver as missing
from {{ ref('drivers') }} as d
anti join {{ ref('driver_weights') }} as w using (driver)
union all
select 'timeframe_weights', t.timeframe
from {{ ref('regime_timeframes') }} as t
anti join {{ ref('timeframe_weights') }} as w using (timeframe)
union all
select 'execution_timeframe_multipliers', e.execution_timeframe || ' x ' || t.timeframe
from (values ('1m'), ('5m'), ('15m'), ('1h'), ('4h'), ('1d')) as e(execution_timeframe)
cross join {{ ref('regime_timeframes') }} as t
anti join {{ ref('execution_timeframe_multipliers') }} as m using (execution_timeframe, timeframe)
union all
select 'levers_config', k.key
from (values ('base_a'), ('base_e'), ('intent_cap'), ('stale_bars'), ('size_min'), ('size_span')) as k(key)
anti join {{ ref('levers_config') }} as c using (key)
