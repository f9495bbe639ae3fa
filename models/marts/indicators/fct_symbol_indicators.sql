-- A view over intermediate.int_indicators_windowed, the table that holds every indicator
-- column (one wide write instead of two).
{{ config(materialized='view') }}
-- Technical indicators of every exchange x symbol x interval series on final primary
-- bars (SPEC §5).
{{ select_indicators('symbol', ['exchange', 'symbol', 'bar_interval']) }}
