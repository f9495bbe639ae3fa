"""Trend x volatility regimes (docs/trend-vol-regimes.md): a hysteresis detector per market.

Pure Python, no dbt. One market = one row of the seed ``seeds/trend_vol_markets.csv``
(:class:`TrendVolConfig`); each day the detector reads the price, its moving average and a
volatility reading and returns a :class:`RegimeState`:

* trend: price < MA x (1 - h) => downtrend; price > MA x (1 + h) => uptrend; otherwise the
  previous trend; no previous state => uptrend if price >= MA else downtrend.
* vol: vol > high => high_vol; vol < low => low_vol; otherwise the previous vol; no
  previous state => low_vol.

Every comparison is strict, so a value exactly on a band edge (price == MA x (1 - h),
vol == low or == high) keeps the previous state. regime = ``<trend>_<vol>``, e.g.
``uptrend_low_vol``. :func:`step` is one day, :func:`walk` a series of days; the
table-shaped adapter (validation, restarts, the walk over the SQL model
int_market_days_prepared's days) is trend_vol_frames.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Iterable, Mapping


class Trend(StrEnum):
    UPTREND = "uptrend"
    DOWNTREND = "downtrend"


class Vol(StrEnum):
    LOW_VOL = "low_vol"
    HIGH_VOL = "high_vol"


REGIMES = tuple(f"{t}_{v}" for t in Trend for v in Vol)
SEED_COLUMNS = (
    "market",
    "price_series",
    "vol_series",
    "ma_period",
    "trend_hysteresis_pct",
    "vol_high_threshold",
    "vol_low_threshold",
)


class TrendVolConfigError(ValueError):
    """A row of seed trend_vol_markets is invalid, or its series cannot be used; the
    message names the row's market."""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


@dataclass(frozen=True)
class TrendVolConfig:
    """One market (a row of seed trend_vol_markets).

    market: name of the market (entity of the regime events).
    price_series: ``daily/`` series whose closes give the price and its MA.
    vol_series: ``daily/`` volatility series (VIX, DVOL...) in its own units, or None =>
      the percentile 0-100 of the price series' realized_vol_20 over a trailing window.
    ma_period: SMA length in bars of the price series' calendar (>= 1).
    trend_hysteresis_pct: h, a fraction (0.02 = 2%), 0 <= h < 1.
    vol_high_threshold, vol_low_threshold: vol units; low < high.

    Raises TrendVolConfigError (naming the market) when a value is out of range.
    """

    market: str
    price_series: str
    vol_series: str | None
    ma_period: int
    trend_hysteresis_pct: float
    vol_high_threshold: float
    vol_low_threshold: float

    def __post_init__(self) -> None:
        where = f"seed trend_vol_markets, market {self.market!r}"
        if _blank(self.market) or _blank(self.price_series):
            raise TrendVolConfigError(f"{where}: market and price_series must be set")
        if not isinstance(self.ma_period, int) or self.ma_period < 1:
            raise TrendVolConfigError(f"{where}: ma_period must be an integer >= 1, got {self.ma_period!r}")
        h = self.trend_hysteresis_pct
        if not (math.isfinite(h) and 0 <= h < 1):
            raise TrendVolConfigError(f"{where}: trend_hysteresis_pct must be a fraction in [0, 1), got {h!r}")
        high, low = self.vol_high_threshold, self.vol_low_threshold
        if not (math.isfinite(high) and math.isfinite(low)):
            raise TrendVolConfigError(f"{where}: vol thresholds must be finite numbers, got high {high!r}, low {low!r}")
        if low >= high:
            raise TrendVolConfigError(
                f"{where}: vol_low_threshold ({low:g}) must be below vol_high_threshold ({high:g})"
            )

    @property
    def uses_vol_percentile(self) -> bool:
        """True when vol comes from the price series' realized-vol percentile (no vol_series)."""
        return self.vol_series is None

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> "TrendVolConfig":
        """Build from a seed row (strings or numbers; an empty/NULL vol_series => None).

        Raises TrendVolConfigError naming the market: a column is missing or empty, or a
        value is not a number of the right kind, or out of range (see the class).
        """
        market = row.get("market")
        where = f"seed trend_vol_markets, market {None if _blank(market) else str(market).strip()!r}"
        missing = [c for c in SEED_COLUMNS if c not in row]
        if missing:
            raise TrendVolConfigError(f"{where}: missing columns {missing}")
        empty = [c for c in SEED_COLUMNS if c != "vol_series" and _blank(row[c])]
        if empty:
            raise TrendVolConfigError(f"{where}: empty values in {empty}")
        numbers = {}
        for name in ("ma_period", "trend_hysteresis_pct", "vol_high_threshold", "vol_low_threshold"):
            try:
                numbers[name] = float(row[name])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise TrendVolConfigError(f"{where}: {name} = {row[name]!r} is not a number") from None
        if not numbers["ma_period"].is_integer():
            raise TrendVolConfigError(f"{where}: ma_period must be an integer >= 1, got {row['ma_period']!r}")
        vol_series = row["vol_series"]
        return cls(
            market=str(market).strip(),
            price_series=str(row["price_series"]).strip(),
            vol_series=None if _blank(vol_series) else str(vol_series).strip(),
            ma_period=int(numbers["ma_period"]),
            trend_hysteresis_pct=numbers["trend_hysteresis_pct"],
            vol_high_threshold=numbers["vol_high_threshold"],
            vol_low_threshold=numbers["vol_low_threshold"],
        )


