"""Dagster code location for the ``spark`` dbt target (docs/scale-out.md, "Engines on Spark"):
``dagster dev -m orchestration.spark_definitions -h 127.0.0.1``.

The DuckDB location (:mod:`orchestration.definitions`) is the default and is unchanged; this
one builds the part of the project that runs on Spark today, in steps that each hold
the local Spark metastore alone (the in-process executor runs one step at a time):

* ``raw/klines``, ``raw/daily_series``, ``raw/dominance_readings``: the landing ledgers. The
  landing stays Python: ``dbt run`` of the landing models on DuckDB (``MARKET_REGIMES_DB``,
  ``MARKET_REGIMES_LANDING``), then the ledgers copied into the Spark warehouse
  (``python -m market_regimes.spark_parity copy-landing``);
* ``spark_sql_before_rollups``: ``dbt build --target spark`` of the seeds and the SQL
  models the rollups read; ``spark_sql_rollups``: the day-partitioned rollups on the DuckDB
  location's daily partitions (tables partitioned by UTC day on Spark: a partition run drops
  and overwrites its days only); ``spark_sql_upstream``: every other SQL model upstream of
  the Python engines;
* one asset per ported engine (:data:`market_regimes.spark_engines.PORTED_MODELS`), keyed as dbt keys
  its model (``intermediate/int_grid_ranges_walked``, ``marts/fct_uptrend_states``,
  ``marts/fct_strategy_fit``, ``marts/fct_symbol_turbulence``, ``marts/fct_volatility_regimes``:
  after the symbol turbulence, which it reads; ``marts/fct_market_regimes``: the trend x vol
  regimes, a full table computed on the Spark driver; ``marts/fct_grid_lifecycle``: after
  ``spark_sql_after_engines``, which builds its input): the engine's Spark job (``python -m
  market_regimes.spark_engines``), continuing each stored series (or cross-section: the
  symbol turbulence; or walk: the grid lifecycle);
* ``spark_sql_after_engines``: ``dbt build --target spark`` of the SQL models downstream of
  the first wave of ported engines only (``fct_grid_ranges``, ``fct_grid_regimes``, the
  levers, the view ``fct_grid_lifecycle_bars``, ``fct_regime_events``, the regime research
  inputs and the SQL regime reports, ...);
* ``spark_sql_after_second_wave``: the same for the SQL models downstream of the grid
  lifecycle (the exit states and notifications, the restart gates, the grid
  recommendations, ``rpt_grid_lifecycle_inputs``).

The selections come from :func:`market_regimes.spark_engines.dbt_selections`. Models
downstream of an engine without a Spark job (the Python research reports and what reads
them) are not assets of this location. Paths: the Spark warehouse is ``MARKET_REGIMES_SPARK_WAREHOUSE`` (default
``warehouse/spark``, as profiles.yml), every process runs in the project directory (where
dbt-spark's session keeps ``metastore_db/``).
"""

import json
import os
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    Definitions,
    MaterializeResult,
    asset,
    in_process_executor,
    multi_asset,
)
from dagster_dbt import DbtCliResource, dbt_assets

from market_regimes.spark_engines import PORTED_MODELS as PORTED
from market_regimes.spark_engines import dbt_selections
from market_regimes.spark_parity import LANDING_TABLES, run_spark_module

from .defs.dbt_assets import PARTITIONED_MODELS, TRANSLATOR, partition_vars
from .defs.partitions import daily_partitions
from .defs.project import DBT_EXECUTABLE, PROJECT_DIR, dbt_project
from .defs.resources import WarehouseResource

#: (select, exclude) of the dbt steps: the seeds and the SQL models the day-partitioned
#: rollups read, the rollups (daily partitions, as in the DuckDB location), the other SQL
#: models upstream of every Python engine, and those downstream of the ported engines only
#: (the engines without a job and everything downstream of them stay out of this location)
_SELECTIONS = dbt_selections(PROJECT_DIR)
BEFORE_ROLLUPS = f"+{PARTITIONED_MODELS},path:models resource_type:seed"
SQL_UPSTREAM = " ".join(_SELECTIONS["upstream"][0])
SQL_UPSTREAM_EXCLUDE = " ".join([*_SELECTIONS["upstream"][1], f"+{PARTITIONED_MODELS}"])
AFTER_ENGINES, AFTER_ENGINES_EXCLUDE = (" ".join(part) for part in _SELECTIONS["after_engines"])
AFTER_SECOND_WAVE, AFTER_SECOND_WAVE_EXCLUDE = (" ".join(part) for part in _SELECTIONS["after_second_wave"])
BUILD = ["build", "--exclude-resource-type", "unit_test"]  # (target spark: the resource) unit fixtures are DuckDB SQL


def spark_warehouse() -> Path:
    """The Spark warehouse folder: ``MARKET_REGIMES_SPARK_WAREHOUSE`` (relative to the project
    directory), default ``warehouse/spark`` (profiles.yml's default)."""
    path = Path(os.environ.get("MARKET_REGIMES_SPARK_WAREHOUSE", "warehouse/spark"))
    return path if path.is_absolute() else PROJECT_DIR / path


def run_python_module(args: list[str], context: AssetExecutionContext) -> str:
    """:func:`market_regimes.spark_parity.run_spark_module` in the project directory on the
    Spark warehouse, its result logged; returns its last printed line."""
    line = run_spark_module(args, cwd=PROJECT_DIR, warehouse=spark_warehouse(), env=dict(os.environ))
    context.log.info(f"python -m {' '.join(args[:2])}: {line}")
    return line or "{}"


