"""Grid lifecycle engine benchmark: per-bar cost of grid_lifecycle.walk_grid on synthetic bars.

Builds one realistic random series of 50,000 1h bars (random-walk closes with high / low
around them, a Wilder ATR(14), 20-bar Bollinger mid / std, 1h verdicts drawn from the four
labels with persistence, the last ended 4h bar's start and verdict, OU half-life / AR(1) b
with +inf and NaN, scores, the primary range as rolling quantiles, and NaN stretches in
every indicator column), then times walk_grid on it (best of 3) with the shipped seed
config and prints JSON:
* bars, seconds, microseconds_per_bar: the virtual (policy) grid, the main case;
* configured: the same figures for a configured enabled grid on the same bars;
* state_changes / notifications: rows of the virtual walk (to see the walk is not idle).

Usage: python benchmarks/grid_lifecycle_engine.py [--bars 50000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from market_regimes.engines import grid_lifecycle as gl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import best_of  # noqa: E402  (sibling benchmark script)

VERDICTS = np.array(["RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION"], dtype=object)


def _persistent_labels(
    rng: np.random.Generator, n: int, stay: float, weights: tuple[float, ...] = (0.5, 0.25, 0.15, 0.10)
) -> np.ndarray:
    """Labels of VERDICTS (drawn with `weights`) that keep the previous one with probability `stay`."""
    draws = rng.choice(len(VERDICTS), n, p=np.asarray(weights) / sum(weights))
    keep = rng.random(n) < stay
    idx = np.empty(n, dtype=np.int64)
    cur = draws[0]
    for i in range(n):
        if not keep[i]:
            cur = draws[i]
        idx[i] = cur
    return VERDICTS[idx]


def _smooth(rng: np.random.Generator, n: int, bars: float) -> np.ndarray:
    """A slowly moving noise of unit variance (AR(1) with a memory of about `bars` bars)."""
    a = 1.0 - 1.0 / bars
    x = pd.Series(rng.normal(0.0, 1.0, n)).ewm(alpha=1.0 - a, adjust=False).mean().to_numpy()
    return x / (x[200:] if n > 400 else x).std()


def _nan_stretches(rng: np.random.Generator, values: np.ndarray, count: int, max_len: int) -> np.ndarray:
    out = values.astype(float, copy=True)
    for start in rng.integers(0, len(out), count):
        out[start : start + int(rng.integers(1, max_len + 1))] = np.nan
    return out


def synthetic_bars(n: int, seed: int = 1) -> pd.DataFrame:
    """n realistic random 1h bars with gl.INPUT_COLUMNS (engine input shape)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.006, n)))
    prev = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(close, prev) * (1 + np.abs(rng.normal(0.0, 0.003, n)))
    low = np.minimum(close, prev) * (1 - np.abs(rng.normal(0.0, 0.003, n)))
    tr = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
    atr = pd.Series(tr).ewm(alpha=1 / 14, adjust=False).mean().to_numpy(copy=True)
    atr[:13] = np.nan
    closes = pd.Series(close)
    mid = closes.rolling(20).mean().to_numpy()
    std = closes.rolling(20).std(ddof=0).to_numpy()
    bar_start = pd.date_range("2022-01-01", periods=n, freq="h")
    verdict = _persistent_labels(rng, n, 0.97)
    verdict[rng.random(n) < 0.01] = None
    # the last ended 4h bar: its start and its verdict (NaT before the first ended one)
    coarse = bar_start.floor("4h") - pd.Timedelta(hours=4)
    coarse_verdict_4h = _persistent_labels(rng, n // 4 + 2, 0.9)
    coarse_idx = np.arange(n) // 4
    coarse_verdict = coarse_verdict_4h[coarse_idx].astype(object)
    coarse_start = pd.Series(coarse)
    coarse_start[:4] = pd.NaT
    coarse_verdict[:4] = None
    b = np.clip(0.85 + 0.05 * _smooth(rng, n, 150) + rng.normal(0.0, 0.01, n), -0.2, 1.02)
    half_life = np.where(b >= 1, np.inf, np.where(b > 0, -np.log(2) / np.log(np.clip(b, 1e-9, 0.999999)), 0.0))
    atr_ratio = 1.0 + 0.1 * _smooth(rng, n, 24)
    lows, highs = pd.Series(low), pd.Series(high)

    def score(center: float, spread: float, memory: float) -> np.ndarray:
        return np.clip(center + spread * _smooth(rng, n, memory), 0, 100)

    rqs, mean_rev = score(62, 15, 30), score(58, 15, 30)
    data = {
        "bar_start": bar_start,
        "close": close,
        "high": high,
        "low": low,
        "atr_14": atr,
        "bb_mid_20": mid,
        "bb_std_20": std,
        "verdict": verdict,
        "coarse_bar_start": coarse_start,
        "coarse_verdict": coarse_verdict,
        "ou_half_life": half_life,
        "ou_ar1_b": b,
        "atr_ratio": atr_ratio,
        "er_short": np.clip(0.3 + 0.15 * _smooth(rng, n, 12), 0, 1),
        "range_ok_support": np.round(np.minimum(rqs, mean_rev), 1),
        "vol_change_score": score(40, 20, 20),
        "trend_score": score(40, 20, 30),
        "adx_slope_10": 0.5 * _smooth(rng, n, 5),
        "range_quality_score": rqs,
        "mean_rev_score": mean_rev,
        "next_high_vol_prob": np.clip(0.2 + 0.12 * _smooth(rng, n, 12), 0, 1),
        "support": lows.rolling(168).quantile(0.05).to_numpy(),
        "resistance": highs.rolling(168).quantile(0.95).to_numpy(),
    }
    bars = pd.DataFrame(data)
    for c in [c for c in gl.FLOAT_INPUT_COLUMNS if c not in ("close", "high", "low")]:
        bars[c] = _nan_stretches(rng, bars[c].to_numpy(), max(1, n // 5000), 30)
    return bars[list(gl.INPUT_COLUMNS)]


def configured_grid(bars: pd.DataFrame) -> gl.GridSpec:
    """An enabled configured grid around the first close (+-3%)."""
    c = float(bars["close"].iloc[0])
    return gl.GridSpec(
        "g1", lower=round(c * 0.97, 2), upper=round(c * 1.03, 2), levels=6, allocation_frac=0.5, enabled=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cfg = gl.LifecycleConfig.from_csv()
    bars = synthetic_bars(args.bars, args.seed)
    seconds, result = best_of(3, lambda: gl.walk_grid(bars, gl.GridSpec.virtual_grid(), cfg))
    assert len(result.lifecycle) == len(bars)
    conf_seconds, conf = best_of(3, lambda: gl.walk_grid(bars, configured_grid(bars), cfg))
    print(
        json.dumps(
            {
                "bars": len(bars),
                "seconds": round(seconds, 3),
                "microseconds_per_bar": round(seconds / len(bars) * 1e6, 2),
                "configured": {
                    "seconds": round(conf_seconds, 3),
                    "microseconds_per_bar": round(conf_seconds / len(bars) * 1e6, 2),
                },
                "state_changes": len(result.state_changes),
                "notifications": len(result.notifications),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
