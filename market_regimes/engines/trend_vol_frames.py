"""Table-shaped adapter of the trend x volatility detector (docs/trend-vol-regimes.md; pandas in and out, no dbt).

market_regime_rows(markets, days, landed, ...) -> the rows of marts.fct_market_regimes
(COLUMNS), one per market x day, in (market, bar_start) order.

Inputs:
* markets: the seed rows as TrendVolConfig (trend_vol.load_markets).
* days: the detector's inputs per market x final day of its price series
  (intermediate.int_market_days_prepared: columns market, bar_start (UTC day), segment_id,
  price, ma, vol_value). The SQL model holds the rules on the bars, once for the warehouse:
  final days and segments (macro finality_and_segments), the SMA of the last ma_period
  closes of the segment, and vol_value (the vol series' final close that day, or the
  trailing percentile of realized_vol_20 for an empty vol_series).
* landed: every landed day of every series, ignoring as_of (staging
  stg_landing__daily_series_days): columns series, bar_start. Used only to validate the
  configuration, so that an as_of build before a series begins does not fail a valid seed.

Per market (project decisions where the rules leave a choice are marked *):
1. Only days with price, ma and vol_value all known get a row (no row while warming up).*
2. The detector (trend_vol.step) walks the rows in day order. It restarts (prev_regime
   NULL, the first-day rules) at the first row of every price segment and after a gap of
   more than max_gap_bars days between consecutive joined rows (e.g. a hole in the vol
   series).*

Raises TrendVolConfigError naming the market, per seed row:
* a price or vol series with no landed day (no file daily/<SERIES>.csv) when
  missing_series = "error" and the landing holds some daily series. With "warn" (the dbt
  model's default, var trend_vol_missing_series), or when the landing holds no daily series
  at all (an absent layout is empty, docs/landing.md), the market is skipped with a warning on
  stderr instead: a landing without the sample's daily BTC (the test fixtures, a klines-only
  landing) must still build (docs/architecture.md: missing data warns, only file problems fail);
* a vol series that never shares a day with its price series.
Invalid seed values (low >= high, ...) raise earlier, in trend_vol.TrendVolConfig.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pandas as pd

from market_regimes.engines.trend_vol import RegimeState, TrendVolConfig, TrendVolConfigError, step

COLUMNS = ("market", "bar_start", "price", "ma", "vol_value", "trend", "vol", "regime", "prev_regime")
ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SeriesCheck:
    """Outcome of validating the seed rows against the landed series."""

    skipped: tuple[tuple[str, tuple[str, ...]], ...]  # (market, missing series) of skipped markets


def check_series(markets: list[TrendVolConfig], landed: pd.DataFrame, missing_series: str = "error") -> SeriesCheck:
    """Validate every market's series against the landed days (columns series, bar_start).

    missing_series: "error" (raise) or "warn" (skip the market). Raises
    TrendVolConfigError naming the market: a missing series (in "error" mode, when the
    landing holds any daily series), or price and vol series without a common day. Every
    such market is named in the one error, in seed order (messages joined by "; ").
    """
    if missing_series not in ("error", "warn"):
        raise ValueError(f"missing_series must be 'error' or 'warn', got {missing_series!r}")
    days = {
        series: pd.DatetimeIndex(group["bar_start"].unique()) for series, group in landed.groupby("series", sort=False)
    }
    skipped, errors = [], []
    for cfg in markets:
        wanted = [cfg.price_series] + ([] if cfg.vol_series is None else [cfg.vol_series])
        missing = tuple(s for s in wanted if s not in days)
        where = f"seed trend_vol_markets, market {cfg.market!r}"
        if missing:
            if missing_series == "error" and days:
                roles = {cfg.price_series: "price_series", cfg.vol_series: "vol_series"}
                listed = ", ".join(f"{roles[s]} {s!r}" for s in missing)
                errors.append(
                    f"{where}: {listed} has no landed rows (expected a file daily/<SERIES>.csv in the landing "
                    f"directory; landed daily series: {sorted(days)})"
                )
                continue
            skipped.append((cfg.market, missing))
            continue
        if cfg.vol_series is not None and not days[cfg.price_series].isin(days[cfg.vol_series]).any():
            p, v = days[cfg.price_series], days[cfg.vol_series]
            errors.append(
                f"{where}: price_series {cfg.price_series!r} ({p.min():%Y-%m-%d}..{p.max():%Y-%m-%d}) and "
                f"vol_series {cfg.vol_series!r} ({v.min():%Y-%m-%d}..{v.max():%Y-%m-%d}) never share a day"
            )
    if errors:
        raise TrendVolConfigError("; ".join(errors))
    return SeriesCheck(skipped=tuple(skipped))


INPUT_COLUMNS = ("market", "bar_start", "segment_id", "price", "ma", "vol_value")


def market_rows(cfg: TrendVolConfig, days: pd.DataFrame, max_gap_bars: int = 24) -> pd.DataFrame:
    """The COLUMNS rows of one market (rules 1-2 of the module doc) from its input days
    (INPUT_COLUMNS); no validation."""
    rows = days.loc[days["market"] == cfg.market, list(INPUT_COLUMNS)]
    rows = rows.dropna(subset=["price", "ma", "vol_value"]).sort_values("bar_start", kind="stable")
    restart = (rows["segment_id"].diff() != 0) | (rows["bar_start"].diff() > max_gap_bars * ONE_DAY)
    states: list[RegimeState] = []
    prev_regime: list[str | None] = []
    for price, ma, vol_value, fresh in zip(rows["price"], rows["ma"], rows["vol_value"], restart):
        previous = None if fresh else states[-1]
        states.append(step(price, ma, vol_value, cfg, previous))
        prev_regime.append(None if previous is None else previous.regime)
    rows = rows.assign(
        trend=[s.trend.value for s in states],
        vol=[s.vol.value for s in states],
        regime=[s.regime for s in states],
        prev_regime=prev_regime,
    )
    return rows[list(COLUMNS)]


def market_regime_rows(
    markets: list[TrendVolConfig],
    days: pd.DataFrame,
    landed: pd.DataFrame,
    max_gap_bars: int | str = 24,
    missing_series: str = "error",
) -> pd.DataFrame:
    """Every market's rows (module doc); explicit dtypes so an empty result keeps its types.

    Args:
        markets: the seed rows. days: INPUT_COLUMNS per market x final price day (any
            order). landed: every landed day (columns series, bar_start), for validation.
        max_gap_bars: days (may be the string of a dbt config lifted from a var).
        missing_series: "error" or "warn" (check_series).

    A market skipped for a missing series (see check_series) is reported on stderr, which
    dbt shows in its output. Raises TrendVolConfigError (check_series), ValueError when
    max_gap_bars < 1 or a column is missing.
    """
    max_gap_bars = int(max_gap_bars)
    if max_gap_bars < 1:
        raise ValueError(f"max_gap_bars must be >= 1, got {max_gap_bars}")
    missing = [c for c in INPUT_COLUMNS if c not in days.columns]
    if missing:
        raise ValueError(f"market_regime_rows: days lack columns {missing}")
    days = days.assign(bar_start=pd.to_datetime(days["bar_start"]))
    landed = landed.assign(bar_start=pd.to_datetime(landed["bar_start"]))
    skipped = dict(check_series(markets, landed, missing_series).skipped)
    for market, series in skipped.items():
        print(
            f"WARNING trend_vol_markets: market {market!r} skipped, no landed rows for daily series {list(series)}",
            file=sys.stderr,
        )
    parts = [market_rows(cfg, days, max_gap_bars) for cfg in markets if cfg.market not in skipped]
    parts = [p for p in parts if len(p)]
    result = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    )
    dtypes = {
        "market": "string",
        "bar_start": "datetime64[us]",
        "price": "float64",
        "ma": "float64",
        "vol_value": "float64",
        "trend": "string",
        "vol": "string",
        "regime": "string",
        "prev_regime": "string",
    }
    return result[list(COLUMNS)].astype(dtypes).sort_values(["market", "bar_start"], kind="stable", ignore_index=True)
