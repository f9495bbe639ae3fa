"""Volatility / spectral detector benchmark (docs/volatility-regimes.md): model seconds and HMM fits/second.

Copies a built warehouse (default warehouse/market_regimes.duckdb, left untouched) into
a temporary directory (same file stem: views name the catalog), runs
``dbt build -s volatility_config fct_volatility_regimes fct_strategy_fit`` on the copy and
prints JSON:
* model_seconds: per model, from target/run_results.json of that build;
* hmm_fits_in_model: hmmlearn fits fct_volatility_regimes runs (refit points of every
  series segment), and model_fits_per_second = those fits / the model's seconds (all
  of its work counted: a lower bound on the fit rate);
* hmm_fits_per_second: market_regimes.engines.volatility.fit_hmm alone on `--fits`
  trailing windows of hmm_window_bars clean |log returns| of BTC 1h and 1d (best of 3);
* hmm_iterations_mean: EM iterations per fit in that run;
* peak RSS of the dbt process (MB).

With ``--agreement`` it instead compares, on the warehouse's inputs and without dbt, the
compiled batch EM the model runs (volatility.fit_hmm_batch) with the hmmlearn reference
(volatility.fit_hmm_hmmlearn, one fit at a time) over every refit window of the sample:
fits, fit seconds of each, the largest parameter difference, and the share of bars whose
vol_regime is equal (the whole fct_volatility_regimes computation run twice, once with
each fitter).

Usage: python benchmarks/detectors.py [--db warehouse/market_regimes.duckdb] [--fits 200] [--agreement]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_dbt  # noqa: E402  (sibling benchmark script)

sys.path.insert(0, str(PROJECT))
from market_regimes.adapters import volatility_sql  # noqa: E402
from market_regimes.adapters.volatility_sql import input_sql  # noqa: E402
from market_regimes.engines import volatility as vol  # noqa: E402
from market_regimes.engines.volatility_config import load_config_csv  # noqa: E402

SELECT = ["volatility_config", "fct_volatility_regimes", "fct_strategy_fit"]


def build(db: Path, work: Path) -> dict:
    """`dbt build -s` of this issue's models on the warehouse copy `db` (benchmarks/build.run_dbt)."""
    landing = Path(os.environ.get("MARKET_REGIMES_LANDING", str(PROJECT / "sample" / "landing")))
    run = run_dbt("build", landing, work, db=db, extra=["-s", *SELECT])
    return {k: run[k] for k in ("wall_seconds", "peak_rss_mb", "model_seconds")}


