"""Indicator marts vs TA-Lib (every series, per segment) and vs numpy references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from tests.helpers import query

pytestmark = pytest.mark.integration

TALIB_COLUMNS = [
    "ema_20",
    "ema_30",
    "ema_60",
    "ema_144",
    "ema_250",
    "ema_333",
    "sma_200",
    "atr_14",
    "rsi_14",
    "adx_14",
    "plus_di_14",
    "minus_di_14",
    "bb_upper_20",
    "bb_mid_20",
    "bb_lower_20",
]
TEST_SYMBOLS = ("binance|BTCUSDT|1h", "binance|DREPUSDT|1h")  # DREP: a nano alt with exchange-outage gaps


def _series_frames(db, where: str) -> pd.DataFrame:
    """Indicator rows with OHLC and segment for the selected series, ordered by time."""
    return query(
        db,
        f"""
        select s.series_id, s.segment_id, s.interval_minutes, b.idx, b.bar_start, b.high, b.low, b.close,
               b.log_volume, m.*, w.* exclude (series_part, idx), r.* exclude (series_part, idx)
        from intermediate.int_indicator_series_listed s
        join intermediate.int_indicator_bars_prepared b using (series_part)
        join intermediate.int_indicators_smoothed m using (series_part, idx)
        join intermediate.int_indicators_windowed w using (series_part, idx)
        join intermediate.int_indicators_ranked r using (series_part, idx)
        where {where}
        order by s.series_id, s.segment_id, b.idx""",
    )


def talib_reference(g: pd.DataFrame) -> dict[str, np.ndarray]:
    h, lo, c = (g[k].to_numpy(float) for k in ("high", "low", "close"))
    ref = {f"ema_{n}": talib.EMA(c, n) for n in (20, 30, 60, 144, 250, 333)}
    upper, mid, lower = talib.BBANDS(c, 20, 2, 2, 0)
    ref.update(
        sma_200=talib.SMA(c, 200),
        atr_14=talib.ATR(h, lo, c, 14),
        rsi_14=talib.RSI(c, 14),
        adx_14=talib.ADX(h, lo, c, 14),
        plus_di_14=talib.PLUS_DI(h, lo, c, 14),
        minus_di_14=talib.MINUS_DI(h, lo, c, 14),
        bb_upper_20=upper,
        bb_mid_20=mid,
        bb_lower_20=lower,
    )
    return ref


def max_rel_error(mine: np.ndarray, ref: np.ndarray, column: str) -> float:
    assert np.array_equal(np.isnan(mine), np.isnan(ref)), f"{column}: warm-up differs from TA-Lib"
    ok = ~np.isnan(ref)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(mine[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), 1e-12)))


@pytest.fixture(scope="module")
def driver_and_test_series(sample_db):
    ids = ", ".join(f"'{s}'" for s in TEST_SYMBOLS)
    return _series_frames(sample_db, f"s.series_type = 'driver' or s.series_id in ({ids})")


def test_talib_covered_columns_match_talib(driver_and_test_series, capsys):
    worst: dict[str, float] = {}
    segments = 0
    for _, g in driver_and_test_series.groupby(["series_id", "segment_id"]):
        segments += 1
        for column, ref in talib_reference(g).items():
            worst[column] = max(worst.get(column, 0.0), max_rel_error(g[column].to_numpy(float), ref, column))
    with capsys.disabled():
        print(
            f"\nmax relative error vs TA-Lib over {segments} series segments (every driver x timeframe, "
            f"{', '.join(TEST_SYMBOLS)}): " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
        )
    assert set(worst) == set(TALIB_COLUMNS)
    assert max(worst.values()) <= 1e-9


def test_every_symbol_series_matches_talib(sample_db):
    frames = _series_frames(sample_db, "s.series_type = 'symbol'")
    worst = 0.0
    for _, g in frames.groupby(["series_id", "segment_id"]):
        for column, ref in talib_reference(g).items():
            worst = max(worst, max_rel_error(g[column].to_numpy(float), ref, column))
    assert worst <= 1e-9


def _ols_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares slope of y on x in each row (windows as rows): the textbook closed
    form sum((x - mean x)(y - mean y)) / sum((x - mean x)^2), NaN where a window has a NaN.
    (It replaced numpy.polyfit per window, ~40 us a call, ~20 s of the suite for the 9
    sliding fits of these series; measured against the model it agrees as well or better:
    EMA slopes 6.7e-9 relative at worst against polyfit's 1.1e-8, the OU half-life 1.4e-11
    against 7.8e-11.)"""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    return (xc * yc).sum(axis=-1) / (xc * xc).sum(axis=-1)


