-- A view joining the narrow indicator tables (intermediate.int_indicators_smoothed and
-- int_indicators_windowed) on series_part and idx: no second copy of 1.8M x 40 values.
{{ config(materialized='view') }}
-- Technical indicators of every regime driver x timeframe on final bars (docs/indicators.md).
{{ select_indicators('driver', ['driver', 'timeframe']) }}
