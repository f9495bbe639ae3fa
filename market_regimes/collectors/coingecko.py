"""CoinGecko ``/global`` market-cap dominance readings into the landing directory.

API: ``GET {base_url}/api/v3/global`` (public: ``https://api.coingecko.com``; a demo key
goes in the ``x-cg-demo-api-key`` header) — https://docs.coingecko.com/reference/crypto-global.
Response::

    {"data": {"market_cap_percentage": {"btc": 52.1, "usdt": 4.3, ...},
              "updated_at": 1717236542, ...}}

``market_cap_percentage`` is each coin's share of the total crypto market cap in percent
points (0-100); ``updated_at`` is when CoinGecko computed it, epoch seconds (UTC).

Output: per series one file per UTC day of the reading,
``dominance/<series>__<YYYYMMDD>.csv`` with header ``timestamp,dominance_pct`` and rows
``YYYY-MM-DD HH:MM:SS,<percent>`` (naive UTC ``updated_at``; docs/landing.md per-minute
readings, rolled up to 1m bars downstream). The series stems are the coingecko_global
rows of ``seeds/dominance_series.csv`` (``btc_dominance`` -> BTC.d, ``usdt_dominance`` ->
USDT.d); the ``__<date>`` tag keeps the stem, so the seed mapping applies unchanged.

A reading is appended by rewriting the day's file atomically (:mod:`.files`): a landing
run sees the old or the new file, never a partial one. A landing build re-reads a
changed file whole; its earlier rows collapse as identical duplicates, and the daily
file bounds that re-reading to one day. A reading not newer than the file's last one
writes nothing (re-running is idempotent), except a changed value at the same
``updated_at``, which replaces that last (provisional) row.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .files import write_atomically
from .http import CollectorError, JsonClient, ResponseShapeError

log = logging.getLogger("market_regimes.collectors.coingecko")

GLOBAL_PATH = "/api/v3/global"
HEADER = "timestamp,dominance_pct"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
#: CoinGecko coin id in ``market_cap_percentage`` -> dominance series (file stem, see the seed).
DEFAULT_SERIES_BY_COIN: dict[str, str] = {"btc": "btc_dominance", "usdt": "usdt_dominance"}


@dataclass(frozen=True)
class DominanceReading:
    """One reading written: series stem, coin, time (naive UTC), percent points, file."""

    series: str
    coin: str
    reading_at: datetime
    dominance_pct: float
    path: Path


def parse_global(payload: object, url: str, coins: list[str]) -> tuple[datetime, dict[str, float]]:
    """Reading time (naive UTC, whole seconds) and percent per coin from a ``/global`` body.

    Raises:
        ResponseShapeError: no ``data.market_cap_percentage`` object or ``data.updated_at``
            epoch seconds, a coin missing, or a percentage not a number in (0, 100].
    """
    data = payload.get("data") if isinstance(payload, dict) else None
    shares = data.get("market_cap_percentage") if isinstance(data, dict) else None
    updated = data.get("updated_at") if isinstance(data, dict) else None
    if not isinstance(shares, dict):
        raise ResponseShapeError(url, "no data.market_cap_percentage object")
    is_number = isinstance(updated, (int, float)) and not isinstance(updated, bool)
    if not is_number or not math.isfinite(updated) or updated <= 0:
        raise ResponseShapeError(url, f"data.updated_at {updated!r} is not epoch seconds")
    out = {}
    for coin in coins:
        value = shares.get(coin)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
            raise ResponseShapeError(
                url, f"market_cap_percentage[{coin!r}] = {value!r} is not a percentage in (0, 100]"
            )
        out[coin] = float(value)
    reading_at = datetime.fromtimestamp(int(updated), tz=timezone.utc).replace(tzinfo=None)
    return reading_at, out


def appended_content(path: Path, reading_at: datetime, pct: float) -> bytes | None:
    """The day file's new bytes with the reading appended, or None when nothing changes.

    Raises:
        CollectorError: the existing file's header or last row is not this collector's.
    """
    row = f"{reading_at.strftime(TIMESTAMP_FORMAT)},{pct!r}"
    if not path.exists():
        return f"{HEADER}\n{row}\n".encode()
    lines = path.read_text().splitlines()
    if not lines or lines[0] != HEADER:
        raise CollectorError(f"{path}: header is not {HEADER!r}; not a file this collector writes")
    if len(lines) > 1:
        try:
            last_text, last_value = lines[-1].split(",")
            last_at, last_pct = datetime.strptime(last_text, TIMESTAMP_FORMAT), float(last_value)
        except ValueError as exc:
            raise CollectorError(f"{path}: last row {lines[-1]!r} is not 'timestamp,dominance_pct'") from exc
        if reading_at < last_at or (reading_at == last_at and pct == last_pct):
            return None
        if reading_at == last_at:
            lines = lines[:-1]  # same reading time, revised value: it supersedes the provisional row
    return ("\n".join([*lines, row]) + "\n").encode()


def collect_dominance(
    client: JsonClient, landing_dir: Path | str, series_by_coin: Mapping[str, str] = DEFAULT_SERIES_BY_COIN
) -> list[DominanceReading]:
    """Fetch ``/global`` once and append one reading per series (see module doc).

    Args:
        client: a :class:`JsonClient` on the CoinGecko base URL.
        landing_dir: the landing directory (``dominance/`` is created if needed).
        series_by_coin: CoinGecko coin id -> series stem.
    Returns:
        the readings written (empty when every file already had them).
    Raises:
        HTTPFetchError, ResponseShapeError: the request or its body failed; nothing is
            written (every coin is validated before any file).
        CollectorError: an existing day file is not in this collector's format.
        OSError: a write failed (that file is unchanged).
    """
    url = client.url_for(GLOBAL_PATH)
    reading_at, shares = parse_global(client.get_json(GLOBAL_PATH), url, list(series_by_coin))
    folder = Path(landing_dir) / "dominance"
    written = []
    for coin, series in series_by_coin.items():
        path = folder / f"{series}__{reading_at:%Y%m%d}.csv"
        content = appended_content(path, reading_at, shares[coin])
        if content is None:
            log.info("%s: reading at %s already landed in %s", series, reading_at, path.name)
            continue
        write_atomically(path, content)
        log.info("%s: %s = %r%% -> %s", series, reading_at, shares[coin], path.name)
        written.append(DominanceReading(series, coin, reading_at, shares[coin], path))
    return written
