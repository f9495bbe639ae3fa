"""Volatility / spectral regime maths (docs/volatility-regimes.md): pure numpy + hmmlearn +
PyWavelets, no dbt. Every constant comes from :class:`VolatilityConfig` (seed
``volatility_config``).

All estimators work on one segment's *clean* log returns: finite returns whose absolute
value is at most ``toxic_abs_log_return`` (toxic bars are left out and counted by the
frame adapter, ``volatility_frames``). Index ``c`` below is the position in that clean
sequence; a window "ending at c" holds the clean returns ``c - n + 1 .. c``.

Point in time, precisely (labels at clean index c use clean returns <= c only):
* refits happen at ``c = m - 1, m - 1 + k, m - 1 + 2k, ...`` (m = hmm_min_fit_bars,
  k = the series' refit cadence); the refit at ``r`` runs EM (hmmlearn GaussianHMM, 2
  states, deterministic start, fixed iterations) on the window of the last
  ``hmm_window_bars`` clean |returns| ending at ``r`` (fewer while the segment is shorter:
  an expanding window from m returns);
* the label at ``c`` uses the model of the last refit ``r <= c`` and is the *filtered*
  probability of the high-vol state at ``c`` given the window of the last
  ``hmm_window_bars`` clean |returns| ending at ``c`` (forward algorithm started from the
  model's start probabilities at the window's first return) — equal to hmmlearn's
  ``predict_proba(window)[-1]`` (tests/unit/test_volatility.py checks it);
* wavelets, direction, Hurst and AR(1) use trailing windows ending at ``c``.
Reductions are written as sequential sums (``np.cumsum``), never as numpy's pairwise
``sum`` over strided views, so a value at ``c`` is bit-identical whether or not later bars
exist (prefix invariance, docs/architecture.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pywt
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits  # installed with hmmlearn (scikit-learn)

from market_regimes.engines.volatility_config import VolatilityConfig


# --------------------------------------------------------------------------- helpers
def _lastsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis in index order (sequential; the same bits for a row whatever
    the other rows are)."""
    return np.cumsum(a, axis=-1)[..., -1]


def trailing_windows(x: np.ndarray, n: int, ends: np.ndarray) -> np.ndarray:
    """Rows ``x[e - n + 1 : e + 1]`` for each e in `ends` (all e >= n - 1): shape (len(ends), n),
    a contiguous copy."""
    if len(ends) == 0:
        return np.empty((0, n))
    return np.ascontiguousarray(sliding_window_view(x, n)[np.asarray(ends) - (n - 1)])


def clean_mask(log_return: np.ndarray, toxic_bound: float) -> tuple[np.ndarray, np.ndarray]:
    """(is_clean, is_toxic) per bar: toxic = finite and |r| > toxic_bound; clean = finite
    and not toxic (a bar without a return, e.g. a segment's first, is neither)."""
    r = np.asarray(log_return, dtype=float)
    finite = np.isfinite(r)
    toxic = finite & (np.abs(np.where(finite, r, 0.0)) > toxic_bound)
    return finite & ~toxic, toxic


# --------------------------------------------------------------------------- HMM
@dataclass(frozen=True)
class HmmFit:
    """A fitted 2-state model in |log return| units, states ordered low-vol, high-vol
    (high = the larger mean)."""

    mean_low: float
    mean_high: float
    var_low: float
    var_high: float
    start_high: float  # P(first state of a window = high)
    stay_low: float  # P(low -> low)
    stay_high: float  # P(high -> high)
    n_obs: int
    n_iter: int  # EM iterations run


