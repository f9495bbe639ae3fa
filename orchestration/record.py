"""Record a ``dbt build`` made outside Dagster in the Dagster instance, so the UI shows what exists.

``market-regimes build`` (and so ``make run``) runs dbt directly, not through a Dagster run:
without this every asset would show "Never materialized" after a build. After the build,
:func:`record_dbt_build` reads dbt's ``target/run_results.json`` and reports to the instance of
``DAGSTER_HOME`` (runless events, as an external system would):

- one ``AssetMaterialization`` per model and seed dbt built successfully (metadata: dbt
  unique_id, execution seconds, dbt's message, the DuckDB file);
- for the daily-partitioned rollup assets, one per partition key that has no
  materialisation yet (a plain ``dbt build`` rebuilds every partition; with dbt vars
  ``partition_start``/``partition_end`` only the days of that window). Partitions recorded
  before are not recorded again, so only the first build pays for the whole history
  (SQLite storage: about 7 ms an event, measured; ~2,000 days x 2 rollup assets on the
  sample);
- one ``AssetCheckEvaluation`` per dbt test that ran (passed, or failed with severity
  ERROR or WARN as configured in dbt, with dbt's failure count).

Nodes that errored or were skipped are not recorded. Nothing here runs dbt or writes to
the warehouse.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from market_regimes.settings import warehouse_path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BUILT = {"success"}
TEST_RAN = {"pass", "fail", "warn"}


@dataclass
class RecordSummary:
    """What :func:`record_dbt_build` reported: counts of events and the seconds it took."""

    materializations: int = 0
    partitions: int = 0
    checks: int = 0
    skipped_nodes: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """One human-readable line, e.g. for the build's progress output."""
        return (
            f"recorded {self.materializations} asset materialisations, {self.partitions} partition "
            f"materialisations and {self.checks} check results in Dagster in {self.seconds:.1f} s"
            + (f" ({self.skipped_nodes} nodes not built: not recorded)" if self.skipped_nodes else "")
        )


def _window_keys(keys: list[str], dbt_vars: dict) -> list[str]:
    """The partition keys (``YYYY-MM-DD``) a dbt build with ``dbt_vars`` rebuilt: all, or the
    days that overlap the half-open window ``[partition_start, partition_end)``."""
    start, end = dbt_vars.get("partition_start"), dbt_vars.get("partition_end")
    lo = datetime.fromisoformat(str(start)) if start else datetime.min
    hi = datetime.fromisoformat(str(end)) if end else datetime.max
    day = timedelta(days=1)
    return [k for k in keys if datetime.fromisoformat(k) < hi and datetime.fromisoformat(k) + day > lo]


def record_dbt_build(
    run_results: Path | None = None, instance=None, progress: Callable[[str], None] | None = None
) -> RecordSummary:
    """Report the models, seeds and tests of the last ``dbt build`` to a Dagster instance.

    Args:
        run_results: dbt's run_results.json (default ``<project>/target/run_results.json``).
        instance: a ``DagsterInstance`` (default ``DagsterInstance.get()``: needs env
            ``DAGSTER_HOME``).
        progress: called with a line of text now and then (partition recording is long).

    Returns:
        A :class:`RecordSummary`.

    Raises:
        FileNotFoundError: no run_results.json (dbt has not run).
    """
    from dagster import AssetCheckEvaluation, AssetCheckSeverity, AssetMaterialization, DagsterInstance, MetadataValue

    from orchestration.defs.dbt_assets import dbt_asset_groups

    started = time.perf_counter()
    path = Path(run_results) if run_results else PROJECT_DIR / "target" / "run_results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no dbt run results to record (run dbt build first)")
    results = json.loads(path.read_text())
    dbt_vars = results.get("args", {}).get("vars") or {}
    if isinstance(dbt_vars, str):
        import yaml

        dbt_vars = yaml.safe_load(dbt_vars) or {}
    instance = instance or DagsterInstance.get()
    db = str(warehouse_path())

    assets, checks = {}, {}
    for group in dbt_asset_groups:
        for spec in group.specs:
            assets[spec.metadata["dagster_dbt/unique_id"]] = spec
        for check in group.check_specs:
            checks[check.metadata["dagster_dbt/unique_id"]] = check

    summary = RecordSummary()
    for result in results["results"]:
        uid, status = result["unique_id"], result["status"]
        meta = {
            "dbt_unique_id": uid,
            "dbt_status": status,
            "execution_time_s": round(float(result["execution_time"]), 3),
            "dbt_message": str(result.get("message") or ""),
            "db_path": db,
            "recorded_from": "dbt build outside Dagster (market-regimes build)",
        }
        if uid in assets:
            if status not in BUILT:
                summary.skipped_nodes += 1
                continue
            spec = assets[uid]
            if spec.partitions_def is None:
                instance.report_runless_asset_event(AssetMaterialization(asset_key=spec.key, metadata=meta))
                summary.materializations += 1
                continue
            done = instance.get_materialized_partitions(spec.key)
            todo = [k for k in _window_keys(spec.partitions_def.get_partition_keys(), dbt_vars) if k not in done]
            if todo and progress:
                progress(
                    f"recording {len(todo)} daily partitions of {spec.key.to_user_string()} in Dagster "
                    f"(about {len(todo) * 0.007:.0f} s; once per partition)"
                )
            for key in todo:
                instance.report_runless_asset_event(
                    AssetMaterialization(asset_key=spec.key, partition=key, metadata=meta)
                )
            summary.partitions += len(todo)
        elif uid in checks and status in TEST_RAN:
            check = checks[uid]
            severity = AssetCheckSeverity.WARN if status == "warn" else AssetCheckSeverity.ERROR
            instance.report_runless_asset_event(
                AssetCheckEvaluation(
                    asset_key=check.asset_key,
                    check_name=check.name,
                    passed=status == "pass",
                    severity=severity,
                    description=check.description,
                    metadata={**meta, "failures": MetadataValue.int(int(result.get("failures") or 0))},
                )
            )
            summary.checks += 1
    summary.seconds = time.perf_counter() - started
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.record [RUN_RESULTS]``: record a dbt build (default
    ``<project>/target/run_results.json``) in the instance of DAGSTER_HOME (default
    ``<project>/.dagster``, created with its dagster.yaml). Run it in its own process after
    dbt: the partitions are read from the warehouse when the code loads, which a process
    still holding dbt's DuckDB connection cannot do."""
    from orchestration.instance import ensure_dagster_home

    args = sys.argv[1:] if argv is None else argv
    os.environ["DAGSTER_HOME"] = str(ensure_dagster_home())
    summary = record_dbt_build(
        Path(args[0]) if args else None, progress=lambda line: print(f"[record] {line}", flush=True)
    )
    print(f"[record] {summary.line()} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
