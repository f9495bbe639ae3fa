-- A view joining the narrow indicator tables (intermediate.int_indicators_smoothed and
-- int_indicators_windowed) on series_part and idx: no second copy of 1.8M x 40 values.
{{ config(materialized='view') }}
-- Technical indicators of every exchange x symbol x interval series on final primary
-- bars (docs/indicators.md).
{{ select_indicators('symbol', ['exchange', 'symbol', 'bar_interval']) }}
