"""Headless backfill: ``python -m orchestration.backfill [--first YYYY-MM-DD] [--last YYYY-MM-DD]``.

Materialises the whole dbt graph in ONE run of job ``daily_update`` over the partition
range first..last (default: every daily partition): the upstream assets (seeds, landing,
staging), then the rollups of the whole range as one dbt invocation (single-run backfill
policy: chronological by construction), then every downstream asset. By default the run
uses an ephemeral (in-memory) Dagster instance; ``--record`` records it in the instance
of DAGSTER_HOME instead (visible in the UI). Recording is slow on the default SQLite
storage: Dagster writes one planned and one materialisation event per partition and
asset, each in its own SQLite transactions (measured on the sample, 2017-01-01 ..
2026-11-22 = 3,613 partitions x 2 assets, other jobs running: 13-18 events/s, ~16 min
of events; the same run on an ephemeral instance: 288 s in all). Exit status
0 only when the run succeeded and no ERROR-severity asset check failed; failed checks and
warnings (dbt tests with severity warn) go to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from market_regimes.settings import warehouse_path


def main(argv: list[str] | None = None) -> int:
    from dagster import AssetCheckSeverity, DagsterInstance

    from orchestration.definitions import defs
    from orchestration.defs.automation import range_tags
    from orchestration.defs.partitions import daily_partitions

    keys = daily_partitions.get_partition_keys()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", default=keys[0], help=f"first partition (default {keys[0]})")
    parser.add_argument("--last", default=keys[-1], help=f"last partition (default {keys[-1]})")
    parser.add_argument(
        "--record",
        action="store_true",
        help="record the run in the DAGSTER_HOME instance (UI); slow for many partitions",
    )
    args = parser.parse_args(argv)
    for key in (args.first, args.last):
        if key not in keys:
            parser.error(f"{key} is not a daily partition ({keys[0]} .. {keys[-1]})")
    if keys.index(args.first) > keys.index(args.last):
        parser.error(f"--first {args.first} is after --last {args.last}")
    if args.record and not os.environ.get("DAGSTER_HOME"):
        parser.error("--record needs DAGSTER_HOME (make sets it to .dagster)")
    instance = DagsterInstance.get() if args.record else DagsterInstance.ephemeral()
    span = keys.index(args.last) - keys.index(args.first) + 1
    print(
        f"[backfill] daily_update over {span} daily partitions {args.first} .. {args.last} "
        f"(one run; DuckDB {warehouse_path()}; "
        f"{'recorded in ' + os.environ['DAGSTER_HOME'] if args.record else 'ephemeral instance'})",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    result = defs.resolve_job_def("daily_update").execute_in_process(
        instance=instance, tags=range_tags(args.first, args.last), raise_on_error=False
    )
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed and c.severity == AssetCheckSeverity.ERROR]
    warned = [c for c in checks if not c.passed and c.severity != AssetCheckSeverity.ERROR]
    print(
        f"[backfill] run {result.run_id}: {'success' if result.success else 'FAILED'} in "
        f"{time.perf_counter() - started:.0f} s; {len(checks)} asset checks, {len(failed)} failed, "
        f"{len(warned)} warnings",
        file=sys.stderr,
        flush=True,
    )
    for check in failed + warned:
        label = "failed check" if check in failed else "warning"
        print(f"[backfill] {label} {check.asset_key.to_user_string()}:{check.check_name}", file=sys.stderr)
    return 0 if result.success and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
