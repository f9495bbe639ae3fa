-- Every landed candle and every rollup, with finality and segments (docs/bars-and-drivers.md):
-- the mart over int_symbol_bars_finalized, which holds the rows (an incremental table the
-- driver and indicator models read, so the intermediate layer never reads a mart).
{{ config(materialized='view') }}
select * from {{ ref('int_symbol_bars_finalized') }}
