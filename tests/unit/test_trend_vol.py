"""Trend x volatility regimes (docs/trend-vol-regimes.md): the 13 reference test cases on the pure
detector, band-edge values, serialisation, seed validation and the table adapter
(final days, MA, percentile vol, joins, restarts, point-in-time)."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines.trend_vol import (
    REGIMES,
    RegimeState,
    Trend,
    TrendVolConfig,
    TrendVolConfigError,
    Vol,
    load_markets,
    step,
    walk,
)
from market_regimes.engines.trend_vol_frames import check_series, market_regime_rows, trailing_percentile, trailing_sma

SEED = Path(__file__).resolve().parents[2] / "seeds" / "trend_vol_markets.csv"
AS_OF = datetime(2026, 1, 24)


def make_config(**overrides) -> TrendVolConfig:
    """The reference configuration (docs/trend-vol-regimes.md): SPY vs its 200-day MA (h 2%), VIX 25 / 20."""
    values = dict(
        market="SPY",
        price_series="SPY",
        vol_series="VIX",
        ma_period=200,
        trend_hysteresis_pct=0.02,
        vol_high_threshold=25.0,
        vol_low_threshold=20.0,
    )
    values.update(overrides)
    return TrendVolConfig(**values)


@pytest.fixture
def config():
    return make_config()


def detect(price, ma, vol, previous, config):
    return step(price, ma, vol, config, previous, AS_OF)


# --- reference test cases: trend ---------------------------------------------------------


def test_clear_uptrend(config):
    assert detect(600, 500, 15, None, config).trend == Trend.UPTREND


def test_clear_downtrend(config):
    assert detect(480, 500, 15, None, config).trend == Trend.DOWNTREND


def test_trend_hysteresis_maintains_uptrend(config):
    previous = RegimeState(trend=Trend.UPTREND, vol=Vol.LOW_VOL, bar_start=AS_OF)
    assert detect(499, 500, 15, previous, config).trend == Trend.UPTREND  # 0.2% below, inside the 2% band


def test_trend_hysteresis_maintains_downtrend(config):
    previous = RegimeState(trend=Trend.DOWNTREND, vol=Vol.LOW_VOL, bar_start=AS_OF)
    assert detect(501, 500, 15, previous, config).trend == Trend.DOWNTREND  # 0.2% above


def test_trend_crosses_hysteresis_to_downtrend(config):
    previous = RegimeState(trend=Trend.UPTREND, vol=Vol.LOW_VOL, bar_start=AS_OF)
    assert detect(489, 500, 15, previous, config).trend == Trend.DOWNTREND  # 2.2% below


# --- reference test cases: volatility ----------------------------------------------------


def test_clear_low_vol(config):
    assert detect(500, 500, 12, None, config).vol == Vol.LOW_VOL


def test_clear_high_vol(config):
    assert detect(500, 500, 30, None, config).vol == Vol.HIGH_VOL


def test_vol_hysteresis_maintains_low_vol(config):
    previous = RegimeState(trend=Trend.UPTREND, vol=Vol.LOW_VOL, bar_start=AS_OF)
    assert detect(500, 500, 22, previous, config).vol == Vol.LOW_VOL


def test_vol_hysteresis_maintains_high_vol(config):
    previous = RegimeState(trend=Trend.UPTREND, vol=Vol.HIGH_VOL, bar_start=AS_OF)
    assert detect(500, 500, 22, previous, config).vol == Vol.HIGH_VOL


# --- reference test cases: combined, serialisation, edge cases ---------------------------


def test_all_four_regimes(config):
    assert detect(600, 500, 15, None, config).regime == "uptrend_low_vol"
    assert detect(600, 500, 30, None, config).regime == "uptrend_high_vol"
    assert detect(480, 500, 15, None, config).regime == "downtrend_low_vol"
    assert detect(480, 500, 30, None, config).regime == "downtrend_high_vol"
    assert set(REGIMES) == {"uptrend_low_vol", "uptrend_high_vol", "downtrend_low_vol", "downtrend_high_vol"}


def test_state_to_dict_roundtrip():
    state = RegimeState(trend=Trend.UPTREND, vol=Vol.HIGH_VOL, bar_start=AS_OF, price=600.0, ma=550.0, vol_value=28.5)
    restored = RegimeState.from_dict(state.to_dict())
    assert restored.regime == state.regime == "uptrend_high_vol"
    assert restored.price == state.price and restored.vol_value == state.vol_value
    assert restored == state


def test_no_previous_state_defaults(config):
    assert detect(500, 500, 15, None, config).regime == "uptrend_low_vol"  # exactly at the MA, low VIX


def test_custom_config():
    custom = make_config(trend_hysteresis_pct=0.05, vol_high_threshold=30, vol_low_threshold=15)
    assert detect(500, 500, 25, None, custom).vol == Vol.LOW_VOL  # 25 is inside the 15-30 band


# --- band edges: every comparison is strict, so a value on an edge keeps the previous state


@pytest.mark.parametrize("h", [0.02, 0.05, 0.0])
def test_price_exactly_on_the_lower_band_edge_keeps_the_trend(h):
    cfg = make_config(trend_hysteresis_pct=h)
    ma = 512.3
    edge = ma * (1 - h)
    for prev in Trend:
        previous = RegimeState(trend=prev, vol=Vol.LOW_VOL)
        assert step(edge, ma, 15, cfg, previous).trend == prev
    assert step(math.nextafter(edge, 0), ma, 15, cfg, RegimeState(Trend.UPTREND, Vol.LOW_VOL)).trend == Trend.DOWNTREND
    # no previous state: the edge is below (or, for h = 0, at) the MA
    assert step(edge, ma, 15, cfg, None).trend == (Trend.UPTREND if h == 0 else Trend.DOWNTREND)


@pytest.mark.parametrize("h", [0.02, 0.05, 0.0])
def test_price_exactly_on_the_upper_band_edge_keeps_the_trend(h):
    cfg = make_config(trend_hysteresis_pct=h)
    ma = 512.3
    edge = ma * (1 + h)
    for prev in Trend:
        assert step(edge, ma, 15, cfg, RegimeState(trend=prev, vol=Vol.LOW_VOL)).trend == prev
    assert (
        step(math.nextafter(edge, math.inf), ma, 15, cfg, RegimeState(Trend.DOWNTREND, Vol.LOW_VOL)).trend
        == Trend.UPTREND
    )
    assert step(edge, ma, 15, cfg, None).trend == Trend.UPTREND  # price >= MA


def test_vol_exactly_at_the_low_threshold_keeps_the_vol(config):
    low = config.vol_low_threshold
    for prev in Vol:
        assert step(500, 500, low, config, RegimeState(Trend.UPTREND, prev)).vol == prev
    assert step(500, 500, low, config, None).vol == Vol.LOW_VOL
    assert step(500, 500, math.nextafter(low, 0), config, RegimeState(Trend.UPTREND, Vol.HIGH_VOL)).vol == Vol.LOW_VOL


def test_vol_exactly_at_the_high_threshold_keeps_the_vol(config):
    high = config.vol_high_threshold
    for prev in Vol:
        assert step(500, 500, high, config, RegimeState(Trend.UPTREND, prev)).vol == prev
    assert step(500, 500, high, config, None).vol == Vol.LOW_VOL  # inside the band, no previous => low_vol
    assert (
        step(500, 500, math.nextafter(high, math.inf), config, RegimeState(Trend.UPTREND, Vol.LOW_VOL)).vol
        == Vol.HIGH_VOL
    )


def test_trend_and_vol_hysteresis_are_independent(config):
    previous = RegimeState(Trend.DOWNTREND, Vol.HIGH_VOL)
    assert step(501, 500, 30, config, previous).regime == "downtrend_high_vol"
    assert step(520, 500, 22, config, previous).regime == "uptrend_high_vol"
    assert step(499, 500, 19.99, config, previous).regime == "downtrend_low_vol"


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "x"])
def test_step_rejects_non_finite_inputs(config, bad):
    with pytest.raises(ValueError, match="non-finite"):
        step(bad, 500, 15, config, None)
    with pytest.raises(ValueError, match="non-finite"):
        step(500, 500, bad, config, None)


def test_walk_carries_the_state_through_the_bands(config):
    days = [(500, 500, 22), (495, 500, 26), (489, 500, 24), (505, 500, 19), (511, 500, 19)]
    states = walk(days, config, bar_starts=pd.date_range("2024-01-01", periods=5).to_pydatetime())
    assert [s.regime for s in states] == [
        "uptrend_low_vol",
        "uptrend_high_vol",
        "downtrend_high_vol",
        "downtrend_low_vol",
        "uptrend_low_vol",
    ]
    assert states[-1].bar_start == datetime(2024, 1, 5) and states[-1].price == 511.0
    # a given previous state is the memory before the first day
    assert walk(days[:1], config, previous=RegimeState(Trend.DOWNTREND, Vol.HIGH_VOL))[0].regime == "downtrend_high_vol"
    with pytest.raises(ValueError, match="length"):
        walk(days, config, bar_starts=[None])


# --- serialisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        RegimeState(Trend.DOWNTREND, Vol.LOW_VOL),
        RegimeState("uptrend", "high_vol", bar_start=datetime(2024, 3, 1), price=65000.5, ma=60123.25, vol_value=61.2),
        RegimeState(Trend.UPTREND, Vol.LOW_VOL, price=1e-9, ma=None, vol_value=0.0),
    ],
)
def test_json_roundtrip(state):
    text = state.to_json()
    assert json.loads(text)["regime"] == state.regime
    assert RegimeState.from_json(text) == state
    assert RegimeState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_from_dict_rejects_inconsistent_or_unknown_states():
    data = RegimeState(Trend.UPTREND, Vol.LOW_VOL).to_dict()
    with pytest.raises(ValueError, match="regime"):
        RegimeState.from_dict({**data, "regime": "downtrend_low_vol"})
    with pytest.raises(ValueError):
        RegimeState.from_dict({**data, "trend": "sideways"})
    assert RegimeState.from_dict({"trend": "downtrend", "vol": "high_vol"}).regime == "downtrend_high_vol"


# --- seed rows -----------------------------------------------------------------------------

SEED_ROW = dict(
    market="BTC",
    price_series="BTC",
    vol_series="DVOL",
    ma_period="200",
    trend_hysteresis_pct="0.02",
    vol_high_threshold="60",
    vol_low_threshold="50",
)


def test_the_shipped_seed_parses():
    with open(SEED, newline="") as handle:
        markets = load_markets(csv.DictReader(handle))
    assert markets[0] == TrendVolConfig(
        market="BTC",
        price_series="BTC",
        vol_series="DVOL",
        ma_period=200,
        trend_hysteresis_pct=0.02,
        vol_high_threshold=60.0,
        vol_low_threshold=50.0,
    )


@pytest.mark.parametrize("empty", ["", "  ", None, math.nan])
def test_an_empty_vol_series_means_the_realized_vol_percentile(empty):
    cfg = TrendVolConfig.from_row({**SEED_ROW, "vol_series": empty, "ma_period": 200.0})
    assert cfg.vol_series is None and cfg.uses_vol_percentile and cfg.ma_period == 200


@pytest.mark.parametrize(
    "change, message",
    [
        ({"vol_low_threshold": "60"}, "vol_low_threshold \\(60\\) must be below vol_high_threshold \\(60\\)"),
        ({"vol_low_threshold": "70"}, "vol_low_threshold \\(70\\) must be below vol_high_threshold \\(60\\)"),
        ({"trend_hysteresis_pct": "-0.01"}, "trend_hysteresis_pct must be a fraction"),
        ({"trend_hysteresis_pct": "2"}, "trend_hysteresis_pct must be a fraction"),
        ({"ma_period": "200.5"}, "ma_period must be an integer"),
        ({"ma_period": "0"}, "ma_period must be an integer"),
        ({"vol_high_threshold": "high"}, "vol_high_threshold = 'high' is not a number"),
        ({"vol_high_threshold": "inf"}, "vol thresholds must be finite"),
        ({"price_series": ""}, "empty values in \\['price_series'\\]"),
    ],
)
def test_invalid_seed_rows_name_the_market(change, message):
    with pytest.raises(TrendVolConfigError, match=f"market 'BTC': {message}"):
        TrendVolConfig.from_row({**SEED_ROW, **change})


def test_duplicate_or_incomplete_rows_name_the_market():
    with pytest.raises(TrendVolConfigError, match="market 'BTC': listed more than once"):
        load_markets([SEED_ROW, SEED_ROW])
    with pytest.raises(TrendVolConfigError, match="market 'BTC': missing columns \\['vol_low_threshold'\\]"):
        TrendVolConfig.from_row({k: v for k, v in SEED_ROW.items() if k != "vol_low_threshold"})
    with pytest.raises(TrendVolConfigError, match="market None: empty values in \\['market'\\]"):
        TrendVolConfig.from_row({**SEED_ROW, "market": ""})
    with pytest.raises(TrendVolConfigError, match="market 'X'"):
        make_config(market="X", vol_low_threshold=25.0)


# --- the table adapter ----------------------------------------------------------------------


def daily(series: str, closes, start="2024-01-01", skip=()) -> pd.DataFrame:
    days = pd.date_range(start, periods=len(closes), freq="D")
    frame = pd.DataFrame({"series": series, "bar_start": days, "close": np.asarray(closes, float)})
    return frame[~frame["bar_start"].isin(pd.to_datetime(list(skip)))]


FOO = make_config(
    market="FOO", price_series="FOO", vol_series="FOOVOL", ma_period=3, vol_high_threshold=30.0, vol_low_threshold=20.0
)


def test_rows_by_hand():
    """ma 3, h 2%, vol 30/20; FOOVOL has no 2024-01-07; the newest day (01-09) is provisional."""
    closes = pd.concat(
        [
            daily("FOO", [100, 100, 100, 90, 95, 110, 110, 110, 110]),
            daily("FOOVOL", [50, 25, 35, 25, 15, 99, 31, 10], start="2024-01-02", skip=["2024-01-07"]),
        ]
    )
    rows = market_regime_rows([FOO], closes)
    assert rows["bar_start"].dt.strftime("%m-%d").tolist() == ["01-03", "01-04", "01-05", "01-06", "01-08"]
    assert rows["ma"].round(6).tolist() == [100, 96.666667, 95, 98.333333, 110]
    assert rows["vol_value"].tolist() == [25, 35, 25, 15, 31]
    assert rows["regime"].tolist() == [
        "uptrend_low_vol",
        "downtrend_high_vol",
        "downtrend_high_vol",
        "uptrend_low_vol",
        "uptrend_high_vol",
    ]
    assert rows["prev_regime"].tolist()[1:] == rows["regime"].tolist()[:-1]
    assert pd.isna(rows["prev_regime"].iloc[0])
    assert rows.dtypes["bar_start"] == "datetime64[us]" and list(rows.columns) == [
        "market",
        "bar_start",
        "price",
        "ma",
        "vol_value",
        "trend",
        "vol",
        "regime",
        "prev_regime",
    ]


def test_as_of_makes_the_last_day_final_and_builds_are_prefix_invariant():
    rng = np.random.default_rng(7)
    price = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 400)))
    vol = 25 + 10 * np.sin(np.arange(400) / 9) + rng.normal(0, 2, 400)
    closes = pd.concat([daily("P", price), daily("V", vol)])
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=20)
    full = market_regime_rows([cfg], closes)
    assert full["bar_start"].max() == pd.Timestamp("2024-01-01") + pd.Timedelta(
        days=398
    )  # the newest day is provisional
    for cut in ("2024-03-15", "2024-07-01", "2024-12-31"):
        truncated = closes[closes["bar_start"] < cut]
        part = market_regime_rows([cfg], truncated, landed=closes, as_of=cut)
        assert part["bar_start"].max() == pd.Timestamp(cut) - pd.Timedelta(days=1)  # ended by as_of => final
        pd.testing.assert_frame_equal(part, full[full["bar_start"] < cut].reset_index(drop=True))
    assert {"uptrend_low_vol", "downtrend_high_vol"} <= set(full["regime"])
    # a cut before the MA is warm: no rows, typed columns, no error (the seed is valid on the landed data)
    early = market_regime_rows([cfg], closes[closes["bar_start"] < "2024-01-10"], landed=closes, as_of="2024-01-10")
    assert early.empty and early.dtypes["regime"] == "string" and early.dtypes["bar_start"] == "datetime64[us]"


def test_sma_is_on_the_price_calendar_and_restarts_after_a_long_gap():
    prices = list(range(1, 41))
    closes = pd.concat([daily("P", prices, skip=pd.date_range("2024-01-11", "2024-01-15")), daily("V", [10.0] * 40)])
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=3)
    rows = market_regime_rows([cfg], closes, max_gap_bars=24).set_index("bar_start")
    # a 6-day hole (< max_gap_bars): the SMA spans it, on the price series' own calendar
    assert rows.loc["2024-01-16", "ma"] == pytest.approx((9 + 10 + 16) / 3)
    assert rows["prev_regime"].isna().sum() == 1
    short_gap = market_regime_rows([cfg], closes, max_gap_bars=5).set_index("bar_start")
    # a gap > max_gap_bars days starts a segment: the MA warms up again, the detector restarts
    assert "2024-01-16" not in short_gap.index.strftime("%Y-%m-%d")
    assert short_gap.loc["2024-01-18", "ma"] == pytest.approx(17) and pd.isna(
        short_gap.loc["2024-01-18", "prev_regime"]
    )
    np.testing.assert_allclose(trailing_sma(np.arange(1.0, 6.0), 2), [np.nan, 1.5, 2.5, 3.5, 4.5])


def test_a_long_hole_in_the_vol_series_restarts_the_detector():
    closes = pd.concat(
        [daily("P", [100.0] * 80), daily("V", [10.0] * 80, skip=pd.date_range("2024-02-01", "2024-02-28"))]
    )
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=5)
    rows = market_regime_rows([cfg], closes)
    restarts = rows.loc[rows["prev_regime"].isna(), "bar_start"].dt.strftime("%Y-%m-%d").tolist()
    assert restarts == ["2024-01-05", "2024-02-29"]


def test_empty_vol_series_uses_the_trailing_realized_vol_percentile():
    rng = np.random.default_rng(3)
    sigma = np.where(np.arange(700) < 500, 0.01, 0.05)  # a calm year, then turbulence
    price = 100 * np.exp(np.cumsum(rng.normal(0, sigma)))
    cfg = make_config(
        market="P", price_series="P", vol_series=None, ma_period=50, vol_high_threshold=80.0, vol_low_threshold=50.0
    )
    rows = market_regime_rows([cfg], daily("P", price)).set_index("bar_start")
    # 20 returns for realized_vol_20, then 365 of them for the first percentile
    assert rows.index[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=20 + 364)
    assert rows["vol_value"].between(0, 100).all()
    day = lambda n: pd.Timestamp("2024-01-01") + pd.Timedelta(days=n)  # noqa: E731
    # once the turbulence fills the 20-return window it ranks at the top of the trailing year
    turbulent = rows.loc[day(520) : day(540)]
    assert (turbulent["vol"] == "high_vol").all() and turbulent["vol_value"].min() > 90
    assert turbulent["vol_value"].max() == 100
    # the percentile is point-in-time: it equals the rank among the trailing window only
    np.testing.assert_array_equal(
        trailing_percentile(np.array([np.nan, 3.0, 1.0, 2.0, 2.0, 5.0]), 3), [np.nan, np.nan, np.nan, 50.0, 50.0, 100.0]
    )


def test_missing_and_non_overlapping_series_name_the_market():
    closes = pd.concat([daily("BTC", [1.0] * 5), daily("DVOL", [50.0] * 5, start="2023-01-01")])
    btc = make_config(market="BTC", price_series="BTC", vol_series="DVOL")
    with pytest.raises(
        TrendVolConfigError, match="market 'BTC': price_series 'BTC' .* and vol_series 'DVOL' .* never share a day"
    ):
        market_regime_rows([btc], closes)
    for cfg, role in [
        (make_config(market="A", price_series="NOPE", vol_series="DVOL"), "price_series 'NOPE'"),
        (make_config(market="B", price_series="BTC", vol_series="NOPE"), "vol_series 'NOPE'"),
    ]:
        with pytest.raises(TrendVolConfigError, match=f"market '{cfg.market}': {role} has no landed rows"):
            market_regime_rows([cfg], closes, missing_series="error")
        # warn mode: the market is skipped, the others still build
        assert check_series([cfg], closes, "warn").skipped == ((cfg.market, ("NOPE",)),)
        assert market_regime_rows([cfg], closes, missing_series="warn").empty
    # a landing without any daily series is an absent layout (docs/landing.md): skipped even in error mode
    none = market_regime_rows([btc], closes.iloc[:0], missing_series="error")
    assert none.empty and none.dtypes["bar_start"] == "datetime64[us]"