def fit_hmm_hmmlearn(abs_returns: np.ndarray, cfg: VolatilityConfig) -> HmmFit | None:
    """Reference fit with hmmlearn's GaussianHMM (diagonal covariance) of one window of clean
    |log returns| — the EM that :func:`fit_hmm_batch` reproduces in batched numpy (used by
    the tests and benchmarks/detectors.py to measure the agreement; the models call
    fit_hmm_batch).

    The window is divided by its mean before EM (so ``hmm_min_covar`` is scale-free and
    the default hmmlearn floor does not swamp variances of ~1e-6) and the fit is scaled
    back. EM starts deterministically: means at the ``hmm_init_low/high_quantile``
    quantiles, both variances at the window's variance, start probabilities 1/2, stay
    probabilities ``hmm_init_stay_prob`` (kept fixed when ``hmm_fit_transitions`` is off)
    — no k-means, so ``random_state`` draws nothing.
    Returns None for a window whose returns are all 0 (no scale) or when EM ends with a
    non-finite parameter.
    """
    from hmmlearn.hmm import GaussianHMM  # imported here: it loads scikit-learn (~3.5 s), which the models never need

    x = np.ascontiguousarray(abs_returns, dtype=float)
    scale = float(_lastsum(x)) / len(x)
    if not scale > 0:
        return None
    z = (x / scale).reshape(-1, 1)
    lo, hi = np.quantile(z[:, 0], [cfg.hmm_init_low_quantile, cfg.hmm_init_high_quantile])
    if hi <= lo:  # a window of mostly identical values: spread the start apart
        hi = lo + 1.0
    var = max(float(np.var(z)), cfg.hmm_min_covar)
    stay = cfg.hmm_init_stay_prob
    model = GaussianHMM(n_components=2, covariance_type="diag", min_covar=cfg.hmm_min_covar,
                        covars_prior=cfg.hmm_covars_prior,
                        n_iter=cfg.hmm_n_iter, tol=cfg.hmm_tol, random_state=cfg.hmm_random_state,
                        params="stmc" if cfg.hmm_fit_transitions else "smc", init_params="",
                        implementation="scaling")
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[stay, 1 - stay], [1 - stay, stay]])
    model.means_ = np.array([[lo], [hi]])
    model.covars_ = np.array([[var], [var]])
    model.fit(z)
    means = model.means_[:, 0]
    variances = model.covars_[:, 0, 0] if model.covars_.ndim == 3 else model.covars_[:, 0]
    if not (np.isfinite(means).all() and np.isfinite(variances).all() and np.isfinite(model.transmat_).all()):
        return None  # EM collapsed a state (a window of nearly constant returns): no label
    low, high = (0, 1) if means[0] <= means[1] else (1, 0)
    return HmmFit(
        mean_low=float(means[low] * scale), mean_high=float(means[high] * scale),
        var_low=float(variances[low] * scale ** 2), var_high=float(variances[high] * scale ** 2),
        start_high=float(model.startprob_[high]), stay_low=float(model.transmat_[low, low]),
        stay_high=float(model.transmat_[high, high]), n_obs=len(x), n_iter=int(model.monitor_.iter),
    )


def fit_hmm(abs_returns: np.ndarray, cfg: VolatilityConfig) -> HmmFit | None:
    """:func:`fit_hmm_batch` of one window."""
    return fit_hmm_batch([abs_returns], cfg)[0]


def _em_start(windows: list[np.ndarray], cfg: VolatilityConfig):
    """Scale and deterministic EM start of each window (see fit_hmm_batch): arrays
    (scale, mean_lo, mean_hi, var) over the windows; scale <= 0 marks a window without one."""
    n = len(windows)
    lengths = np.array([len(w) for w in windows], dtype=np.int64)
    scale, lo, hi, var = (np.full(n, np.nan) for _ in range(4))
    for length in np.unique(lengths):
        sel = np.flatnonzero(lengths == length)
        w = np.stack([np.asarray(windows[i], dtype=float) for i in sel])
        s = _lastsum(w) / length
        with np.errstate(invalid="ignore", divide="ignore"):
            z = w / np.where(s > 0, s, 1.0)[:, None]
        q = np.quantile(z, [cfg.hmm_init_low_quantile, cfg.hmm_init_high_quantile], axis=1)
        mean = _lastsum(z) / length
        dev = z - mean[:, None]
        scale[sel] = s
        lo[sel] = q[0]
        hi[sel] = np.where(q[1] <= q[0], q[0] + 1.0, q[1])  # mostly identical values: spread the start
        var[sel] = np.maximum(_lastsum(dev * dev) / length, cfg.hmm_min_covar)
    return lengths, scale, lo, hi, var


