"""Network collectors (docs/landing.md): fetch public market data and write landing files.

Off by default: nothing here runs unless called (the Dagster assets in
``orchestration/defs/collectors.py`` check ``enabled``). Pure library code, no Dagster.

* :mod:`.http` — a small JSON-over-HTTP client (httpx) with timeouts and retries
  (tenacity): exponential backoff, ``429 Retry-After``, 5xx, timeouts, truncated JSON.
* :mod:`.files` — atomic landing-file writes (temp file in the same folder, fsync,
  ``os.replace``); hidden temp names are skipped by the landing readers.
* :mod:`.binance` — Binance spot klines backfill -> ``klines/binance/<SYMBOL>_<interval>__<tag>.csv``.
* :mod:`.coingecko` — CoinGecko ``/global`` dominance -> ``dominance/<series>__<YYYYMMDD>.csv``.
"""

from .binance import BackfillProgress, BackfillResult, LandedBar, backfill_klines, newest_landed_bar
from .coingecko import DEFAULT_SERIES_BY_COIN, DominanceReading, collect_dominance
from .files import write_atomically, write_batch_file
from .http import CollectorError, HTTPFetchError, JsonClient, ResponseShapeError

__all__ = [
    "DEFAULT_SERIES_BY_COIN",
    "BackfillProgress",
    "BackfillResult",
    "CollectorError",
    "DominanceReading",
    "HTTPFetchError",
    "JsonClient",
    "LandedBar",
    "ResponseShapeError",
    "backfill_klines",
    "collect_dominance",
    "newest_landed_bar",
    "write_atomically",
    "write_batch_file",
]
