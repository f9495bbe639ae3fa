"""Volatility-regime detector candidates and the measures that compare them (research).

The warehouse's volatility regime (``marts.fct_volatility_regimes.vol_regime``: a 2-state
Gaussian HMM on single-bar |log returns|, docs/volatility-regimes.md) separates future
volatility weakly and flips often. This module holds the candidates it is measured
against, as pure functions, and the measures themselves; ``benchmarks/vol_detectors.py``
runs them on a built warehouse (tuning on the first 60% of each series, reporting on the
last 40%).

**Input of every candidate**: one series segment's *clean* log returns ``x`` in time
order (finite, |x| <= the seed's ``toxic_abs_log_return``: the same returns the model's
HMM reads; a toxic bar carries the label of the clean return before it, as in the model).
Index ``c`` is the position in that clean sequence.

**Output**: labels over the clean indices, float: 1.0 = high volatility, 0.0 = low, NaN =
no label. Like the model's first HMM fit, labels start at clean index ``min_bars - 1``
(``min_bars`` clean returns seen; 250 = the seed's ``hmm_min_fit_bars``, so every
candidate labels exactly the bars the model labels). Windows are *expanding* until they
are full.

**Point in time**: the label at c uses x[0..c] only. Refits and threshold updates happen
at the clean indices ``min_bars - 1 + j * every`` (the engine's ``refit_points``) and use
the trailing window ending there; a label uses the last refit at or before it. Every
reduction along time is sequential (``np.cumsum``, ``scipy.signal.lfilter``, a forward
recursion) and every fit depends on its window only, so a prefix of a series gets exactly
the first labels of the whole series (tests/unit/test_vol_detectors.py). Fits are
deterministic: hmmlearn starts from fixed parameters (no k-means draw, ``random_state``
fixed), ``arch`` from its deterministic starting-value grid.

The candidates (project definitions; each constant is a field of its parameter class):

* :class:`RVPercentileParams` — trailing realized volatility percentile with hysteresis:
  score_c = ln sqrt(mean of x^2 over the last ``rv_bars`` returns); every
  ``pct_every_bars`` the ``q_enter`` and ``q_exit`` quantiles of the score over the last
  ``pct_window_bars`` clean indices are taken; the label enters high when the score is
  >= the q_enter quantile and leaves it when the score is < the q_exit quantile (Schmitt
  trigger). Also the "plain trailing-quantile rule" baseline at fixed settings.
* :class:`HmmLogRVParams` — a 2-state Gaussian HMM (hmmlearn ``GaussianHMM``) on
  y_c = ln RV over ``rv_bars`` returns: refitted every ``refit_every_bars`` on the last
  ``window_bars`` values of y; the filtered probability of the high state (the larger
  mean) at c, from the forward recursion over the refit's window up to c, enters high at
  >= ``p_enter`` and leaves below ``p_exit``. ``fit_transitions = False`` keeps the
  transition matrix at ``init_stay_prob`` (a sticky HMM); ``min_dwell_bars`` > 0 holds
  every label at least that many clean bars (:func:`min_dwell`).
* the same percentile rule on a daily series with an intraday score (:func:`intraday_log_rv`:
  the log RV of the market's last ``rv_bars`` 1h returns up to the day's close), so a daily
  regime reads 24 returns a day instead of one;
* :class:`GarchParams` — GARCH(1,1) (``arch``, zero mean, normal errors) refitted every
  ``refit_every_bars`` on the last ``window_bars`` returns (scaled by ``scale`` for the
  optimiser); score_c = ln of the one-step-ahead conditional standard deviation
  sigma_{c+1} (uses x up to c), the recursion started at the window's mean square;
  thresholds = the q_enter / q_exit quantiles of the same refit's score over its window.

The measures (they look ahead BY DESIGN and never feed a detector):

* :func:`forward_rv` — forward realized vol of bar t: sqrt(mean of r^2 over the clean
  returns of bars t+1..t+h), NaN when bar t+h is not in the segment;
* :func:`separation` — mean forward vol in the high regime / in the low regime;
* :func:`changes_per_100` — label changes between consecutive labelled bars of a
  segment per 100 labelled bars; :func:`ratio_ci` / :func:`calendar_ratio_ci` — the
  separation with a block-bootstrap interval (the research package's helpers:
  ``grid_outcomes.bootstrap_means``, blocks resampled within each series; and
  ``regime_findings.calendar_bootstrap``, whole bar starts resampled together);
* :func:`oracle_labels` — the look-ahead reference: high = forward vol above its median.

Pure Python (numpy, scipy, pandas; hmmlearn / arch imported where used): no dbt, no SQL.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from market_regimes.engines.volatility import (
    HIGH,
    LOW,
    deterministic_gaussian_hmm,
    hysteresis,
    log_realized_vol,
    refit_points,
    scheduled_quantiles,
)  # noqa: F401  (re-exported: the engine's rule is the research's)
from market_regimes.research.grid_outcomes import bootstrap_means, percentile_interval
from market_regimes.research.regime_findings import calendar_bootstrap, grouped_sums


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class RVPercentileParams:
    """Trailing realized-vol percentile with hysteresis (module docstring).

    rv_bars: returns in the realized-vol window (24 = one day of 1h bars; 20 daily).
    pct_window_bars: clean indices in the trailing window the quantiles come from (720 =
        30 days of 1h bars).
    pct_every_bars: the quantiles are recomputed every this many clean indices (24: daily on
        1h bars; 1 = every bar).
    q_enter, q_exit: quantile levels, 0 <= q_exit <= q_enter <= 1.
    min_dwell_bars: hold each label at least this many clean bars (0: off).
    min_bars: first label at clean index min_bars - 1 (250, as the model's first HMM fit).
    rv_floor: floor of the mean squared return before the log (a window of zero returns).
    """

    rv_bars: int = 24
    pct_window_bars: int = 720
    pct_every_bars: int = 24
    q_enter: float = 0.7
    q_exit: float = 0.4
    min_dwell_bars: int = 0
    min_bars: int = 250
    rv_floor: float = 1e-20

    def __post_init__(self) -> None:
        _check_common(self.min_bars, self.min_dwell_bars)
        if self.rv_bars < 1 or self.pct_window_bars < 1 or self.pct_every_bars < 1:
            raise ValueError(f"RVPercentileParams: window sizes must be >= 1: {self}")
        _check_levels(self.q_enter, self.q_exit, "q")


@dataclass(frozen=True)
class HmmLogRVParams:
    """2-state Gaussian HMM on log realized volatility (module docstring).

    rv_bars: returns in the realized-vol window of the HMM's observation.
    window_bars: observations in a fit window (and in the filter's look-back).
    refit_every_bars: clean indices between refits (720 = 30 days of 1h bars).
    n_iter, tol: EM iterations and hmmlearn's convergence tolerance (log-likelihood gain).
    init_low_quantile, init_high_quantile: EM starts the state means at these quantiles of
        the window; both variances at the window's variance; start probabilities 1/2.
    init_stay_prob: EM's starting stay probability of both states; with
        fit_transitions = False the transitions stay there (a sticky HMM).
    min_covar: hmmlearn's variance floor (squared log units).
    random_state: hmmlearn random_state (nothing is drawn: the start is fixed).
    p_enter, p_exit: enter high at P(high) >= p_enter, leave below p_exit.
    min_dwell_bars, min_bars, rv_floor: as :class:`RVPercentileParams`.
    """

    rv_bars: int = 24
    window_bars: int = 1000
    refit_every_bars: int = 720
    n_iter: int = 20
    tol: float = 1e-4
    init_low_quantile: float = 0.25
    init_high_quantile: float = 0.75
    init_stay_prob: float = 0.98
    fit_transitions: bool = True
    min_covar: float = 1e-3
    random_state: int = 0
    p_enter: float = 0.7
    p_exit: float = 0.3
    min_dwell_bars: int = 0
    min_bars: int = 250
    rv_floor: float = 1e-20

    def __post_init__(self) -> None:
        _check_common(self.min_bars, self.min_dwell_bars)
        if self.rv_bars < 1 or self.window_bars < 2 or self.refit_every_bars < 1 or self.n_iter < 1:
            raise ValueError(f"HmmLogRVParams: window sizes and n_iter must be positive: {self}")
        if not 0 < self.init_stay_prob < 1 or not 0 <= self.init_low_quantile < self.init_high_quantile <= 1:
            raise ValueError(f"HmmLogRVParams: bad EM start: {self}")
        _check_levels(self.p_enter, self.p_exit, "p")


@dataclass(frozen=True)
class GarchParams:
    """GARCH(1,1) conditional-volatility percentile with hysteresis (module docstring).

    window_bars: returns in a fit window; the quantiles come from the same window.
    refit_every_bars: clean indices between refits.
    q_enter, q_exit: quantile levels as :class:`RVPercentileParams`.
    scale: returns are multiplied by this for the optimiser (arch's advice: |r| ~ 1..1000).
    min_dwell_bars, min_bars: as :class:`RVPercentileParams`.
    """

    window_bars: int = 1000
    refit_every_bars: int = 720
    q_enter: float = 0.7
    q_exit: float = 0.4
    scale: float = 100.0
    min_dwell_bars: int = 0
    min_bars: int = 250

    def __post_init__(self) -> None:
        _check_common(self.min_bars, self.min_dwell_bars)
        if self.window_bars < 10 or self.refit_every_bars < 1 or not self.scale > 0:
            raise ValueError(f"GarchParams: bad window, cadence or scale: {self}")
        _check_levels(self.q_enter, self.q_exit, "q")


def _check_common(min_bars: int, min_dwell: int) -> None:
    if min_bars < 1 or min_dwell < 0:
        raise ValueError(f"min_bars = {min_bars} must be >= 1 and min_dwell_bars = {min_dwell} >= 0")


def _check_levels(enter: float, exit_: float, what: str) -> None:
    if not 0 <= exit_ <= enter <= 1:
        raise ValueError(f"{what}_exit = {exit_} and {what}_enter = {enter}: need 0 <= exit <= enter <= 1")


# --------------------------------------------------------------------------- building blocks
def min_dwell(labels: np.ndarray, bars: int) -> np.ndarray:
    """Labels held at least `bars` indices: after a change at index s, the label stays
    until s + bars; a different raw label then takes over at max(its start, s + bars) if
    it still holds there. The first label is not held (its regime may have begun before
    the labels do). NaN entries (only before the first label) stay NaN. Sequential in
    time, so point in time; bars <= 1 returns a copy."""
    lab = np.asarray(labels, dtype=float).copy()
    if bars <= 1 or not np.isfinite(lab).any():
        return lab
    first = int(np.argmax(np.isfinite(lab)))
    raw = lab[first:]
    starts = np.flatnonzero(np.r_[True, raw[1:] != raw[:-1]])
    ends = np.r_[starts[1:], len(raw)]
    out = np.empty(len(raw))
    state, since = raw[0], -bars
    switch_at, switch_to = [0], [state]
    for a, b in zip(starts[1:].tolist(), ends[1:].tolist()):
        value = raw[a]
        if value == state:
            continue
        at = max(a, since + bars)
        if at < b:
            state, since = value, at
            switch_at.append(at)
            switch_to.append(value)
    bounds = switch_at + [len(raw)]
    for s, e, v in zip(bounds[:-1], bounds[1:], switch_to):
        out[s:e] = v
    lab[first:] = out
    return lab


def _start(labels: np.ndarray, min_bars: int) -> np.ndarray:
    labels[: min_bars - 1] = np.nan
    return labels


# --------------------------------------------------------------------------- (b) RV percentile
def rv_percentile_score(x: np.ndarray, p: RVPercentileParams, qs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(score, quantile thresholds (len(qs), n)) of :class:`RVPercentileParams` for any
    quantile levels (the tuning computes them once for a grid of levels)."""
    score = log_realized_vol(x, p.rv_bars, p.rv_floor)
    return score, scheduled_quantiles(score, p.min_bars, p.pct_every_bars, p.pct_window_bars, qs)


def intraday_log_rv(
    hourly: Sequence[tuple[np.ndarray, np.ndarray]],
    n: int,
    day_start: np.ndarray,
    bar_minutes: int,
    day_minutes: int = 1440,
    floor: float = 1e-20,
) -> np.ndarray:
    """Daily score from intraday bars: for each daily bar (start `day_start`), the log
    realized vol (:func:`log_realized_vol`) over the last `n` clean intraday returns of the
    last intraday bar that starts within the day and ends by the day's end (bar_start in
    [day_start, day_start + day_minutes - bar_minutes]); NaN when the day has no such bar.
    Point in time: a daily bar is final when its day ends, and so is that intraday bar.

    hourly: (bar_start of the clean bars (datetime64), clean returns) of each intraday
    segment of the same market, segments in time order (windows do not cross segments).
    Returns one value per entry of day_start."""
    day_start = np.asarray(day_start).astype("datetime64[m]")
    if not len(hourly):
        return np.full(len(day_start), np.nan)
    times = np.concatenate([np.asarray(t).astype("datetime64[m]") for t, _ in hourly])
    scores = np.concatenate([log_realized_vol(x, n, floor) for _, x in hourly])
    last = day_start + np.timedelta64(day_minutes - bar_minutes, "m")
    at = np.searchsorted(times, last, side="right") - 1
    out = np.full(len(day_start), np.nan)
    ok = at >= 0
    ok[ok] = times[at[ok]] >= day_start[ok]
    out[ok] = scores[at[ok]]
    return out


def labels_from_thresholds(
    score: np.ndarray,
    thresholds: np.ndarray,
    qs: Sequence[float],
    q_enter: float,
    q_exit: float,
    dwell: int,
    min_bars: int,
) -> np.ndarray:
    """Hysteresis of `score` between the rows of `thresholds` at levels q_enter / q_exit
    (levels looked up in `qs`), then :func:`min_dwell`, labels from clean index min_bars - 1."""
    qs = list(qs)
    lab = hysteresis(score, thresholds[qs.index(q_enter)], thresholds[qs.index(q_exit)])
    return min_dwell(_start(lab, min_bars), dwell)


def rv_percentile_labels(x: np.ndarray, p: RVPercentileParams = RVPercentileParams()) -> np.ndarray:
    """Labels of candidate (b) on one segment's clean returns (module docstring)."""
    qs = sorted({p.q_enter, p.q_exit})
    score, thr = rv_percentile_score(x, p, qs)
    return labels_from_thresholds(score, thr, qs, p.q_enter, p.q_exit, p.min_dwell_bars, p.min_bars)


# --------------------------------------------------------------------------- (c, d) HMM on log RV
@dataclass(frozen=True)
class LogRVFit:
    """A fitted 2-state model of log RV, states ordered low, high (high = larger mean)."""

    mean_low: float
    var_low: float
    mean_high: float
    var_high: float
    start_high: float
    low_to_high: float  # P(low -> high)
    stay_high: float  # P(high -> high)


def fit_hmm_logrv(window: np.ndarray, p: HmmLogRVParams) -> LogRVFit | None:
    """hmmlearn GaussianHMM (2 states, diagonal) fitted to one window of log RV from the
    deterministic start of :class:`HmmLogRVParams`. None for a window without spread or an
    EM that ends with a non-finite parameter."""
    w = np.ascontiguousarray(window, dtype=float).reshape(-1, 1)
    var = float(np.var(w))
    if not (np.isfinite(w).all() and var > 0):
        return None
    lo, hi = np.quantile(w[:, 0], [p.init_low_quantile, p.init_high_quantile])
    if hi <= lo:
        hi = lo + math.sqrt(var)
    stay = p.init_stay_prob
    model = deterministic_gaussian_hmm(
        lo,
        hi,
        var,
        stay,
        min_covar=p.min_covar,
        covars_prior=0.01,
        n_iter=p.n_iter,
        tol=p.tol,
        random_state=p.random_state,
        fit_transitions=p.fit_transitions,
    )  # covars_prior: hmmlearn's default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hmmlearn's non-monotone EM notes (float rounding at convergence)
        model.fit(w)
    means = model.means_[:, 0]
    variances = np.asarray(model.covars_).reshape(2, -1)[:, 0]
    a = model.transmat_
    if not (
        np.isfinite(means).all()
        and np.isfinite(variances).all()
        and np.isfinite(a).all()
        and np.isfinite(model.startprob_).all()
    ):
        return None
    low, high = (0, 1) if means[0] <= means[1] else (1, 0)
    return LogRVFit(
        mean_low=float(means[low]),
        var_low=float(variances[low]),
        mean_high=float(means[high]),
        var_high=float(variances[high]),
        start_high=float(model.startprob_[high]),
        low_to_high=float(a[low, high]),
        stay_high=float(a[high, high]),
    )


def _filter_blocks(obs: np.ndarray, idx0: np.ndarray, length: np.ndarray, fits: list[LogRVFit]) -> np.ndarray:
    """Filtered P(high) at every step of every block, all blocks at once: block j reads
    obs[idx0[j] : idx0[j] + length[j]] with model fits[j], from its start probabilities.
    Returns (max length, blocks), NaN past a block's end. The same float operations per
    block whatever the other blocks (prefix invariance)."""
    k, t_max = len(fits), int(length.max())
    ml, vl, mh, vh, sh, alh, ahh = (
        np.array([getattr(f, a) for f in fits])
        for a in ("mean_low", "var_low", "mean_high", "var_high", "start_high", "low_to_high", "stay_high")
    )
    slope = ahh - alh
    steps = np.arange(t_max)[:, None]
    inside = steps < length[None, :]
    y = obs[np.where(inside, idx0[None, :] + steps, 0)]
    llr = (-0.5 * np.log(vh) - (y - mh) ** 2 / (2 * vh)) - (-0.5 * np.log(vl) - (y - ml) ** 2 / (2 * vl))
    lam = np.exp(np.clip(llr, -700.0, 700.0))
    out = np.full((t_max, k), np.nan)
    q = np.empty(k)
    for t in range(t_max):
        pred = sh if t == 0 else alh + q * slope
        num = pred * lam[t]
        q = num / ((1.0 - pred) + num)
        out[t] = q
    out[~inside] = np.nan
    return out


def hmm_logrv_probability(
    segments: Sequence[np.ndarray], p: HmmLogRVParams, stats: dict | None = None
) -> list[np.ndarray]:
    """Filtered P(high) of candidate (c) per segment (clean returns in, one array per
    segment over its clean indices; NaN before the first refit and after a failed fit).

    Refit r (= min_bars - 1 + j * refit_every_bars) fits the window of log RV at
    max(0, r - window_bars + 1) .. r; the clean indices r .. (next refit - 1) get the
    forward recursion of that model run from the window's first observation (so a label
    at c reads log RV up to c). stats, if given, receives ``fits`` and ``fit_seconds``."""
    import time

    from threadpoolctl import threadpool_limits

    obs_parts, idx0, length, fits, where = [], [], [], [], []
    pos = 0
    seconds = 0.0
    out = [np.full(len(x), np.nan) for x in segments]
    with threadpool_limits(limits=1):
        for s, x in enumerate(segments):
            y = log_realized_vol(x, p.rv_bars, p.rv_floor)
            n = len(y)
            refits = refit_points(n, p.min_bars, p.refit_every_bars)
            if len(refits) == 0:
                continue
            obs_parts.append(y)
            for j, r in enumerate(refits.tolist()):
                lo = max(0, r - p.window_bars + 1)
                end = min(n, r + p.refit_every_bars)
                t0 = time.perf_counter()
                fit = fit_hmm_logrv(y[lo : r + 1], p)
                seconds += time.perf_counter() - t0
                if fit is None:
                    continue
                fits.append(fit)
                idx0.append(pos + lo)
                length.append(end - lo)
                where.append((s, lo, r, end))
            pos += n
    if stats is not None:
        stats["fits"] = stats.get("fits", 0) + len(where)
        stats["fit_seconds"] = stats.get("fit_seconds", 0.0) + seconds
    if not fits:
        return out
    obs = np.concatenate(obs_parts)
    idx0_a, length_a = np.array(idx0), np.array(length)
    for a in range(0, len(fits), 2048):  # bounded memory
        sel = slice(a, a + 2048)
        probs = _filter_blocks(obs, idx0_a[sel], length_a[sel], fits[sel])
        for j, (s, lo, r, end) in enumerate(where[sel]):
            out[s][r:end] = probs[r - lo : end - lo, j]
    return out


def labels_from_probability(prob: np.ndarray, p_enter: float, p_exit: float, dwell: int, min_bars: int) -> np.ndarray:
    """Hysteresis of a probability between p_enter / p_exit, then :func:`min_dwell`."""
    return min_dwell(_start(hysteresis(prob, p_enter, p_exit), min_bars), dwell)


def hmm_logrv_labels(x: np.ndarray, p: HmmLogRVParams = HmmLogRVParams()) -> np.ndarray:
    """Labels of candidates (c) / (d) on one segment's clean returns."""
    prob = hmm_logrv_probability([x], p)[0]
    return labels_from_probability(prob, p.p_enter, p.p_exit, p.min_dwell_bars, p.min_bars)


# --------------------------------------------------------------------------- (e) GARCH percentile
def fit_garch(window: np.ndarray, scale: float) -> tuple[float, float, float] | None:
    """(omega, alpha, beta) of a zero-mean GARCH(1,1) with normal errors (``arch``) fitted
    to window x scale (omega in scaled squared units). None when the fit fails or ends
    with a non-finite parameter."""
    from arch import arch_model

    w = np.asarray(window, dtype=float) * scale
    if not (np.isfinite(w).all() and np.any(w != 0)):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence / scaling notes: the fit is used as it ends
            res = arch_model(w, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False).fit(
                disp="off", show_warning=False
            )
    except (ValueError, np.linalg.LinAlgError):
        return None
    omega, alpha, beta = (float(v) for v in res.params[["omega", "alpha[1]", "beta[1]"]])
    if not all(math.isfinite(v) for v in (omega, alpha, beta)):
        return None
    return omega, alpha, beta


def garch_score(
    segments: Sequence[np.ndarray], p: GarchParams, qs: Sequence[float], stats: dict | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(score, thresholds (len(qs), n)) of candidate (e) per segment.

    Refit r fits the window x[max(0, r - window_bars + 1) .. r]; from the window's first
    return the recursion s2_{c+1} = omega + alpha x_c^2 + beta s2_c (s2 at the window
    start = the window's mean square) runs to the block's last index (next refit - 1);
    score_c = 0.5 ln s2_{c+1} (scaled units: a constant shift of the log); the thresholds
    of the block are the quantiles `qs` of the scores over the window (lo .. r)."""
    import time

    out = []
    fits, seconds = 0, 0.0
    for x in segments:
        x = np.asarray(x, dtype=float)
        n = len(x)
        score = np.full(n, np.nan)
        thr = np.full((len(qs), n), np.nan)
        for r in refit_points(n, p.min_bars, p.refit_every_bars).tolist():
            lo = max(0, r - p.window_bars + 1)
            end = min(n, r + p.refit_every_bars)
            t0 = time.perf_counter()
            fit = fit_garch(x[lo : r + 1], p.scale)
            seconds += time.perf_counter() - t0
            fits += 1
            if fit is None:
                continue
            omega, alpha, beta = fit
            xs = x[lo:end] * p.scale
            s2_0 = float(np.cumsum(xs[: r + 1 - lo] ** 2)[-1]) / (r + 1 - lo)
            s2_next, _ = lfilter([1.0], [1.0, -beta], omega + alpha * xs * xs, zi=[beta * s2_0])
            path = 0.5 * np.log(np.maximum(s2_next, 1e-300))
            score[r:end] = path[r - lo :]
            thr[:, r:end] = np.quantile(path[: r + 1 - lo], qs)[:, None]
        out.append((score, thr))
    if stats is not None:
        stats["fits"] = stats.get("fits", 0) + fits
        stats["fit_seconds"] = stats.get("fit_seconds", 0.0) + seconds
    return out


def garch_labels(x: np.ndarray, p: GarchParams = GarchParams()) -> np.ndarray:
    """Labels of candidate (e) on one segment's clean returns."""
    qs = sorted({p.q_enter, p.q_exit})
    score, thr = garch_score([x], p, qs)[0]
    return labels_from_thresholds(score, thr, qs, p.q_enter, p.q_exit, p.min_dwell_bars, p.min_bars)


# --------------------------------------------------------------------------- bars <-> clean indices
def clean_to_bars(clean_labels: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Labels over a segment's bars from labels over its clean indices: bar i gets the
    label of the last clean return at or before it (a toxic bar carries the previous one;
    NaN before the first clean return)."""
    c_of_bar = np.cumsum(np.asarray(clean, dtype=bool)) - 1
    out = np.full(len(c_of_bar), np.nan)
    have = c_of_bar >= 0
    out[have] = np.asarray(clean_labels, dtype=float)[c_of_bar[have]]
    return out


def shuffled_returns(log_return: np.ndarray, seed: int) -> np.ndarray:
    """The shuffled-returns null of one segment: its finite log returns permuted among the
    bars that have one (numpy default_rng(seed)); NaN bars stay where they are. Keeps the
    return distribution, destroys volatility clustering."""
    r = np.asarray(log_return, dtype=float).copy()
    finite = np.flatnonzero(np.isfinite(r))
    r[finite] = r[finite][np.random.default_rng(seed).permutation(len(finite))]
    return r


# --------------------------------------------------------------------------- measures
def forward_rv(log_return: np.ndarray, clean: np.ndarray, part: np.ndarray, horizon: int) -> np.ndarray:
    """Forward realized vol of every bar: sqrt(mean of r^2 over the clean returns of bars
    t+1..t+horizon of the same part (segment)); NaN when bar t+horizon is not in the part
    or no bar of the span has a clean return. Rows in part order, bars in time order within
    a part (parts contiguous)."""
    r = np.where(clean, np.asarray(log_return, dtype=float), 0.0)
    k = np.asarray(clean, dtype=float)
    part = np.asarray(part)
    n = len(r)
    s = np.concatenate([[0.0], np.cumsum(r * r)])
    cnt = np.concatenate([[0.0], np.cumsum(k)])
    out = np.full(n, np.nan)
    i = np.arange(n - horizon)
    ok = part[i + horizon] == part[i]
    i = i[ok]
    num = s[i + horizon + 1] - s[i + 1]
    den = cnt[i + horizon + 1] - cnt[i + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[i] = np.where(den > 0, np.sqrt(np.maximum(num, 0.0) / den), np.nan)
    return out


def separation(fv: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Mean forward vol in the high and the low regime and their ratio over the rows of
    `mask` with a finite forward vol and a label: {mean_high, mean_low, ratio, n_high, n_low,
    share_high}."""
    fv, labels = np.asarray(fv, dtype=float), np.asarray(labels, dtype=float)
    use = np.isfinite(fv) & np.isfinite(labels)
    if mask is not None:
        use &= np.asarray(mask, dtype=bool)
    high, low = use & (labels == HIGH), use & (labels == LOW)
    n_high, n_low = int(high.sum()), int(low.sum())
    mean_high = float(fv[high].mean()) if n_high else float("nan")
    mean_low = float(fv[low].mean()) if n_low else float("nan")
    ratio = mean_high / mean_low if n_high and n_low and mean_low > 0 else float("nan")
    share = n_high / (n_high + n_low) if n_high + n_low else float("nan")
    return {
        "mean_high": mean_high,
        "mean_low": mean_low,
        "ratio": ratio,
        "n_high": n_high,
        "n_low": n_low,
        "share_high": share,
    }


def changes_per_100(labels: np.ndarray, part: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, int, int]:
    """(changes per 100 bars, changes, bars): label changes between consecutive rows of the
    same part that are both in `mask` and labelled, per labelled row in `mask`. Rows in
    part order, time order within a part."""
    labels = np.asarray(labels, dtype=float)
    part = np.asarray(part)
    use = np.isfinite(labels) if mask is None else np.isfinite(labels) & np.asarray(mask, dtype=bool)
    bars = int(use.sum())
    pair = use[1:] & use[:-1] & (part[1:] == part[:-1])
    changes = int((pair & (labels[1:] != labels[:-1])).sum())
    return (100.0 * changes / bars if bars else float("nan")), changes, bars


def ratio_ci(
    fv: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    mask: np.ndarray,
    block: int = 20,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Separation ratio mean(fv | high) / mean(fv | low) over the rows of `mask`, with a
    block-bootstrap percentile interval: each group's (series') rows, in the given order
    (time order per group), are cut into blocks of `block` rows, a resample draws as many
    blocks per group as it has (``grid_outcomes.bootstrap_means``, paired: both means on
    the same draws), the interval is the quantiles of the resampled ratios. Blocks are cut
    over the mask's rows only."""
    mask = np.asarray(mask, dtype=bool) & np.isfinite(fv) & np.isfinite(labels)
    v = np.asarray(fv, dtype=float)[mask].reshape(-1, 1)
    lab = np.asarray(labels, dtype=float)[mask]
    g = np.asarray(groups)[mask]
    if not len(v):
        return float("nan"), float("nan"), float("nan")
    point, _, boot = bootstrap_means(v, g, block, np.column_stack([lab == HIGH, lab == LOW]), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = boot[:, 0, 0] / boot[:, 0, 1]
    lo, hi = percentile_interval(ratios, level)
    return float(point[0, 0] / point[0, 1]), float(lo), float(hi)


def calendar_ratio_ci(
    fv: np.ndarray,
    labels: np.ndarray,
    bar_start: np.ndarray,
    mask: np.ndarray,
    block: int = 20,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """The separation ratio with the calendar block bootstrap of the pooled findings
    (``regime_findings.calendar_bootstrap``): rows summed per bar start, blocks of `block`
    consecutive bar starts resampled, so assets that move together are drawn together (a
    wider, more honest interval for many co-moving series)."""
    mask = np.asarray(mask, dtype=bool) & np.isfinite(fv) & np.isfinite(labels)
    if not mask.any():
        return float("nan"), float("nan"), float("nan")
    fv_m = np.asarray(fv, dtype=float)[mask]
    lab = np.asarray(labels, dtype=float)[mask]
    key, uniques = pd.factorize(pd.Series(np.asarray(bar_start)[mask]), sort=True)
    values = np.column_stack([np.where(lab == HIGH, fv_m, np.nan), np.where(lab == LOW, fv_m, np.nan)])
    sums, counts = grouped_sums(key, len(uniques), values)
    point, boot = calendar_bootstrap(sums, counts, block, n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = percentile_interval(boot[:, 0] / boot[:, 1], level)
    return float(point[0] / point[1]), float(lo), float(hi)


def oracle_labels(fv: np.ndarray, series: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The look-ahead reference: within each series' rows of `mask`, high where the forward
    vol is above that series' median forward vol over those rows (NaN elsewhere)."""
    fv = np.asarray(fv, dtype=float)
    use = np.asarray(mask, dtype=bool) & np.isfinite(fv)
    out = np.full(len(fv), np.nan)
    frame = pd.DataFrame({"s": np.asarray(series)[use], "fv": fv[use]})
    median = frame.groupby("s")["fv"].transform("median").to_numpy()
    out[use] = np.where(frame["fv"].to_numpy() > median, HIGH, LOW)
    return out