def fit_hmm_batch(windows: list[np.ndarray], cfg: VolatilityConfig, chunk: int = 256) -> list[HmmFit | None]:
    """Fit a 2-state Gaussian HMM to each window of clean |log returns|, all windows at once.

    The same EM as hmmlearn's GaussianHMM (diagonal covariance, "scaling" forward-backward,
    :func:`fit_hmm_hmmlearn`), written as numpy operations over a batch of windows:

    * each window is divided by its mean (the fit is scaled back at the end); EM starts
      deterministically: means at the ``hmm_init_low/high_quantile`` quantiles (high = low
      + 1 when they coincide), both variances at the window's variance floored at
      ``hmm_min_covar``, start probabilities 1/2, stay probabilities ``hmm_init_stay_prob``;
    * an iteration: E-step (scaled forward-backward), then the M-step of hmmlearn's MAP
      update: start = posterior of the first observation, transitions = expected
      transition counts (rows normalised; kept fixed when ``hmm_fit_transitions`` is 0),
      means = posterior-weighted means, variances = (``hmm_covars_prior`` + posterior
      weighted squared deviations) / max(posterior mass, 1e-5);
    * a window stops after ``hmm_n_iter`` iterations, or after the iteration whose
      log-likelihood (of the parameters before its M-step) gained less than ``hmm_tol``
      on the previous one (hmmlearn's ConvergenceMonitor).

    Windows of different lengths (a segment's expanding phase) are aligned at their end and
    masked before their first observation. Every reduction over a window is a sequential
    sum along time and every other operation is elementwise, so a window's fit is
    bit-identical whatever else is in the batch (prefix invariance). The results agree with
    hmmlearn up to float rounding (~1e-14 relative on the sample: different summation
    order; tests/unit/test_volatility.py, benchmarks/detectors.py --agreement). Speed: about
    hmmlearn's per fit in isolation (2.6 s vs 2.8 s for 2,048 windows of 500, chunk 256);
    20.4 s vs 29.4 s over the sample's 8,206 refit windows, measured on a loaded 2-core machine.

    Returns one fit per window: None for a window whose returns are all 0 (no scale) or
    whose EM ends with a non-finite parameter (a state collapsed).
    """
    n = len(windows)
    out: list[HmmFit | None] = [None] * n
    if n == 0:
        return out
    lengths, scale, lo, hi, var = _em_start(windows, cfg)
    ok = np.flatnonzero(scale > 0)
    for at in range(0, len(ok), chunk):
        sel = ok[at: at + chunk]
        fitted = _em_batch([windows[i] for i in sel], scale[sel], lo[sel], hi[sel], var[sel], cfg)
        for j, i in enumerate(sel):
            out[i] = fitted[j]
    return out


