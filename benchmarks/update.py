"""Update benchmark: what an hourly (or 5-minute) update costs against a full build.

Prints one JSON document. On a copy of the bundled sample:

Every dbt process runs with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE dropped) after
one warm-up import of the Python models' modules, as a long-lived installation runs.

1. ``full``: the full build from scratch as ``market-regimes build`` runs it (``dbt build``
   of every model, seed, data test and report; dbt's unit tests left out, as every
   production build of the project leaves them out: ``FULL_BUILD``), node seconds per
   model, model / test totals, dbt wall seconds, peak RSS of the dbt process;
   ``full.pre_grid_model_seconds``: the models that existed before the grid family
   (every model whose name does not contain ``grid``, ``exit_`` or ``restart_``);
   ``full.models_before_grid_seconds``: exactly the 37 models of the tree before the first grid
   commit (``PRE_GRID_MODELS``; the name rule above also counts the reports and lever
   outcomes added after the grid family).
2. ``updates``: the exchange's next exports (market_regimes.landing.synthetic.
   write_next_candles: every live series advanced ``minutes``, coarser candles the rollups
   of the finest, the in-progress candle completed), then the update as the schedules run
   it (job ``regime_update``: ``dbt build`` of everything except the research reports and
   dbt's unit tests, with the vars of a run over the new candles' days: the partition range
   and test_since = its start): ``hourly_1`` (N = 1 hour), ``hourly_24`` (N = 24 hours), then
   ``--micro-runs`` five-minute runs (``micro``): per run the node seconds per model, dbt
   wall seconds, rows landed, rows landed per wall second, peak RSS; and the ratio of the
   update's node seconds to the full build's.
3. ``compare``: the reports rebuilt once (job ``daily_update``'s extra part), then a
   second full build from scratch of the final landing folder, compared table by table
   with the incrementally updated warehouse (market_regimes.compare, schemas
   intermediate, marts, reports): incremental after N updates == full build.

4. ``--scale N``: the same full build and one-hour update on N copies of the sample's
   exchanges (the candles of klines/binance and klines/bybit again under exchange names
   binance-x1 .. , bybit-x1 .., so N times the symbols and rows; the drivers still read
   the original exchanges), to show how full-build and update costs grow with the data.

Usage: python benchmarks/update.py [--micro-runs 12] [--skip-compare] [--scale N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
sys.path.insert(0, str(PROJECT))
from market_regimes.compare import compare_warehouses  # noqa: E402
from market_regimes.landing.synthetic import write_next_candles  # noqa: E402

# The update as job regime_update runs it (orchestration/defs/automation.py): the research
# reports and the models only they read (tag research_input), the seeds (a seed edit is
# a full build's business) with their data tests (asset checks of the seed assets, which
# the job does not select: path:seeds) and dbt's unit tests (code tests: the test suite runs
# them; no production build does) excluded.
UPDATE_SELECTION = [
    "--exclude",
    "config.schema:reports",
    "tag:research_input",
    "path:seeds",
    "--exclude-resource-type",
    "unit_test",
    "seed",
    "--indirect-selection",
    "buildable",
]
REPORTS_SELECTION = ["--select", "config.schema:reports", "tag:research_input", "--exclude-resource-type", "unit_test"]
# the full build as `market-regimes build` (and every Dagster job) runs it: every model, seed,
# data test and report, without dbt's unit tests (market_regimes.cli.run_build)
FULL_BUILD = ["build", "--exclude-resource-type", "unit_test"]
GRID_MARKERS = ("grid", "exit_", "restart_")
# The models that existed before the grid family (the tree of commit 0847121's parent, the
# last before the first grid model): the update issue's "models before the grid issues" budget is
# measured on these (models_before_grid_seconds), with the tables that models of that tree
# became (fct_symbol_bars and fct_driver_bars are views of int_*_bars_finalized since the layer
# split). The models added since are the grid family, the lever outcomes, the pooled findings
# and the symbol turbulence.
PRE_GRID_MODELS = frozenset(
    {
        "daily_series",
        "dim_drivers",
        "dominance_readings",
        "fct_driver_bars",
        "fct_driver_indicators",
        "fct_lever_contributions",
        "fct_levers",
        "fct_market_regimes",
        "fct_regime_deltas",
        "fct_regime_events",
        "fct_strategy_fit",
        "fct_symbol_bars",
        "fct_symbol_indicators",
        "fct_uptrend_states",
        "fct_volatility_regimes",
        "int_composite_bars_computed",
        "int_dominance_bars_rolled_up",
        "int_driver_bars_finalized",
        "int_driver_bars_selected",
        "int_driver_members_listed",
        "int_indicator_bars_prepared",
        "int_indicator_series_listed",
        "int_indicators_ranked",
        "int_indicators_smoothed",
        "int_indicators_volume_smoothed",
        "int_indicators_windowed",
        "rpt_regime_bars_listed",
        "rpt_regime_labels_aligned",
        "int_symbol_bars_finalized",
        "int_symbol_bars_rolled_up",
        "klines",
        "landing_files",
        "rejected_rows",
        "rpt_regime_forward_returns",
        "rpt_regime_transitions",
        "rpt_rollup_reconciliation",
        "stg_landing__daily_series",
        "stg_landing__dominance_readings",
        "stg_landing__klines",
    }
)


def dbt_env() -> dict[str, str]:
    """The environment of the benchmark's processes: this one's, with Python writing and
    reading its bytecode cache (.pyc) as an installed environment does after its first run.
    (With PYTHONDONTWRITEBYTECODE set, as some shells and CI images do, every dbt process
    compiled pandas, scipy, hmmlearn... from source again: ~3 s of the Python models' node
    time in each build, measured.)"""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def warm_bytecode() -> float:
    """Import every market_regimes module a dbt Python model imports (and so the libraries
    they import) once, so that their bytecode is cached before the first measured build, and
    run the numba kernels once so that their compiled code is cached too. Returns the seconds
    it took."""
    modules = sorted(
        {
            name
            for path in (PROJECT / "python_models").rglob("*.py")
            for name in re.findall(r"^\s*from (market_regimes[\w.]*) import", path.read_text(), re.MULTILINE)
        }
    )
    started = time.perf_counter()
    # and the numba kernels compiled once into their on-disk cache (the HMM fit and filter),
    # as the first build of an installation leaves them
    code = (
        "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        "import numpy as np\nfrom market_regimes.engines import hmm_kernels as k\n"
        "x = np.abs(np.random.default_rng(0).standard_normal(64))\n"
        "k.em_windows(x, np.array([0]), np.array([64]), np.array([0.5]), np.array([1.5]), np.array([1.0]),"
        " 0.9, 5, 1e-6, 0.01, True, 1e-300, 500.0)\n"
        "k.forward_high(np.ones(64), np.array([0]), np.array([32]), np.array([0.5]), np.array([0.1]), np.array([0.8]))"
    )
    subprocess.run([sys.executable, "-c", code, *modules], env=dbt_env(), cwd=PROJECT, check=True)
    return round(time.perf_counter() - started, 2)


def run_dbt(args: list[str], db: Path, landing: Path, work: Path) -> dict:
    """``dbt <args>`` on warehouse ``db``: node seconds by kind, wall seconds, peak RSS (MB)
    of this dbt process. Exits with dbt's output when dbt fails."""
    env = {
        **dbt_env(),
        "MARKET_REGIMES_DB": str(db),
        "MARKET_REGIMES_LANDING": str(landing),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DO_NOT_TRACK": "1",
    }
    cmd = [
        str(DBT),
        *args,
        "--project-dir",
        str(PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    print(f"[update-bench] dbt {' '.join(args)} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with open(work / "dbt.out", "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{(work / 'dbt.out').read_text()[-4000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    kinds: dict[str, float] = {}
    models = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0.0) + r["execution_time"]
        if kind == "model":
            models[r["unique_id"].split(".")[-1]] = round(r["execution_time"], 3)
    return {
        "wall_seconds": round(wall, 2),
        "node_seconds": round(sum(kinds.values()), 2),
        "node_seconds_by_kind": {k: round(v, 2) for k, v in sorted(kinds.items())},
        "nodes": len(results),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "model_seconds": dict(sorted(models.items(), key=lambda kv: -kv[1])),
    }


def rows_landed(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.sql("select coalesce(sum(rows_landed), 0) from raw.landing_files").fetchone()[0])
    finally:
        con.close()


def schedule_vars(files: list[Path]) -> dict[str, str]:
    """The vars job regime_update passes for a run over the new candles' days: the partition
    range from the day before the earliest new candle to the day of the newest (the rollups
    rebuild that window; the schedules target yesterday..today, and the sample's live
    exports end on different days) and test_since = its start (the generic tests check
    those rows)."""
    stamps = [pd.to_datetime(pd.read_csv(f, usecols=[0]).iloc[:, 0], utc=True).dt.tz_convert(None) for f in files]
    first, last = min(s.min() for s in stamps).normalize(), max(s.max() for s in stamps).normalize()
    fmt = "%Y-%m-%d %H:%M:%S"
    start, end = (first - pd.Timedelta(days=1)).strftime(fmt), (last + pd.Timedelta(days=1)).strftime(fmt)
    return {"partition_start": start, "partition_end": end, "test_since": start}


def update(db: Path, landing: Path, work: Path, minutes: int, tag: str, full_node_seconds: float) -> dict:
    files = write_next_candles(landing, minutes=minutes, tag=tag)
    before = rows_landed(db)
    run = run_dbt(["build", *UPDATE_SELECTION, "--vars", json.dumps(schedule_vars(files))], db, landing, work)
    landed = rows_landed(db) - before
    return {
        "minutes": minutes,
        "files": len(files),
        "rows_landed": landed,
        "rows_landed_per_wall_second": round(landed / run["wall_seconds"], 1),
        "share_of_full_build_node_seconds": round(run["node_seconds"] / full_node_seconds, 3),
        **run,
    }


def scale_landing(landing: Path, factor: int) -> None:
    """Add factor - 1 copies of every exchange folder under ``landing/klines`` (names
    ``<exchange>-x<k>``)."""
    for exchange in sorted(p for p in (landing / "klines").iterdir() if p.is_dir()):
        for k in range(1, factor):
            shutil.copytree(exchange, exchange.parent / f"{exchange.name}-x{k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--micro-runs", type=int, default=12, help="five-minute update runs (default 12)")
    parser.add_argument("--skip-compare", action="store_true", help="no second full build and comparison")
    parser.add_argument("--keep", type=Path, help="copy the warehouses and landing folder here")
    parser.add_argument(
        "--scale", type=int, default=1, help="N copies of the sample's exchanges (full build and one-hour update only)"
    )
    args = parser.parse_args()
    if args.scale > 1:
        args.micro_runs, args.skip_compare = 0, True
    with tempfile.TemporaryDirectory(prefix="mr-bench-update-") as tmp:
        work = Path(tmp)
        landing = work / "landing"
        shutil.copytree(PROJECT / "sample" / "landing", landing)
        scale_landing(landing, args.scale)
        db = work / "updated.duckdb"
        warm = warm_bytecode()
        full = run_dbt(FULL_BUILD, db, landing, work)
        full["bytecode_warm_up_seconds"] = warm
        full["rows_landed"] = rows_landed(db)
        full["pre_grid_model_seconds"] = round(
            sum(s for m, s in full["model_seconds"].items() if not any(g in m for g in GRID_MARKERS)), 2
        )
        full["grid_model_seconds"] = round(
            full["node_seconds_by_kind"].get("model", 0) - full["pre_grid_model_seconds"], 2
        )
        full["models_before_grid_seconds"] = round(
            sum(s for m, s in full["model_seconds"].items() if m in PRE_GRID_MODELS), 2
        )
        total = full["node_seconds"]
        updates = {"hourly_1": update(db, landing, work, 60, "u001", total)}
        if args.scale == 1:
            updates["hourly_24"] = update(db, landing, work, 24 * 60, "u002", total)
        micro = [update(db, landing, work, 5, f"u{3 + i:03d}", total) for i in range(args.micro_runs)]
        if micro:
            node = sorted(m["node_seconds"] for m in micro)
            updates["micro"] = {
                "runs": len(micro),
                "node_seconds_median": node[len(node) // 2],
                "node_seconds_max": node[-1],
                "wall_seconds_median": sorted(m["wall_seconds"] for m in micro)[len(micro) // 2],
                "each": micro,
            }
        out = {"scale": args.scale, "full": full, "updates": updates}
        print(json.dumps(out), file=sys.stderr, flush=True)  # the measurements so far, should the rest fail
        if not args.skip_compare:
            reports = run_dbt(["build", *REPORTS_SELECTION], db, landing, work)
            fresh = work / "fresh.duckdb"
            again = run_dbt(FULL_BUILD, fresh, landing, work)
            (work / "partial.json").write_text(json.dumps(out, indent=2))
            diffs = compare_warehouses(db, fresh, ["intermediate", "marts", "reports"])
            different = [str(d) for d in diffs if not d.equal]
            out["compare"] = {
                "reports_rebuild": {k: reports[k] for k in ("wall_seconds", "node_seconds")},
                "fresh_full_build": {k: again[k] for k in ("wall_seconds", "node_seconds")},
                "tables_compared": len(diffs),
                "tables_different": len(different),
                "different": different,
            }
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in work.glob("*.duckdb"):
                shutil.copy2(path, args.keep / path.name)
            shutil.copytree(landing, args.keep / "landing", dirs_exist_ok=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