def _rolling_ols_slope(values: np.ndarray, n: int) -> np.ndarray:
    """Slope of `values` on 0..n-1 over the trailing n values at each t (NaN before n values,
    and where the window holds a NaN)."""
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(values, n)
        out[n - 1 :] = _ols_slopes(np.broadcast_to(np.arange(n, dtype=float), windows.shape), windows)
    return out


def _rolling(values: np.ndarray, n: int, fn) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for t in range(n - 1, len(values)):
        window = values[t - n + 1 : t + 1]
        if not np.isnan(window).any():
            out[t] = fn(window)
    return out


def numpy_reference(g: pd.DataFrame) -> dict[str, np.ndarray]:
    """Straightforward loops/rolling windows for the non-TA-Lib columns (docs/indicators.md)."""
    c = g["close"].to_numpy(float)
    r = np.r_[np.nan, np.log(c[1:] / c[:-1])]
    ref = {}
    for n in (20, 60, 144, 250, 333):
        ema = g[f"ema_{n}"].to_numpy(float)
        ref[f"ema_{n}_slope"] = _rolling_ols_slope(ema, 10) / ema
    slope144 = ref["ema_144_slope"]
    ref["d_ema_144_slope"] = slope144 - np.r_[np.full(10, np.nan), slope144[:-10]]
    ref["atr_mean_20"] = _rolling(g["atr_14"].to_numpy(float), 20, np.mean)
    ref["rsi_slope_10"] = _rolling_ols_slope(g["rsi_14"].to_numpy(float), 10)
    ref["adx_slope_10"] = _rolling_ols_slope(g["adx_14"].to_numpy(float), 10)
    er = np.full(len(c), np.nan)
    for t in range(10, len(c)):
        path = np.abs(np.diff(c[t - 10 : t + 1])).sum()
        er[t] = abs(c[t] - c[t - 10]) / path if path > 0 else 0.0
    ref["efficiency_ratio_10"] = er
    # Pearson correlation of r[t-49..t] with r[t-50..t-1] (rows of the 50-return windows)
    ac = np.full(len(c), np.nan)
    if len(c) > 51:
        w = np.lib.stride_tricks.sliding_window_view(r, 50)
        x, y = w[2:], w[1:-1]  # t = 51.. : x the window ending at t, y the one ending at t - 1
        xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
        sxx, syy = (xc * xc).sum(axis=1), (yc * yc).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ac[51:] = np.where((sxx > 0) & (syy > 0), (xc * yc).sum(axis=1) / np.sqrt(sxx * syy), np.nan)
    ref["return_autocorr_50"] = ac
    # AR(1) coefficient b of c[t-99..t] on c[t-100..t-1] (row i of the windows: t = i + 100)
    hl = np.full(len(c), np.nan)
    if len(c) > 100:
        view = np.lib.stride_tricks.sliding_window_view
        b = _ols_slopes(view(c[:-1], 100), view(c[1:], 100))
        with np.errstate(invalid="ignore", divide="ignore"):
            hl[100:] = np.where((b > 0) & (b < 1), -np.log(2) / np.log(b), np.nan)
    ref["ou_half_life_100"] = hl
    ref["normalized_slope_20"] = _rolling_ols_slope(c, 20) / g["atr_14"].to_numpy(float)
    bars_per_year = 365 * 1440 / g["interval_minutes"].iloc[0]
    ref["realized_vol_20"] = _rolling(r, 20, lambda w: np.std(w, ddof=1)) * np.sqrt(bars_per_year)
    # volume z: EWMA (alpha 2/65) mean from the first value, variance from 0, z before update
    x = g["log_volume"].to_numpy(float)
    a, mean, var, z = 2 / 65, x[0], 0.0, np.zeros(len(x))
    for t in range(1, len(x)):
        z[t] = np.clip((x[t] - mean) / np.sqrt(var), -4, 6) if var > 0 else 0.0
        diff = x[t] - mean
        mean = mean + a * diff
        var = (1 - a) * (var + a * diff * diff)
    ref["volume_z"] = z
    e20, e60, e144 = (g[f"ema_{n}"].to_numpy(float) for n in (20, 60, 144))
    ref["sep_fast"], ref["sep_mid"] = (e20 - e60) / e60, (e60 - e144) / e144
    ref["d_sep_fast_5"] = ref["sep_fast"] - np.r_[np.full(5, np.nan), ref["sep_fast"][:-5]]
    ref["d_sep_mid_5"] = ref["sep_mid"] - np.r_[np.full(5, np.nan), ref["sep_mid"][:-5]]
    # trailing percentile rank over 500 bars: share of the other window values below x_t,
    # values taken at 10 significant digits as the model ranks them
    for feature in ("atr_14", "bb_bandwidth_20", "realized_vol_20"):
        raw = g[feature].to_numpy(float)
        values = raw.copy()
        nz = ~np.isnan(raw) & (raw != 0)
        digits = (9 - np.floor(np.log10(np.abs(raw[nz])))).astype(int)
        values[nz] = [round(x, int(k)) for x, k in zip(raw[nz], digits)]
        pr = np.full(len(values), np.nan)
        if len(values) >= 500:
            window = np.lib.stride_tricks.sliding_window_view(values, 500)  # row i ends at t = i + 499
            below = (window < values[499:, None]).sum(axis=1) / 499
            pr[499:] = np.where(np.isnan(window).any(axis=1), np.nan, below)
        ref[f"pr_{feature}"] = pr
    return ref


