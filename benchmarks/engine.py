"""Uptrend Engine benchmark (issue 4): engine throughput and the seconds of the regime models.

Builds the bundled sample (`dbt build`) into a temporary DuckDB file (or uses `--db`),
pulls the engine inputs of every driver x timeframe exactly as the dbt Python model
fct_uptrend_states does, and prints JSON:
* bars: final driver bars given to the engine; state rows: bars from the first warm bar;
* engine_seconds / engine_bars_per_second: uptrend_frames.uptrend_state_rows (all
  segments, incl. pandas grouping and output frame), best of 3;
* run_segment_seconds: the engine alone (run_segment per segment, arrays prepared), best of 3;
* model_seconds of this issue's models (fct_uptrend_states, fct_regime_events and the
  lever marts) from target/run_results.json of the build (omitted with --db);
* peak RSS of this process (MB).

Usage: python benchmarks/engine.py [--db warehouse/market_regimes.duckdb]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_build  # noqa: E402  (sibling benchmark script)

sys.path.insert(0, str(PROJECT))
from market_regimes.engines.uptrend_config import load_config_csv  # noqa: E402
from market_regimes.engines.uptrend_engine import run_segment  # noqa: E402
from market_regimes.engines.uptrend_frames import ENGINE_INPUTS, uptrend_state_rows  # noqa: E402

REGIME_MODELS = (
    "fct_uptrend_states",
    "fct_regime_events",
    "fct_regime_deltas",
    "fct_lever_contributions",
    "fct_levers",
)

INPUT_SQL = f"""
select s.driver, s.timeframe, s.segment_id, b.bar_start, b.close, d.volume, {", ".join(ENGINE_INPUTS)}
from intermediate.int_indicator_series_listed s
join intermediate.int_indicator_bars_prepared b using (series_part)
join intermediate.int_indicators_smoothed m using (series_part, idx)
join intermediate.int_indicators_windowed w using (series_part, idx)
join marts.fct_driver_bars d on d.driver = s.driver and d.timeframe = s.timeframe and d.bar_start = b.bar_start
where s.series_type = 'driver'
"""


def best_of(runs: int, fn) -> tuple[float, object]:
    """(fastest wall seconds, last result) of `runs` calls."""
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def engine_figures(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        bars = con.sql(INPUT_SQL).df()
    finally:
        con.close()
    cfg = load_config_csv(PROJECT / "seeds" / "uptrend_config.csv")
    print(f"[bench] engine on {len(bars):,} driver bars ...", file=sys.stderr, flush=True)
    seconds, rows = best_of(3, lambda: uptrend_state_rows(bars, cfg))
    ordered = bars.sort_values(["driver", "timeframe", "segment_id", "bar_start"], kind="stable")
    segments = [
        (
            seg["close"].to_numpy(float),
            {c: seg[c].to_numpy(float) for c in ENGINE_INPUTS},
            seg["volume"].to_numpy(float),
        )
        for _, seg in ordered.groupby(["driver", "timeframe", "segment_id"], sort=False)
    ]
    core, _ = best_of(3, lambda: [run_segment(c, x, cfg, v) for c, x, v in segments])
    return {
        "bars": len(bars),
        "state_rows": len(rows),
        "segments": len(segments),
        "engine_seconds": round(seconds, 3),
        "engine_bars_per_second": round(len(bars) / seconds),
        "run_segment_seconds": round(core, 3),
        "run_segment_bars_per_second": round(len(bars) / core),
        "flag_counts": {c: int(rows[c].sum()) for c in ("buy_flag", "first_dip_buy_flag", "rebuy_flag", "trim_flag")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="use this built warehouse instead of building the sample")
    args = parser.parse_args()
    out: dict = {}
    if args.db:
        out.update(engine_figures(args.db))
    else:
        with tempfile.TemporaryDirectory(prefix="mr-bench-engine-") as tmp:
            build = run_build(PROJECT / "sample" / "landing", Path(tmp))
            out.update(engine_figures(build["db"]))
            out["model_seconds"] = {m: build["model_seconds"].get(m) for m in REGIME_MODELS}
            out["total_model_seconds_full_build"] = build["total_model_seconds"]
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
