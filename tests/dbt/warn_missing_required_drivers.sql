-- A required driver (seed drivers.csv is_required) with no bar at a regime timeframe is a
-- warning, never a build error (docs/bars-and-drivers.md): downstream treats it as missing (neutral).
{{ config(severity='warn') }}
select d.driver, t.timeframe
from {{ ref('drivers') }} as d
cross join {{ ref('regime_timeframes') }} as t
where d.is_required
  and not exists (
      select 1 from {{ ref('fct_driver_bars') }} as b
      where b.driver = d.driver and b.timeframe = t.timeframe
  )
