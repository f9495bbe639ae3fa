"""Dagster code location: ``dagster dev -m orchestration.definitions -h 127.0.0.1``.

Exposes ``defs``: the dbt project's models and seeds as assets in three groups (upstream,
daily-partitioned rollups, downstream; tests as asset checks) with a ``dbt`` resource
pointing at this project; the ``regime_update`` job with its micro/meso/macro schedules
and the landing-directory sensor; and the network collectors (Binance klines, CoinGecko
dominance; off unless their run config sets enabled: true); the great-expectations
suites (market_regimes/quality) as blocking asset checks next to the dbt tests. The DuckDB file and landing
directory come from the env vars MARKET_REGIMES_DB and MARKET_REGIMES_LANDING, read by dbt.
The in-process executor runs one step at a time: DuckDB allows one writer.
"""

from dagster import Definitions, in_process_executor
from dagster_dbt import DbtCliResource

from .defs.automation import jobs, schedules, sensors
from .defs.collectors import collector_assets
from .defs.dbt_assets import dbt_asset_groups, desk_input_specs
from .defs.project import DBT_EXECUTABLE, dbt_project
from .defs.quality import quality_checks
from .defs.report import regimes_dashboard
from .defs.resources import WarehouseResource

defs = Definitions(
    assets=[*dbt_asset_groups, *desk_input_specs, *collector_assets, regimes_dashboard],
    asset_checks=quality_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    executor=in_process_executor,
    resources={
        "warehouse": WarehouseResource(),  # DuckDB file + landing dir, from env unless configured
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            # the dbt installed beside this interpreter, so an unactivated venv works
            dbt_executable=DBT_EXECUTABLE,
        ),
    },
)
