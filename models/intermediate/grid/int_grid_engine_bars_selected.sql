-- The columns of int_grid_bars_prepared that the grid range engine reads
-- (market_regimes.engines.grid_ranges.grid_range_rows_by_window), so its Python model
-- loads ~12 columns instead of ~40.
{{ config(materialized='view') }}
select
    series_part, idx, bar_start, high, low, close, atr_14, window_bars, holdout_bars,
    quantile_support, quantile_resistance, quantile_support_fit, quantile_resistance_fit
from {{ ref('int_grid_bars_prepared') }}
