"""Grid range regimes benchmark (docs/grid-regimes.md): model seconds, symbol-hours per second, peak RSS.

Copies a built warehouse (default warehouse/market_regimes.duckdb, left untouched) into a
temporary directory (same file stem), loads this checkout's grid seeds, runs ``dbt run`` of
the grid models and reports on the copy (`--repeat` times, best kept) and prints JSON:
* model_seconds: per grid model, from target/run_results.json of the fastest run;
* models_total_seconds: their sum (grid models and the rpt_grid_* research reports);
* symbol_hours: 1h grid bars + 4 x 4h grid bars in marts.fct_grid_regimes (the hours the
  verdicts cover), and symbol_hours_per_second = symbol_hours / models_total_seconds;
* peak_rss_mb: peak RSS of the dbt processes (MB);
* incremental_note: the grid models are tables: an update rebuilds them (no incremental
  state yet), so a one-new-bar run costs the full time.

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

SEEDS = ["grid_config", "grid_features", "grid_configs"]
SELECT = ["int_grid_bars_prepared+"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=PROJECT / "warehouse" / "market_regimes.duckdb",
                        help="a built warehouse (copied, never written)")
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
            run = run_dbt("run", landing, work, db=db, extra=["-s", *SELECT])
            grid = {k: v for k, v in run["model_seconds"].items() if "grid" in k}
            if best is None or sum(grid.values()) < sum(best["model_seconds"].values()):
                best = {"model_seconds": grid, "wall_seconds": run["wall_seconds"], "peak_rss_mb": run["peak_rss_mb"]}
        con = duckdb.connect(str(db), read_only=True)
        try:
            hours = con.sql("select sum(case bar_interval when '1h' then 1 when '4h' then 4 end), "
                            "count(*) filter (where verdict is not null) from marts.fct_grid_regimes").fetchone()
        finally:
            con.close()
    total = round(sum(best["model_seconds"].values()), 3)
    figures = {**best, "models_total_seconds": total, "symbol_hours": int(hours[0]), "bars_with_verdict": int(hours[1]),
               "symbol_hours_per_second": round(hours[0] / total), "repeat": args.repeat,
               "incremental_note": "grid models are tables: an update rebuilds them in full"}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
