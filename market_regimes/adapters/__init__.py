"""Support for the dbt Python models (the adapters in python_models/), kept out of the pure
engines (market_regimes.engines: DataFrames in, DataFrames out, no SQL): the SQL an
incremental model runs against its own stored table (``this``) to find where each series
continues. That SQL cannot be an upstream dbt model (a model cannot read its own output
upstream of itself), so it lives here, beside the adapters that run it."""
