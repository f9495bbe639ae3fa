"""Trend x volatility regimes (docs/trend-vol-regimes.md): the 13 reference test cases on the pure
detector, band-edge values, serialisation, seed validation and the table adapter
(validation, restarts, point-in-time walk over int_market_days_prepared's rows)."""

from __future__ import annotations

import csv
import json
import math
import re
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
from market_regimes.engines.trend_vol_frames import check_series, market_regime_rows

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
# The final days, segments, MA and vol readings are the SQL model int_market_days_prepared's
# (its dbt unit tests: models/intermediate/markets/_int_markets__models.yml); the adapter
# validates the seed and walks the detector over those rows.


def landed_days(series: str, n: int, start="2024-01-01") -> pd.DataFrame:
    return pd.DataFrame({"series": series, "bar_start": pd.date_range(start, periods=n, freq="D")})


def prepared(market: str, price, ma, vol, start="2024-01-01", segment=None, skip=()) -> pd.DataFrame:
    """int_market_days_prepared rows of one market on consecutive days (NaN = NULL)."""
    days = pd.date_range(start, periods=len(price), freq="D")
    frame = pd.DataFrame(
        {
            "market": market,
            "bar_start": days,
            "segment_id": np.ones(len(price), dtype=np.int64) if segment is None else np.asarray(segment),
            "price": np.asarray(price, float),
            "ma": np.asarray(ma, float),
            "vol_value": np.asarray(vol, float),
        }
    )
    return frame[~frame["bar_start"].isin(pd.to_datetime(list(skip)))].reset_index(drop=True)


FOO = make_config(
    market="FOO", price_series="FOO", vol_series="FOOVOL", ma_period=3, vol_high_threshold=30.0, vol_low_threshold=20.0
)
FOO_LANDED = pd.concat([landed_days("FOO", 9), landed_days("FOOVOL", 8, start="2024-01-02")])
NAN = math.nan


def test_rows_by_hand():
    """ma 3, h 2%, vol 30/20: the days of int_market_days_prepared's worked example (no vol
    reading on 01-07, the MA warming up on 01-01 and 01-02) walked by the detector."""
    days = prepared(
        "FOO",
        [100, 100, 100, 90, 95, 110, 110, 110],
        [NAN, NAN, 100, 290 / 3, 95, 295 / 3, 105, 110],
        [NAN, 50, 25, 35, 25, 15, NAN, 31],
    )
    rows = market_regime_rows([FOO], days.sample(frac=1, random_state=1), FOO_LANDED)  # any row order
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


def test_the_walk_is_prefix_invariant():
    """A prefix of the days gives the prefix of the rows (point in time: a day's regime
    uses the days up to it only)."""
    rng = np.random.default_rng(7)
    price = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 400)))
    ma = pd.Series(price).rolling(20).mean().to_numpy()
    vol = 25 + 10 * np.sin(np.arange(400) / 9) + rng.normal(0, 2, 400)
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=20)
    days = prepared("M", price, ma, vol)
    landed = pd.concat([landed_days("P", 400), landed_days("V", 400)])
    full = market_regime_rows([cfg], days, landed)
    assert len(full) == 381 and {"uptrend_low_vol", "downtrend_high_vol"} <= set(full["regime"])
    for cut in ("2024-03-15", "2024-07-01", "2024-12-31"):
        part = market_regime_rows([cfg], days[days["bar_start"] < cut], landed)
        pd.testing.assert_frame_equal(part, full[full["bar_start"] < cut].reset_index(drop=True))
    # no day with an MA yet: no rows, typed columns, no error (the seed is valid on the landed data)
    early = market_regime_rows([cfg], days.iloc[:10], landed)
    assert early.empty and early.dtypes["regime"] == "string" and early.dtypes["bar_start"] == "datetime64[us]"


def test_a_new_segment_restarts_the_detector():
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=3)
    days = prepared("M", [10.0] * 6, [9.0] * 6, [30.0] * 6, segment=[1, 1, 1, 2, 2, 2])
    rows = market_regime_rows([cfg], days, pd.concat([landed_days("P", 6), landed_days("V", 6)]))
    restarts = rows.loc[rows["prev_regime"].isna(), "bar_start"].dt.strftime("%m-%d").tolist()
    assert restarts == ["01-01", "01-04"]


