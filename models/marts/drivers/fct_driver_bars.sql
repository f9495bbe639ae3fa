-- The eight regime drivers at the regime timeframes (docs/bars-and-drivers.md): the mart over
-- int_driver_bars_finalized, which holds the rows (the indicator models read it, so the
-- intermediate layer never reads a mart).
{{ config(materialized='view') }}
select * from {{ ref('int_driver_bars_finalized') }}
