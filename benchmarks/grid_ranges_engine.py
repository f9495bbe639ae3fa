"""Grid-range engine benchmark: throughput of grid_ranges.grid_range_rows on synthetic bars.

Builds 1,000,000 random-walk bars in 200 series of 5,000 bars (high / low around the close,
a Wilder ATR(14), and the whole-window / fit-part quantile ranges computed with pandas
rolling quantiles, as the SQL side provides them), then times the engine on them (best of
3) and prints JSON:
* bars, series, seconds, bars_per_second: grid_range_rows (all series, incl. sorting,
  validation and the output frame);
* parts: seconds of the pieces alone over the same bars (swing levels per series,
  traversal_counts and containment on the concatenated arrays);
* peak_rss_mb of this process.

Config: the engine rows of seeds/grid_config.csv, W and K of 1h bars from the dbt vars
grid_window_hours / grid_holdout_hours of dbt_project.yml (--minutes for another interval).

Usage: python benchmarks/grid_ranges_engine.py [--bars 1000000] [--series 200] [--minutes 60]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from market_regimes.engines import grid_ranges as gr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import best_of  # noqa: E402  (sibling benchmark script)


def config(interval_minutes: int) -> gr.GridRangeConfig:
    """The seed's engine rows with W, K of the dbt vars in bars of `interval_minutes`
    (hours x 60 // minutes, as int_grid_bars_prepared)."""
    dbt_vars = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
    return gr.load_config_csv(
        window_bars=int(dbt_vars["grid_window_hours"]) * 60 // interval_minutes,
        holdout_bars=int(dbt_vars["grid_holdout_hours"]) * 60 // interval_minutes,
    )


def synthetic_bars(n_bars: int, n_series: int, cfg: gr.GridRangeConfig, seed: int = 1) -> pd.DataFrame:
    """Random-walk bars of n_series series of n_bars // n_series bars each, engine input shape."""
    rng = np.random.default_rng(seed)
    per = n_bars // n_series
    frames = []
    for s in range(n_series):
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, per)))
        prev = np.concatenate([[close[0]], close[:-1]])
        high = np.maximum(close, prev) * (1 + np.abs(rng.normal(0.0, 0.004, per)))
        low = np.minimum(close, prev) * (1 - np.abs(rng.normal(0.0, 0.004, per)))
        tr = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
        atr = pd.Series(tr).ewm(alpha=1 / 14, adjust=False).mean().to_numpy(copy=True)
        atr[:13] = np.nan
        w, k = cfg.window_bars, cfg.holdout_bars
        lows, highs = pd.Series(low), pd.Series(high)
        frames.append(
            pd.DataFrame(
                {
                    "series_part": f"series-{s:04d}",
                    "idx": np.arange(per),
                    "bar_start": pd.date_range("2024-01-01", periods=per, freq="h"),
                    "high": high,
                    "low": low,
                    "close": close,
                    "atr_14": atr,
                    "support": lows.rolling(w).quantile(0.05).to_numpy(),
                    "resistance": highs.rolling(w).quantile(0.95).to_numpy(),
                    "support_fit": lows.rolling(w - k).quantile(0.05).shift(k).to_numpy(),
                    "resistance_fit": highs.rolling(w - k).quantile(0.95).shift(k).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=60, help="bar interval in minutes (sets W, K)")
    args = parser.parse_args()
    cfg = config(args.minutes)
    bars = synthetic_bars(args.bars, args.series, cfg)
    shuffled = bars.sample(frac=1.0, random_state=0)  # the engine sorts its input
    seconds, rows = best_of(3, lambda: gr.grid_range_rows(shuffled, cfg))
    assert len(rows) == len(bars)
    close, atr = bars["close"].to_numpy(), bars["atr_14"].to_numpy()
    per = len(bars) // args.series
    swing_s, _ = best_of(
        3,
        lambda: [
            gr.swing_levels(
                bars["high"].to_numpy()[a : a + per],
                bars["low"].to_numpy()[a : a + per],
                close[a : a + per],
                atr[a : a + per],
                cfg,
            )
            for a in range(0, len(bars), per)
        ],
    )
    trav_s, _ = best_of(
        3, lambda: gr.traversal_counts(close, bars["support"].to_numpy(), bars["resistance"].to_numpy(), cfg)
    )
    cont_s, _ = best_of(
        3, lambda: gr.containment(close, bars["support_fit"].to_numpy(), bars["resistance_fit"].to_numpy(), atr, cfg)
    )
    print(
        json.dumps(
            {
                "bars": len(bars),
                "series": args.series,
                "seconds": round(seconds, 3),
                "bars_per_second": round(len(bars) / seconds),
                "parts": {
                    "swing_levels_seconds": round(swing_s, 3),
                    "traversal_counts_seconds": round(trav_s, 3),
                    "containment_seconds": round(cont_s, 3),
                },
                "window_bars": cfg.window_bars,
                "holdout_bars": cfg.holdout_bars,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