def load_markets(rows: Iterable[Mapping[str, object]]) -> list[TrendVolConfig]:
    """Every seed row as a :class:`TrendVolConfig`, in seed order.

    Raises TrendVolConfigError naming the market: an invalid row, or a market listed twice.
    Every bad row is named in the one error, in seed order, each with its first problem
    (messages joined by "; "), so the seed is fixed in one pass.
    """
    markets, errors = [], []
    for row in rows:
        try:
            markets.append(TrendVolConfig.from_row(row))
        except TrendVolConfigError as exc:
            errors.append(str(exc))
    seen: set[str] = set()
    repeated: set[str] = set()
    for cfg in markets:
        if cfg.market in seen and cfg.market not in repeated:
            errors.append(f"seed trend_vol_markets, market {cfg.market!r}: listed more than once")
            repeated.add(cfg.market)
        seen.add(cfg.market)
    if errors:
        raise TrendVolConfigError("; ".join(errors))
    return markets


@dataclass(frozen=True)
class RegimeState:
    """The regime of one market after one day, with the inputs that produced it.

    trend, vol: the two hysteresis states (the memory carried to the next day).
    bar_start: the day (UTC midnight) or None; price, ma (price units) and vol_value (vol
    units) are the day's inputs, None when unknown (e.g. a hand-made previous state).
    """

    trend: Trend
    vol: Vol
    bar_start: datetime | None = None
    price: float | None = None
    ma: float | None = None
    vol_value: float | None = None

    def __post_init__(self) -> None:
        # accept plain strings ("uptrend") as well as the enums; reject anything else
        object.__setattr__(self, "trend", Trend(self.trend))
        object.__setattr__(self, "vol", Vol(self.vol))

    @property
    def regime(self) -> str:
        """``<trend>_<vol>``, one of REGIMES."""
        return f"{self.trend.value}_{self.vol.value}"

    def to_dict(self) -> dict:
        """JSON-safe dict: regime, trend, vol, bar_start (ISO 8601 or None), price, ma, vol_value."""
        data = asdict(self)
        data["trend"], data["vol"] = self.trend.value, self.vol.value
        data["bar_start"] = None if self.bar_start is None else self.bar_start.isoformat()
        return {"regime": self.regime, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "RegimeState":
        """Inverse of :meth:`to_dict`. Raises ValueError on an unknown trend/vol, or when a
        given ``regime`` disagrees with trend and vol."""
        bar_start = data.get("bar_start")
        state = cls(
            trend=Trend(data["trend"]),
            vol=Vol(data["vol"]),
            bar_start=None if bar_start is None else datetime.fromisoformat(str(bar_start)),
            price=_optional_float(data.get("price")),
            ma=_optional_float(data.get("ma")),
            vol_value=_optional_float(data.get("vol_value")),
        )
        if data.get("regime") not in (None, state.regime):
            raise ValueError(f"RegimeState.from_dict: regime {data['regime']!r} != trend/vol {state.regime!r}")
        return state

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "RegimeState":
        return cls.from_dict(json.loads(text))


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def next_trend(price: float, ma: float, h: float, previous: Trend | None) -> Trend:
    """Trend rule of docs/trend-vol-regimes.md (strict comparisons: a price on a band edge keeps the previous trend)."""
    if price < ma * (1 - h):
        return Trend.DOWNTREND
    if price > ma * (1 + h):
        return Trend.UPTREND
    if previous is not None:
        return previous
    return Trend.UPTREND if price >= ma else Trend.DOWNTREND


def next_vol(vol_value: float, high: float, low: float, previous: Vol | None) -> Vol:
    """Vol rule, docs/trend-vol-regimes.md (strict: a reading equal to a threshold keeps the previous vol)."""
    if vol_value > high:
        return Vol.HIGH_VOL
    if vol_value < low:
        return Vol.LOW_VOL
    if previous is not None:
        return previous
    return Vol.LOW_VOL


def step(
    price: float,
    ma: float,
    vol_value: float,
    config: TrendVolConfig,
    previous: RegimeState | None,
    bar_start: datetime | None = None,
) -> RegimeState:
    """The regime after one day, from the previous day's state (None at a series' first day).

    price and ma in price units, vol_value in the config's vol units.
    Raises ValueError when an input is not a finite number.
    """
    try:
        values = (float(price), float(ma), float(vol_value))
    except (TypeError, ValueError):
        values = (math.nan,)
    if not all(math.isfinite(x) for x in values):
        raise ValueError(f"trend_vol.step: non-finite input price={price!r} ma={ma!r} vol_value={vol_value!r}")
    price, ma, vol_value = values
    return RegimeState(
        trend=next_trend(price, ma, config.trend_hysteresis_pct, None if previous is None else previous.trend),
        vol=next_vol(
            vol_value, config.vol_high_threshold, config.vol_low_threshold, None if previous is None else previous.vol
        ),
        bar_start=bar_start,
        price=price,
        ma=ma,
        vol_value=vol_value,
    )


def walk(
    days: Iterable[tuple[float, float, float]],
    config: TrendVolConfig,
    previous: RegimeState | None = None,
    bar_starts: Iterable[datetime | None] | None = None,
) -> list[RegimeState]:
    """:func:`step` over consecutive days (price, ma, vol_value), carrying the state.

    previous: the state before the first day (None = a series' first day).
    bar_starts: optional days, aligned with ``days``.
    """
    days = list(days)
    starts = [None] * len(days) if bar_starts is None else list(bar_starts)
    if len(starts) != len(days):
        raise ValueError("trend_vol.walk: bar_starts and days differ in length")
    states = []
    for (price, ma, vol_value), day in zip(days, starts):
        previous = step(price, ma, vol_value, config, previous, day)
        states.append(previous)
    return states