def _em_batch(windows, scale, lo, hi, var, cfg: VolatilityConfig) -> list[HmmFit | None]:
    """EM of fit_hmm_batch on windows that all have a scale; arrays are time-major (T, k).

    The forward-backward pass runs on the likelihood ratio lam_t = N(z_t; high) / N(z_t;
    low) (clipped to e^+-``_LLR_CLIP``) instead of the two densities: the normalised
    forward probabilities, the posteriors and the expected transitions are unchanged by
    dividing both densities by N(z_t; low), and no density underflows (subnormal floats
    are ~10x slower). The log-likelihood (hmmlearn's convergence test) is
    sum_t ln(pred_low,t N(z_t; low) + pred_high,t N(z_t; high)) with the predicted state
    probabilities of the forward pass (computed from the unclipped densities)."""
    k = len(windows)
    lengths = np.array([len(w) for w in windows], dtype=np.int64)
    t_max = int(lengths.max())
    begin = t_max - lengths
    z = np.ones((t_max, k))
    for j, w in enumerate(windows):
        z[begin[j]:, j] = np.asarray(w, dtype=float) / scale[j]
    valid = np.arange(t_max)[:, None] >= begin[None, :]
    log2pi = math.log(2 * math.pi)
    stay = cfg.hmm_init_stay_prob
    s0, s1 = np.full(k, 0.5), np.full(k, 0.5)
    a00, a01, a10, a11 = np.full(k, stay), np.full(k, 1 - stay), np.full(k, 1 - stay), np.full(k, stay)
    m0, m1 = lo.copy(), hi.copy()
    v0, v1 = var.copy(), var.copy()
    iters = np.zeros(k, dtype=np.int64)
    prev_lb = np.full(k, np.nan)
    active = np.arange(k)
    for it in range(cfg.hmm_n_iter):
        if len(active) == 0:
            break
        a = active
        za, va, ba = z[:, a], valid[:, a], begin[a]
        first = int(ba.max())  # the last step at which some window starts
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            w0, w1 = np.maximum(v0[a], _TINY), np.maximum(v1[a], _TINY)
            lp0 = -0.5 * (log2pi + np.log(w0) + (za - m0[a]) ** 2 / w0)
            lp1 = -0.5 * (log2pi + np.log(w1) + (za - m1[a]) ** 2 / w1)
            lam = np.exp(np.clip(lp1 - lp0, -_LLR_CLIP, _LLR_CLIP))
            t00, t01, t10, t11 = a00[a], a01[a], a10[a], a11[a]
            up, down = t11 - t01, t10 - t00  # pred_high = t01 + q up; pred_low = t00 + q down
            st0, st1 = s0[a], s1[a]
            pred0, q, norm = np.empty_like(za), np.empty_like(za), np.empty_like(za)
            n1 = np.empty(len(a))
            for t in range(t_max):
                if t == 0:
                    pred0[0] = st0
                    np.multiply(st1, lam[0], out=n1)
                else:
                    np.multiply(q[t - 1], down, out=pred0[t])
                    pred0[t] += t00
                    np.multiply(q[t - 1], up, out=n1)
                    n1 += t01
                    if t <= first:
                        starting = ba == t
                        pred0[t] = np.where(starting, st0, pred0[t])
                        n1 = np.where(starting, st1, n1)
                    n1 *= lam[t]
                np.add(pred0[t], n1, out=norm[t])
                np.divide(n1, norm[t], out=q[t])
            u1 = lam / norm  # lam_t / s_t; and 1 / s_t:
            u0 = 1.0 / norm
            beta0, beta1 = np.empty_like(za), np.empty_like(za)
            g0, g1 = np.empty_like(za), np.empty_like(za)
            beta0[-1] = 1.0
            beta1[-1] = 1.0
            for t in range(t_max - 2, -1, -1):
                np.multiply(u0[t + 1], beta0[t + 1], out=g0[t + 1])
                np.multiply(u1[t + 1], beta1[t + 1], out=g1[t + 1])
                np.multiply(t00, g0[t + 1], out=beta0[t])
                beta0[t] += t01 * g1[t + 1]
                np.multiply(t10, g0[t + 1], out=beta1[t])
                beta1[t] += t11 * g1[t + 1]
            # log-likelihood from the unclipped densities: ln(pred_low N_low + pred_high N_high) per step
            pred1 = np.empty_like(za)
            pred1[0] = st1
            np.multiply(q[:-1], up, out=pred1[1:])
            pred1[1:] += t01
            pred1 = np.where(np.arange(t_max)[:, None] == ba[None, :], st1, pred1)
            lb = _sum_time(np.where(va, np.logaddexp(lp0 + np.log(pred0), lp1 + np.log(pred1)), 0.0))
            alpha0 = pred0 / norm
            post0, post1 = alpha0 * beta0, q * beta1
            tot = post0 + post1
            tot = np.where(tot == 0, 1.0, tot)
            post0 = np.where(va, post0 / tot, 0.0)
            post1 = np.where(va, post1 / tot, 0.0)
            cols = np.arange(len(a))
            start0, start1 = post0[ba, cols], post1[ba, cols]
            # expected transitions t -> t + 1 from the window's first observation on
            f0 = np.where(va[:-1], alpha0[:-1], 0.0)
            f1 = np.where(va[:-1], q[:-1], 0.0)
            x00 = _sum_time(f0 * g0[1:]) * t00
            x01 = _sum_time(f0 * g1[1:]) * t01
            x10 = _sum_time(f1 * g0[1:]) * t10
            x11 = _sum_time(f1 * g1[1:]) * t11
            n0, n1s = _sum_time(post0), _sum_time(post1)
            o0, o1 = _sum_time(post0 * za), _sum_time(post1 * za)
            q0, q1 = _sum_time(post0 * za * za), _sum_time(post1 * za * za)
            # M-step (hmmlearn: a probability that is exactly 0 stays 0)
            r0, r1 = np.where(st0 == 0, 0.0, np.maximum(start0, 0.0)), np.where(st1 == 0, 0.0, np.maximum(start1, 0.0))
            total = r0 + r1
            s0[a], s1[a] = r0 / total, r1 / total
            if cfg.hmm_fit_transitions:
                r00, r01 = np.where(t00 == 0, 0.0, x00), np.where(t01 == 0, 0.0, x01)
                r10, r11 = np.where(t10 == 0, 0.0, x10), np.where(t11 == 0, 0.0, x11)
                row0, row1 = r00 + r01, r10 + r11
                row0, row1 = np.where(row0 == 0, 1.0, row0), np.where(row1 == 0, 1.0, row1)
                a00[a], a01[a], a10[a], a11[a] = r00 / row0, r01 / row0, r10 / row1, r11 / row1
            nm0, nm1 = o0 / n0, o1 / n1s
            m0[a], m1[a] = nm0, nm1
            c0 = q0 - 2 * nm0 * o0 + nm0 ** 2 * n0
            c1 = q1 - 2 * nm1 * o1 + nm1 ** 2 * n1s
            v0[a] = (cfg.hmm_covars_prior + c0) / np.maximum(n0, 1e-5)
            v1[a] = (cfg.hmm_covars_prior + c1) / np.maximum(n1s, 1e-5)
        iters[a] += 1
        done = (it + 1 == cfg.hmm_n_iter) | ((lb - prev_lb[a]) < cfg.hmm_tol)
        prev_lb[a] = lb
        active = a[~done]
    fits: list[HmmFit | None] = []
    for j in range(k):
        params = np.array([m0[j], m1[j], v0[j], v1[j], a00[j], a01[j], a10[j], a11[j], s0[j], s1[j]])
        if not np.isfinite(params).all():
            fits.append(None)  # EM collapsed a state (a window of nearly constant returns): no label
            continue
        low, high = (0, 1) if m0[j] <= m1[j] else (1, 0)
        means, variances = (m0[j], m1[j]), (v0[j], v1[j])
        stays, starts = (a00[j], a11[j]), (s0[j], s1[j])
        fits.append(HmmFit(
            mean_low=float(means[low] * scale[j]), mean_high=float(means[high] * scale[j]),
            var_low=float(variances[low] * scale[j] ** 2), var_high=float(variances[high] * scale[j] ** 2),
            start_high=float(starts[high]), stay_low=float(stays[low]), stay_high=float(stays[high]),
            n_obs=int(lengths[j]), n_iter=int(iters[j])))
    return fits


