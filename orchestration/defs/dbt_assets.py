"""Every dbt model and seed as a Dagster asset; dbt tests become asset checks (docs/orchestration.md).

dbt sources carry ``meta.dagster.asset_key`` (``landing/<layout>_files``), so the raw
landing models hang off the landing-directory assets in the asset graph.

Three ``@dbt_assets`` split the graph so that no op depends on itself through another (the
UI groups the assets by warehouse schema instead: :class:`SchemaGroupTranslator`):
- ``upstream``: seeds, raw landing models and staging that the bar-local models read
  (unpartitioned: landing is per file, with a content-hash ledger, and a file spans many
  days);
- ``partitioned``: the bar-local rollup models (int_symbol_bars_rolled_up,
  int_dominance_bars_rolled_up) on daily UTC partitions; a run passes its partition
  window as the half-open ``--vars {partition_start, partition_end}``, and a range of
  partitions runs as one dbt invocation (``BackfillPolicy.single_run()``), so a backfill
  is chronological by construction; the partitions start at the first landed bar
  (:mod:`.partitions`);
- ``downstream``: everything else — finality/segments, composites (their index is a
  product over all earlier bars, so they are stateful, not bar-local), indicators
  (incremental from each segment's last final bar), engines and levers.
"""

import json
from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckSpec, AssetExecutionContext, AssetSpec, BackfillPolicy
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_shared.record import replace

from .dbt_vars import partition_window_vars
from .partitions import daily_partitions
from .project import dbt_project

#: the models built per daily partition: every model tagged daily_partitioned (their SQL
#: deletes and rebuilds the window of vars partition_start / partition_end)
PARTITIONED_MODELS = "tag:daily_partitioned"
# dbt runs a test in the op where every node it references is built or already upstream
# (a relationships test between a downstream model and an upstream seed runs downstream);
# dbt's default (eager) would run it before the model exists.
BUILD = ["build", "--indirect-selection", "buildable"]
#: the first op: the seeds (configuration: every check and model may read one) and what the
#: partitioned rollups read
UPSTREAM = "+tag:daily_partitioned resource_type:seed"


def dbt_test_description(test: Mapping[str, Any]) -> str:
    """One line saying what a dbt test checks, for its asset check in the UI.

    The test's own ``description`` (YAML) when it has one; else built from the generic
    test's name and arguments, e.g. ``dbt test not_null_columns: columns driver, bar_start are
    never NULL``
    or ``dbt test relationships: bucket exists in ref('dim_buckets').bucket``; a singular
    test (tests/dbt/*.sql) says its file. The severity is appended (error = blocking).
    """
    severity = (test.get("config") or {}).get("severity") or "error"
    suffix = f" (severity {severity.lower()}{': blocks downstream assets' if severity.lower() == 'error' else ''})"
    if test.get("description"):
        return test["description"].strip() + suffix
    meta = test.get("test_metadata") or {}
    name = meta.get("name")
    if not name:
        return f"dbt singular test {test.get('original_file_path', test.get('name'))}" + suffix
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k != "model"}
    column = kwargs.pop("column_name", None) or test.get("column_name")
    readable = {
        "not_null": lambda: f"column {column} is never NULL",
        "not_null_columns": lambda: f"{_columns_phrase(kwargs.get('columns') or [])} never NULL",
        "unique": lambda: f"column {column} has no duplicate values",
        "accepted_values": lambda: f"column {column} only takes the values {kwargs.get('values')}",
        "relationships": lambda: f"every {column} exists in {kwargs.get('to')}.{kwargs.get('field')}",
    }
    if name in readable:
        return f"dbt test {name}: {readable[name]()}" + suffix
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"dbt test {name}" + (f" on {column}" if column else "") + (f" ({args})" if args else "") + suffix


def _columns_phrase(columns: list[str]) -> str:
    """``column a is`` / ``columns a, b are``."""
    return f"column {columns[0]} is" if len(columns) == 1 else f"columns {', '.join(columns)} are"


class SchemaGroupTranslator(DagsterDbtTranslator):
    """dagster-dbt's default translation (asset key ``<schema>/<model>``), with the asset
    group = the warehouse schema (``seeds``, ``raw``, ``staging``, ``intermediate``,
    ``marts``, ``reports``: the layers of docs/architecture.md) and a description on every
    asset check (:func:`dbt_test_description`)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("schema") or "default"

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return replace(spec, description=dbt_test_description(manifest["nodes"][unique_id]))


TRANSLATOR = SchemaGroupTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=UPSTREAM,
    exclude=PARTITIONED_MODELS,
    name="market_regimes_upstream",
    dagster_dbt_translator=TRANSLATOR,
)
def upstream_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of every seed and of the landing and staging models the rollups read."""
    yield from dbt.cli([*BUILD, *update_args(context)], context=context).stream()


def partition_vars(context: AssetExecutionContext) -> dict[str, str]:
    """The run's partition window (one partition or a range) as dbt vars (partition_window_vars)."""
    window = context.partition_time_window
    return partition_window_vars(window.start, window.end)


#: the jobs that update the warehouse every few minutes or hourly (orchestration/defs/automation.py)
UPDATE_JOBS = ("regime_update",)
RANGE_START_TAG = "dagster/asset_partition_range_start"


def update_args(context: AssetExecutionContext, dbt_vars: dict[str, str] | None = None) -> list[str]:
    """Extra dbt arguments of an op (docs/orchestration.md, "Tests in update runs"): dbt's unit
    tests are left out of every run (they test the models' SQL on fixed rows, not the data:
    the test suite runs them, as dbt Labs recommends for production builds); in an update run
    (job regime_update) var test_since = the start of the run's partition range, so the
    generic data tests check the rows of that window. ``dbt_vars``: the op's other vars
    (other jobs: every data test, every row)."""
    out = dict(dbt_vars or {})
    extra = ["--exclude-resource-type", "unit_test"]
    if context.run.job_name in UPDATE_JOBS:
        start = context.run.tags.get(RANGE_START_TAG) or context.run.tags.get("dagster/partition")
        if start:
            out["test_since"] = f"{start[:10]} 00:00:00"
    return extra + (["--vars", json.dumps(out)] if out else [])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=PARTITIONED_MODELS,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    name="market_regimes_partitioned",
    dagster_dbt_translator=TRANSLATOR,
)
def partitioned_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build --vars {partition_start, partition_end}`` of the bar-local rollups."""
    yield from dbt.cli([*BUILD, *update_args(context, partition_vars(context))], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    exclude=UPSTREAM,
    name="market_regimes_downstream",
    dagster_dbt_translator=TRANSLATOR,
)
def downstream_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of everything downstream of the rollups (marts, engines, levers)."""
    yield from dbt.cli([*BUILD, *update_args(context)], context=context).stream()


dbt_asset_groups = [upstream_dbt_assets, partitioned_dbt_assets, downstream_dbt_assets]

#: the desks' input tables (dbt source `trading`, models/raw/_trading__sources.yml): written
#: by trading systems, never by dbt or Dagster, so external assets in group raw
desk_input_specs = [
    AssetSpec(
        key=["raw", "position_intents"],
        group_name="raw",
        kinds={"duckdb"},
        description="raw.position_intents: the desks' nudges of the levers (bar_start, bucket, execution_timeframe, "
        "delta_a, delta_e); created empty by every dbt run, written by trading systems (docs/levers.md, Intents).",
    )
]
