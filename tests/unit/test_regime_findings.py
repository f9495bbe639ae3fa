"""The pooled findings' logic on hand-made series (market_regimes.research.regime_findings).

Two series of six daily bars worked by hand: forward return / |return| / realized vol,
pooled regime means and shares, a contrast with its per-series sign count, the
out-of-sample part, the calendar block bootstrap against a brute-force resampling with the
grid reports' draws, and which series each detector is pooled over.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_regimes.research.grid_outcomes import block_bootstrap_rows
from market_regimes.research.regime_findings import (
    REPORT_COLUMNS,
    Contrast,
    RegimeFindingsConfig,
    calendar_bootstrap,
    findings_bars,
    forward_values,
    grouped_sums,
    regime_findings,
)

LN2 = math.log(2)
DAYS = pd.date_range("2024-01-01", periods=6, freq="D")
# series A: closes 1 2 4 8 4 8; series B flat. Regimes per day.
CLOSES = {"A": [1.0, 2.0, 4.0, 8.0, 4.0, 8.0], "B": [1.0] * 6}
REGIMES = {"A": ["S3", "S3", "S0", "S0", "S3", "S3"], "B": ["S0", "S3", "S3", "S0", "S0", "S3"]}
CONTRAST = Contrast(detector="uptrend", name="S3_vs_S0", high=("S3",), low=("S0",), expected_return=1, expected_rv=-1)
HAND = RegimeFindingsConfig(
    horizons=(2,), train_frac=0.5, n_boot=300, block_bars=1, seed=5, ci_level=0.9, min_regime_bars=1
)


def hand_bars() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "detector": "uptrend",
                "bar_interval": "1d",
                "series_id": s,
                "part": f"{s}-1",
                "seq": i + 1,
                "bar_start": DAYS[i],
                "close": CLOSES[s][i],
                "regime": REGIMES[s][i],
            }
            for s in ("A", "B")
            for i in range(6)
        ]
    )


@pytest.fixture(scope="module")
def report() -> pd.DataFrame:
    return regime_findings(hand_bars(), [CONTRAST], HAND)


def _row(frame, **keys) -> pd.Series:
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel.iloc[0]


def test_forward_values_by_hand():
    bars = hand_bars()
    out = forward_values(bars["part"].to_numpy(), bars["seq"].to_numpy(), bars["close"].to_numpy(), (2,))
    a = slice(0, 6)
    np.testing.assert_allclose(out["forward_return"][a, 0], [2 * LN2, 2 * LN2, 0, 0, np.nan, np.nan], atol=1e-15)
    np.testing.assert_allclose(out["forward_abs_return"][a, 0], [2 * LN2, 2 * LN2, 0, 0, np.nan, np.nan], atol=1e-15)
    # sample std of the next two steps: (ln2, ln2) -> 0, (ln2, -ln2) -> sqrt(2) ln 2
    np.testing.assert_allclose(
        out["forward_rv"][a, 0], [0, 0, math.sqrt(2) * LN2, math.sqrt(2) * LN2, np.nan, np.nan], atol=1e-12
    )
    # series B is flat; the last two bars of each part have no bar t + 2
    np.testing.assert_array_equal(out["forward_return"][6:, 0], [0, 0, 0, 0, np.nan, np.nan])
    # row order does not matter
    shuffled = bars.sample(frac=1, random_state=3)
    again = forward_values(shuffled["part"].to_numpy(), shuffled["seq"].to_numpy(), shuffled["close"].to_numpy(), (2,))
    np.testing.assert_array_equal(again["forward_return"][:, 0], out["forward_return"][shuffled.index, 0])


def test_pooled_regime_rows_by_hand(report):
    assert list(report.columns) == list(REPORT_COLUMNS)
    key = dict(detector="uptrend", bar_interval="1d", sample="all", row_kind="regime", horizon_bars=2)
    s3 = _row(report, **key, regime="S3", metric="forward_return")
    # S3: A days 1, 2 (ln 4 each), 5, 6 (none); B days 2, 3 (0), 6 (none)
    assert (s3["n_series"], s3["n_bars"], s3["n"], s3["n_bar_starts"]) == (2, 7, 4, 3)
    assert s3["share_of_bars"] == pytest.approx(7 / 12)
    assert s3["mean"] == pytest.approx(LN2, rel=1e-15)
    assert s3["ci_low"] <= s3["mean"] <= s3["ci_high"]
    s0 = _row(report, **key, regime="S0", metric="forward_return")
    assert (s0["n_bars"], s0["n"], s0["mean"]) == (5, 4, 0.0)
    rv = _row(report, **key, regime="S0", metric="forward_rv")
    assert rv["mean"] == pytest.approx(math.sqrt(2) * LN2 / 2, rel=1e-12)  # A days 3, 4; B 0, 0
    assert _row(report, **key, regime="S3", metric="forward_abs_return")["mean"] == pytest.approx(LN2, rel=1e-15)


def test_contrast_rows_by_hand(report):
    key = dict(
        detector="uptrend", bar_interval="1d", sample="all", row_kind="contrast", regime="S3_vs_S0", horizon_bars=2
    )
    ret = _row(report, **key, metric="forward_return")
    assert ret["mean"] == pytest.approx(LN2, rel=1e-15)
    assert (ret["high_regimes"], ret["low_regimes"], ret["expected_sign"]) == ("S3", "S0", 1)
    # per series: A ln 4 - 0 > 0 (expected), B 0 - 0 = 0 (not)
    assert (ret["n_series_compared"], ret["n_series_expected_sign"], ret["share_series_expected_sign"]) == (2, 1, 0.5)
    rv = _row(report, **key, metric="forward_rv")
    assert rv["mean"] == pytest.approx(-math.sqrt(2) * LN2 / 2, rel=1e-12)
    assert rv["expected_sign"] == -1 and rv["share_series_expected_sign"] == 0.5
    # no hypothesis for |return|: no sign, no count
    abs_row = _row(report, **key, metric="forward_abs_return")
    assert pd.isna(abs_row["expected_sign"]) and pd.isna(abs_row["is_separated_as_expected"])
    assert pd.isna(abs_row["share_series_expected_sign"])


def test_out_of_sample_part_is_the_last_bars_of_each_series(report):
    key = dict(
        detector="uptrend",
        bar_interval="1d",
        sample="out_of_sample",
        row_kind="regime",
        horizon_bars=2,
        metric="forward_return",
    )
    # train_frac 0.5: days 4-6 of each series; A S0 S3 S3, B S0 S0 S3; only day 4 has a bar t + 2
    s0, s3 = _row(report, **key, regime="S0"), _row(report, **key, regime="S3")
    assert (s0["n_bars"], s0["n"], s0["mean"]) == (3, 2, 0.0)
    assert (s3["n_bars"], s3["n"]) == (3, 0) and pd.isna(s3["mean"])
    assert s0["share_of_bars"] == 0.5


def test_min_regime_bars_leaves_thin_series_out():
    cfg = RegimeFindingsConfig(horizons=(2,), train_frac=0.5, n_boot=50, block_bars=1, seed=5, min_regime_bars=3)
    out = regime_findings(hand_bars(), [CONTRAST], cfg)
    row = _row(out, sample="all", row_kind="contrast", metric="forward_return")
    assert row["n_series_compared"] == 0 and pd.isna(row["share_series_expected_sign"])


def test_calendar_bootstrap_is_the_ratio_of_the_resampled_blocks():
    rng = np.random.default_rng(11)
    k = 40
    counts = rng.integers(0, 4, size=(k, 3)).astype(float)
    sums = rng.normal(size=(k, 3)) * counts
    point, boot = calendar_bootstrap(sums, counts, block=7, n_boot=25, seed=9)
    np.testing.assert_allclose(point, sums.sum(axis=0) / counts.sum(axis=0), rtol=1e-14)
    # the same draws as the grid reports' block bootstrap (block_bootstrap_rows), statistic by hand
    for b, rows in enumerate(block_bootstrap_rows(np.zeros(k), 7, 25, 9)):
        np.testing.assert_allclose(boot[b], sums[rows].sum(axis=0) / counts[rows].sum(axis=0), rtol=1e-12)


def test_intervals_resample_whole_moments(report):
    """A constant outcome gives a zero-width interval; the report's interval is the calendar
    bootstrap of the per-day sums."""
    bars = hand_bars().assign(close=1.0)  # every forward value 0
    flat = regime_findings(bars, [CONTRAST], HAND)
    row = _row(flat, sample="all", row_kind="regime", regime="S3", metric="forward_return")
    assert (row["mean"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)


def test_findings_do_not_depend_on_the_row_order(report):
    again = regime_findings(hand_bars().sample(frac=1, random_state=4), [CONTRAST], HAND)
    pd.testing.assert_frame_equal(report, again)


def test_findings_bars_pool_each_detector_over_its_series():
    days = list(DAYS[:2])

    def rows(series_type, series_id, **labels):
        return [
            {
                "series_type": series_type,
                "series_id": series_id,
                "bar_interval": "1d",
                "series_part": hash(series_id),
                "bar_seq": i + 1,
                "bar_start": d,
                "close": 1.0,
                "uptrend_regime": labels.get("uptrend"),
                "volatility_rv_regime": labels.get("rv"),
                "volatility_hmm_regime": labels.get("hmm"),
                "volatility_quadrant_regime": labels.get("quadrant"),
                "trend_vol_regime": labels.get("trend_vol"),
            }
            for i, d in enumerate(days)
        ]

    labels = pd.DataFrame(
        rows("driver", "BTC|macro", uptrend="S1", hmm="low", quadrant="QUIET")
        + rows("driver", "BTC.d|macro", uptrend="S3", hmm="high", quadrant="CRISIS")
        + rows("symbol", "binance|XUSDT|1d", rv="low", hmm="high", quadrant="EXPANSION")
        + rows("market", "market|BTC", trend_vol="uptrend_low_vol")
    )
    grid = pd.DataFrame(
        {
            "series_key": 7,
            "exchange": "binance",
            "symbol": "XUSDT",
            "bar_interval": "1h",
            "idx": [0, 1],
            "bar_start": days,
            "close": [1.0, 2.0],
            "verdict": ["TREND", None],
        }
    )
    bars = findings_bars(labels, grid, excluded_drivers=["BTC.d"])
    pooled = bars.groupby("detector")["series_id"].unique().map(sorted).to_dict()
    assert pooled == {
        "uptrend": ["BTC|macro"],
        "volatility_rv": ["binance|XUSDT|1d"],
        "volatility_hmm": ["binance|XUSDT|1d"],
        "volatility_quadrant": ["binance|XUSDT|1d"],
        "trend_vol": ["market|BTC"],
        "grid_verdict": ["binance|XUSDT|1h"],
    }
    grid_rows = bars[bars["detector"] == "grid_verdict"]
    assert grid_rows["regime"].iloc[0] == "TREND" and pd.isna(grid_rows["regime"].iloc[1])
    assert grid_rows["seq"].tolist() == [0, 1]


def test_config_and_contrast_validation():
    cfg = RegimeFindingsConfig.from_mapping(
        {
            "horizons": "5,10,20",
            "train_frac": "0.6",
            "n_boot": "1000",
            "block_bars": "20",
            "seed": "0",
            "ci_level": "0.95",
            "min_regime_bars": "30",
        }
    )
    assert cfg == RegimeFindingsConfig()
    with pytest.raises(ValueError, match="horizons"):
        RegimeFindingsConfig(horizons=(1,))  # a sample std needs h >= 2
    c = Contrast.from_mapping({"detector": "d", "name": "n", "high": ["a"], "low": ["b"], "expected_rv": "1"})
    assert (c.high, c.expected_rv, c.expected_return) == (("a",), 1, 0)
    with pytest.raises(ValueError, match="share"):
        Contrast(detector="d", name="n", high=("a",), low=("a",))
    with pytest.raises(ValueError, match="unknown keys"):
        Contrast.from_mapping({"detector": "d", "name": "n", "high": ["a"], "low": ["b"], "expected": 1})


def test_grouped_sums_add_each_group_in_row_order():
    # the one-bincount form gives, bit for bit, a per-column bincount over the finite values
    # (row order within a group kept), and the counts of finite values; 5 groups, 3 columns
    rng = np.random.default_rng(4)
    values = rng.standard_normal((400, 3)) * 10.0 ** rng.integers(-6, 6, size=(400, 3))
    values[rng.random((400, 3)) < 0.1] = np.nan
    key = rng.integers(0, 5, size=400)
    sums, counts = grouped_sums(key, 6, values)
    assert sums.shape == counts.shape == (6, 3)
    for j in range(3):
        finite = np.isfinite(values[:, j])
        expected = np.bincount(key[finite], weights=values[finite, j], minlength=6)
        np.testing.assert_array_equal(sums[:, j].view(np.int64), expected.view(np.int64))
        np.testing.assert_array_equal(counts[:, j], np.bincount(key[finite], minlength=6))
    assert counts[5].tolist() == [0, 0, 0]  # a key with no rows
