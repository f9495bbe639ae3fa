-- An optional driver (seed drivers.csv, is_required false: the buckets and the dominance
-- series) with no bar at any regime timeframe is a warning, never a build error
-- (docs/bars-and-drivers.md): downstream it is missing, i.e. neutral. One row per such
-- driver. Per driver, not per timeframe as warn_missing_required_drivers: an optional
-- driver often exists at some timeframes only by design (the sample's daily-only dominance
-- files, buckets without 5m members), which is no finding.
{{ config(severity='warn') }}
select d.driver, d.kind
from {{ ref('drivers') }} as d
where not d.is_required
  and not exists (
      select 1 from {{ ref('fct_driver_bars') }} as b
      where b.driver = d.driver
  )
order by d.driver
