"""Synthetic landings for demos, benchmarks and tests (no dbt dependency).

write_next_candles(landing, minutes, tag): an exchange's next export after ``minutes`` more
minutes of trading — beside every live kline file it writes ``<SYMBOL>_<interval>__<tag>.csv``
holding that series' new candles, consistent across the intervals of one symbol (every
coarser candle is the rollup of the finest series' candles, as an exchange's own candles
are), so the landed rollups still equal the exchange's candles.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from market_regimes.landing.layouts import INTERVAL_MINUTES, LandingFile, parse_landing_path

# Shape of the synthetic minutes (project definition, demo/benchmark data only): the
# per-bar log-return volatility is the series' own over its last SIGMA_WINDOW returns,
# the wicks add up to half a sigma, volume varies by up to exp(+-VOLUME_SPREAD) around
# the series' recent median.
SIGMA_WINDOW = 1000
VOLUME_SPREAD = 0.3


@dataclass
class _Series:
    spec: LandingFile
    paths: list[Path]
    bars: pd.DataFrame  # bar_start (naive UTC) + open/high/low/close/volume, later files winning
    template: pd.DataFrame  # the last raw row of the newest file (columns, formats, extras)
    tz_suffix: bool  # timestamps written with "+00:00"

    @property
    def step(self) -> pd.Timedelta:
        return pd.Timedelta(minutes=INTERVAL_MINUTES[self.spec.bar_interval])

    @property
    def last(self) -> pd.Timestamp:
        return self.bars["bar_start"].iat[-1]


def _naive_utc(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert("UTC").dt.tz_localize(None)


def _read_series(landing: Path) -> dict[tuple[str, str, str], _Series]:
    by_key: dict[tuple[str, str, str], list[tuple[LandingFile, Path]]] = {}
    for path in sorted((landing / "klines").glob("*/*")):
        spec = parse_landing_path(str(path.relative_to(landing)))
        by_key.setdefault((spec.exchange, spec.symbol, spec.bar_interval), []).append((spec, path))
    out = {}
    for key, files in by_key.items():
        frames, template = [], None
        for order, (_, path) in enumerate(files):  # names sort oldest first: later files win
            raw = pd.read_csv(path, dtype=str)
            frame = pd.DataFrame({"bar_start": _naive_utc(raw.iloc[:, 0]), "order": order})
            for col in ("open", "high", "low", "close", "volume"):
                frame[col] = raw[col].astype(float)
            frames.append(frame)
            template = raw.tail(1).reset_index(drop=True)
        bars = (
            pd.concat(frames)
            .sort_values(["bar_start", "order"])
            .drop_duplicates("bar_start", keep="last")
            .drop(columns="order")
            .reset_index(drop=True)
        )
        out[key] = _Series(
            files[0][0], [p for _, p in files], bars, template, str(template.iat[0, 0]).endswith("+00:00")
        )
    return out


def _unit_normals(symbol: str, starts: pd.DatetimeIndex, k: int) -> np.ndarray:
    """k standard normals per bar, a pure function of (symbol, bar_start): a bar generated
    twice (by two runs, or by two intervals of one symbol) gets the same values."""
    out = np.empty((len(starts), k))
    for i, ts in enumerate(starts):
        seed = int.from_bytes(hashlib.sha256(f"{symbol}|{ts.isoformat()}".encode()).digest()[:8], "little")
        out[i] = np.random.default_rng(seed).standard_normal(k)
    return out


def _continue_fine(fine: _Series, until: pd.Timestamp) -> pd.DataFrame:
    """The fine series' bars after its last one up to bar_start ``until``: a random walk from
    its last close with its own recent volatility, integer volumes (so sums are exact)."""
    starts = pd.date_range(fine.last + fine.step, until, freq=fine.step)
    closes = fine.bars["close"].to_numpy()[-SIGMA_WINDOW - 1 :]
    sigma = float(np.std(np.diff(np.log(closes)))) if len(closes) > 2 else 0.001
    volume = float(np.median(fine.bars["volume"].to_numpy()[-SIGMA_WINDOW:]))
    z = _unit_normals(fine.spec.symbol, starts, 4)
    close = float(fine.bars["close"].iat[-1]) * np.exp(np.cumsum(sigma * z[:, 0]))
    open_ = np.concatenate([[float(fine.bars["close"].iat[-1])], close[:-1]])
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(z[:, 1]))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(z[:, 2]))
    vol = np.round(volume * np.exp(VOLUME_SPREAD * np.tanh(z[:, 3])))
    return pd.DataFrame({"bar_start": starts, "open": open_, "high": high, "low": low, "close": close, "volume": vol})


def _roll_up(fine: pd.DataFrame, starts: pd.DatetimeIndex, step: pd.Timedelta) -> pd.DataFrame:
    """The candles at ``starts`` (interval ``step``) from the fine bars inside each one."""
    rows = []
    for start in starts:
        inside = fine[(fine["bar_start"] >= start) & (fine["bar_start"] < start + step)]
        if inside.empty:
            continue
        rows.append(
            {
                "bar_start": start,
                "open": inside["open"].iat[0],
                "high": inside["high"].max(),
                "low": inside["low"].min(),
                "close": inside["close"].iat[-1],
                "volume": inside["volume"].sum(),
            }
        )
    return pd.DataFrame(rows, columns=["bar_start", "open", "high", "low", "close", "volume"])


def _write(series: _Series, candles: pd.DataFrame, tag: str) -> Path:
    out = pd.concat([series.template] * len(candles), ignore_index=True)
    stamps = candles["bar_start"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out[out.columns[0]] = list(stamps + "+00:00" if series.tz_suffix else stamps)
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = [repr(float(v)) for v in candles[col]]
    first = series.paths[0]
    path = first.parent / (first.name.split(".")[0].split("__")[0] + f"__{tag}.csv")
    out.to_csv(path, index=False)
    return path


def write_next_candles(
    landing: Path | str, minutes: int = 60, tag: str = "next", live_within_hours: float = 24
) -> list[Path]:
    """Write an exchange's next export for every live kline series under ``landing/klines``.

    Live, by the end of the newest candle (bar_start + interval) within
    ``live_within_hours``: an exchange, of the newest end on any exchange; a symbol, of its
    exchange's newest end; a series (exchange x symbol x interval, over all its files) of
    a live symbol, of the symbol's newest end. Nothing else gets candles: an exchange whose
    export ended long before the others, a stopped or delisted symbol (its bars are final
    by the exchange's horizon: new ones would revise final history, see finality in
    docs/bars-and-drivers.md), a file of a symbol that stopped being exported.

    The clock of every live series advances ``minutes``: the finest live series of a
    symbol continues as a random walk (a pure function of symbol and bar_start, so
    repeated runs and the intervals of a symbol agree); every live series gets its
    candles from bar_start = its last candle (the exchange's in-progress candle, now
    completed: a later landing supersedes a provisional bar) to last + ``minutes``, each
    the rollup of the finest series' bars inside it. Files are written as
    ``<SYMBOL>_<interval>__<tag>.csv`` in the series' own columns and timestamp format;
    give each run a tag that sorts after the previous ones.

    Returns the paths written. Raises LandingFileError for a file name that is not a
    kline layout name.
    """
    landing = Path(landing)
    series = _read_series(landing)
    within = pd.Timedelta(hours=live_within_hours)
    end = {k: s.last + s.step for k, s in series.items()}
    by_exchange: dict[str, pd.Timestamp] = {}
    by_symbol: dict[tuple[str, str], pd.Timestamp] = {}
    for (exchange, symbol, _), e in end.items():
        by_exchange[exchange] = max(by_exchange.get(exchange, e), e)
        by_symbol[exchange, symbol] = max(by_symbol.get((exchange, symbol), e), e)
    newest = max(by_exchange.values(), default=None)
    live = {
        k: s
        for k, s in series.items()
        if by_exchange[k[0]] >= newest - within
        and by_symbol[k[:2]] >= by_exchange[k[0]] - within
        and end[k] >= by_symbol[k[:2]] - within
    }
    groups: dict[tuple[str, str], list[_Series]] = {}
    for (exchange, symbol, _), s in live.items():
        groups.setdefault((exchange, symbol), []).append(s)
    written = []
    for members in groups.values():
        members.sort(key=lambda s: s.step)
        fine = members[0]
        until = max(s.last + pd.Timedelta(minutes=minutes) + s.step for s in members) - fine.step
        new_fine = _continue_fine(fine, until)
        all_fine = pd.concat([fine.bars, new_fine], ignore_index=True)
        for s in members:
            horizon = s.last + pd.Timedelta(minutes=minutes)
            if s is fine:
                candles = new_fine[new_fine["bar_start"] <= horizon]
            else:
                candles = _roll_up(all_fine, pd.date_range(s.last, horizon, freq=s.step), s.step)
            if len(candles):
                written.append(_write(s, candles, tag))
    return sorted(written)