def fit_figures(db: Path, n_fits: int) -> dict:
    cfg = load_config_csv()
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.sql("create temp view s as select * from intermediate.int_indicator_series_listed")
        con.sql("create temp view b as select * from intermediate.int_indicator_bars_prepared")
        bars = con.sql(input_sql("s", "b", "1d,1h")).df()
    finally:
        con.close()
    # fits the model runs: the refit points of every segment's clean returns
    in_model = 0
    for (_, _, minutes), seg in bars.groupby(["series_id", "segment_id", "interval_minutes"], sort=False):
        clean, _ = vol.clean_mask(seg["log_return"].to_numpy(float, na_value=np.nan), cfg.toxic_abs_log_return)
        in_model += len(vol.refit_points(int(clean.sum()), cfg.hmm_min_fit_bars, cfg.refit_every(int(minutes))))
    windows = []
    for series_id in ("BTC|meso", "BTC|macro"):
        r = bars.loc[bars["series_id"] == series_id, "log_return"].to_numpy(float, na_value=np.nan)
        clean, _ = vol.clean_mask(r, cfg.toxic_abs_log_return)
        x = np.abs(r[clean])
        ends = np.linspace(cfg.hmm_window_bars - 1, len(x) - 1, n_fits // 2).astype(int)
        windows += [x[e - cfg.hmm_window_bars + 1 : e + 1] for e in ends]
    best, iterations = float("inf"), []
    for _ in range(3):
        t0 = time.perf_counter()
        fits = [vol.fit_hmm(w, cfg) for w in windows]
        best = min(best, time.perf_counter() - t0)
        iterations = [f.n_iter for f in fits if f is not None]
    return {
        "hmm_fits_in_model": in_model,
        "hmm_fits_timed": len(windows),
        "hmm_fits_per_second": round(len(windows) / best, 1),
        "hmm_iterations_mean": round(float(np.mean(iterations)), 2),
        "hmm_window_bars": cfg.hmm_window_bars,
        "hmm_n_iter": cfg.hmm_n_iter,
    }


def agreement(db: Path) -> dict:
    """fct_volatility_regimes rows with the batched EM vs the hmmlearn reference (module docstring)."""
    from market_regimes.engines import volatility_frames as frames

    cfg = load_config_csv()
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.sql("create temp view s as select * from intermediate.int_indicator_series_listed")
        con.sql("create temp view b as select * from intermediate.int_indicator_bars_prepared")
        series = con.sql(volatility_sql.series_sql("s", "1d,1h")).df()
        bars = con.sql(volatility_sql.bars_sql("s", "b", "1d,1h")).df()
    finally:
        con.close()
    batch_stats: dict = {}
    t0 = time.perf_counter()
    new = frames.volatility_regime_rows(bars, cfg, stats=batch_stats, series=series)
    batch_total = time.perf_counter() - t0
    batched = vol.fit_hmm_batch

    def reference(windows, c, chunk=0):  # the same windows, fitted one by one with hmmlearn
        return [vol.fit_hmm_hmmlearn(w, c) for w in windows]

    ref_stats: dict = {}
    vol.fit_hmm_batch = reference
    try:
        t0 = time.perf_counter()
        old = frames.volatility_regime_rows(bars, cfg, stats=ref_stats, series=series)
        ref_total = time.perf_counter() - t0
    finally:
        vol.fit_hmm_batch = batched
    same = new["vol_regime"].fillna("-") == old["vol_regime"].fillna("-")
    dp = (new["hmm_p_high_vol"] - old["hmm_p_high_vol"]).abs()
    rel = {
        c: float(((new[c] - old[c]).abs() / old[c].abs()).max())
        for c in (
            "hmm_mean_low",
            "hmm_mean_high",
            "hmm_std_low",
            "hmm_std_high",
            "hmm_stay_prob_low",
            "hmm_stay_prob_high",
        )
    }
    return {
        "bars": len(new),
        "vol_regime_equal_share": float(same.mean()),
        "vol_regime_different_bars": int((~same).sum()),
        "hmm_p_high_vol_max_abs_diff": float(dp.max()),
        "fit_params_max_rel_diff": rel,
        "hmm_fits": batch_stats["hmm_fits"],
        "fit_seconds_compiled": round(batch_stats["fit_seconds"], 2),
        "fit_seconds_hmmlearn": round(ref_stats["fit_seconds"], 2),
        "rows_seconds_compiled": round(batch_total, 2),
        "rows_seconds_hmmlearn": round(ref_total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        default=PROJECT / "warehouse" / "market_regimes.duckdb",
        help="a built warehouse (copied, never written)",
    )
    parser.add_argument("--fits", type=int, default=200, help="HMM fits timed (half BTC 1h, half BTC 1d)")
    parser.add_argument(
        "--agreement",
        action="store_true",
        help="batched EM vs hmmlearn on the warehouse's inputs (no dbt; see the docstring)",
    )
    args = parser.parse_args()
    if args.agreement:
        print(json.dumps(agreement(args.db), indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="bench_detectors_") as tmp:
        work = Path(tmp)
        db = work / args.db.name
        shutil.copyfile(args.db, db)
        figures = build(db, work)
        figures.update(fit_figures(db, args.fits))
    seconds = figures["model_seconds"]
    figures["models_total_seconds"] = round(sum(seconds.values()), 3)
    figures["model_fits_per_second"] = round(figures["hmm_fits_in_model"] / seconds["fct_volatility_regimes"], 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
