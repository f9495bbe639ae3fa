"""Table-shaped adapter of the trend x volatility detector (docs/trend-vol-regimes.md; pandas in and out, no dbt).

market_regime_rows(markets, closes, landed, ...) -> the rows of marts.fct_market_regimes
(COLUMNS), one per market x day, in (market, bar_start) order.

Inputs:
* markets: the seed rows as TrendVolConfig (trend_vol.load_markets).
* closes: final-or-not daily bars after the as_of cut (staging.stg_landing__daily_series):
  columns series, bar_start (UTC day), close.
* landed: every landed day of every series, ignoring as_of (raw.daily_series, status
  landed): columns series, bar_start. Used only to validate the configuration, so that an
  as_of build before a series begins does not fail a valid seed. None => use closes.

Per market (project decisions where the rules leave a choice are marked *):
1. Final bars only (docs/architecture.md): a day is final when the series has a newer day, or the day
   ended by as_of (bar_start + 1 day <= as_of); the newest landed day of a series is
   provisional (an in-progress close) and gets no row until a newer day lands.*
2. Segments of the price series (docs/architecture.md): a gap of more than max_gap_bars days between
   final days starts a new segment; the MA and the realized-vol percentile warm up again.*
3. ma = SMA of the last ma_period final closes of the segment on the price series' own
   calendar (exactly rounded sums: math.fsum); NULL until warm.
4. vol_value = the vol series' final close on the same day (inner join by day), or, for
   an empty vol_series, the percentile 0-100 of realized_vol_20 (sample std of the last 20
   daily log returns of the segment; the annualisation factor cancels in a rank, so none
   is applied*) among the last percentile_window values of the segment, with the house
   convention of int_indicators_ranked: 100 x (number of window values strictly below the
   day's value) / (window - 1), ties take the lowest rank, NULL until the window is full.*
5. Only days with price, ma and vol_value all known get a row (no row while warming up).*
6. The detector (trend_vol.step) walks the rows in day order. It restarts (prev_regime
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

import math
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from market_regimes.engines.trend_vol import RegimeState, TrendVolConfig, TrendVolConfigError, step

COLUMNS = ("market", "bar_start", "price", "ma", "vol_value", "trend", "vol", "regime", "prev_regime")
REALIZED_VOL_BARS = 20  # realized_vol_20 (docs/indicators.md, docs/trend-vol-regimes.md)
ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SeriesCheck:
    """Outcome of validating the seed rows against the landed series."""

    skipped: tuple[tuple[str, tuple[str, ...]], ...]  # (market, missing series) of skipped markets


def check_series(markets: list[TrendVolConfig], landed: pd.DataFrame, missing_series: str = "error") -> SeriesCheck:
    """Validate every market's series against the landed days (columns series, bar_start).

    missing_series: "error" (raise) or "warn" (skip the market). Raises
    TrendVolConfigError naming the market: a missing series (in "error" mode, when the
    landing holds any daily series), or price and vol series without a common day.
    """
    if missing_series not in ("error", "warn"):
        raise ValueError(f"missing_series must be 'error' or 'warn', got {missing_series!r}")
    days = {
        series: pd.DatetimeIndex(group["bar_start"].unique()) for series, group in landed.groupby("series", sort=False)
    }
    skipped = []
    for cfg in markets:
        wanted = [cfg.price_series] + ([] if cfg.vol_series is None else [cfg.vol_series])
        missing = tuple(s for s in wanted if s not in days)
        where = f"seed trend_vol_markets, market {cfg.market!r}"
        if missing:
            if missing_series == "error" and days:
                roles = {cfg.price_series: "price_series", cfg.vol_series: "vol_series"}
                listed = ", ".join(f"{roles[s]} {s!r}" for s in missing)
                raise TrendVolConfigError(
                    f"{where}: {listed} has no landed rows (expected a file daily/<SERIES>.csv in the landing "
                    f"directory; landed daily series: {sorted(days)})"
                )
            skipped.append((cfg.market, missing))
            continue
        if cfg.vol_series is not None and not days[cfg.price_series].isin(days[cfg.vol_series]).any():
            p, v = days[cfg.price_series], days[cfg.vol_series]
            raise TrendVolConfigError(
                f"{where}: price_series {cfg.price_series!r} ({p.min():%Y-%m-%d}..{p.max():%Y-%m-%d}) and "
                f"vol_series {cfg.vol_series!r} ({v.min():%Y-%m-%d}..{v.max():%Y-%m-%d}) never share a day"
            )
    return SeriesCheck(skipped=tuple(skipped))


def final_days(closes: pd.DataFrame, series: str, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The series' final days (bar_start, close) in day order (rule 1 of the module doc)."""
    one = closes.loc[closes["series"] == series, ["bar_start", "close"]].sort_values("bar_start", kind="stable")
    one = one.reset_index(drop=True)
    is_final = one.index < len(one) - 1
    if as_of is not None and len(one):
        is_final |= (one["bar_start"] + ONE_DAY <= as_of).to_numpy()
    return one.loc[is_final].reset_index(drop=True)


def segment_ids(days: pd.Series, max_gap_bars: int) -> np.ndarray:
    """1-based segment per day: a new one after a gap of more than max_gap_bars days."""
    gaps = days.diff() > max_gap_bars * ONE_DAY
    return 1 + np.cumsum(gaps.to_numpy())


def trailing_sma(values: np.ndarray, n: int) -> np.ndarray:
    """SMA of the last n values (NaN for the first n - 1); each window summed exactly (fsum),
    so a value never depends on where the series starts."""
    out = np.full(len(values), np.nan)
    for i in range(n - 1, len(values)):
        out[i] = math.fsum(values[i - n + 1 : i + 1]) / n
    return out


