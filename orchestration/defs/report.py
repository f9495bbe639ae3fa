"""The regime dashboard as a Dagster asset (docs/dashboard.md): ``reports/regimes_dashboard``.

Writes ONE self-contained HTML file (default ``reports/regimes.html`` in the project
directory) with :func:`market_regimes.dashboard.write_dashboard`, reading the warehouse
of the ``warehouse`` resource read-only. It depends on the dbt assets of every relation
a panel reads (keys ``<schema>/<model>``, as dagster-dbt names them) that the dbt project
defines, so it runs after them; a report model that does not exist yet simply adds no
dependency, and its panel is left out of the page. Not part of ``regime_update``:
materialise it on its own (UI, or ``dagster asset materialize --select
reports/regimes_dashboard``).
"""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset

from market_regimes.dashboard.panels import PANELS, relations_read
from market_regimes.dashboard.settings import DEFAULT_MAX_INTRADAY_BARS, DEFAULT_OUT, Settings

from .dbt_assets import dbt_asset_groups
from .resources import WarehouseResource

PROJECT_DIR = Path(__file__).resolve().parents[2]


def relation_key(relation: str) -> AssetKey:
    """``marts.fct_levers`` -> AssetKey(["marts", "fct_levers"]) (dbt asset keys are ``<schema>/<model>``)."""
    return AssetKey(relation.split("."))


def dashboard_deps() -> list[AssetKey]:
    """Asset keys of the relations the panels read that the dbt project defines, in panel order."""
    defined = {key for assets in dbt_asset_groups for key in assets.keys}
    keys: list[AssetKey] = []
    for panel in PANELS:
        for relation in relations_read(panel):
            key = relation_key(relation)
            if key in defined and key not in keys:
                keys.append(key)
    return keys


class DashboardConfig(Config):
    """Where to write and how much intraday history to show."""

    out_path: str = DEFAULT_OUT  # relative: to the project directory
    max_intraday_bars: int = DEFAULT_MAX_INTRADAY_BARS


@asset(
    key_prefix="reports",
    name="regimes_dashboard",
    group_name="reports",
    deps=dashboard_deps(),
    description="The regime dashboard: one self-contained HTML file (plotly inlined), one panel per mart.",
)
def regimes_dashboard(
    context: AssetExecutionContext, config: DashboardConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    """Write the dashboard; metadata: path, size, panels shown and skipped, seconds."""
    from market_regimes.dashboard.writer import write_dashboard  # plotly loads with the run, not the code location

    out = Path(config.out_path)
    out = out if out.is_absolute() else PROJECT_DIR / out
    result = write_dashboard(
        warehouse.db_path(), out, Settings(max_intraday_bars=config.max_intraday_bars), log=context.log.info
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "size_bytes": result.size_bytes,
            "panels_shown": [p.name for p in result.panels if p.shown],
            "panels_skipped": [p.name for p in result.panels if not p.shown],
            "seconds": round(result.seconds, 2),
        }
    )
