"""Indicator benchmark: SQL indicator models vs TA-Lib on the same bars, in the same run.

Copies the bundled sample landing to a temporary folder, builds it (`dbt build`) into a
temporary DuckDB file, then prints JSON:
* bars processed (final bars of every indicator series segment);
* model seconds (target/run_results.json) of the models producing the TA-Lib-covered
  columns (int_indicator_bars_prepared + int_indicators_smoothed: EMA x6, SMA 200, ATR,
  RSI, ADX, +DI, -DI, Bollinger bands) and of all indicator models;
* TA-Lib seconds for the same columns on the same bars, including pulling the arrays out
  of DuckDB, and the ratio;
* the one-new-bar incremental run: the exchange's next export is landed beside every live
  kline file (market_regimes.landing.synthetic.write_next_candles: one more hour of
  candles, the in-progress candle completed), which makes each live series' provisional
  bar final; `dbt run` then
  computes the indicator models incrementally. Its indicator model seconds, the new
  indicator rows, and the share of the full indicator time;
* peak RSS of the dbt processes.

Usage: python benchmarks/indicators.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_build, run_dbt  # noqa: E402  (sibling benchmark script)

sys.path.insert(0, str(PROJECT))
from market_regimes.landing.synthetic import write_next_candles  # noqa: E402

TALIB_MODELS = ("int_indicator_bars_prepared", "int_indicators_smoothed")
INDICATOR_MODELS = TALIB_MODELS + (
    "int_indicator_series_listed",
    "int_indicators_volume_smoothed",
    "int_indicators_windowed",
    "int_indicators_ranked",
    "fct_driver_indicators",
    "fct_symbol_indicators",
)


def talib_seconds(db: Path) -> tuple[float, float, int]:
    """Seconds to pull high/low/close per series segment and run TA-Lib on them."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        t0 = time.perf_counter()
        rows = con.sql(
            "select series_part, high, low, close from intermediate.int_indicator_bars_prepared "
            "order by series_part, idx"
        ).fetchnumpy()
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


def indicator_rows(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select count(*) from intermediate.int_indicators_smoothed").fetchone()[0]
    finally:
        con.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mr-bench-ind-") as tmp:
        work = Path(tmp)
        landing = work / "landing"
        shutil.copytree(PROJECT / "sample" / "landing", landing)
        build = run_build(landing, work)
        models = build["model_seconds"]
        total, pull, bars = talib_seconds(work / "bench.duckdb")
        rows_before = indicator_rows(work / "bench.duckdb")
        files = len(write_next_candles(landing))
        incremental = run_dbt("run", landing, work)
        rows_after = indicator_rows(work / "bench.duckdb")
    sql_talib = sum(models[m] for m in TALIB_MODELS)
    full_indicators = sum(models[m] for m in INDICATOR_MODELS)
    inc_models = incremental["model_seconds"]
    inc_indicators = sum(inc_models[m] for m in INDICATOR_MODELS)
    print(
        json.dumps(
            {
                "bars_processed": bars,
                "talib_covered_model_seconds": round(sql_talib, 2),
                "talib_seconds_including_pull": round(total, 3),
                "talib_pull_seconds": round(pull, 3),
                "ratio_sql_to_talib": round(sql_talib / total, 1),
                "indicator_model_seconds": {m: models[m] for m in INDICATOR_MODELS},
                "all_indicator_models_seconds": round(full_indicators, 2),
                "one_new_bar_incremental": {
                    "kline_files_with_one_more_candle": files,
                    "new_indicator_rows": rows_after - rows_before,
                    "indicator_model_seconds": {m: inc_models[m] for m in INDICATOR_MODELS},
                    "indicator_models_seconds": round(inc_indicators, 2),
                    "share_of_full_indicator_time": round(inc_indicators / full_indicators, 3),
                    "all_models_seconds_of_the_run": round(sum(inc_models.values()), 2),
                },
                "one_new_bar_incremental_seconds": round(inc_indicators, 2),
                "peak_rss_mb": max(build["peak_rss_mb"], incremental["peak_rss_mb"]),
                "total_model_seconds_full_build": build["total_model_seconds"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
