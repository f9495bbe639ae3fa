"""Network collectors as Dagster assets (docs/landing.md), off by default.

``collectors/binance_klines`` backfills Binance spot klines and ``collectors/coingecko_dominance``
appends a CoinGecko ``/global`` dominance reading, both into the landing directory (env
MARKET_REGIMES_LANDING, or ``landing_dir`` in the run config). With the default config
(``enabled: false``) an asset logs "collectors are off" and materialises nothing, so a
``--select '*'`` run never touches the network. Enable per run, e.g.::

    ops:
      collectors__binance_klines:
        config: {enabled: true, symbols: [BTCUSDT], intervals: [1h], start_date: "2024-01-01"}

The work is done by :mod:`market_regimes.collectors`; this module only maps config to calls.
"""

import os
from pathlib import Path

from dagster import AssetExecutionContext, AssetSpec, Config, Failure, MaterializeResult, asset

from market_regimes.collectors import (
    DEFAULT_SERIES_BY_COIN,
    BackfillProgress,
    CollectorError,
    JsonClient,
    backfill_klines,
    collect_dominance,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]
SAMPLE_LANDING = PROJECT_DIR / "sample" / "landing"


class _CollectorConfig(Config):
    """Shared knobs: on/off, where to write, and the HTTP client's patience."""

    enabled: bool = False
    landing_dir: str | None = None  # default: env MARKET_REGIMES_LANDING
    timeout_s: float = 10.0
    max_attempts: int = 5
    max_wait_s: float = 120.0


class BinanceKlinesConfig(_CollectorConfig):
    """Which series to backfill; each resumes from its newest landed bar."""

    base_url: str = "https://api.binance.com"
    symbols: list[str] = ["BTCUSDT", "ETHUSDT"]
    intervals: list[str] = ["1h"]
    start_date: str = "2024-01-01"  # used only when nothing is landed yet (or it is later)
    end_date: str | None = None  # exclusive; default now


class CoinGeckoDominanceConfig(_CollectorConfig):
    """Which coins' shares to record, as series stems of seed dominance_series."""

    base_url: str = "https://api.coingecko.com"
    series_by_coin: dict[str, str] = dict(DEFAULT_SERIES_BY_COIN)


def landing_dir_for(config: _CollectorConfig) -> Path:
    """The landing directory to write into: config, else env MARKET_REGIMES_LANDING.

    Raises:
        Failure: neither is set, or it is the bundled sample (collectors never edit it).
    """
    raw = config.landing_dir or os.environ.get("MARKET_REGIMES_LANDING")
    if not raw:
        raise Failure("collectors need a landing directory: set MARKET_REGIMES_LANDING or config landing_dir")
    path = Path(raw).resolve()
    if path == SAMPLE_LANDING.resolve():
        raise Failure(f"{path} is the bundled sample; point MARKET_REGIMES_LANDING at your own landing directory")
    return path


def _client(config: _CollectorConfig) -> JsonClient:
    return JsonClient(
        config.base_url, timeout_s=config.timeout_s, max_attempts=config.max_attempts, max_wait_s=config.max_wait_s
    )


@asset(
    key=["collectors", "binance_klines"],
    group_name="collectors",
    kinds={"python"},
    output_required=False,
    description="Binance spot klines backfill (REST, pages of 1000, resumes from the newest landed bar) "
    "into klines/binance/<SYMBOL>_<interval>__<first>-<last>.csv. Off unless enabled.",
)
def binance_klines(context: AssetExecutionContext, config: BinanceKlinesConfig):
    """Backfill every symbol x interval; a failing series does not stop the others."""
    if not config.enabled:
        context.log.info("collectors are off (binance_klines: enabled=false); nothing fetched")
        return
    landing = landing_dir_for(config)

    def progress(p: BackfillProgress) -> None:
        context.log.info(f"{p.symbol} {p.interval}: page {p.pages}, {p.bars} bars landed, last bar {p.last_bar_at}")

    files, bars, errors = [], 0, []
    with _client(config) as client:
        for symbol in config.symbols:
            for interval in config.intervals:
                try:
                    result = backfill_klines(
                        client,
                        landing,
                        symbol,
                        interval,
                        start=config.start_date,
                        end=config.end_date,
                        on_progress=progress,
                    )
                except (CollectorError, ValueError, OSError) as exc:
                    context.log.error(f"{symbol} {interval}: {exc}")
                    errors.append(f"{symbol} {interval}: {exc}")
                    continue
                files += [str(p.relative_to(landing)) for p in result.files]
                bars += result.bars
    if errors:
        raise Failure(
            f"{len(errors)} series failed (earlier pages stay landed; a re-run resumes)",
            metadata={"errors": "\n".join(errors), "files_written": len(files)},
        )
    yield MaterializeResult(
        metadata={"landing_dir": str(landing), "files_written": len(files), "bars": bars, "files": "\n".join(files)}
    )


@asset(
    key=["collectors", "coingecko_dominance"],
    group_name="collectors",
    kinds={"python"},
    output_required=False,
    description="CoinGecko /global market-cap dominance readings appended to "
    "dominance/<series>__<YYYYMMDD>.csv. Off unless enabled.",
)
def coingecko_dominance(context: AssetExecutionContext, config: CoinGeckoDominanceConfig):
    """Append one reading per configured coin."""
    if not config.enabled:
        context.log.info("collectors are off (coingecko_dominance: enabled=false); nothing fetched")
        return
    landing = landing_dir_for(config)
    with _client(config) as client:
        readings = collect_dominance(client, landing, config.series_by_coin)
    yield MaterializeResult(
        metadata={
            "landing_dir": str(landing),
            "readings_written": len(readings),
            "readings": "\n".join(f"{r.series} {r.reading_at} {r.dominance_pct}" for r in readings),
        }
    )


# The landing directory's folders as external assets (the dbt sources point at them through
# meta.dagster.asset_key, models/raw/_landing__sources.yml): the collectors write into
# klines/ and dominance/, so the graph reads collectors -> landing -> raw -> ...
LANDING_FOLDERS = {
    "kline_files": (
        "klines/<exchange>/*: candle CSV files (exported or written by the Binance collector)",
        [binance_klines],
    ),
    "snapshot_files": (
        "snapshots/YYYY/MM/DD/HH/<BASE>-<QUOTE>_1m.json or _1h.json: hourly snapshots (minute prices or hourly candles)",
        [],
    ),
    "dominance_files": (
        "dominance/*: dominance readings (exported or written by the CoinGecko collector)",
        [coingecko_dominance],
    ),
    "daily_files": ("daily/*: daily series (prices, implied-volatility indices) for the trend x vol markets", []),
}
landing_specs = [
    AssetSpec(
        key=["landing", name],
        group_name="landing",
        deps=deps,
        kinds={"file"},
        description=f"Landing directory (env MARKET_REGIMES_LANDING), {text}.",
    )
    for name, (text, deps) in LANDING_FOLDERS.items()
]

collector_assets = [binance_klines, coingecko_dominance, *landing_specs]
