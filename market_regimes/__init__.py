"""market-regimes: pure-Python engines, landing readers and helpers (no dbt, no Dagster)."""

__version__ = "0.1.0"
