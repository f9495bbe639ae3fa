"""Shuffled-return surrogates of candle series: the random-walk null of the grid research.

A surrogate keeps a series' distribution of bar returns and of intrabar shapes but destroys
their order (and so any trend, mean reversion or volatility clustering): the bar log
returns ln(close_t / close_(t-1)) are permuted with a fixed seed and the close path is
rebuilt from the first close; each bar keeps the intrabar shape of the bar its return came
from: open = the previous close, high = max(open, close) x (original high / max(original
open, original close)), low = min(open, close) x (original low / min(original open,
original close)); volume travels with the return. Used by the grid calibration (median
RangeQualityScore on surrogates, docs/grid-regimes.md) and the SHUF baseline of the range
outcome report.

Pure Python (numpy, pandas): no dbt, no Dagster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OHLCV = ("open", "high", "low", "close", "volume")


def shuffled_return_surrogate(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One surrogate of one series.

    Args:
        bars: consecutive bars of one series in time order, columns open, high, low, close
            (positive prices), volume (>= 0), and any others (kept as they are: e.g. the
            timestamps, so the surrogate has the original calendar).
        seed: numpy Generator seed of the permutation (same seed, same surrogate).

    Returns:
        A copy of ``bars`` with open, high, low, close, volume replaced; the first bar is
        the original first bar. high >= max(open, close) and low <= min(open, close) hold.

    Raises:
        ValueError: a missing column, fewer than 2 bars, or a non-positive or non-finite price.
    """
    missing = [c for c in OHLCV if c not in bars.columns]
    if missing:
        raise ValueError(f"shuffled_return_surrogate: missing columns {missing}")
    if len(bars) < 2:
        raise ValueError("shuffled_return_surrogate: needs at least 2 bars")
    o, h, lo, c = (bars[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
    prices = np.concatenate([o, h, lo, c])
    if not (np.isfinite(prices).all() and (prices > 0).all()):
        raise ValueError("shuffled_return_surrogate: prices must be positive and finite")
    volume = bars["volume"].to_numpy(dtype=float)
    order = 1 + np.random.default_rng(seed).permutation(len(bars) - 1)  # source bar of each new bar 1..n-1
    log_returns = np.log(c[1:] / c[:-1])[order - 1]
    close = np.empty(len(bars))
    close[0] = c[0]
    close[1:] = c[0] * np.exp(np.cumsum(log_returns))
    open_ = np.empty(len(bars))
    open_[0] = o[0]
    open_[1:] = close[:-1]
    src = np.concatenate([[0], order])
    up = h[src] / np.maximum(o[src], c[src])
    down = lo[src] / np.minimum(o[src], c[src])
    out = bars.copy()
    out["open"] = open_
    out["close"] = close
    out["high"] = np.maximum(open_, close) * up
    out["low"] = np.minimum(open_, close) * down
    out["volume"] = volume[src]
    return out


def write_surrogate_landing(
    source: "Path | str", target: "Path | str", files: "list[str]", first_seed: int = 0
) -> list:
    """Write shuffled-return surrogates of kline files into a landing directory.

    Args:
        source: a landing directory (e.g. sample/landing).
        target: the landing directory to write (created); each file keeps its relative path
            (e.g. klines/binance/BTCUSDT_1h.csv.gz -> klines/binance/BTCUSDT_1h.csv), so the
            surrogates land as the same exchange, symbol and interval.
        files: paths relative to ``source`` of kline CSVs with a time column (``date``,
            Binance-style, or ``timestamp``, Bybit-style) and open, high, low, close,
            volume (gzip or plain).
        first_seed: file i gets seed first_seed + i.

    Returns:
        The written paths. Identical duplicate rows are dropped and rows sorted by date
        before shuffling (a surrogate needs one bar per timestamp).

    Raises:
        FileNotFoundError: a file is missing; ValueError: as :func:`shuffled_return_surrogate`.
    """

    source, target = Path(source), Path(target)
    written = []
    for i, rel in enumerate(files):
        frame = pd.read_csv(source / rel)
        time_column = next((c for c in ("date", "timestamp") if c in frame.columns), None)
        if time_column is None:
            raise ValueError(f"write_surrogate_landing: {rel} has no date or timestamp column")
        frame = frame.drop_duplicates(time_column).sort_values(time_column).reset_index(drop=True)
        out = target / rel.removesuffix(".gz")
        out.parent.mkdir(parents=True, exist_ok=True)
        shuffled_return_surrogate(frame, seed=first_seed + i).to_csv(out, index=False, float_format="%.10g")
        written.append(out)
    return written