def realized_vol(closes: np.ndarray, n: int = REALIZED_VOL_BARS) -> np.ndarray:
    """Sample std of the last n log returns (not annualised); NaN until n returns exist."""
    out = np.full(len(closes), np.nan)
    returns = np.diff(np.log(closes))
    for i in range(n, len(closes)):
        window = returns[i - n : i]
        mean = math.fsum(window) / n
        out[i] = math.sqrt(math.fsum((window - mean) ** 2) / (n - 1))
    return out


def trailing_percentile(values: np.ndarray, window: int) -> np.ndarray:
    """100 x (count of the last `window` values strictly below the current one) / (window - 1);
    NaN until `window` non-NaN values end at the bar (values are NaN only as a prefix)."""
    out = np.full(len(values), np.nan)
    first = int(np.argmax(~np.isnan(values))) if (~np.isnan(values)).any() else len(values)
    for i in range(first + window - 1, len(values)):
        frame = values[i - window + 1 : i + 1]
        out[i] = 100.0 * np.count_nonzero(frame < values[i]) / (window - 1)
    return out


def price_frame(
    cfg: TrendVolConfig, closes: pd.DataFrame, as_of: pd.Timestamp | None, max_gap_bars: int, percentile_window: int
) -> pd.DataFrame:
    """bar_start, segment_id, price, ma and (percentile markets) vol_value on the price calendar."""
    days = final_days(closes, cfg.price_series, as_of)
    days["segment_id"] = segment_ids(days["bar_start"], max_gap_bars)
    parts = []
    for _, seg in days.groupby("segment_id", sort=True):
        price = seg["close"].to_numpy(float)
        part = pd.DataFrame(
            {
                "bar_start": seg["bar_start"].to_numpy(),
                "segment_id": seg["segment_id"].to_numpy(),
                "price": price,
                "ma": trailing_sma(price, cfg.ma_period),
            }
        )
        if cfg.uses_vol_percentile:
            part["vol_value"] = trailing_percentile(realized_vol(price), percentile_window)
        parts.append(part)
    columns = ["bar_start", "segment_id", "price", "ma"] + (["vol_value"] if cfg.uses_vol_percentile else [])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def market_rows(
    cfg: TrendVolConfig,
    closes: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    max_gap_bars: int = 24,
    percentile_window: int = 365,
) -> pd.DataFrame:
    """The COLUMNS rows of one market (rules 1-6 of the module doc); no validation."""
    rows = price_frame(cfg, closes, as_of, max_gap_bars, percentile_window)
    if not cfg.uses_vol_percentile:
        vol = final_days(closes, cfg.vol_series, as_of).rename(columns={"close": "vol_value"})
        rows = rows.merge(vol, on="bar_start", how="inner")
    rows = rows.dropna(subset=["price", "ma", "vol_value"]).sort_values("bar_start", kind="stable")
    restart = (rows["segment_id"].diff() != 0) | (rows["bar_start"].diff() > max_gap_bars * ONE_DAY)
    states: list[RegimeState] = []
    prev_regime: list[str | None] = []
    for price, ma, vol_value, fresh in zip(rows["price"], rows["ma"], rows["vol_value"], restart):
        previous = None if fresh else states[-1]
        states.append(step(price, ma, vol_value, cfg, previous))
        prev_regime.append(None if previous is None else previous.regime)
    rows = rows.assign(
        market=cfg.market,
        trend=[s.trend.value for s in states],
        vol=[s.vol.value for s in states],
        regime=[s.regime for s in states],
        prev_regime=prev_regime,
    )
    return rows[list(COLUMNS)]


def market_regime_rows(
    markets: list[TrendVolConfig],
    closes: pd.DataFrame,
    landed: pd.DataFrame | None = None,
    as_of: pd.Timestamp | str | None = None,
    max_gap_bars: int | str = 24,
    percentile_window: int | str = 365,
    missing_series: str = "error",
) -> pd.DataFrame:
    """Every market's rows (module doc); explicit dtypes so an empty result keeps its types.

    as_of, max_gap_bars and percentile_window may be the strings of dbt configs lifted from
    vars (as_of "None" or "" = no cut). A market skipped for a missing series (see
    check_series) is reported on stderr, which dbt shows in its output.
    Raises TrendVolConfigError (check_series) and ValueError when percentile_window < 2 or
    max_gap_bars < 1.
    """
    max_gap_bars, percentile_window = int(max_gap_bars), int(percentile_window)
    if percentile_window < 2 or max_gap_bars < 1:
        raise ValueError(
            f"percentile_window must be >= 2 and max_gap_bars >= 1, got {percentile_window}, {max_gap_bars}"
        )
    as_of = None if as_of is None or str(as_of).strip() in ("", "None", "none", "null") else pd.Timestamp(as_of)
    closes = closes.assign(bar_start=pd.to_datetime(closes["bar_start"]))
    landed = closes if landed is None else landed.assign(bar_start=pd.to_datetime(landed["bar_start"]))
    skipped = dict(check_series(markets, landed, missing_series).skipped)
    for market, series in skipped.items():
        print(
            f"WARNING trend_vol_markets: market {market!r} skipped, no landed rows for daily series {list(series)}",
            file=sys.stderr,
        )
    parts = [
        market_rows(cfg, closes, as_of, max_gap_bars, percentile_window) for cfg in markets if cfg.market not in skipped
    ]
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
