"""Every dbt model and seed as a Dagster asset; dbt tests become asset checks (SPEC §11).

dbt sources carry ``meta.dagster.asset_key`` (``landing/<layout>_files``), so the raw
landing models hang off the landing-directory assets in the asset graph.

Three ``@dbt_assets`` split the graph so that no op depends on itself through another:
- ``upstream``: seeds, raw landing models and staging that the bar-local models read
  (unpartitioned: landing is per file, with a content-hash ledger, and a file spans many
  days);
- ``partitioned``: the bar-local rollup models (int_symbol_bars_rolled_up,
  int_dominance_bars_rolled_up) on daily UTC partitions; a run passes its partition
  window as the half-open ``--vars {partition_start, partition_end}``, and a range of
  partitions runs as one dbt invocation (``BackfillPolicy.single_run()``), so a backfill
  is chronological by construction;
- ``downstream``: everything else — finality/segments, composites (their index is a
  product over all earlier bars, so they are stateful, not bar-local), indicators
  (incremental from each segment's last final bar), engines and levers.
"""

import json
import os

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition
from dagster_dbt import DbtCliResource, dbt_assets

from .project import dbt_project

PARTITIONED_MODELS = "int_symbol_bars_rolled_up int_dominance_bars_rolled_up"
# dbt runs a test in the op where every node it references is built or already upstream
# (a relationships test between a downstream model and an upstream seed runs downstream);
# dbt's default (eager) would run it before the model exists.
BUILD = ["build", "--indirect-selection", "buildable"]
UPSTREAM = "+int_symbol_bars_rolled_up +int_dominance_bars_rolled_up"

# Daily partitions from MARKET_REGIMES_PARTITION_START (default 2017-01-01, before the
# first Binance spot candle) to today (end_offset=1: the current, still open day).
daily_partitions = DailyPartitionsDefinition(
    start_date=os.environ.get("MARKET_REGIMES_PARTITION_START", "2017-01-01"), end_offset=1)


@dbt_assets(manifest=dbt_project.manifest_path, select=UPSTREAM, exclude=PARTITIONED_MODELS,
            name="market_regimes_upstream")
def upstream_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the seeds, landing and staging models the rollups read."""
    yield from dbt.cli(BUILD, context=context).stream()


def partition_vars(context: AssetExecutionContext) -> dict[str, str]:
    """The run's partition window (one partition or a range) as dbt vars, UTC timestamps."""
    window = context.partition_time_window
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"partition_start": window.start.strftime(fmt), "partition_end": window.end.strftime(fmt)}


@dbt_assets(manifest=dbt_project.manifest_path, select=PARTITIONED_MODELS, partitions_def=daily_partitions,
            backfill_policy=BackfillPolicy.single_run(), name="market_regimes_partitioned")
def partitioned_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build --vars {partition_start, partition_end}`` of the bar-local rollups."""
    args = [*BUILD, "--vars", json.dumps(partition_vars(context))]
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(manifest=dbt_project.manifest_path, exclude=UPSTREAM, name="market_regimes_downstream")
def downstream_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of everything downstream of the rollups (marts, engines, levers)."""
    yield from dbt.cli(BUILD, context=context).stream()


dbt_asset_groups = [upstream_dbt_assets, partitioned_dbt_assets, downstream_dbt_assets]
