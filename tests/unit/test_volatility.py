"""Volatility / spectral regime engine (docs/volatility-regimes.md): HMM determinism, point-in-time prefix
invariance and agreement with hmmlearn's own decoding; wavelet energies, Hurst, AR(1),
strategy-fit scores, quadrant table and turbulence against hand-computed cases (or
statsmodels / a textbook loop); toxic-bar exclusion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hmmlearn.hmm import GaussianHMM
from hypothesis import given, settings
from hypothesis import strategies as st

from market_regimes.engines import volatility as vol
from market_regimes.engines.volatility_config import VolatilityConfig, load_config_csv
from market_regimes.engines.volatility_frames import (
    STRATEGY_COLUMNS,
    attach_driver_turbulence,
    hmm_lookback_clean_returns,
    strategy_fit_rows,
    turbulence_rows,
    turbulence_rows_after,
    volatility_columns,
    volatility_regime_rows,
)

SEED = load_config_csv()
# small windows so a test series of ~1,000 bars has many refits
SMALL_OVERRIDES = dict(
    hmm_window_bars=200,
    hmm_min_fit_bars=130,
    hmm_refit_every_bars=24,
    hmm_refit_every_bars_intraday=24,
    wavelet_window_bars=128,
    hurst_window_bars=64,
    ar1_window_bars=30,
    turbulence_window_bars=50,
)
SMALL = load_config_csv(**SMALL_OVERRIDES)


def regime_switching_returns(n: int = 1000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Log returns alternating calm (sd 1%) and stormy (sd 5%) blocks of 100 bars, and the
    true regime (True = stormy)."""
    rng = np.random.default_rng(seed)
    stormy = (np.arange(n) // 100) % 2 == 1
    return rng.normal(0.0, np.where(stormy, 0.05, 0.01)), stormy


def bars_frame(
    returns: np.ndarray, interval_minutes: int = 1440, series_id: str = "BTC|macro", start: str = "2022-01-01"
) -> pd.DataFrame:
    """One driver series in the input shape of volatility_frames (first bar: no return)."""
    n = len(returns) + 1
    return pd.DataFrame(
        {
            "series_type": "driver",
            "series_id": series_id,
            "driver": series_id.split("|")[0],
            "timeframe": series_id.split("|")[1],
            "exchange": None,
            "symbol": None,
            "bar_interval": "1d" if interval_minutes == 1440 else "1h",
            "interval_minutes": interval_minutes,
            "segment_id": 1,
            "bar_start": pd.date_range(start, periods=n, freq=f"{interval_minutes}min").astype("datetime64[us]"),
            "log_return": np.concatenate([[np.nan], returns]),
        }
    )


# --------------------------------------------------------------------------- config
def test_seed_loads_and_rejects_bad_config():
    assert SEED.hmm_window_bars == 500 and SEED.hmm_refit_every_bars == 24 and SEED.wavelet_name == "db4"
    assert SEED.refit_every(1440) == 24 and SEED.refit_every(60) == SEED.hmm_refit_every_bars_intraday
    with pytest.raises(ValueError, match="missing keys"):
        VolatilityConfig.from_mapping({"toxic_abs_log_return": 0.5})
    with pytest.raises(ValueError, match="hmm_min_fit_bars must be >="):
        load_config_csv(hmm_min_fit_bars=100)  # < wavelet_window_bars (128)
    with pytest.raises(ValueError, match="not a valid int"):
        load_config_csv(hmm_window_bars="5.5")


# --------------------------------------------------------------------------- HMM
def test_hmm_is_deterministic():
    r, _ = regime_switching_returns()
    first = vol.hmm_filter(np.abs(r), SMALL, 24)
    second = vol.hmm_filter(np.abs(r.copy()), SMALL, 24)
    for key in first:
        assert np.array_equal(first[key], second[key], equal_nan=True), key
    assert int(first["n_fits"]) == len(vol.refit_points(len(r), 130, 24))
    frame = bars_frame(r)
    pd.testing.assert_frame_equal(volatility_regime_rows(frame, SMALL), volatility_regime_rows(frame.copy(), SMALL))


def test_high_vol_state_tracks_the_stormy_blocks():
    r, stormy = regime_switching_returns()
    out = vol.hmm_filter(np.abs(r), SMALL, 24)
    labeled = np.isfinite(out["p_high"])
    agree = ((out["p_high"] >= 0.5) == stormy)[labeled].mean()
    assert agree > 0.9
    assert (out["mean_high"][labeled] > out["mean_low"][labeled]).all()


def test_a_flat_window_has_no_hmm_label_but_keeps_its_row():
    r, _ = regime_switching_returns(600)
    r[:300] = 0.0  # a dead market: the first refits see no nonzero return
    frame = bars_frame(r)
    rows = volatility_regime_rows(frame, SMALL)
    flat = rows[rows["hmm_mean_high"].isna()]
    assert len(flat) > 0 and flat["hmm_vol_regime"].isna().all()
    assert flat["hmm_fit_bar_start"].notna().all()
    dead = rows[rows["bar_start"] <= frame["bar_start"][300]]
    # the realized-vol detector calls the dead market low (its score sits on both levels), then
    # high once the returns start again
    assert (dead["rv_vol_regime"] == "low").all() and dead["quadrant"].notna().all()
    assert (rows[rows["bar_start"] > frame["bar_start"][300]]["rv_vol_regime"].iloc[:20] == "high").all()
    assert (dead["direction"] == "none").all() and (dead["direction_efficiency_ratio"] == 0).all()
    assert rows["vol_regime"].notna().sum() > 200


def test_sticky_option_keeps_the_transition_matrix():
    r, stormy = regime_switching_returns()
    sticky = load_config_csv(hmm_window_bars=200, hmm_min_fit_bars=130, hmm_fit_transitions=0, hmm_init_stay_prob=0.98)
    fit = vol.fit_hmm(np.abs(r[:200]), sticky)
    assert (fit.stay_low, fit.stay_high) == (0.98, 0.98)
    learned = vol.fit_hmm(np.abs(r[:200]), SMALL)
    assert learned.stay_low != SMALL.hmm_init_stay_prob
    labels = vol.hmm_filter(np.abs(r), sticky, 24)["p_high"]
    ok = np.isfinite(labels)
    assert ((labels >= 0.5) == stormy)[ok].mean() > 0.9


@pytest.mark.parametrize("t", [129, 150, 199, 200, 433, 999])
def test_filtered_probability_equals_hmmlearn_decoding_of_the_trailing_window(t):
    """p_high at t = hmmlearn predict_proba of the window ending at t, last row, under the
    model of the latest refit <= t (expanding windows before 200 returns, full after)."""
    r, _ = regime_switching_returns()
    x = np.abs(r)
    out = vol.hmm_filter(x, SMALL, 24)
    refit = int(out["fit_index"][t])
    assert refit == 129 + ((t - 129) // 24) * 24
    fit = vol.fit_hmm(x[max(0, refit - 199) : refit + 1], SMALL)
    model = GaussianHMM(n_components=2, covariance_type="diag", init_params="", params="")
    model.startprob_ = np.array([1 - fit.start_high, fit.start_high])
    model.transmat_ = np.array([[fit.stay_low, 1 - fit.stay_low], [1 - fit.stay_high, fit.stay_high]])
    model.means_ = np.array([[fit.mean_low], [fit.mean_high]])
    model.covars_ = np.array([[fit.var_low], [fit.var_high]])
    window = x[max(0, t - 199) : t + 1].reshape(-1, 1)
    expected = model.predict_proba(window)[-1, 1]
    assert out["p_high"][t] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert out["mean_high"][t] == fit.mean_high


@settings(max_examples=8, deadline=None)
@given(cut=st.integers(min_value=120, max_value=999))
def test_prefix_invariance_of_every_output(cut):
    """Rows at bars < cut are bit-identical whether or not later bars exist (docs/architecture.md)."""
    r, _ = regime_switching_returns()
    full = bars_frame(r)
    prefix = full.iloc[:cut]
    got = volatility_regime_rows(prefix, SMALL)
    want = volatility_regime_rows(full, SMALL)
    want = want[want["bar_start"] < prefix["bar_start"].max() + pd.Timedelta(days=1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    got_fit = strategy_fit_rows(prefix, SMALL)
    want_fit = strategy_fit_rows(full, SMALL).iloc[: len(got_fit)]
    pd.testing.assert_frame_equal(got_fit, want_fit, check_exact=True)


# --------------------------------------------------------------------------- wavelets
def test_wavelet_constant_series_is_all_approximation():
    shares, entropy = vol.wavelet_energy(np.full((1, 128), 0.01), SEED)
    assert shares[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert shares[0, 1:] == pytest.approx(np.zeros(4), abs=1e-12)
    assert entropy[0] == pytest.approx(0.0, abs=1e-9)


def test_wavelet_alternating_series_is_all_finest_detail():
    shares, entropy = vol.wavelet_energy(np.tile([0.02, -0.02], 64)[None, :], SEED)
    assert vol.wavelet_bands(SEED) == ["a4", "d4", "d3", "d2", "d1"]
    assert shares[0] == pytest.approx([0, 0, 0, 0, 1], abs=1e-12)
    assert entropy[0] == pytest.approx(0.0, abs=1e-12)


def test_wavelet_hand_computed_haar_case_and_no_energy():
    cfg = load_config_csv(wavelet_name="haar", wavelet_level=1, wavelet_window_bars=2)
    # Haar on [1, 3]: a = 4 / sqrt 2 (energy 8), d = -2 / sqrt 2 (energy 2) -> shares .8 / .2
    shares, entropy = vol.wavelet_energy(np.array([[1.0, 3.0], [0.0, 0.0]]), cfg)
    assert shares[0] == pytest.approx([0.8, 0.2], rel=1e-12)
    assert entropy[0] == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2)) / math.log(2), rel=1e-12)
    assert np.isnan(shares[1]).all() and np.isnan(entropy[1])


def test_wavelet_energy_is_conserved_and_rows_are_independent():
    rng = np.random.default_rng(3)
    windows = rng.normal(0, 0.02, (5, 128))
    shares, entropy = vol.wavelet_energy(windows, SEED)
    assert shares.sum(axis=1) == pytest.approx(np.ones(5), rel=1e-12)
    assert ((entropy > 0) & (entropy <= 1)).all()
    one, _ = vol.wavelet_energy(windows[3:4], SEED)
    assert np.array_equal(one[0], shares[3])


# --------------------------------------------------------------------------- direction, quadrant
def test_direction_rules():
    windows = np.array(
        [[0.01] * 20, [-0.01] * 20, [0.01, -0.01] * 10, [0.0] * 20, [0.01] * 13 + [-0.01] * 7]
    )  # ER = 6 / 20 = 0.3 exactly -> a direction
    ret, er, direction = vol.direction_inputs(windows, 0.3)
    assert ret == pytest.approx([0.2, -0.2, 0.0, 0.0, 0.06], abs=1e-15)
    assert er == pytest.approx([1.0, 1.0, 0.0, 0.0, 0.3], abs=1e-12)
    assert list(direction[:4]) == ["up", "down", "none", "none"]
    _, _, just_below = vol.direction_inputs(windows[4:], 0.3 + 1e-9)
    assert just_below[0] == "none"


@pytest.mark.parametrize(
    "vol_regime, direction, expected",
    [
        ("high", "down", "CRISIS"),
        ("high", "up", "EXPANSION"),
        ("high", "none", "EXPANSION"),
        ("low", "up", "NORMAL"),
        ("low", "down", "NORMAL"),
        ("low", "none", "QUIET"),
        (None, "up", None),
        ("low", None, None),
    ],
)
def test_quadrant_table(vol_regime, direction, expected):
    assert vol.quadrant(vol_regime, direction) == expected


# --------------------------------------------------------------------------- Hurst, AR(1), scores
def hurst_textbook(x: np.ndarray, min_chunk: int) -> float:
    """R/S Hurst written as loops straight from the definition."""
    sizes, values = [], []
    n = min_chunk
    while n <= len(x):
        ratios = []
        for k in range(len(x) // n):
            chunk = x[k * n : (k + 1) * n]
            dev = chunk - chunk.mean()
            z = np.cumsum(dev)
            s = math.sqrt((dev**2).mean())
            if s > 0:
                ratios.append((z.max() - z.min()) / s)
        if ratios:
            sizes.append(math.log(n))
            values.append(math.log(sum(ratios) / len(ratios)))
        n *= 2
    return float(np.polyfit(sizes, values, 1)[0])


def test_hurst_hand_computed_cases():
    # alternating +-1: every chunk has R = 1 (cumsum 1, 0, 1, ...) and S = 1 -> R/S = 1 at
    # every size -> H = 0
    assert vol.hurst_rs(np.tile([1.0, -1.0], 128)[None, :], 8)[0] == pytest.approx(0.0, abs=1e-12)
    # a ramp is persistent: R/S grows ~ n -> H near 1
    assert vol.hurst_rs(np.arange(256.0)[None, :], 8)[0] > 0.95
    # constant chunks have S = 0 everywhere: no size has a value -> NaN
    assert np.isnan(vol.hurst_rs(np.ones((1, 256)), 8)[0])
    rng = np.random.default_rng(11)
    windows = rng.normal(0, 0.01, (4, 256))
    got = vol.hurst_rs(windows, 8)
    assert got == pytest.approx([hurst_textbook(w, 8) for w in windows], rel=1e-12)


def test_ar1_hand_case_and_statsmodels():
    phi, intercept = vol.ar1_fit(np.array([[1.0, 2.0, 3.0, 4.0]]))  # pairs (1,2) (2,3) (3,4): y = 1 + x
    assert phi[0] == pytest.approx(1.0, rel=1e-12) and intercept[0] == pytest.approx(1.0, rel=1e-12)
    rng = np.random.default_rng(5)
    r = rng.normal(0, 0.01, 100)
    r[1:] += 0.4 * r[:-1]
    phi, intercept = vol.ar1_fit(r[None, :])
    ols = sm.OLS(r[1:], sm.add_constant(r[:-1])).fit()
    assert phi[0] == pytest.approx(ols.params[1], rel=1e-10)
    assert intercept[0] == pytest.approx(ols.params[0], rel=1e-8, abs=1e-15)
    assert np.isnan(vol.ar1_fit(np.zeros((1, 10)))[0][0])


def test_strategy_fit_scores_hand_cases():
    h_fit, a_fit, trend, mean_rev = vol.strategy_fit_scores(
        np.array([0.7, 0.2, 1.0, 0.5]), np.array([0.2, -0.8, 0.9, 0.0])
    )
    assert h_fit == pytest.approx([0.9, 0.0, 1.0, 0.5])
    assert a_fit == pytest.approx([0.7, 0.0, 1.0, 0.5])
    assert trend == pytest.approx([80.0, 0.0, 100.0, 50.0])
    assert mean_rev == pytest.approx([20.0, 100.0, 0.0, 50.0])


def test_strategy_fit_rows_at_each_days_close():
    r, _ = regime_switching_returns(400)
    daily = strategy_fit_rows(bars_frame(r), SMALL)
    assert list(daily.columns) == STRATEGY_COLUMNS
    assert len(daily) == 400 - 63  # every daily bar from the 64th return on
    hourly = strategy_fit_rows(bars_frame(r, 60, "BTC|meso"), SMALL)
    assert (hourly["bar_start"].dt.hour == 23).all() and len(hourly) > 10
    assert daily["trend_fit"].between(0, 100).all()


# --------------------------------------------------------------------------- toxic bars
def test_toxic_bar_is_excluded_and_counted():
    r, _ = regime_switching_returns(600)
    k = 300
    dirty = r.copy()
    dirty[k] = 0.9  # |r| > 0.5: toxic
    rows = volatility_regime_rows(bars_frame(dirty), SMALL)
    assert list(rows.columns) == volatility_columns(SMALL)
    toxic_start = bars_frame(dirty)["bar_start"][k + 1]
    at = rows.index[rows["bar_start"] == toxic_start][0]
    assert rows.loc[at, "is_toxic"] and rows["is_toxic"].sum() == 1
    labels = [
        "hmm_p_high_vol",
        "hmm_mean_high",
        "wavelet_energy_d1",
        "spectral_entropy",
        "direction_return",
        "quadrant",
    ]
    pd.testing.assert_series_equal(rows.loc[at, labels], rows.loc[at - 1, labels], check_names=False)
    # every other row equals the run on the series with the toxic bar removed
    clean = bars_frame(np.delete(r, k))
    clean_rows = volatility_regime_rows(clean, SMALL)
    others = rows.drop(index=at).reset_index(drop=True)
    compare = [
        c
        for c in volatility_columns(SMALL)
        if c
        not in (
            "bar_start",
            "idx",
            "hmm_fit_bar_start",
            "log_return",
            "abs_log_return",
            "is_toxic",
            "toxic_bars_in_window",
            "prev_vol_regime",
            "prev_quadrant",
            "turbulence",
            "turbulence_drivers",
        )
    ]
    pd.testing.assert_frame_equal(others[compare], clean_rows[compare], check_exact=True)
    # counted inside the decode window of the 200 clean returns behind each later row
    after = rows[rows["bar_start"] > toxic_start]
    counted = after["toxic_bars_in_window"]
    assert (counted.iloc[:199] == 1).all() and (counted.iloc[199:] == 0).all()
    fits = strategy_fit_rows(bars_frame(dirty), SMALL)
    assert fits["toxic_bars_in_window"].max() == 1


# --------------------------------------------------------------------------- turbulence
def test_turbulence_matches_the_textbook_mahalanobis_distance():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 0.01, (80, 3)) @ np.array([[1, 0.5, 0.2], [0, 1, 0.3], [0, 0, 1]])
    got = vol.turbulence(y, 50)
    assert np.isnan(got[:50]).all()
    for t in (50, 64, 79):
        past = y[t - 50 : t]
        d = y[t] - past.mean(axis=0)
        assert got[t] == pytest.approx(d @ np.linalg.inv(np.cov(past, rowvar=False)) @ d, rel=1e-9)


def test_turbulence_rows_use_the_joint_calendar():
    r1, _ = regime_switching_returns(300, seed=1)
    r2, _ = regime_switching_returns(300, seed=2)
    a, b = bars_frame(r1, 60, "BTC|meso"), bars_frame(r2, 60, "ALT|meso")
    b = b.drop(index=[10, 20])  # ALT misses two bars: they leave the joint calendar
    out = turbulence_rows(pd.concat([a, b]), SMALL)
    assert (out["turbulence_drivers"] == 2).all()
    assert len(out) == 300 - 2 - 50
    rows = volatility_regime_rows(pd.concat([a, b]), SMALL, turbulence_drivers=["BTC", "ALT"])
    merged = rows.merge(out, on=["timeframe", "bar_start"], how="left", suffixes=("", "_want"))
    assert np.array_equal(
        merged["turbulence"].to_numpy(float, na_value=np.nan),
        merged["turbulence_want"].to_numpy(float, na_value=np.nan),
        equal_nan=True,
    )
    assert merged["turbulence"].notna().sum() > 200
    assert volatility_regime_rows(a, SMALL)["turbulence"].isna().all()  # no set given


def test_two_frame_input_equals_one_frame_input():
    """The dbt models read series and bars separately (series_sql / bars_sql)."""
    r1, _ = regime_switching_returns(400, seed=1)
    r2, _ = regime_switching_returns(400, seed=2)
    one = pd.concat([bars_frame(r1, 60, "BTC|meso"), bars_frame(r2, 60, "ALT|meso")], ignore_index=True)
    one["series_part"] = np.where(one["driver"] == "BTC", 11, 22)
    series = one.drop_duplicates("series_part").drop(columns=["bar_start", "log_return"])
    bars = one[["series_part", "bar_start", "log_return"]].sample(frac=1.0, random_state=0)  # any order
    drivers = ["BTC", "ALT"]
    pd.testing.assert_frame_equal(
        volatility_regime_rows(bars, SMALL, turbulence_drivers=drivers, series=series),
        volatility_regime_rows(one, SMALL, turbulence_drivers=drivers),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        strategy_fit_rows(bars, SMALL, series=series), strategy_fit_rows(one, SMALL), check_exact=True
    )


# --------------------------------------------------------------------------- batched EM, incremental path
def test_batched_em_equals_hmmlearn_and_is_batch_independent():
    """fit_hmm_batch is hmmlearn's EM (the reference fit_hmm_hmmlearn) up to float rounding, with the
    same iteration counts, and a window's fit does not depend on the other windows of the batch."""
    rng = np.random.default_rng(3)
    windows = [
        np.abs(rng.standard_t(4, n) * np.where((np.arange(n) // 40) % 2 == 1, 0.04, 0.01))
        for n in (130, 154, 200, 200, 178)
    ]
    batch = vol.fit_hmm_batch(windows, SMALL)
    for w, fit in zip(windows, batch):
        ref = vol.fit_hmm_hmmlearn(w, SMALL)
        assert fit.n_iter == ref.n_iter and fit.n_obs == len(w)
        for field in ("mean_low", "mean_high", "var_low", "var_high", "start_high", "stay_low", "stay_high"):
            assert getattr(fit, field) == pytest.approx(getattr(ref, field), rel=1e-10), field
        assert vol.fit_hmm_batch([w], SMALL)[0] == fit  # bit-identical alone
    assert vol.fit_hmm_batch([np.zeros(150)], SMALL) == [None]


@pytest.mark.parametrize("last", [130, 157, 400, 611, 998])
def test_incremental_rows_continue_the_full_run_exactly(last):
    """volatility_regime_rows on a look-back window after a stored row (frontier) returns exactly the
    full run's rows after it (the incremental path of fct_volatility_regimes)."""
    r, _ = regime_switching_returns(1000)
    r[[350, 351, 700]] = [0.8, -0.9, 0.7]  # toxic bars inside the look-backs
    frame = bars_frame(r).assign(series_part=11, idx=lambda f: np.arange(len(f)))
    series = frame.iloc[:1][
        [
            "series_part",
            "series_type",
            "series_id",
            "driver",
            "timeframe",
            "exchange",
            "symbol",
            "bar_interval",
            "interval_minutes",
            "segment_id",
        ]
    ]
    full = volatility_regime_rows(frame[["series_part", "idx", "bar_start", "log_return"]], SMALL, series=series)
    at = full[full["idx"] <= last].iloc[-1]  # the last stored row (rows start at idx 130)
    need = hmm_lookback_clean_returns(SMALL, 1440)  # the rv quantile window (250 + 1 + 10 - 1) is the longest
    assert need == 260
    clean = np.isfinite(frame["log_return"]) & (frame["log_return"].abs() <= SMALL.toxic_abs_log_return)
    upto = clean[: int(at["idx"]) + 1].cumsum()
    # the look-back: from the bar of the need-th last clean return up to the stored row
    start = int(np.flatnonzero(upto.to_numpy() == max(upto.iloc[-1] - need + 1, 1))[0]) if upto.iloc[-1] > need else 0
    lookback = frame[frame["idx"] >= start][["series_part", "idx", "bar_start", "log_return"]]
    frontier = pd.DataFrame(
        {
            "series_part": [11],
            "last_idx": [int(at["idx"])],
            "clean_returns": [int(at["segment_clean_returns"])],
            "rv_vol_regime": [at["rv_vol_regime"]],
        }
    )  # the hysteresis state
    stats: dict = {}
    inc = volatility_regime_rows(lookback, SMALL, series=series, frontier=frontier, stats=stats)
    want = full[full["idx"] > last].reset_index(drop=True)
    assert len(inc) == len(want) > 0
    pd.testing.assert_frame_equal(inc, want, check_exact=True)
    assert stats["hmm_fits"] <= len(vol.refit_points(len(r), 130, 24))
    if start > 0:
        with pytest.raises(ValueError, match="too short"):
            volatility_regime_rows(lookback.iloc[2:], SMALL, series=series, frontier=frontier)


def test_series_part_keeps_every_bit_of_a_64_bit_hash():
    """series_part is an unsigned 64-bit hash: segments below and above 2^63 in one call must not
    pass through float64 (the incremental run finds each segment's frontier by it)."""
    r1, _ = regime_switching_returns(300, seed=1)
    r2, _ = regime_switching_returns(300, seed=2)
    parts = [504234998307001834, 17138554558590582000]  # < 2^63 and > 2^63, not float-representable
    one = pd.concat([bars_frame(r1, 60, "BTC|meso"), bars_frame(r2, 60, "ALT|meso")], ignore_index=True)
    one["series_part"] = np.where(one["driver"] == "BTC", np.uint64(parts[0]), np.uint64(parts[1])).astype(np.uint64)
    series = one.drop_duplicates("series_part").drop(columns=["bar_start", "log_return"])
    out = volatility_regime_rows(one[["series_part", "bar_start", "log_return"]], SMALL, series=series)
    assert sorted(int(p) for p in out["series_part"].unique()) == parts


def _two_driver_bars(n: int = 400) -> pd.DataFrame:
    r1, _ = regime_switching_returns(n, seed=1)
    r2, _ = regime_switching_returns(n, seed=2)
    return pd.concat([bars_frame(r1, 60, "BTC|meso"), bars_frame(r2, 60, "ALT|meso")], ignore_index=True)


def _stored(out: pd.DataFrame) -> pd.DataFrame:
    return out.groupby("timeframe", as_index=False).agg(
        stored_rows=("bar_start", "size"), last_bar_start=("bar_start", "max"), members=("turbulence_drivers", "max")
    )


@pytest.mark.parametrize("cut", [120, 260, 399])
def test_turbulence_rows_after_continue_the_full_rows_exactly(cut):
    """The incremental turbulence (fct_symbol_turbulence) = the full rows after the stored ones."""
    bars = _two_driver_bars()
    full = turbulence_rows(bars, SMALL)
    prefix = turbulence_rows(bars[bars["bar_start"] < bars["bar_start"].iloc[cut]], SMALL)
    rows, replace = turbulence_rows_after(bars, SMALL, _stored(prefix))
    assert replace == []
    want = full[full["bar_start"] > prefix["bar_start"].max()].reset_index(drop=True)
    assert len(rows) == len(want) == 400 - cut + 1
    pd.testing.assert_frame_equal(rows, want, check_exact=True)
    # the adapter's read: from the window-th joint bar before the next row, joint_before = the bars before it
    clean = bars[np.isfinite(bars["log_return"]) & (bars["log_return"].abs() <= SMALL.toxic_abs_log_return)]
    per_bar = clean.groupby("bar_start")["driver"].nunique()
    joint = np.sort(per_bar.index[per_bar == 2].to_numpy())
    last = prefix["bar_start"].max()
    upto = joint[joint <= last]
    start = upto[-SMALL.turbulence_window_bars]
    stored = _stored(prefix).assign(joint_before=len(upto) - SMALL.turbulence_window_bars)
    rows, replace = turbulence_rows_after(bars[bars["bar_start"] >= start], SMALL, stored)
    assert replace == []
    pd.testing.assert_frame_equal(rows, want, check_exact=True)
    with pytest.raises(ValueError, match="look-back"):  # one joint bar short of the window
        turbulence_rows_after(
            bars[bars["bar_start"] > start], SMALL, stored.assign(joint_before=stored["joint_before"] + 1)
        )


@pytest.mark.parametrize("cut", [0, 30, 200, 399])
def test_turbulence_rows_since_a_bar_are_the_full_rows_from_it(cut):
    """turbulence_rows(since=...) (the volatility model's incremental runs: only the new
    bars' turbulence) gives exactly the full rows from that bar on, and skips a timeframe
    that is not asked for."""
    bars = _two_driver_bars()
    full = turbulence_rows(bars, SMALL)
    since = bars["bar_start"].iloc[cut]
    rows = turbulence_rows(bars, SMALL, since={"meso": since})
    want = full[full["bar_start"] >= since].reset_index(drop=True)
    assert len(rows) == len(want) > 0
    pd.testing.assert_frame_equal(rows, want, check_exact=True)
    assert turbulence_rows(bars, SMALL, since={"macro": since}).empty


def test_turbulence_rows_after_recompute_a_changed_cross_section():
    """A member that joins or leaves, or bars filled in before the last stored row (a member's
    hole back-filled), change rows already stored: the cross-section is recomputed whole and
    named for deletion. A member that only lagged continues (its bars after the last joint bar
    were never on the calendar)."""
    bars = _two_driver_bars()
    starts = bars["bar_start"].drop_duplicates().sort_values().to_numpy()
    alt = bars["driver"] == "ALT"
    hole = alt & bars["bar_start"].between(starts[200], starts[210])
    rows, replace = turbulence_rows_after(bars, SMALL, _stored(turbulence_rows(bars[~hole], SMALL)))
    assert replace == ["meso"]
    pd.testing.assert_frame_equal(rows, turbulence_rows(bars, SMALL), check_exact=True)
    lagging = alt & (bars["bar_start"] >= starts[300])
    rows, replace = turbulence_rows_after(bars, SMALL, _stored(turbulence_rows(bars[~lagging], SMALL)))
    full = turbulence_rows(bars, SMALL)
    assert replace == [] and len(rows) == 101
    pd.testing.assert_frame_equal(rows, full[full["bar_start"] >= starts[300]].reset_index(drop=True), check_exact=True)
    third = bars_frame(regime_switching_returns(400, seed=3)[0], 60, "ETH|meso")
    joined, replace = turbulence_rows_after(pd.concat([bars, third]), SMALL, _stored(turbulence_rows(bars, SMALL)))
    assert replace == ["meso"] and (joined["turbulence_drivers"] == 3).all()
    gone, replace = turbulence_rows_after(bars[~alt], SMALL, _stored(turbulence_rows(bars, SMALL)))
    assert replace == ["meso"] and len(gone) == 0  # one member left: no cross-section


def test_attach_driver_turbulence_equals_the_engines_column():
    bars = _two_driver_bars()
    want = volatility_regime_rows(bars, SMALL, turbulence_drivers=["BTC", "ALT"])
    got = attach_driver_turbulence(volatility_regime_rows(bars, SMALL), turbulence_rows(bars, SMALL))
    assert want["turbulence"].notna().sum() > 100
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# --------------------------------------------------------------------------- realized-vol percentile (vol_regime)
def test_rv_building_blocks_by_hand():
    # ln sqrt(mean r^2): c0 over [0.1] -> ln 0.1; c1 over [0.1, -0.2]; c2 over [-0.2, 0.2] -> ln 0.2
    got = vol.log_realized_vol(np.array([0.1, -0.2, 0.2]), 2)
    np.testing.assert_allclose(got, [math.log(0.1), 0.5 * math.log(0.025), math.log(0.2)], rtol=1e-15)
    # the hysteresis continues from a stored label: 0.5 is between the levels (keeps high), 0.2 exits
    np.testing.assert_array_equal(vol.hysteresis(np.array([0.5, 0.2]), 0.7, 0.4, initial=vol.HIGH), [1, 0])
    np.testing.assert_array_equal(vol.hysteresis(np.array([0.5, 0.2]), 0.7, 0.4), [0, 0])
    np.testing.assert_array_equal(vol.hysteresis(np.array([np.nan, 0.8]), 0.7, 0.4, initial=vol.LOW), [0, 1])


def test_rv_look_back_values_equal_the_whole_sequence():
    """A look-back that starts later (an incremental run) gives the whole call's realized vol and
    quantile levels bit for bit; one too short to hold a window is an error."""
    x = np.random.default_rng(5).normal(0, 0.02, 400)
    whole = vol.log_realized_vol(x, 7)
    assert np.array_equal(vol.log_realized_vol(x[100:], 7)[6:], whole[106:])
    levels = vol.scheduled_quantiles(whole, min_bars=50, every=3, window=40, qs=[0.9, 0.3])
    part = vol.scheduled_quantiles(whole[200:], min_bars=50, every=3, window=40, qs=[0.9, 0.3], offset=200, first=250)
    assert np.isnan(part[:, :50]).all()
    assert np.array_equal(part[:, 50:], levels[:, 250:])
    with pytest.raises(ValueError, match="window starts"):
        vol.scheduled_quantiles(whole[240:], min_bars=50, every=3, window=40, qs=[0.9], offset=240, first=250)


def test_rv_percentile_recovers_known_switch_points():
    """Hourly returns with sd 1% (bars 1-3000), 3% (3001-4000), 1% (4001-6000) under the seed's
    hourly settings (rv 12 bars, levels 0.9 / 0.3 of 2160 bars, updated every 24): rv_vol_regime
    turns high within 6 bars of the switch up and low within 36 (3 realized-vol windows) of the
    switch down (the lags documented in docs/volatility-regimes.md: over seeds 11-20 at most 4
    and 32), holds high on the whole stormy block after that, and here stays low on the calm
    block after it (its levels still hold the stormy values)."""
    rng = np.random.default_rng(11)
    r = rng.normal(0.0, np.r_[np.full(3000, 0.01), np.full(1000, 0.03), np.full(2000, 0.01)])
    rows = volatility_regime_rows(bars_frame(r, 60, "BTC|meso"), SEED)
    label = pd.Series((rows["rv_vol_regime"] == "high").to_numpy(), index=rows["bar_start"])
    bar = pd.date_range("2022-01-01", periods=len(r) + 1, freq="60min")  # bar k holds return k - 1
    up = label[bar[3001] :].idxmax()
    down = label[bar[4001] :].idxmin()
    assert (up - bar[3001]) / pd.Timedelta(hours=1) <= 6
    assert (down - bar[4001]) / pd.Timedelta(hours=1) <= 36
    assert label[up : bar[4000]].all()
    assert not label[down:].any()
    assert (rows["vol_regime"] == rows["rv_vol_regime"]).all()  # the seed's default detector


def test_vol_regime_follows_the_configured_detector():
    r, _ = regime_switching_returns()
    hmm = volatility_regime_rows(bars_frame(r), load_config_csv(vol_regime_detector="hmm", **SMALL_OVERRIDES))
    assert (hmm["vol_regime"].astype(object) == hmm["hmm_vol_regime"].astype(object)).all()
    assert (hmm["quadrant"].notna()).all()
    with pytest.raises(ValueError, match="vol_regime_detector must be one of"):
        load_config_csv(vol_regime_detector="garch")


def test_compiled_and_numpy_filters_return_the_same_bits():
    """The filter runs compiled for large batches and as numpy for small ones (an hourly update):
    the same float operations in the same order, so the same bits, full-length and shorter
    (expanding) windows alike."""
    from market_regimes.engines.hmm_kernels import forward_high

    rng = np.random.default_rng(9)
    lam = np.exp(rng.normal(0, 2, 5000))
    length = np.r_[np.full(300, 50), rng.integers(1, 50, 40)]
    idx0 = rng.integers(0, len(lam) - 50, len(length))
    start, a_lh = rng.uniform(0, 1, len(length)), rng.uniform(0, 0.3, len(length))
    slope = rng.uniform(0.2, 0.9, len(length))
    numpy_p = vol.forward_high_numpy(lam, idx0, length, start, a_lh, slope)
    assert np.array_equal(forward_high(lam, idx0, length, start, a_lh, slope), numpy_p)
    assert np.array_equal(vol.filtered_high(lam, idx0, length, start, a_lh, slope), numpy_p)
    # by hand, one window of two steps: p1 = s l1 / (s l1 + 1 - s); p2 with pred = a + p1 (h - a)
    s, a, h, l1, l2 = 0.5, 0.1, 0.8, 2.0, 3.0
    p1 = s * l1 / ((1 - s) + s * l1)
    pred = p1 * (h - a) + a
    want = pred * l2 / ((1 - pred) + pred * l2)
    got = vol.forward_high_numpy(
        np.array([l1, l2]), np.array([0]), np.array([2]), np.array([s]), np.array([a]), np.array([h - a])
    )
    assert got[0] == want


@pytest.mark.parametrize("shape", [(7, 1), (5, 8), (3, 4, 64), (6, 65), (2, 500), (9,), (0, 8)])
def test_lastsum_is_the_last_element_of_cumsum_bit_for_bit(shape):
    # the column-by-column form (rows <= 64 wide) adds in the same order as cumsum: same bits
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    a = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, size=shape)
    expected = np.cumsum(a, axis=-1)[..., -1]
    got = vol._lastsum(a)
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    assert not np.shares_memory(got, a)


def test_segments_on_threads_give_the_serial_rows(monkeypatch):
    """The segments (and the HMM refit windows) run on the engine threads when the bars are
    many; forced here on two small series: the same rows, bit for bit, as one thread."""
    from market_regimes import parallel

    bars = _two_driver_bars(600)
    monkeypatch.setenv("MARKET_REGIMES_ENGINE_THREADS", "1")
    serial = volatility_regime_rows(bars, SMALL, turbulence_drivers=["BTC", "ALT"])
    monkeypatch.setenv("MARKET_REGIMES_ENGINE_THREADS", "2")
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_WORKER", 1)
    threaded = volatility_regime_rows(bars, SMALL, turbulence_drivers=["BTC", "ALT"])
    assert len(serial) > 0 and serial["turbulence"].notna().any()
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)


def test_stale_driver_turbulence_of_a_continued_cross_section_is_looked_for_after_its_last_stored_value():
    """adapters.volatility_sql: the stored driver sections (bars with a turbulence value) and
    the stale rows. meso is continued after 03:00 (its last stored value), so its rows up to
    03:00 are not compared (the run computed no turbulence for them); its 04:00 row, stored
    without a value (a lagging member), now has one: stale. macro is not continued: every
    row is compared, and its 00:00 value changed: stale. A symbol row equal to
    fct_symbol_turbulence is not."""
    import duckdb

    from market_regimes.adapters import volatility_sql as q

    con = duckdb.connect()
    con.execute(
        "create table stored (series_type varchar, timeframe varchar, exchange varchar, bar_interval varchar, "
        "bar_start timestamp, turbulence double, turbulence_drivers integer)"
    )
    con.execute(
        """insert into stored values
        ('driver', 'meso', null, '1h', '2024-01-01 01:00', 1.0, 3),
        ('driver', 'meso', null, '1h', '2024-01-01 02:00', 2.0, 3),
        ('driver', 'meso', null, '1h', '2024-01-01 02:00', 2.0, 3),
        ('driver', 'meso', null, '1h', '2024-01-01 03:00', 3.0, 3),
        ('driver', 'meso', null, '1h', '2024-01-01 04:00', null, null),
        ('driver', 'macro', null, '1d', '2024-01-01 00:00', 5.0, 2),
        ('symbol', 'meso', 'bybit', '1h', '2024-01-01 01:00', 7.0, 4)"""
    )
    sections = con.sql(q.stored_driver_sections_sql("stored")).fetchall()
    assert sorted(sections) == [
        ("macro", 1, pd.Timestamp("2024-01-01 00:00"), 2),
        ("meso", 3, pd.Timestamp("2024-01-01 03:00"), 3),
    ]
    con.execute(
        """create table driver_turbulence as select * from (values
        ('meso', timestamp '2024-01-01 04:00', 4.0, 3), ('macro', timestamp '2024-01-01 00:00', 5.5, 2))
        as t(timeframe, bar_start, turbulence, turbulence_drivers)"""
    )
    con.execute(
        "create table symbol_turbulence as select 'bybit' as exchange, '1h' as bar_interval, "
        "timestamp '2024-01-01 01:00' as bar_start, 7.0::double as turbulence, 4 as turbulence_symbols"
    )
    con.execute("create table continued as select 'meso' as timeframe, timestamp '2024-01-01 03:00' as last_bar_start")
    stale = con.sql(
        "select timeframe, bar_start from ("
        + q.stale_turbulence_sql("stored", "driver_turbulence", "symbol_turbulence", "continued")
        + ") order by all"
    ).fetchall()
    assert stale == [("macro", pd.Timestamp("2024-01-01 00:00")), ("meso", pd.Timestamp("2024-01-01 04:00"))]
