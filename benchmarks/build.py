"""Build benchmark: the full `dbt build` on the bundled sample and on a scaled synthetic case.

Prints one JSON document:
* per case: rows landed, per-model seconds (from target/run_results.json), total model
  seconds, wall seconds, peak RSS of the dbt process;
* the rollup models' seconds next to a hand-written ``arg_min/arg_max ... group by``
  over the same staged bars, timed in the same DuckDB file right after the build;
* the scaled case: ``--scale-symbols`` x ``--scale-minutes`` synthetic 1-minute bars
  (default 10 x 1,000,000 = 10M fine bars, written as Parquet landing files), so the
  growth of cost with data size is visible.

Usage: python benchmarks/build.py [--skip-scaled] [--scale-symbols N] [--scale-minutes N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
ROLLUP_MODELS = ("int_symbol_bars_rolled_up",)

# The same operation as the rollup model, written by hand: every series' finest landed
# bars grouped into each coarser target interval.
HAND_WRITTEN_ROLLUP = """
create or replace temp table hand_written_rollup as
with finest as (
    select exchange, symbol, arg_min(s.bar_interval, i.interval_minutes) as source_interval,
           min(i.interval_minutes) as sub_minutes
    from (select distinct exchange, symbol, bar_interval from staging.stg_landing__klines) s
    join seeds.bar_intervals i using (bar_interval)
    group by all
)
select b.exchange, b.symbol, t.bar_interval,
       time_bucket(to_minutes(t.interval_minutes::bigint), b.bar_start, timestamp '1970-01-01') as bar_start,
       arg_min(b.open, b.bar_start) as open, max(b.high) as high, min(b.low) as low,
       arg_max(b.close, b.bar_start) as close, sum(b.volume) as volume, sum(b.quote_volume) as quote_volume,
       count(*) as n_sub_bars
from staging.stg_landing__klines b
join finest f on f.exchange = b.exchange and f.symbol = b.symbol and f.source_interval = b.bar_interval
join seeds.bar_intervals t on t.is_rollup_target and t.interval_minutes > f.sub_minutes
group by all
"""


def run_dbt(command: str, landing: Path, work: Path, db: Path | None = None, extra: list[str] | None = None) -> dict:
    """Run ``dbt <command> [extra]`` on the DuckDB file ``db`` (default ``work/bench.duckdb``).

    Returns {"db", "wall_seconds", "peak_rss_mb", "model_seconds"} with per-model seconds
    from target/run_results.json. Exits with dbt's output when dbt fails.
    """
    db = db or work / "bench.duckdb"
    env = {
        **os.environ,
        "MARKET_REGIMES_DB": str(db),
        "MARKET_REGIMES_LANDING": str(landing),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DO_NOT_TRACK": "1",
    }
    cmd = [
        str(DBT),
        command,
        *(extra or []),
        "--project-dir",
        str(PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    print(f"[bench] dbt {command} {' '.join(extra or [])} on {landing} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=PROJECT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"dbt {command} failed:\n{proc.stdout[-4000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {
        "db": db,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "model_seconds": {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 3)
            for r in results
            if r["unique_id"].startswith("model.")
        },
    }


def run_build(landing: Path, work: Path) -> dict:
    """Run `dbt build` into a fresh DuckDB file under ``work`` and collect the figures."""
    run = run_dbt("build", landing, work)
    db, wall, peak_rss_mb, models = run["db"], run["wall_seconds"], run["peak_rss_mb"], run["model_seconds"]
    con = duckdb.connect(str(db))
    try:
        rows_landed = con.sql("select sum(rows_landed) from raw.landing_files").fetchone()[0]
        fine_bars = con.sql("select count(*) from staging.stg_landing__klines").fetchone()[0]
        hand = []
        for _ in range(3):
            t0 = time.perf_counter()
            con.execute(HAND_WRITTEN_ROLLUP)
            hand.append(time.perf_counter() - t0)
        hand_rows = con.sql("select count(*) from hand_written_rollup").fetchone()[0]
        model_rows = con.sql("select count(*) from intermediate.int_symbol_bars_rolled_up").fetchone()[0]
    finally:
        con.close()
    rollup_seconds = sum(models[m] for m in ROLLUP_MODELS)
    return {
        "rows_landed": int(rows_landed),
        "staged_bars": int(fine_bars),
        "wall_seconds": round(wall, 2),
        "total_model_seconds": round(sum(models.values()), 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "model_seconds": dict(sorted(models.items(), key=lambda kv: -kv[1])),
        "rollup": {
            "rollup_model_seconds": round(rollup_seconds, 3),
            "hand_written_seconds_runs": [round(h, 3) for h in hand],
            "hand_written_seconds_median": round(statistics.median(hand), 3),
            "ratio_model_to_hand_written": round(rollup_seconds / statistics.median(hand), 2),
            "rollup_rows_model": int(model_rows),
            "rollup_rows_hand_written": int(hand_rows),
        },
    }


def write_synthetic_landing(root: Path, symbols: int, minutes: int) -> Path:
    """Write ``symbols`` Parquet files of ``minutes`` 1m bars each (a deterministic random walk)."""
    out = root / "klines" / "synth"
    out.mkdir(parents=True)
    con = duckdb.connect()
    for s in range(symbols):
        path = out / f"SYN{s:03d}USDT_1m.parquet"
        con.execute(f"""
            copy (
                with steps as (
                    select i, timestamp '2020-01-01' + to_minutes(i) as date,
                           ((hash(i * 7919 + {s}) % 2001)::double - 1000) / 1e6 as r
                    from range({minutes}) t(i)
                ),
                walk as (select date, 100 * exp(sum(r) over (order by i)) as close, r from steps)
                select date, close / exp(r) as open, greatest(close, close / exp(r)) * 1.0004 as high,
                       least(close, close / exp(r)) * 0.9996 as low, close,
                       10 + (hash(date) % 1000)::double / 10 as volume
                from walk order by date
            ) to '{path}' (format parquet)""")
    con.close()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-scaled", action="store_true", help="only the bundled sample")
    parser.add_argument("--scale-symbols", type=int, default=10)
    parser.add_argument("--scale-minutes", type=int, default=1_000_000)
    args = parser.parse_args()
    report = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="mr-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "sample").mkdir()
        report["sample"] = run_build(PROJECT / "sample" / "landing", tmp / "sample")
        if not args.skip_scaled:
            print(
                f"[bench] writing {args.scale_symbols} x {args.scale_minutes:,} synthetic 1m bars ...",
                file=sys.stderr,
                flush=True,
            )
            landing = write_synthetic_landing(tmp / "synthetic", args.scale_symbols, args.scale_minutes)
            (tmp / "scaled").mkdir()
            report["scaled"] = run_build(landing, tmp / "scaled")
            report["growth"] = {
                "fine_bars_ratio": round(report["scaled"]["staged_bars"] / report["sample"]["staged_bars"], 2),
                "total_model_seconds_ratio": round(
                    report["scaled"]["total_model_seconds"] / report["sample"]["total_model_seconds"], 2
                ),
                "rollup_model_seconds_ratio": round(
                    report["scaled"]["rollup"]["rollup_model_seconds"]
                    / report["sample"]["rollup"]["rollup_model_seconds"],
                    2,
                ),
            }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
