"""Cost floor of the TA-Lib-covered indicators in DuckDB SQL: what each building block costs.

Issue 3 asks for TA-Lib-covered model seconds / TA-Lib seconds <= 15. This script
measures, on the final bars of an existing build (intermediate.int_indicator_bars_prepared),
the DuckDB operations any exact SQL form of those indicators is made of, next to TA-Lib on
the same bars, and prints one JSON document:
* talib_seconds_including_pull: TA-Lib's EMA x6, SMA, ATR, RSI, ADX, +DI, -DI, BBANDS on
  every series segment, including pulling high/low/close out of DuckDB (the denominator of
  benchmarks/indicators.py's ratio);
* seconds of: the sort alone (row_number over the series); 1 and 12 running window sums
  framed like macro linear_recursions (from the chunk start); 12 lags; the SMA 200 and the
  Bollinger standard deviation frames; a hash join of the bars with themselves on
  (series_part, idx); writing 1 and 10 DOUBLE columns of every bar to a table (compression
  included);
* per-unit costs derived from them, and a lower bound for the SQL models: 13 recursions (6
  EMAs, ATR, the two RSI averages, the three DM/TR sums, ADX) x one window sum each, the 3
  frames, and the DOUBLE columns the two models store (int_indicator_bars_prepared and
  int_indicators_smoothed, read from the build) x the write cost, plus two sorts, ignoring
  every scan, join, group and projection; and that bound divided by TA-Lib's seconds. The
  bound holds for the window-sum form of the recursions (macro linear_recursions).

Usage: python benchmarks/indicator_floor.py [warehouse.duckdb]   (default: $MARKET_REGIMES_DB
or warehouse/market_regimes.duckdb, built by `make run`)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT  # noqa: E402  (sibling benchmark script)
from indicators import talib_seconds  # noqa: E402

RECURSIONS = 13  # EMA 20/30/60/144/250/333, ATR, avg gain, avg loss, +DM, -DM, TR sums, ADX
FRAMES = 3  # SMA 200, Bollinger mean and standard deviation (20)
TALIB_MODELS = ("int_indicator_bars_prepared", "int_indicators_smoothed")
CHUNK = 399  # linear_recursions' chunk for the fastest recursion (EMA 20)
INPUTS = ("close", "true_range", "gain", "loss", "plus_dm", "minus_dm")
SERIES = "window w as (partition by series_part order by idx)"


def best_of(con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 2) -> float:
    """Fastest of `repeat` runs of `sql`, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(sql)
        times.append(time.perf_counter() - started)
    return min(times)


def twelve(expression: str) -> str:
    """12 select items: expression formatted with each input column, times 1 and 2."""
    return ", ".join(
        expression.format(col=f"{col} * {k}") + f" as c{i}_{k}" for i, col in enumerate(INPUTS) for k in (1, 2)
    )


def main() -> None:
    warehouse = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("MARKET_REGIMES_DB", PROJECT / "warehouse" / "market_regimes.duckdb")
    )
    if not warehouse.exists():
        raise SystemExit(f"{warehouse}: no such DuckDB file; build it first (make run)")
    talib_total, talib_pull, bars = talib_seconds(warehouse)
    with tempfile.TemporaryDirectory(prefix="mr-bench-floor-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"))
        con.execute(f"attach '{warehouse}' as w (read_only)")
        con.execute(
            "create table bars as select series_part, idx, close, true_range, gain, loss, plus_dm, minus_dm "
            "from w.intermediate.int_indicator_bars_prepared"
        )
        stored_doubles = con.sql(
            "select count(*) from duckdb_columns() where database_name = 'w' and schema_name = 'intermediate' "
            f"and table_name in {TALIB_MODELS} and data_type = 'DOUBLE'"
        ).fetchone()[0]
        con.execute("detach w")
        series = con.sql("select count(distinct series_part) from bars").fetchone()[0]
        into = "create or replace temp table out as select series_part, idx, "
        seconds = {
            "sort_only": best_of(con, into + f"row_number() over w as n from bars {SERIES}"),
            "window_sum_1": best_of(
                con,
                into + f"sum(close) over (w rows between idx % {CHUNK} preceding and current row) "
                f"as s from bars {SERIES}",
            ),
            "window_sums_12": best_of(
                con,
                into
                + twelve(f"sum({{col}}) over (w rows between idx % {CHUNK} preceding and current row)")
                + f" from bars {SERIES}",
            ),
            "lags_12": best_of(con, into + twelve("lag({col}) over w") + f" from bars {SERIES}"),
            "frame_avg_200": best_of(con, into + f"avg(close) over (w rows 199 preceding) as a from bars {SERIES}"),
            "frame_stddev_20": best_of(
                con, into + f"stddev_pop(close) over (w rows 19 preceding) as s from bars {SERIES}"
            ),
            "self_join_on_series_part_idx": best_of(
                con,
                "create or replace temp table out as select a.series_part, a.idx, a.close + b.gain as x "
                "from bars as a join bars as b using (series_part, idx)",
            ),
            "write_1_double": best_of(con, "create or replace table written as select close from bars"),
            "write_10_doubles": best_of(
                con,
                "create or replace table written as select "
                + ", ".join(f"{col} * {k} as c{i}_{k}" for i, col in enumerate(INPUTS[:5]) for k in (1, 2))
                + " from bars",
            ),
        }
        con.close()
    sort = seconds["sort_only"]
    per_sum = (seconds["window_sums_12"] - sort) / 12
    per_frame = (seconds["frame_avg_200"] + seconds["frame_stddev_20"]) / 2 - sort
    per_write = seconds["write_10_doubles"] / 10
    floor = 2 * sort + RECURSIONS * per_sum + FRAMES * per_frame + stored_doubles * per_write
    print(
        json.dumps(
            {
                "bars": bars,
                "series_segments": series,
                "talib_seconds_including_pull": round(talib_total, 3),
                "talib_pull_seconds": round(talib_pull, 3),
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
                "per_unit_seconds": {
                    "window_sum": round(per_sum, 3),
                    "lag": round((seconds["lags_12"] - sort) / 12, 3),
                    "frame": round(per_frame, 3),
                    "stored_double_column": round(per_write, 3),
                },
                "sql_lower_bound": {
                    "recursions": RECURSIONS,
                    "frames": FRAMES,
                    "stored_double_columns": stored_doubles,
                    "sorts": 2,
                    "seconds": round(floor, 2),
                    "ratio_to_talib": round(floor / talib_total, 1),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
