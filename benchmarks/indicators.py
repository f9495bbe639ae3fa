"""Indicator benchmark: SQL indicator models vs TA-Lib on the same bars, in the same run.

Builds the bundled sample into a temporary DuckDB file (`dbt build`), then prints JSON:
* bars processed (final bars of every indicator series segment);
* model seconds (target/run_results.json) of the models producing the TA-Lib-covered
  columns (int_indicator_bars_prepared + int_indicators_smoothed: EMA x6, SMA 200, ATR,
  RSI, ADX, +DI, -DI, Bollinger bands) and of all indicator models;
* TA-Lib seconds for the same columns on the same bars, including pulling the arrays out
  of DuckDB, and the ratio;
* peak RSS of the dbt process.
The one-new-bar incremental run is not measured yet (indicators are full-refresh tables).

Usage: python benchmarks/indicators.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_build  # noqa: E402  (sibling benchmark script)

TALIB_MODELS = ("int_indicator_bars_prepared", "int_indicators_smoothed")
INDICATOR_MODELS = TALIB_MODELS + ("int_indicator_series_listed", "int_indicators_windowed",
                                   "fct_driver_indicators", "fct_symbol_indicators")


def talib_seconds(db: Path) -> tuple[float, float, int]:
    """Seconds to pull high/low/close per series segment and run TA-Lib on them."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        t0 = time.perf_counter()
        rows = con.sql("select series_part, high, low, close from intermediate.int_indicator_bars_prepared "
                       "order by series_part, idx").fetchnumpy()
        pulled = time.perf_counter()
    finally:
        con.close()
    parts = rows["series_part"]
    bounds = [0, *list((parts[1:] != parts[:-1]).nonzero()[0] + 1), len(parts)]
    h, lo, c = rows["high"].astype(float), rows["low"].astype(float), rows["close"].astype(float)
    for a, b in zip(bounds[:-1], bounds[1:]):
        hh, ll, cc = h[a:b], lo[a:b], c[a:b]
        for n in (20, 30, 60, 144, 250, 333):
            talib.EMA(cc, n)
        talib.SMA(cc, 200), talib.ATR(hh, ll, cc, 14), talib.RSI(cc, 14), talib.ADX(hh, ll, cc, 14)
        talib.PLUS_DI(hh, ll, cc, 14), talib.MINUS_DI(hh, ll, cc, 14), talib.BBANDS(cc, 20, 2, 2, 0)
    done = time.perf_counter()
    return done - t0, pulled - t0, len(parts)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mr-bench-ind-") as tmp:
        work = Path(tmp)
        build = run_build(PROJECT / "sample" / "landing", work)
        models = build["model_seconds"]
        total, pull, bars = talib_seconds(work / "bench.duckdb")
    sql_talib = sum(models[m] for m in TALIB_MODELS)
    print(json.dumps({
        "bars_processed": bars,
        "talib_covered_model_seconds": round(sql_talib, 2),
        "talib_seconds_including_pull": round(total, 3),
        "talib_pull_seconds": round(pull, 3),
        "ratio_sql_to_talib": round(sql_talib / total, 1),
        "indicator_model_seconds": {m: models[m] for m in INDICATOR_MODELS},
        "all_indicator_models_seconds": round(sum(models[m] for m in INDICATOR_MODELS), 2),
        "one_new_bar_incremental_seconds": None,
        "peak_rss_mb": build["peak_rss_mb"],
        "total_model_seconds_full_build": build["total_model_seconds"],
    }, indent=2))


if __name__ == "__main__":
    main()