def test_a_long_hole_in_the_vol_series_restarts_the_detector():
    """February has no vol reading (NULL vol_value: no row); the gap of 29 days between
    joined days is over max_gap_bars (24), so 2024-02-29 starts afresh."""
    vol = [
        NAN if pd.Timestamp("2024-02-01") <= d <= pd.Timestamp("2024-02-28") else 10.0
        for d in pd.date_range("2024-01-01", periods=80, freq="D")
    ]
    days = prepared("M", [100.0] * 80, [NAN] * 4 + [100.0] * 76, vol)
    cfg = make_config(market="M", price_series="P", vol_series="V", ma_period=5)
    rows = market_regime_rows([cfg], days, pd.concat([landed_days("P", 80), landed_days("V", 31)]))
    restarts = rows.loc[rows["prev_regime"].isna(), "bar_start"].dt.strftime("%Y-%m-%d").tolist()
    assert restarts == ["2024-01-05", "2024-02-29"]
    assert (
        len(
            market_regime_rows(
                [cfg], days, pd.concat([landed_days("P", 80), landed_days("V", 31)]), max_gap_bars=30
            ).query("prev_regime.isna()")
        )
        == 1
    )


def test_every_bad_seed_row_is_named_in_one_error():
    """load_markets names every bad row (its first problem) and every repeated market once,
    in seed order, in one error; check_series every market whose series fail."""
    rows = [
        {**SEED_ROW, "market": "A", "vol_low_threshold": "70"},
        SEED_ROW,
        {**SEED_ROW, "market": "B", "ma_period": "0", "vol_high_threshold": "high"},
        SEED_ROW,
        SEED_ROW,
    ]
    with pytest.raises(TrendVolConfigError) as raised:
        load_markets(rows)
    assert str(raised.value) == (
        "seed trend_vol_markets, market 'A': vol_low_threshold (70) must be below vol_high_threshold (60); "
        "seed trend_vol_markets, market 'B': vol_high_threshold = 'high' is not a number; "
        "seed trend_vol_markets, market 'BTC': listed more than once"
    )
    landed = pd.concat([landed_days("BTC", 5), landed_days("DVOL", 5, start="2023-01-01")])
    markets = [
        make_config(market="P", price_series="NOPE", vol_series="DVOL"),
        make_config(market="OK", price_series="BTC", vol_series=None),
        make_config(market="Q", price_series="BTC", vol_series="DVOL"),
    ]
    with pytest.raises(TrendVolConfigError) as raised:
        check_series(markets, landed, "error")
    parts = re.split(r"; (?=seed trend_vol_markets)", str(raised.value))
    assert [p.split(":")[0] for p in parts] == [
        "seed trend_vol_markets, market 'P'",
        "seed trend_vol_markets, market 'Q'",
    ]
    assert "price_series 'NOPE' has no landed rows" in parts[0] and "never share a day" in parts[1]


def test_missing_and_non_overlapping_series_name_the_market():
    landed = pd.concat([landed_days("BTC", 5), landed_days("DVOL", 5, start="2023-01-01")])
    days = prepared("BTC", [1.0] * 5, [1.0] * 5, [50.0] * 5)
    btc = make_config(market="BTC", price_series="BTC", vol_series="DVOL")
    with pytest.raises(
        TrendVolConfigError, match="market 'BTC': price_series 'BTC' .* and vol_series 'DVOL' .* never share a day"
    ):
        market_regime_rows([btc], days, landed)
    for cfg, role in [
        (make_config(market="A", price_series="NOPE", vol_series="DVOL"), "price_series 'NOPE'"),
        (make_config(market="B", price_series="BTC", vol_series="NOPE"), "vol_series 'NOPE'"),
    ]:
        with pytest.raises(TrendVolConfigError, match=f"market '{cfg.market}': {role} has no landed rows"):
            market_regime_rows([cfg], days, landed, missing_series="error")
        # warn mode: the market is skipped, the others still build
        assert check_series([cfg], landed, "warn").skipped == ((cfg.market, ("NOPE",)),)
        assert market_regime_rows([cfg], days, landed, missing_series="warn").empty
    # a landing without any daily series is an absent layout (docs/landing.md): skipped even in error mode
    none = market_regime_rows([btc], days.iloc[:0], landed.iloc[:0], missing_series="error")
    assert none.empty and none.dtypes["bar_start"] == "datetime64[us]"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="max_gap_bars must be >= 1"):
        market_regime_rows([FOO], prepared("FOO", [1.0], [1.0], [1.0]), FOO_LANDED, max_gap_bars=0)
    with pytest.raises(ValueError, match=r"days lack columns \['ma'\]"):
        market_regime_rows([FOO], prepared("FOO", [1.0], [1.0], [1.0]).drop(columns="ma"), FOO_LANDED)
