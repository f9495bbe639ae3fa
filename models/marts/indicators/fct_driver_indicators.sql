-- A view over intermediate.int_indicators_windowed, the table that holds every indicator
-- column (one wide write instead of two).
{{ config(materialized='view') }}
-- Technical indicators of every regime driver x timeframe on final bars (SPEC §5).
{{ select_indicators('driver', ['driver', 'timeframe']) }}