def test_window_columns_match_numpy_references(driver_and_test_series, capsys):
    frames = driver_and_test_series[driver_and_test_series["series_id"].isin(TEST_SYMBOLS)]
    worst: dict[str, float] = {}
    for _, g in frames.groupby(["series_id", "segment_id"]):
        for column, ref in numpy_reference(g).items():
            mine = g[column].to_numpy(float)
            assert np.array_equal(np.isnan(mine), np.isnan(ref)), f"{column}: warm-up/NULLs differ"
            ok = ~np.isnan(ref)
            scale = np.maximum(np.abs(ref[ok]), np.nanmax(np.abs(ref)) * 1e-6)  # slopes cross zero
            worst[column] = max(worst.get(column, 0.0), float(np.max(np.abs(mine[ok] - ref[ok]) / scale)))
    with capsys.disabled():
        print("\nmax relative error vs numpy references: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    # OLS fits of nearly collinear values are ill-conditioned (DuckDB's regr_slope and
    # numpy's lstsq round differently; the OU half-life divides by ln b with b ~ 1):
    # 1e-6 relative there, 1e-9 everywhere else.
    ranks = {k: v for k, v in worst.items() if k.startswith("pr_")}
    assert max(ranks.values()) == 0.0, ranks  # percentile ranks are exact
    ill_conditioned = {k: v for k, v in worst.items() if "slope" in k or k == "ou_half_life_100"}
    others = {k: v for k, v in worst.items() if k not in ill_conditioned and k not in ranks}
    slopes = ill_conditioned
    assert max(slopes.values()) <= 1e-6, slopes
    assert max(others.values()) <= 1e-9, others


def test_indicators_restart_at_every_segment(sample_db):
    """KEYUSDT has a 677-hour gap: the second segment warms up again from its first bar."""
    seg = query(
        sample_db,
        """
        select s.segment_id, min(b.bar_start) as first_bar,
               count(*) filter (where m.ema_20 is null) as cold_ema_20,
               count(*) filter (where m.adx_14 is null) as cold_adx_14
        from intermediate.int_indicator_series_listed s
        join intermediate.int_indicator_bars_prepared b using (series_part)
        join intermediate.int_indicators_smoothed m using (series_part, idx)
        where s.series_id = 'binance|KEYUSDT|1h' group by 1 order by 1""",
    )
    assert seg["segment_id"].tolist() == [1, 2]
    assert seg["cold_ema_20"].tolist() == [19, 19] and seg["cold_adx_14"].tolist() == [27, 27]
    assert str(seg["first_bar"].iloc[1]) == "2023-03-10 08:00:00"


def test_marts_have_exactly_the_spec_columns(sample_db):
    spec = [
        "ema_20",
        "ema_30",
        "ema_60",
        "ema_144",
        "ema_250",
        "ema_333",
        "ema_20_slope",
        "ema_60_slope",
        "ema_144_slope",
        "ema_250_slope",
        "ema_333_slope",
        "d_ema_144_slope",
        "sma_200",
        "atr_14",
        "atr_mean_20",
        "rsi_14",
        "rsi_slope_10",
        "adx_14",
        "plus_di_14",
        "minus_di_14",
        "adx_slope_10",
        "bb_upper_20",
        "bb_mid_20",
        "bb_lower_20",
        "bb_bandwidth_20",
        "efficiency_ratio_10",
        "return_autocorr_50",
        "ou_half_life_100",
        "normalized_slope_20",
        "realized_vol_20",
        "volume_z",
        "sep_fast",
        "sep_mid",
        "d_sep_fast_5",
        "d_sep_mid_5",
        "pr_atr_14",
        "pr_bb_bandwidth_20",
        "pr_realized_vol_20",
    ]
    for table, keys in {
        "marts.fct_driver_indicators": ["driver", "timeframe", "bar_start"],
        "marts.fct_symbol_indicators": ["exchange", "symbol", "bar_interval", "bar_start"],
    }.items():
        cols = query(sample_db, f"select * from {table} limit 0").columns.tolist()
        assert cols == keys + spec, table
