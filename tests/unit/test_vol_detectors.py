"""The volatility-regime detector candidates (market_regimes.research.vol_detectors).

Building blocks on hand-worked numbers; every candidate's point-in-time property (labels on a
prefix of a series equal the first labels of the whole series), determinism, and a
synthetic series with two known volatility levels where each candidate finds the switch
points within a documented lag. GARCH tests need the ``arch`` package (skipped without it).

The synthetic series (seeds 0..4): blocks of 400 bars alternating between sigma 0.04 and
0.01 (high first), 2,400 bars; labels start at bar 800 (``min_bars``), so the windows of 800
hold exactly one high and one low block; true switches at 800 (up), 1200 (down), 1600 (up),
2000 (down). Measured lags (bars from a true switch to the first bar with the new label,
max over the seeds 0..7): RV percentile 29, HMM on log RV 14, sticky HMM 25, GARCH 115 (its
conditional variance decays slowly after a calm-down: beta near 1). The bounds below add a
margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from market_regimes.research import vol_detectors as vd

SEEDS = range(5)
SWITCHES = (800, 1200, 1600, 2000)
TRUTH = np.tile(np.r_[np.ones(400), np.zeros(400)], 3)

RV = vd.RVPercentileParams(rv_bars=10, pct_window_bars=800, pct_every_bars=10, q_enter=0.7, q_exit=0.3, min_bars=800)
HMM = vd.HmmLogRVParams(rv_bars=10, window_bars=800, refit_every_bars=100, p_enter=0.7, p_exit=0.3, min_bars=800)
STICKY = vd.HmmLogRVParams(
    rv_bars=10,
    window_bars=800,
    refit_every_bars=100,
    p_enter=0.7,
    p_exit=0.3,
    min_bars=800,
    fit_transitions=False,
    init_stay_prob=0.99,
    min_dwell_bars=50,
)
GARCH = vd.GarchParams(window_bars=800, refit_every_bars=100, q_enter=0.7, q_exit=0.3, min_bars=800)

# candidate -> (labels function, max lag in bars, min share of bars labelled right from bar 800)
CANDIDATES = {
    "rv_percentile": (lambda x: vd.rv_percentile_labels(x, RV), 40, 0.94),
    "hmm_logrv": (lambda x: vd.hmm_logrv_labels(x, HMM), 20, 0.96),
    "hmm_sticky": (lambda x: vd.hmm_logrv_labels(x, STICKY), 30, 0.9),
    "garch_percentile": (lambda x: vd.garch_labels(x, GARCH), 130, 0.8),
}


def synthetic(seed: int) -> np.ndarray:
    sigma = np.tile(np.r_[np.full(400, 0.04), np.full(400, 0.01)], 3)
    return np.random.default_rng(seed).standard_normal(len(sigma)) * sigma


def labels_of(name: str):
    if name == "garch_percentile":
        pytest.importorskip("arch")
    return CANDIDATES[name][0]


# --------------------------------------------------------------------------- building blocks
def test_log_realized_vol_by_hand():
    # c0: mean 0.01; c1: (0.01 + 0.04) / 2; c2: (0.04 + 0.04) / 2 -> ln sqrt(mean)
    got = vd.log_realized_vol(np.array([0.1, -0.2, 0.2]), 2)
    np.testing.assert_allclose(got, [math.log(0.1), 0.5 * math.log(0.025), math.log(0.2)], rtol=1e-12)
    # a window of zeros is floored, not -inf
    assert vd.log_realized_vol(np.zeros(2), 2, floor=1e-20)[1] == pytest.approx(0.5 * math.log(1e-20))


def test_scheduled_quantiles_by_hand():
    # refits at 2 and 6 (min_bars 3, every 4); windows of 3: [0, 1, 2] -> median 1, [4, 5, 6] -> 5
    got = vd.scheduled_quantiles(np.arange(10.0), min_bars=3, every=4, window=3, qs=[0.5, 1.0])
    np.testing.assert_array_equal(got[0], [np.nan, np.nan, 1, 1, 1, 1, 5, 5, 5, 5])
    np.testing.assert_array_equal(got[1], [np.nan, np.nan, 2, 2, 2, 2, 6, 6, 6, 6])
    # an expanding window before the first full one: refit 2 of window 5 reads [0, 1, 2]
    got = vd.scheduled_quantiles(np.arange(10.0), min_bars=3, every=4, window=5, qs=[0.5])
    np.testing.assert_array_equal(got[0], [np.nan, np.nan, 1, 1, 1, 1, 4, 4, 4, 4])


def test_scheduled_quantiles_leave_out_missing_scores():
    # windows of 3 from refit 2 on, every bar: [nan, nan, 1] -> 1, [nan, 1, 2] -> 1.5, [1, 2, 3] -> 2
    score = np.array([np.nan, np.nan, 1.0, 2.0, 3.0])
    got = vd.scheduled_quantiles(score, min_bars=3, every=1, window=3, qs=[0.5], omit_nan=True)
    np.testing.assert_array_equal(got[0], [np.nan, np.nan, 1.0, 1.5, 2.0])


def test_intraday_log_rv_by_hand():
    times = np.array(
        ["2024-01-01T21:00", "2024-01-01T22:00", "2024-01-01T23:00", "2024-01-02T00:00"], dtype="datetime64[m]"
    )
    x = np.array([0.1, 0.2, 0.2, 0.3])
    days = np.array(["2023-12-31", "2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[m]")
    # day 1: the 23:00 bar, RV of (0.2, 0.2); day 2: its only bar 00:00, RV of (0.2, 0.3); other days: none
    got = vd.intraday_log_rv([(times, x)], 2, days, bar_minutes=60)
    np.testing.assert_allclose(got, [np.nan, math.log(0.2), 0.5 * math.log(0.065), np.nan], rtol=1e-12)
    # point in time: the bars after a day's close do not change its value
    np.testing.assert_array_equal(vd.intraday_log_rv([(times[:3], x[:3])], 2, days[:2], bar_minutes=60), got[:2])


def test_hysteresis_by_hand():
    score = np.array([0.5, 0.8, 0.6, 0.3, 0.6, 0.9, np.nan, 0.2])
    np.testing.assert_array_equal(vd.hysteresis(score, 0.7, 0.4), [0, 1, 1, 0, 0, 1, 1, 0])
    # no label before the first finite score; the first one enters directly when it is high
    np.testing.assert_array_equal(vd.hysteresis(np.array([np.nan, 0.8, 0.5]), 0.7, 0.4), [np.nan, 1, 1])
    # thresholds per index (a NaN threshold keeps the label)
    np.testing.assert_array_equal(
        vd.hysteresis(np.array([1.0, 1.0, 1.0]), np.array([2.0, 0.5, np.nan]), 0.0), [0, 1, 1]
    )


def test_min_dwell_by_hand():
    # first label free; the change at 1 holds to 4 (the raw low run 2-3 is dropped); the low at 7 stays
    raw = np.array([0, 1, 0, 0, 1, 1, 1, 0, 0, 0], dtype=float)
    np.testing.assert_array_equal(vd.min_dwell(raw, 3), [0, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    # a raw change that still holds when the dwell ends takes over then
    raw = np.array([np.nan, 0, 1, 0, 0, 0, 0], dtype=float)
    np.testing.assert_array_equal(vd.min_dwell(raw, 3), [np.nan, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(vd.min_dwell(raw, 0), raw)


def test_clean_to_bars_and_shuffle():
    np.testing.assert_array_equal(
        vd.clean_to_bars(np.array([1.0, 0.0]), np.array([False, True, False, True])), [np.nan, 1.0, 1.0, 0.0]
    )
    r = np.array([np.nan, 0.1, 0.2, 0.3, -0.1])
    a, b = vd.shuffled_returns(r, 3), vd.shuffled_returns(r, 3)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[0]) and sorted(a[1:]) == sorted(r[1:])


def test_forward_rv_by_hand():
    r = np.array([np.nan, 0.1, 0.2, -0.2, 0.1])
    clean = np.isfinite(r)
    got = vd.forward_rv(r, clean, np.zeros(5), 2)
    np.testing.assert_allclose(got, [math.sqrt(0.025), 0.2, math.sqrt(0.025), np.nan, np.nan], rtol=1e-12)
    # a toxic bar counts in neither sum; a span crossing a segment has no value
    got = vd.forward_rv(r, clean & (np.arange(5) != 3), np.array([0, 0, 0, 0, 1]), 2)
    np.testing.assert_allclose(got, [math.sqrt(0.025), 0.2, np.nan, np.nan, np.nan], rtol=1e-12)


def test_separation_changes_and_oracle_by_hand():
    fv = np.array([1.0, 2.0, 3.0, 6.0])
    sep = vd.separation(fv, np.array([0, 1, 0, 1.0]))
    assert (sep["mean_high"], sep["mean_low"], sep["ratio"], sep["share_high"]) == (4.0, 2.0, 2.0, 0.5)
    rate, changes, bars = vd.changes_per_100(np.array([0, 1, 1, np.nan, 0, 0]), np.array([0, 0, 0, 0, 1, 1]))
    assert (rate, changes, bars) == (20.0, 1, 5)
    np.testing.assert_array_equal(vd.oracle_labels(fv, np.array(["a"] * 4), np.ones(4, bool)), [0, 0, 1, 1])


def test_ratio_intervals_of_constant_regimes():
    # fv 2 in high, 1 in low everywhere: every resample gives exactly 2
    labels = np.tile([1.0, 0.0, 0.0, 1.0], 50)
    fv = np.where(labels == 1, 2.0, 1.0)
    series = np.repeat(["a", "b"], 100)
    assert vd.ratio_ci(fv, labels, series, np.ones(200, bool), block=5, n_boot=200) == (2.0, 2.0, 2.0)
    starts = np.tile(np.arange(100), 2)
    assert vd.calendar_ratio_ci(fv, labels, starts, np.ones(200, bool), block=5, n_boot=200) == (2.0, 2.0, 2.0)


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        vd.RVPercentileParams(q_enter=0.3, q_exit=0.5)
    with pytest.raises(ValueError):
        vd.HmmLogRVParams(p_enter=1.2)
    with pytest.raises(ValueError):
        vd.GarchParams(window_bars=5)


# --------------------------------------------------------------------------- model pieces
def test_hmm_filter_is_hmmlearns_filtered_probability():
    from hmmlearn.hmm import GaussianHMM

    x = synthetic(0)
    prob = vd.hmm_logrv_probability([x], HMM)[0]
    y = vd.log_realized_vol(x, HMM.rv_bars)
    for c in (799, 850, 1234, 2399):
        r = 799 + (c - 799) // HMM.refit_every_bars * HMM.refit_every_bars  # the refit in force at c
        lo = max(0, r - HMM.window_bars + 1)
        fit = vd.fit_hmm_logrv(y[lo : r + 1], HMM)
        model = GaussianHMM(n_components=2, covariance_type="diag")
        model.startprob_ = np.array([1 - fit.start_high, fit.start_high])
        model.transmat_ = np.array([[1 - fit.low_to_high, fit.low_to_high], [1 - fit.stay_high, fit.stay_high]])
        model.means_ = np.array([[fit.mean_low], [fit.mean_high]])
        model.covars_ = np.array([[fit.var_low], [fit.var_high]])
        # the last smoothed posterior of a window is the filtered probability at its end
        assert prob[c] == pytest.approx(model.predict_proba(y[lo : c + 1].reshape(-1, 1))[-1, 1], rel=1e-9, abs=1e-12)
    assert np.isnan(prob[:799]).all() and np.isfinite(prob[799:]).all()


def test_garch_score_is_the_garch_recursion():
    pytest.importorskip("arch")
    x = synthetic(1)
    ((score, thr),) = vd.garch_score([x], GARCH, [0.3, 0.7])
    r, c = 899, 950  # refit 899 labels 899 .. 998
    lo = r - GARCH.window_bars + 1
    omega, alpha, beta = vd.fit_garch(x[lo : r + 1], GARCH.scale)
    assert 0 < alpha < 1 and 0 < beta < 1 and alpha + beta <= 1 + 1e-9  # arch bounds the persistence at 1
    xs = x * GARCH.scale
    s2 = float(np.mean(xs[lo : r + 1] ** 2))
    path = []
    for t in range(lo, c + 1):
        s2 = omega + alpha * xs[t] ** 2 + beta * s2  # sigma^2 of t + 1, known at t
        path.append(0.5 * math.log(s2))
    assert score[c] == pytest.approx(path[-1], rel=1e-10)
    assert thr[1, c] == pytest.approx(np.quantile(path[: r + 1 - lo], 0.7), rel=1e-10)


# --------------------------------------------------------------------------- candidates
@pytest.mark.parametrize("name", list(CANDIDATES))
def test_prefix_invariance(name):
    labels = labels_of(name)
    x = synthetic(2)
    full = labels(x)
    for m in (900, 1234, 1899):  # inside refit blocks and threshold schedules
        np.testing.assert_array_equal(labels(x[:m]), full[:m])


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_determinism(name):
    labels = labels_of(name)
    x = synthetic(3)
    a, b = labels(x), labels(x.copy())
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[:799]).all() and np.isin(a[799:], [0.0, 1.0]).all()


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_synthetic_switch_points(name):
    labels = labels_of(name)
    _, max_lag, min_accuracy = CANDIDATES[name]
    for seed in SEEDS:
        lab = labels(synthetic(seed))
        assert lab[799] == 0.0  # bar 799 is the last of a low block
        for s in SWITCHES:
            new = TRUTH[s]
            lag = int(np.argmax(lab[s:] == new))
            assert lab[s + lag] == new and lag <= max_lag, (name, seed, s, lag)
        assert np.mean(lab[800:] == TRUTH[800:]) >= min_accuracy, (name, seed)
