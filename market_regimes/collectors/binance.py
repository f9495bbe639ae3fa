"""Binance spot klines backfill into the landing directory (docs/landing.md, collectors).

API (public, no key): ``GET {base_url}/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=<ms>
&endTime=<ms>&limit=1000`` — https://developers.binance.com/docs/binance-spot-api-docs/rest-api/
market-data-endpoints#klinecandlestick-data. The response is a JSON list, oldest first, of at
most ``limit`` bars whose open time is in [startTime, endTime]::

    [[open_time_ms, "open", "high", "low", "close", "volume", close_time_ms,
      "quote_volume", n_trades, "taker_buy_base", "taker_buy_quote", "ignore"], ...]

Prices are quote-currency strings, volume is base-asset units; times are epoch ms, UTC.

Output: one file per page (at most ``limit`` bars) at
``klines/binance/<SYMBOL>_<interval>__<first>-<last>.csv`` where first/last are the
batch's first and last bar open times as ``YYYYMMDDTHHMMZ``; header
``date,open,high,low,close,volume``, ``date`` = bar open time ``YYYY-MM-DD HH:MM:SS``
(naive UTC, as in ``sample/landing/klines/binance``), values exactly as Binance sent them.
Each file is written atomically (:mod:`.files`); an identical batch is never written twice.

Resume: the newest bar already landed for the symbol and interval — in any
``klines/binance/<SYMBOL>_<interval>[__<tag>]`` file, read with the landing code's own
rules — is the newest bar of its file, hence provisional (docs/landing.md): the backfill
re-fetches from it. Unchanged, it is dropped from the batch; changed, it lands again
and the later landing supersedes it. Only closed bars (open time + interval <= now) are
landed, so the collector itself never lands a bar that is still moving.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from market_regimes.landing.layouts import INTERVAL_MINUTES, LandingFileError, canonical_interval, parse_landing_path
from market_regimes.landing.ledger import land_files

from .files import write_batch_file
from .http import JsonClient, ResponseShapeError

log = logging.getLogger("market_regimes.collectors.binance")

EXCHANGE = "binance"
KLINES_PATH = "/api/v3/klines"
MAX_LIMIT = 1000
HEADER = "date,open,high,low,close,volume"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
TAG_FORMAT = "%Y%m%dT%H%MZ"
#: Binance's interval strings for the canonical intervals (they happen to coincide).
BINANCE_INTERVALS = {interval: interval for interval in INTERVAL_MINUTES}
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")

TimeLike = datetime | date | str | pd.Timestamp


@dataclass(frozen=True)
class Kline:
    """One bar as received: open time (epoch ms, UTC) and open/high/low/close/volume text."""

    open_ms: int
    fields: tuple[str, str, str, str, str]

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.fields)


@dataclass(frozen=True)
class LandedBar:
    """The current landed version of a bar: start (naive UTC), OHLCV floats, its file."""

    bar_start: datetime
    values: tuple[float, float, float, float, float]
    source_file: str


@dataclass(frozen=True)
class BackfillProgress:
    """Reported after every page: totals so far for one symbol and interval.

    ``last_bar_at`` is the newest bar landed so far (naive UTC) or None; ``path`` the file
    this page wrote (None when the page brought nothing new).
    """

    symbol: str
    interval: str
    pages: int
    bars: int
    last_bar_at: datetime | None
    path: Path | None


@dataclass
class BackfillResult:
    """What one backfill did: pages fetched, bars and files landed, where it resumed."""

    symbol: str
    interval: str
    resumed_from: datetime | None
    pages: int = 0
    bars: int = 0
    files: list[Path] = field(default_factory=list)
    last_bar_at: datetime | None = None


def _to_ms(value: TimeLike) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)


def newest_landed_bar(landing_dir: Path | str, symbol: str, interval: str) -> LandedBar | None:
    """The newest valid bar landed for ``symbol``/``interval`` under ``klines/binance``.

    Reads every ``klines/binance/<SYMBOL>_<interval-or-alias>[__<tag>].*`` file (hidden
    files skipped, identical contents once) with the landing ledger
    (:func:`market_regimes.landing.ledger.land_files`), in landing order (by path), so
    rejected rows are ignored and the current version of a re-landed bar is the one a
    landing build keeps. Cost: one parse of the series' files.

    Raises:
        LandingFileError: a file of this series cannot be read (the landing build would
            fail on it too). Files of other series, or unparseable names, are skipped.
    """
    folder = Path(landing_dir) / "klines" / EXCHANGE
    symbol, interval = symbol.upper(), canonical_interval(interval)
    files, seen = [], set()
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name.startswith(".") or not path.is_file():
            continue
        rel = f"klines/{EXCHANGE}/{path.name}"
        try:
            info = parse_landing_path(rel)
        except LandingFileError:
            continue
        if info.symbol != symbol or info.bar_interval != interval:
            continue
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if digest not in seen:
            seen.add(digest)
            files.append((rel, content, digest))
    if not files:
        return None
    rows = land_files("klines", files, pd.Timestamp(0))
    landed = rows[rows["status"] == "landed"]
    if landed.empty:
        return None
    newest = landed[landed["bar_start"] == landed["bar_start"].max()].iloc[-1]
    values = tuple(float(newest[c]) for c in ("open", "high", "low", "close", "volume"))
    return LandedBar(newest["bar_start"].to_pydatetime(), values, newest["source_file"])


def parse_klines(payload: object, url: str, step_ms: int, start_ms: int, end_ms: int, limit: int) -> list[Kline]:
    """Validate a klines response (see module doc) and keep open time + OHLCV text.

    Raises:
        ResponseShapeError: not a list of bars; a bar with fewer than 6 fields, a
            non-integer or unaligned open time, one outside [start_ms, end_ms], out of
            order, or a value that is not a decimal number; more than ``limit`` bars.
    """
    if not isinstance(payload, list):
        raise ResponseShapeError(url, f"expected a JSON list of klines, got {type(payload).__name__}")
    if len(payload) > limit:
        raise ResponseShapeError(url, f"{len(payload)} klines for limit={limit}")
    out: list[Kline] = []
    previous = start_ms - 1
    for i, row in enumerate(payload):
        if not isinstance(row, list) or len(row) < 6:
            raise ResponseShapeError(url, f"kline {i} is not a list of >= 6 fields: {str(row)[:100]}")
        open_ms = row[0]
        if isinstance(open_ms, bool) or not isinstance(open_ms, int):
            raise ResponseShapeError(url, f"kline {i} open time {open_ms!r} is not epoch milliseconds")
        if open_ms % step_ms or not previous < open_ms <= end_ms:
            raise ResponseShapeError(
                url, f"kline {i} open time {open_ms} is unaligned, out of order or outside [{start_ms}, {end_ms}]"
            )
        previous = open_ms
        texts = []
        for value in row[1:6]:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                value = repr(value)
            if not isinstance(value, str) or not _DECIMAL.match(value):
                raise ResponseShapeError(url, f"kline {i} value {value!r} is not a decimal number")
            texts.append(value)
        out.append(Kline(open_ms, tuple(texts)))
    return out


def render_batch(klines: list[Kline]) -> bytes:
    """The landing CSV of a batch (Binance-style header, naive-UTC ``date``)."""
    lines = [HEADER] + [",".join((_from_ms(k.open_ms).strftime(DATE_FORMAT), *k.fields)) for k in klines]
    return ("\n".join(lines) + "\n").encode()


def batch_stem(symbol: str, interval: str, klines: list[Kline]) -> str:
    """``<SYMBOL>_<interval>__<first>-<last>`` (bar open times, ``YYYYMMDDTHHMMZ``)."""
    first, last = (_from_ms(k.open_ms).strftime(TAG_FORMAT) for k in (klines[0], klines[-1]))
    return f"{symbol}_{interval}__{first}-{last}"


def backfill_klines(
    client: JsonClient,
    landing_dir: Path | str,
    symbol: str,
    interval: str,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    limit: int = MAX_LIMIT,
    now: Callable[[], datetime] | None = None,
    on_progress: Callable[[BackfillProgress], None] | None = None,
) -> BackfillResult:
    """Fetch closed bars of one symbol and interval, page by page, into landing files.

    Starts at the newest landed bar (re-fetched, see module doc), or at ``start`` (rounded
    up to a bar boundary) when nothing is landed or ``start`` is later; stops at ``end``
    (exclusive; default now), on a short page, or at the first bar still open.

    Args:
        client: a :class:`JsonClient` on the Binance base URL.
        landing_dir: the landing directory (``klines/binance/`` is created if needed).
        symbol: e.g. ``BTCUSDT`` (upper-cased).
        interval: ``1m 5m 15m 1h 4h 1d`` or an alias (``60m``, ``D`` ...).
        start, end: datetimes/dates/ISO strings; naive means UTC.
        limit: bars per page, 1..1000.
        now: clock returning the current time (naive = UTC); default the system clock.
        on_progress: called after every page with running totals (also logged at INFO).
    Returns:
        a :class:`BackfillResult`; ``files`` in the order written.
    Raises:
        ValueError: bad interval, limit, or no ``start`` with nothing landed to resume from.
        HTTPFetchError, ResponseShapeError: a page failed. Files of earlier pages stay
            landed and complete; the next run resumes after them.
        OSError: a file could not be written (nothing partial is left).
    """
    symbol = symbol.upper()
    interval = canonical_interval(interval)
    if interval not in BINANCE_INTERVALS:
        raise ValueError(f"interval {interval!r} is not one of {', '.join(BINANCE_INTERVALS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be within 1..{MAX_LIMIT}, got {limit}")
    step_ms = INTERVAL_MINUTES[interval] * 60_000
    now_ms = _to_ms(now() if now is not None else datetime.now(timezone.utc))
    end_ms = min(_to_ms(end), now_ms) if end is not None else now_ms
    folder = Path(landing_dir) / "klines" / EXCHANGE

    newest = newest_landed_bar(landing_dir, symbol, interval)
    newest_ms = _to_ms(newest.bar_start) if newest else None
    start_ms = -(-_to_ms(start) // step_ms) * step_ms if start is not None else None
    if newest_ms is None and start_ms is None:
        raise ValueError(f"{symbol} {interval}: nothing landed to resume from; give a start date")
    cursor = max(m for m in (newest_ms, start_ms) if m is not None)
    result = BackfillResult(
        symbol,
        interval,
        resumed_from=_from_ms(cursor) if newest_ms == cursor else None,
        last_bar_at=newest.bar_start if newest else None,
    )
    log.info(
        "%s %s: backfill from %s to %s (%s)",
        symbol,
        interval,
        _from_ms(cursor),
        _from_ms(end_ms),
        f"resuming at the newest landed bar, from {newest.source_file}" if result.resumed_from else "start",
    )

    while cursor < end_ms:
        params = {
            "symbol": symbol,
            "interval": BINANCE_INTERVALS[interval],
            "startTime": cursor,
            "endTime": end_ms - 1,
            "limit": limit,
        }
        url = client.url_for(KLINES_PATH, params)
        klines = parse_klines(client.get_json(KLINES_PATH, params), url, step_ms, cursor, end_ms - 1, limit)
        result.pages += 1
        closed = [k for k in klines if k.open_ms + step_ms <= now_ms]
        batch = closed
        if batch and batch[0].open_ms == newest_ms and batch[0].values == newest.values:
            batch = batch[1:]  # the re-fetched newest landed bar, unchanged
        path = None
        if batch:
            path = write_batch_file(folder, batch_stem(symbol, interval, batch), render_batch(batch))
            if path is not None:
                result.files.append(path)
                result.bars += len(batch)
            result.last_bar_at = _from_ms(batch[-1].open_ms)
        progress = BackfillProgress(symbol, interval, result.pages, result.bars, result.last_bar_at, path)
        log.info(
            "%s %s: page %d, %d bars landed, last bar %s%s",
            symbol,
            interval,
            progress.pages,
            progress.bars,
            progress.last_bar_at,
            f" -> {path.name}" if path else "",
        )
        if on_progress is not None:
            on_progress(progress)
        if len(klines) < limit or len(closed) < len(klines):
            break  # a short page is the last one; an open bar is the present
        cursor = klines[-1].open_ms + step_ms
    return result