_LLR_CLIP = 500.0  # |ln likelihood ratio| cap of the EM pass: e^-500 ~ 1e-217, far from subnormal floats
_TINY = np.finfo(float).tiny


def _sum_time(a: np.ndarray) -> np.ndarray:
    """Sum over axis 0 (time) in index order: per column, the same bits whatever the other columns."""
    return np.cumsum(a, axis=0)[-1]


def _log_likelihood_ratio(x: np.ndarray, fit: HmmFit) -> np.ndarray:
    """ln N(x; high) - ln N(x; low) per observation."""
    high = -0.5 * math.log(2 * math.pi * fit.var_high) - (x - fit.mean_high) ** 2 / (2 * fit.var_high)
    low = -0.5 * math.log(2 * math.pi * fit.var_low) - (x - fit.mean_low) ** 2 / (2 * fit.var_low)
    return high - low


def refit_points(n: int, min_fit: int, every: int) -> np.ndarray:
    """Clean indices of the refits of a segment with n clean returns."""
    return np.arange(min_fit - 1, n, every, dtype=np.int64)


def hmm_refits(n: int, cfg: VolatilityConfig, refit_every: int, first: int = 0) -> np.ndarray:
    """Clean indices of the refits whose models label the clean indices first .. n - 1 of a
    segment with n clean returns: the last refit at or before `first` and every later one."""
    refits = refit_points(n, cfg.hmm_min_fit_bars, refit_every)
    return refits[np.searchsorted(refits, first, side="right") - 1:] if first > 0 and len(refits) and \
        refits[0] <= first else refits


