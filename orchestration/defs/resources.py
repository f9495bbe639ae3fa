"""The warehouse as a Dagster resource: the DuckDB file and the landing directory (docs/configuration.md).

``WarehouseResource()`` with no arguments reads env MARKET_REGIMES_DB (default
warehouse/market_regimes.duckdb) and MARKET_REGIMES_LANDING (default the bundled sample)
when used; both can be set in the resource config instead (Dagster UI / run config).
Relative paths are taken from the project directory. dbt reads the same env vars
(profiles.yml), so checks and models see the same file.
"""

from pathlib import Path

from dagster import ConfigurableResource

from market_regimes.settings import PROJECT_DIR, landing_path, warehouse_path

__all__ = ["PROJECT_DIR", "WarehouseResource"]


class WarehouseResource(ConfigurableResource):
    """DuckDB file and landing directory; None = from the environment (see module doc)."""

    duckdb_path: str | None = None
    landing_dir: str | None = None

    def db_path(self) -> Path:
        """The DuckDB file (absolute)."""
        return warehouse_path(self.duckdb_path)

    def landing_path(self) -> Path:
        """The landing directory (absolute)."""
        return landing_path(self.landing_dir)
