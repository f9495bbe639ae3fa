"""The warehouse as a Dagster resource: the DuckDB file and the landing directory (docs/configuration.md).

``WarehouseResource()`` with no arguments reads env MARKET_REGIMES_DB (default
warehouse/market_regimes.duckdb) and MARKET_REGIMES_LANDING (default the bundled sample)
when used; both can be set in the resource config instead (Dagster UI / run config).
Relative paths are taken from the project directory. dbt reads the same env vars
(profiles.yml), so checks and models see the same file.
"""

import os
from pathlib import Path

from dagster import ConfigurableResource

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DB = "warehouse/market_regimes.duckdb"
DEFAULT_LANDING = "sample/landing"


def _from_project(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_DIR / p


class WarehouseResource(ConfigurableResource):
    """DuckDB file and landing directory; None = from the environment (see module doc)."""

    duckdb_path: str | None = None
    landing_dir: str | None = None

    def db_path(self) -> Path:
        """The DuckDB file (absolute)."""
        return _from_project(self.duckdb_path or os.environ.get("MARKET_REGIMES_DB") or DEFAULT_DB)

    def landing_path(self) -> Path:
        """The landing directory (absolute)."""
        return _from_project(self.landing_dir or os.environ.get("MARKET_REGIMES_LANDING") or DEFAULT_LANDING)