def hmm_refit_windows(abs_returns: np.ndarray, cfg: VolatilityConfig, refit_every: int, offset: int = 0,
                      first: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(refit clean indices, their fit windows) that :func:`hmm_filter` needs for the same
    arguments (collect them over many segments and fit them in one :func:`fit_hmm_batch`).

    Raises ValueError when the look-back (see hmm_filter) misses a window's first return."""
    x = np.ascontiguousarray(abs_returns, dtype=float)
    first = offset if first is None else first
    refits = hmm_refits(offset + len(x), cfg, refit_every, first)
    lows = np.maximum(refits - cfg.hmm_window_bars + 1, 0)
    if len(refits) and lows.min() < offset:
        raise ValueError(f"hmm look-back too short: a refit window starts at clean index {int(lows.min())}, "
                         f"the look-back at {offset}")
    return refits, [x[lo - offset: r + 1 - offset] for lo, r in zip(lows, refits)]


def hmm_filter(abs_returns: np.ndarray, cfg: VolatilityConfig, refit_every: int, offset: int = 0,
               first: int | None = None, fits: dict[int, HmmFit | None] | None = None) -> dict[str, np.ndarray]:
    """HMM labels of one segment's clean |log returns| (see the module docstring).

    abs_returns: the segment's clean |log returns| from clean index `offset` on (offset 0:
    the whole segment; offset > 0: a look-back window of an incremental run). Labels are
    computed for the clean indices >= `first` (default: offset); the look-back must hold
    the fit window of the last refit at or before `first` and the decode window of
    `first` (offset <= max(0, first - hmm_window_bars - refit_every + 2) always
    suffices). The same call on the whole segment (offset 0, first 0) gives the same
    values at every index >= first, bit for bit: a label depends on its windows only.
    fits: refit clean index -> fit (from :func:`hmm_refit_windows` + :func:`fit_hmm_batch`);
    computed here when None.

    Returns arrays over the look-back's clean indices (position i = clean index offset +
    i; entries before `first` stay empty): ``fit_index`` (clean index of the refit used,
    int; -1 before the first refit), ``fit_obs`` (returns in that refit's window), and
    (NaN before the first refit and after a refit whose window had no scale)
    ``p_high`` (filtered probability of the high-vol state), ``mean_low``, ``mean_high``,
    ``std_low``, ``std_high``, ``stay_low``, ``stay_high``; plus ``n_fits`` (fits used).
    Raises ValueError when the look-back is too short.
    """
    x = np.ascontiguousarray(abs_returns, dtype=float)
    first = offset if first is None else first
    n_local, w = len(x), cfg.hmm_window_bars
    n = offset + n_local
    out = {k: np.full(n_local, np.nan) for k in ("p_high", "fit_obs", "mean_low", "mean_high", "std_low",
                                                 "std_high", "stay_low", "stay_high")}
    out["fit_index"] = np.full(n_local, -1, dtype=np.int64)
    refits, windows = hmm_refit_windows(x, cfg, refit_every, offset, first)
    if fits is None:
        fits = dict(zip(refits.tolist(), fit_hmm_batch(windows, cfg)))
    out["n_fits"] = np.array(len(refits))
    if len(refits) == 0 or first >= n:
        return out
    if max(0, first - w + 1) < offset:
        raise ValueError(f"hmm look-back too short: the decode window of clean index {first} starts before {offset}")
    # one likelihood-ratio vector per refit block, over every observation a window of the
    # block can reach; the filter of bar t then reads lam[offset(t) + step]
    lam_parts, t_all, idx0_all, length_all = [], [], [], []
    pos = 0
    ends = np.append(refits[1:], n)
    used = []
    for r, end in zip(refits.tolist(), ends.tolist()):
        fit = fits[r]
        block = np.arange(max(r, first), min(end, r + refit_every, n))
        if len(block) == 0:
            continue
        local = block - offset
        out["fit_index"][local] = r
        out["fit_obs"][local] = min(r + 1, w)
        if fit is None:
            continue
        used.append(r)
        lo_obs = max(0, int(block[0]) - w + 1)
        llr = _log_likelihood_ratio(x[lo_obs - offset: block[-1] + 1 - offset], fit)
        lam_parts.append(np.exp(np.clip(llr, -700.0, 700.0)))
        starts = np.maximum(block - w + 1, 0)
        t_all.append(local)
        idx0_all.append(pos + (starts - lo_obs))
        length_all.append(block - starts + 1)
        pos += len(llr)
        out["mean_low"][local], out["mean_high"][local] = fit.mean_low, fit.mean_high
        out["std_low"][local], out["std_high"][local] = math.sqrt(fit.var_low), math.sqrt(fit.var_high)
        out["stay_low"][local], out["stay_high"][local] = fit.stay_low, fit.stay_high
    if not t_all:
        return out
    lam = np.concatenate(lam_parts)
    t = np.concatenate(t_all)
    idx0 = np.concatenate(idx0_all)
    length = np.concatenate(length_all)
    which = np.searchsorted(np.array(used), out["fit_index"][t])  # position of each bar's refit
    start_high = np.array([fits[r].start_high for r in used])[which]
    a_lh = 1.0 - np.array([fits[r].stay_low for r in used])[which]  # P(low -> high)
    slope = np.array([fits[r].stay_high for r in used])[which] - a_lh  # P(h->h) - P(l->h)
    out["p_high"][t] = _forward_high(lam, idx0, length, start_high, a_lh, slope)
    return out


def _forward_high(lam: np.ndarray, idx0: np.ndarray, length: np.ndarray, start_high: np.ndarray,
                  a_lh: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Filtered P(high) at the end of each window, all windows at once.

    Window i reads likelihood ratios lam[idx0[i] : idx0[i] + length[i]]. The 2-state
    forward recursion: pred_0 = start_high; p_j = pred_j lam_j / (pred_j lam_j + (1 - pred_j));
    pred_j+1 = a_lh + p_j (a_hh - a_lh). Full-length windows run in cache-sized chunks
    with in-place arithmetic; the few shorter ones (a segment's expanding phase) are
    aligned at their end and masked until their first observation. Every window's
    arithmetic is the same sequence of float operations whichever group or chunk it is in
    (prefix invariance)."""
    p = np.empty(len(idx0))
    longest = int(length.max())
    full = length == longest
    chunk = 4096
    where_full = np.flatnonzero(full)
    for lo in range(0, len(where_full), chunk):
        sel = where_full[lo: lo + chunk]
        idx = idx0[sel].copy()
        sh, alh, slp = start_high[sel], a_lh[sel], slope[sel]
        pred, lj, den, q = (np.empty(len(sel)) for _ in range(4))
        for j in range(longest):
            if j == 0:
                pred[:] = sh
            else:
                np.multiply(q, slp, out=pred)
                pred += alh
            np.take(lam, idx, out=lj)
            idx += 1
            np.multiply(pred, lj, out=lj)  # numerator
            np.subtract(1.0, pred, out=den)
            den += lj
            np.divide(lj, den, out=q)
        p[sel] = q
    short = np.flatnonzero(~full)
    if len(short):
        idx0s, lengths = idx0[short], length[short]
        sh, alh, slp = start_high[short], a_lh[short], slope[short]
        longest_short = int(lengths.max())
        begin = longest_short - lengths
        q = np.zeros(len(short))
        for j in range(longest_short):
            active = j >= begin
            pred = np.where(j == begin, sh, q * slp + alh)
            lj = lam[np.where(active, idx0s + np.clip(j - begin, 0, None), 0)]
            num = pred * lj
            q = np.where(active, num / ((1.0 - pred) + num), q)
        p[short] = q
    return p


# --------------------------------------------------------------------------- wavelets
def wavelet_bands(cfg: VolatilityConfig) -> list[str]:
    """Band names in coefficient order: a<L>, d<L>, ..., d1."""
    level = cfg.wavelet_level
    return [f"a{level}"] + [f"d{j}" for j in range(level, 0, -1)]


def wavelet_energy(windows: np.ndarray, cfg: VolatilityConfig) -> tuple[np.ndarray, np.ndarray]:
    """Energy share per band and normalised spectral entropy of each row of `windows`.

    Discrete wavelet decomposition (``wavelet_name``, ``wavelet_level``,
    ``wavelet_mode``) of each row; energy of a band = sum of its squared coefficients;
    share = energy / total (rows sum to 1); entropy = -sum share ln share / ln(bands)
    in [0, 1] (0: one band holds everything; 1: all bands equal). A row of zeros has
    no energy: shares and entropy NaN. Returns (shares (rows, bands), entropy (rows,)).
    """
    windows = np.atleast_2d(np.asarray(windows, dtype=float))
    coeffs = pywt.wavedec(windows, cfg.wavelet_name, mode=cfg.wavelet_mode, level=cfg.wavelet_level, axis=-1)
    energy = np.stack([_lastsum(c * c) for c in coeffs], axis=1)
    total = _lastsum(energy)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = energy / total[:, None]
        terms = np.where(shares > 0, -shares * np.log(np.where(shares > 0, shares, 1.0)), 0.0)
    entropy = _lastsum(terms) / math.log(len(coeffs))
    none = ~(total > 0)
    shares[none] = np.nan
    entropy[none] = np.nan
    return shares, entropy


# --------------------------------------------------------------------------- direction, quadrant
def direction_inputs(windows: np.ndarray, min_er: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window return, efficiency ratio, direction) per row of clean log returns.

    return = sum of the window's log returns (= ln close_t / close_t-n without toxic bars);
    efficiency ratio = |return| / sum |r| (Kaufman's ratio on log closes; 0 when every
    return is 0); direction = 'up' / 'down' by the sign of the return when ER >= min_er
    and the return is not 0, else 'none'."""
    ret = _lastsum(windows)
    path = _lastsum(np.abs(windows))
    with np.errstate(invalid="ignore", divide="ignore"):
        er = np.where(path > 0, np.abs(ret) / np.where(path > 0, path, 1.0), 0.0)
    trending = er >= min_er
    direction = np.where(trending & (ret > 0), "up", np.where(trending & (ret < 0), "down", "none"))
    return ret, er, direction.astype(object)


def quadrant(vol_regime: str | None, direction: str | None) -> str | None:
    """docs/volatility-regimes.md: CRISIS (high vol, down), EXPANSION (high vol, up or none), NORMAL (low vol,
    a direction), QUIET (low vol, none); None when either input is missing."""
    if vol_regime is None or direction is None:
        return None
    if vol_regime == "high":
        return "CRISIS" if direction == "down" else "EXPANSION"
    return "QUIET" if direction == "none" else "NORMAL"


def quadrants(vol_regime: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Vectorised :func:`quadrant` (object arrays; None where either input is None)."""
    v = np.asarray(vol_regime, dtype=object)
    d = np.asarray(direction, dtype=object)
    out = np.full(len(v), None, dtype=object)
    known = (v != None) & (d != None)  # noqa: E711 (elementwise on object arrays)
    high, low = known & (v == "high"), known & (v == "low")
    out[high] = np.where(d[high] == "down", "CRISIS", "EXPANSION")
    out[low] = np.where(d[low] == "none", "QUIET", "NORMAL")
    return out


# --------------------------------------------------------------------------- strategy fit
def hurst_rs(windows: np.ndarray, min_chunk: int) -> np.ndarray:
    """Hurst exponent by rescaled range of each row (length N, a power of 2).

    For chunk sizes n = min_chunk, 2 min_chunk, ..., N: split the row into N/n
    consecutive chunks; per chunk R = max - min of the cumulative deviations from the
    chunk mean, S = population standard deviation; R/S(n) = mean over chunks with S > 0.
    H = OLS slope of ln R/S(n) on ln n over the sizes with a value (NaN if fewer than 2).
    """
    windows = np.atleast_2d(np.asarray(windows, dtype=float))
    rows, size = windows.shape
    logs_n, logs_rs = [], []
    n = min_chunk
    while n <= size:
        chunks = windows.reshape(rows, size // n, n)
        mean = _lastsum(chunks) / n
        dev = chunks - mean[..., None]
        z = np.cumsum(dev, axis=-1)
        r = z.max(axis=-1) - z.min(axis=-1)
        s = np.sqrt(_lastsum(dev * dev) / n)
        ok = s > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            rs = np.where(ok, r / np.where(ok, s, 1.0), 0.0)
        count = _lastsum(ok.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            logs_rs.append(np.where(count > 0, np.log(_lastsum(rs) / count), np.nan))
        logs_n.append(math.log(n))
        n *= 2
    v = np.stack(logs_rs, axis=1)
    u = np.broadcast_to(np.array(logs_n), v.shape)
    ok = np.isfinite(v)
    k = _lastsum(ok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        u_bar = _lastsum(np.where(ok, u, 0.0)) / k
        v_bar = _lastsum(np.where(ok, v, 0.0)) / k
        du = np.where(ok, u - u_bar[:, None], 0.0)
        dv = np.where(ok, v - v_bar[:, None], 0.0)
        slope = _lastsum(du * dv) / _lastsum(du * du)
    return np.where(k >= 2, slope, np.nan)


def ar1_fit(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi, intercept) of the OLS fit r_t = c + phi r_t-1 over each row's consecutive
    pairs (NaN when the lagged returns do not vary)."""
    windows = np.atleast_2d(np.asarray(windows, dtype=float))
    x, y = windows[:, :-1], windows[:, 1:]
    pairs = x.shape[1]
    mx, my = _lastsum(x) / pairs, _lastsum(y) / pairs
    dx = x - mx[:, None]
    sxx = _lastsum(dx * dx)
    sxy = _lastsum(dx * (y - my[:, None]))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
    return phi, my - phi * mx


def strategy_fit_scores(hurst: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """docs/volatility-regimes.md: hurst_fit = clip(0.5 + 2 (H - 0.5), 0, 1), ar1_fit = clip(0.5 + phi, 0, 1),
    trend_fit = 100 x mean of the two, mean_reversion_fit = 100 - trend_fit (NaN if either
    input is NaN). Returns (hurst_fit, ar1_fit, trend_fit, mean_reversion_fit)."""
    h = np.clip(0.5 + 2.0 * (np.asarray(hurst, float) - 0.5), 0.0, 1.0)
    a = np.clip(0.5 + np.asarray(phi, float), 0.0, 1.0)
    trend = 100.0 * (h + a) / 2.0
    return h, a, trend, 100.0 - trend


# --------------------------------------------------------------------------- turbulence
def turbulence(returns: np.ndarray, window: int) -> np.ndarray:
    """Mahalanobis turbulence of each row of a (bars, assets) matrix of log returns:
    d_t = (y_t - mu)' Sigma^-1 (y_t - mu), mu and Sigma (sample covariance, ddof 1) from
    the `window` rows before t (pseudo-inverse when singular); NaN for the first `window`
    rows. Kritzman & Li (2010) without the 1/n scaling."""
    y = np.asarray(returns, dtype=float)
    rows, assets = y.shape
    out = np.full(rows, np.nan)
    if rows <= window:
        return out
    mus = np.empty((rows - window, assets))
    covs = np.empty((rows - window, assets, assets))
    # one BLAS thread: the matrices are small (threads only cost: 5x slower on a loaded
    # 2-core machine) and the bits do not depend on the machine's core count
    with threadpool_limits(limits=1, user_api="blas"):
        for i, t in enumerate(range(window, rows)):
            past = y[t - window: t]
            mus[i] = _lastsum(past.T) / window
            dev = past - mus[i]
            covs[i] = (dev.T @ dev) / (window - 1)
        inv = np.linalg.pinv(covs)  # one stacked call: LAPACK per matrix, as if one by one
    d = y[window:] - mus
    q = _lastsum(inv * d[:, None, :])  # Sigma^-1 d, summed in index order
    out[window:] = _lastsum(d * q)
    return out
