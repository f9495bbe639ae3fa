"""Dagster code location: ``dagster dev -m orchestration.definitions -h 127.0.0.1``.

Exposes ``defs``: the dbt project's models and seeds as assets (tests as asset checks)
with a ``dbt`` resource pointing at this project, and the network collectors (Binance
klines, CoinGecko dominance; off unless their run config sets enabled: true). The DuckDB file and landing directory
come from the env vars MARKET_REGIMES_DB and MARKET_REGIMES_LANDING, read by dbt.
"""

import sys
from pathlib import Path

from dagster import Definitions
from dagster_dbt import DbtCliResource

from .defs.collectors import collector_assets
from .defs.dbt_assets import market_regimes_dbt_assets
from .defs.project import dbt_project

defs = Definitions(
    assets=[market_regimes_dbt_assets, *collector_assets],
    resources={
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            # the dbt installed beside this interpreter, so an unactivated venv works
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        )
    },
)
