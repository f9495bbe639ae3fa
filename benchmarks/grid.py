"""Grid range regimes benchmark (docs/grid-regimes.md): model seconds, symbol-hours per second, peak RSS.

Copies a built warehouse (default warehouse/market_regimes.duckdb, left untouched) into a
temporary directory (same file stem), loads this checkout's grid seeds, runs ``dbt run
--full-refresh`` of the grid models and reports on the copy (`--repeat` times, best kept),
then a one-new-bar update, and prints JSON:
* model_seconds: per grid model of the fastest full run, from target/run_results.json;
* models_total_seconds: their sum (grid models and the rpt_grid_* research reports);
  grid_models_seconds: the grid models alone (intermediate + marts, no reports);
* symbol_hours: 1h grid bars + 4 x 4h grid bars in marts.fct_grid_regimes (the hours the
  verdicts cover), and symbol_hours_per_second = symbol_hours / models_total_seconds;
* peak_rss_mb: peak RSS of the dbt processes (MB);
* lifecycle_seconds: the grid lifecycle models (fct_grid_lifecycle_bars,
  fct_grid_lifecycle, fct_exit_states, fct_exit_notifications, fct_restart_gates) of the
  full run; grid_hours = rows of fct_grid_lifecycle (grids x 1h bars), walks,
  grid_hours_per_second and lifecycle_us_per_grid_hour;
* update: the last stored bar of every grid series is deleted from the five incremental
  grid models (their inputs keep it: one new final bar per series), then ``dbt run`` of the
  same selection (the lifecycle rebuilt on the shortened bars first, so the update continues
  every walk by one bar): model_seconds per model, grid_models_seconds and its share of the full
  grid_models_seconds (update_share), reports_seconds (the research reports are tables,
  rebuilt on every run), and rows_written (new bars per incremental model).

Usage: python benchmarks/grid.py [--db warehouse/market_regimes.duckdb] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_dbt  # noqa: E402  (sibling benchmark script)

SEEDS = ["grid_config", "grid_features", "grid_configs", "grid_lifecycle_config"]
LIFECYCLE = [
    "fct_grid_lifecycle_bars",
    "fct_grid_lifecycle",
    "fct_exit_states",
    "fct_exit_notifications",
    "fct_restart_gates",
]
SELECT = ["int_grid_bars_prepared+"]
INCREMENTAL = [
    "intermediate.int_grid_bars_prepared",
    "intermediate.int_grid_features_ranked",
    "intermediate.int_grid_ranges_walked",
    "marts.fct_grid_ranges",
    "marts.fct_grid_regimes",
]


def grid_models(seconds: dict[str, float]) -> float:
    """Seconds of the grid models proper (the rpt_ research reports left out)."""
    return round(sum(v for k, v in seconds.items() if not k.startswith("rpt_")), 3)


def drop_last_bar(db: Path) -> dict[str, int]:
    """Delete each grid series' last stored bar from the incremental grid models; rows deleted."""
    con = duckdb.connect(str(db))
    try:
        deleted = {}
        for table in INCREMENTAL:
            deleted[table] = con.execute(
                f"delete from {table} t using (select series_part, max(idx) as last_idx from {table} group by 1) l "
                "where t.series_part = l.series_part and t.idx = l.last_idx"
            ).fetchone()[0]
        return deleted
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        default=PROJECT / "warehouse" / "market_regimes.duckdb",
        help="a built warehouse (copied, never written)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of the grid models; the fastest is reported")
    args = parser.parse_args()
    landing = Path(os.environ.get("MARKET_REGIMES_LANDING", str(PROJECT / "sample" / "landing")))
    best = None
    with tempfile.TemporaryDirectory(prefix="bench_grid_") as tmp:
        work = Path(tmp)
        db = work / args.db.name
        shutil.copyfile(args.db, db)
        run_dbt("seed", landing, work, db=db, extra=["-s", *SEEDS])  # this checkout's grid seeds
        for _ in range(max(1, args.repeat)):
            run = run_dbt("run", landing, work, db=db, extra=["-s", *SELECT, "--full-refresh"])
            grid = {k: v for k, v in run["model_seconds"].items() if "grid" in k or k in LIFECYCLE}
            if best is None or sum(grid.values()) < sum(best["model_seconds"].values()):
                best = {"model_seconds": grid, "wall_seconds": run["wall_seconds"], "peak_rss_mb": run["peak_rss_mb"]}
        con = duckdb.connect(str(db), read_only=True)
        try:
            hours = con.sql(
                "select sum(case bar_interval when '1h' then 1 when '4h' then 4 end), "
                "count(*) filter (where verdict is not null) from marts.fct_grid_regimes"
            ).fetchone()
            grid_hours = con.sql("select count(*), count(distinct walk_id) from marts.fct_grid_lifecycle").fetchone()
        finally:
            con.close()
        written = drop_last_bar(db)
        # the lifecycle as it stood before the new bar, then the update run continues every walk
        run_dbt("run", landing, work, db=db, extra=["-s", *LIFECYCLE, "--full-refresh"])
        update = run_dbt("run", landing, work, db=db, extra=["-s", *SELECT])
    total = round(sum(best["model_seconds"].values()), 3)
    full_grid = grid_models(best["model_seconds"])
    update_seconds = {k: v for k, v in update["model_seconds"].items() if "grid" in k or k in LIFECYCLE}
    lifecycle = round(sum(v for k, v in best["model_seconds"].items() if k in LIFECYCLE), 3)
    figures = {
        **best,
        "models_total_seconds": total,
        "grid_models_seconds": full_grid,
        "symbol_hours": int(hours[0]),
        "bars_with_verdict": int(hours[1]),
        "symbol_hours_per_second": round(hours[0] / total),
        "repeat": args.repeat,
        "lifecycle_seconds": lifecycle,
        "grid_hours": int(grid_hours[0]),
        "walks": int(grid_hours[1]),
        "grid_hours_per_second": round(grid_hours[0] / lifecycle),
        "lifecycle_us_per_grid_hour": round(1e6 * lifecycle / grid_hours[0], 1),
        "update": {
            "model_seconds": update_seconds,
            "grid_models_seconds": grid_models(update_seconds),
            "update_share": round(grid_models(update_seconds) / full_grid, 3),
            "reports_seconds": round(sum(v for k, v in update_seconds.items() if k.startswith("rpt_")), 3),
            "rows_written": written,
            "wall_seconds": update["wall_seconds"],
        },
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