@multi_asset(
    specs=[
        AssetSpec(
            key=["raw", name],
            group_name="raw",
            kinds={"spark"},
            description=f"raw.{name}: the landing ledger, landed by Python into DuckDB and copied to Spark.",
        )
        for name in LANDING_TABLES
    ],
    name="spark_landing_ledgers",
)
def spark_landing_ledgers(context: AssetExecutionContext, warehouse: WarehouseResource):
    """Land the files into DuckDB (``dbt run --select path:python_models/raw`` on the DuckDB
    target: the file of ``MARKET_REGIMES_DB``, which the warehouse resource reads by default)
    and copy the ledgers into the Spark warehouse."""
    duckdb = DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir), dbt_executable=DBT_EXECUTABLE
    )
    duckdb.cli(["run", "--select", "path:python_models/raw"], manifest=dbt_project.manifest_path).wait()
    copied = json.loads(
        run_python_module(
            [
                "market_regimes.spark_parity",
                "copy-landing",
                str(warehouse.db_path()),
            ],
            context,
        )
    )
    for name in LANDING_TABLES:
        yield MaterializeResult(asset_key=AssetKey(["raw", name]), metadata={"rows": copied.get(name, 0)})


def spark_dbt_op(name: str, select: str, exclude: str, what: str, partitioned: bool = False):
    """One ``dbt build --target spark`` op over the models of ``select`` minus ``exclude``
    (asset keys and checks as in the DuckDB location: :data:`TRANSLATOR`). ``partitioned``:
    on the DuckDB location's daily partitions (a run passes its window as the vars
    partition_start / partition_end; a range of partitions is one dbt invocation)."""
    partitions = {"partitions_def": daily_partitions, "backfill_policy": BackfillPolicy.single_run()}

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        select=select,
        exclude=exclude,
        name=name,
        dagster_dbt_translator=TRANSLATOR,
        **(partitions if partitioned else {}),
    )
    def _op(context: AssetExecutionContext, dbt: DbtCliResource):
        """``dbt build --target spark`` of the op's models (the ``what`` of spark_dbt_op)."""
        context.log.info(f"dbt build --target spark of {what}")
        window = ["--vars", json.dumps(partition_vars(context))] if partitioned else []
        yield from dbt.cli([*BUILD, *window], context=context).stream()

    return _op


spark_sql_before_rollups = spark_dbt_op(
    "spark_sql_before_rollups",
    BEFORE_ROLLUPS,
    PARTITIONED_MODELS,
    "the seeds and the SQL models the day-partitioned rollups read",
)
# the rollups as tables partitioned by UTC day on Spark (macro day_partitioned): a partition
# run drops and overwrites its days' partitions only
spark_sql_rollups = spark_dbt_op(
    "spark_sql_rollups", PARTITIONED_MODELS, "", "the day-partitioned rollups", partitioned=True
)
spark_sql_upstream = spark_dbt_op(
    "spark_sql_upstream", SQL_UPSTREAM, SQL_UPSTREAM_EXCLUDE, "the other SQL models upstream of the Python engines"
)


def engine_asset(model: str, job: str):
    """The asset of one ported engine: its Spark job writes the model's table."""
    nodes = _manifest()["nodes"]
    node = next(n for n in nodes.values() if n["name"] == model and n["resource_type"] == "model")
    # keys as dagster-dbt gives the dbt nodes (<schema>/<name>), so the graph joins up
    parents = [AssetKey([nodes[uid]["schema"], nodes[uid]["name"]]) for uid in node["depends_on"]["nodes"]]

    @asset(
        key=AssetKey([node["schema"], model]),
        deps=parents,
        group_name=node["schema"],
        kinds={"spark", "python"},
        description=f"{node['schema']}.{model} built by the Spark job `{job}` (market_regimes.spark_engines): "
        + (node.get("description") or "").strip(),
    )
    def _engine(context: AssetExecutionContext) -> MaterializeResult:
        result = json.loads(run_python_module(["market_regimes.spark_engines", job], context))[job]
        return MaterializeResult(metadata={k: v for k, v in result.items() if isinstance(v, (int, float, str))})

    return _engine


def _manifest() -> dict:
    return json.loads(Path(dbt_project.manifest_path).read_text())


engine_assets = [engine_asset(model, job) for model, job in PORTED.items()]


spark_sql_after_engines = spark_dbt_op(
    "spark_sql_after_engines",
    AFTER_ENGINES,
    AFTER_ENGINES_EXCLUDE,
    "the SQL models downstream of the ported engines only",
)


# the SQL models downstream of the second-wave engines (the grid lifecycle: its input is a
# model of spark_sql_after_engines), in their own op so that the op graph has no cycle
spark_sql_after_second_wave = spark_dbt_op(
    "spark_sql_after_second_wave",
    AFTER_SECOND_WAVE,
    AFTER_SECOND_WAVE_EXCLUDE,
    "the SQL models downstream of the grid lifecycle",
)


defs = Definitions(
    assets=[
        spark_landing_ledgers,
        spark_sql_before_rollups,
        spark_sql_rollups,
        spark_sql_upstream,
        *engine_assets,
        spark_sql_after_engines,
        spark_sql_after_second_wave,
    ],
    executor=in_process_executor,
    resources={
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            dbt_executable=DBT_EXECUTABLE,
            target="spark",
        ),
    },
)
