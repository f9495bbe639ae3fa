"""Synthetic landings for demos, benchmarks and tests (no dbt dependency).

write_next_candles(landing): the "one more bar" of an hourly run — beside every live kline
file it writes ``<SYMBOL>_<interval>__next.csv`` holding that file's next candle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from market_regimes.landing.layouts import INTERVAL_MINUTES, parse_landing_path


def write_next_candles(landing: Path, live_within_bars: int = 24) -> list[Path]:
    """Write the next candle of every live kline file under ``landing/klines``.

    A file is live when its last candle is within ``live_within_bars`` intervals of the
    newest last candle at its interval on any exchange (a stopped or delisted series, or
    an exchange whose export ended long before the others, gets nothing: a candle landed
    years back would rewrite composite history, see finality in docs/bars-and-drivers.md). The new candle
    starts one interval after the file's last one, flat at its close (open = high = low =
    close) with the last volume, in the file's own columns and timestamp format.

    Returns the paths written. Raises LandingFileError for a file name that is not a
    kline layout name.
    """
    lasts = {}
    for path in sorted((landing / "klines").glob("*/*")):
        spec = parse_landing_path(str(path.relative_to(landing)))
        last = pd.read_csv(path, dtype=str).tail(1).reset_index(drop=True)
        lasts[path] = (spec, last, pd.Timestamp(last.iat[0, 0]))
    def naive_utc(ts: pd.Timestamp) -> pd.Timestamp:  # files differ: "...+00:00" or naive UTC
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts

    newest: dict[str, pd.Timestamp] = {}
    for spec, _, ts in lasts.values():
        newest[spec.bar_interval] = max(newest.get(spec.bar_interval, naive_utc(ts)), naive_utc(ts))
    written = []
    for path, (spec, last, ts) in lasts.items():
        step = pd.Timedelta(minutes=INTERVAL_MINUTES[spec.bar_interval])
        if naive_utc(ts) < newest[spec.bar_interval] - live_within_bars * step:
            continue
        nxt = last.copy()
        nxt.iat[0, 0] = str(ts + step)
        for col in ("open", "high", "low"):
            nxt.at[0, col] = last.at[0, "close"]
        out = path.parent / (path.name.split(".")[0] + "__next.csv")
        nxt.to_csv(out, index=False)
        written.append(out)
    return written
