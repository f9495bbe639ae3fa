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
from market_regimes.parallel import ordered_map, workers_for


# --------------------------------------------------------------------------- helpers
def _lastsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis in index order (sequential; the same bits for a row whatever
    the other rows are).

    Two spellings of the same additions ((a0 + a1) + a2) + ...: ``cumsum`` in general, and
    for short float rows of a 2-D+ array a column-by-column running sum, about 4x faster
    there (the wavelet bands are 8-64 coefficients wide). Bit-identical to
    ``np.cumsum(a, axis=-1)[..., -1]`` (tests/unit/test_volatility.py)."""
    a = np.asarray(a)
    if a.ndim < 2 or a.dtype.kind != "f" or not 0 < a.shape[-1] <= _LASTSUM_LOOP_WIDTH:
        return np.cumsum(a, axis=-1)[..., -1]
    out = a[..., 0].copy()
    for j in range(1, a.shape[-1]):
        out += a[..., j]
    return out


# the widest rows summed column by column (measured on 10,000 rows: ~4x faster than cumsum
# up to ~70 columns, ~2x slower from 128)
_LASTSUM_LOOP_WIDTH = 64


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


def deterministic_gaussian_hmm(
    lo: float,
    hi: float,
    var: float,
    stay: float,
    *,
    min_covar: float,
    covars_prior: float,
    n_iter: int,
    tol: float,
    random_state: int,
    fit_transitions: bool,
):
    """An unfitted hmmlearn GaussianHMM (2 states, diagonal, "scaling") with the project's
    deterministic start: means lo / hi, both variances var, start probabilities 1/2, stay
    probabilities `stay`; EM updates start, means, covariances and (when fit_transitions)
    the transitions, and draws nothing. The engine's reference fit and the research HMM on
    log realized vol both start from here."""
    from hmmlearn.hmm import GaussianHMM  # imported here: it loads scikit-learn (~3.5 s), which the models never need

    model = GaussianHMM(
        n_components=2,
        covariance_type="diag",
        min_covar=min_covar,
        covars_prior=covars_prior,
        n_iter=n_iter,
        tol=tol,
        random_state=random_state,
        params="stmc" if fit_transitions else "smc",
        init_params="",
        implementation="scaling",
    )
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[stay, 1 - stay], [1 - stay, stay]])
    model.means_ = np.array([[lo], [hi]])
    model.covars_ = np.array([[var], [var]])
    return model


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
    model = deterministic_gaussian_hmm(
        lo,
        hi,
        var,
        stay,
        min_covar=cfg.hmm_min_covar,
        covars_prior=cfg.hmm_covars_prior,
        n_iter=cfg.hmm_n_iter,
        tol=cfg.hmm_tol,
        random_state=cfg.hmm_random_state,
        fit_transitions=cfg.hmm_fit_transitions,
    )
    model.fit(z)
    means = model.means_[:, 0]
    variances = model.covars_[:, 0, 0] if model.covars_.ndim == 3 else model.covars_[:, 0]
    if not (np.isfinite(means).all() and np.isfinite(variances).all() and np.isfinite(model.transmat_).all()):
        return None  # EM collapsed a state (a window of nearly constant returns): no label
    low, high = (0, 1) if means[0] <= means[1] else (1, 0)
    return HmmFit(
        mean_low=float(means[low] * scale),
        mean_high=float(means[high] * scale),
        var_low=float(variances[low] * scale**2),
        var_high=float(variances[high] * scale**2),
        start_high=float(model.startprob_[high]),
        stay_low=float(model.transmat_[low, low]),
        stay_high=float(model.transmat_[high, high]),
        n_obs=len(x),
        n_iter=int(model.monitor_.iter),
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


def fit_hmm_batch(windows: list[np.ndarray], cfg: VolatilityConfig) -> list[HmmFit | None]:
    """Fit a 2-state Gaussian HMM to each window of clean |log returns|, all windows at once.

    The same EM as hmmlearn's GaussianHMM (diagonal covariance, "scaling" forward-backward,
    :func:`fit_hmm_hmmlearn`), compiled (:func:`market_regimes.engines.hmm_kernels.em_windows`):

    * each window is divided by its mean (the fit is scaled back at the end); EM starts
      deterministically: means at the ``hmm_init_low/high_quantile`` quantiles (high = low
      + 1 when they coincide), both variances at the window's variance floored at
      ``hmm_min_covar``, start probabilities 1/2, stay probabilities ``hmm_init_stay_prob``;
    * an iteration: E-step (scaled forward-backward on the likelihood ratio of the two
      states, clipped to e^+-500 so no density underflows), then the M-step of hmmlearn's
      MAP update: start = posterior of the first observation, transitions = expected
      transition counts (rows normalised; kept fixed when ``hmm_fit_transitions`` is 0),
      means = posterior-weighted means, variances = (``hmm_covars_prior`` + posterior
      weighted squared deviations) / max(posterior mass, 1e-5);
    * a window stops after ``hmm_n_iter`` iterations, or after the iteration whose
      log-likelihood (of the parameters before its M-step) gained less than ``hmm_tol``
      on the previous one (hmmlearn's ConvergenceMonitor).

    Every sum runs in time order and a window's fit depends on that window only, so it is
    bit-identical whatever else is in the batch (prefix invariance). The results agree with
    hmmlearn up to float rounding (~1e-14 relative on the sample: different summation
    order; tests/unit/test_volatility.py, benchmarks/detectors.py --agreement). Speed: the
    sample's 8,206 refit windows of up to 500 returns in ~1 s (the numpy-batched version
    before: 7.9 s; hmmlearn one fit at a time: ~29 s).

    Returns one fit per window: None for a window whose returns are all 0 (no scale) or
    whose EM ends with a non-finite parameter (a state collapsed).
    """
    n = len(windows)
    out: list[HmmFit | None] = [None] * n
    if n == 0:
        return out
    lengths, scale, lo, hi, var = _em_start(windows, cfg)
    ok = np.flatnonzero(scale > 0)
    if len(ok) == 0:
        return out
    from market_regimes.engines.hmm_kernels import em_windows  # numba: loaded only when there is a fit to run

    def fit_chunk(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate([np.asarray(windows[i], dtype=float) / scale[i] for i in chunk])
        starts = np.concatenate([[0], np.cumsum(lengths[chunk])[:-1]]).astype(np.int64)
        return em_windows(
            values,
            starts,
            lengths[chunk].astype(np.int64),
            lo[chunk],
            hi[chunk],
            var[chunk],
            float(cfg.hmm_init_stay_prob),
            int(cfg.hmm_n_iter),
            float(cfg.hmm_tol),
            float(cfg.hmm_covars_prior),
            bool(cfg.hmm_fit_transitions),
            _TINY,
            _LLR_CLIP,
        )

    # the kernel releases the GIL and a window's fit depends on that window only: the windows
    # are cut into one contiguous chunk per thread (by returns) and fitted side by side
    threads = min(workers_for(int(np.sum(lengths[ok]))), len(ok))
    cut = np.searchsorted(np.cumsum(lengths[ok]), np.sum(lengths[ok]) * np.arange(1, threads) / threads)
    chunks = [c for c in np.split(ok, cut) if len(c)]
    fitted = ordered_map(fit_chunk, chunks, threads)
    params = np.concatenate([f[0] for f in fitted])
    iters = np.concatenate([f[1] for f in fitted])
    for j, i in enumerate(ok):
        m0, m1, v0, v1, a00, a01, a10, a11, s0, s1 = params[j]
        if not np.isfinite(params[j]).all():
            continue  # EM collapsed a state (a window of nearly constant returns): no label
        low, high = (0, 1) if m0 <= m1 else (1, 0)
        means, variances = (m0, m1), (v0, v1)
        stays, starts_p = (a00, a11), (s0, s1)
        out[i] = HmmFit(
            mean_low=float(means[low] * scale[i]),
            mean_high=float(means[high] * scale[i]),
            var_low=float(variances[low] * scale[i] ** 2),
            var_high=float(variances[high] * scale[i] ** 2),
            start_high=float(starts_p[high]),
            stay_low=float(stays[low]),
            stay_high=float(stays[high]),
            n_obs=int(lengths[i]),
            n_iter=int(iters[j]),
        )
    return out


_LLR_CLIP = 500.0  # |ln likelihood ratio| cap of the EM pass: e^-500 ~ 1e-217, far from subnormal floats
_TINY = np.finfo(float).tiny


def _llr_constants(fit: HmmFit) -> tuple[float, float, float, float, float, float]:
    """(ln-density constant, mean, 2 x variance) of the high then the low state: the
    scalars of the log-likelihood ratio ln N(x; high) - ln N(x; low) = (c_high - (x -
    m_high)^2 / tv_high) - (c_low - (x - m_low)^2 / tv_low) that :func:`hmm_filter`
    computes per observation, c = -ln(2 pi var) / 2, tv = 2 var."""
    return (
        -0.5 * math.log(2 * math.pi * fit.var_high),
        fit.mean_high,
        2 * fit.var_high,
        -0.5 * math.log(2 * math.pi * fit.var_low),
        fit.mean_low,
        2 * fit.var_low,
    )


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The integers starts[k] .. stops[k] - 1 of every k, concatenated (stops > starts)."""
    lengths = stops - starts
    return np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())


def refit_points(n: int, min_fit: int, every: int) -> np.ndarray:
    """Clean indices of the refits of a segment with n clean returns."""
    return np.arange(min_fit - 1, n, every, dtype=np.int64)


def hmm_refits(n: int, cfg: VolatilityConfig, refit_every: int, first: int = 0) -> np.ndarray:
    """Clean indices of the refits whose models label the clean indices first .. n - 1 of a
    segment with n clean returns: the last refit at or before `first` and every later one."""
    refits = refit_points(n, cfg.hmm_min_fit_bars, refit_every)
    return (
        refits[np.searchsorted(refits, first, side="right") - 1 :]
        if first > 0 and len(refits) and refits[0] <= first
        else refits
    )


def hmm_refit_windows(
    abs_returns: np.ndarray, cfg: VolatilityConfig, refit_every: int, offset: int = 0, first: int | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(refit clean indices, their fit windows) that :func:`hmm_filter` needs for the same
    arguments (collect them over many segments and fit them in one :func:`fit_hmm_batch`).

    Raises ValueError when the look-back (see hmm_filter) misses a window's first return."""
    x = np.ascontiguousarray(abs_returns, dtype=float)
    first = offset if first is None else first
    refits = hmm_refits(offset + len(x), cfg, refit_every, first)
    lows = np.maximum(refits - cfg.hmm_window_bars + 1, 0)
    if len(refits) and lows.min() < offset:
        raise ValueError(
            f"hmm look-back too short: a refit window starts at clean index {int(lows.min())}, "
            f"the look-back at {offset}"
        )
    return refits, [x[lo - offset : r + 1 - offset] for lo, r in zip(lows, refits)]


def hmm_filter(
    abs_returns: np.ndarray,
    cfg: VolatilityConfig,
    refit_every: int,
    offset: int = 0,
    first: int | None = None,
    fits: dict[int, HmmFit | None] | None = None,
    compiled: bool | None = None,
) -> dict[str, np.ndarray]:
    """HMM labels of one segment's clean |log returns| (see the module docstring).

    abs_returns: the segment's clean |log returns| from clean index `offset` on (offset 0:
    the whole segment; offset > 0: a look-back window of an incremental run). Labels are
    computed for the clean indices >= `first` (default: offset); the look-back must hold
    the fit window of the last refit at or before `first` and the decode window of
    `first` (offset <= max(0, first - hmm_window_bars - refit_every + 2) always
    suffices). The same call on the whole segment (offset 0, first 0) gives the same
    values at every index >= first, bit for bit: a label depends on its windows only.
    fits: refit clean index -> fit (from :func:`hmm_refit_windows` + :func:`fit_hmm_batch`);
    computed here when None. compiled: how the forward filter runs (:func:`filtered_high`;
    None: by this segment's window count); the same values either way.

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
    out = {
        k: np.full(n_local, np.nan)
        for k in ("p_high", "fit_obs", "mean_low", "mean_high", "std_low", "std_high", "stay_low", "stay_high")
    }
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
    # block can reach; the filter of bar t then reads lam[offset(t) + step]. Blocks are
    # collected first and their ratios computed in one pass (each element with its block's
    # parameters: the same operations as block by block)
    ends = np.append(refits[1:], n)
    used, b0s, b1s, constants = [], [], [], []
    for r, end in zip(refits.tolist(), ends.tolist()):
        fit = fits[r]
        b0, b1 = max(r, first), min(end, r + refit_every, n)  # the block: clean indices b0 .. b1 - 1
        if b1 <= b0:
            continue
        local = slice(b0 - offset, b1 - offset)
        out["fit_index"][local] = r
        out["fit_obs"][local] = min(r + 1, w)
        if fit is None:
            continue
        used.append(r)
        b0s.append(b0)
        b1s.append(b1)
        constants.append(_llr_constants(fit))
        out["mean_low"][local], out["mean_high"][local] = fit.mean_low, fit.mean_high
        out["std_low"][local], out["std_high"][local] = math.sqrt(fit.var_low), math.sqrt(fit.var_high)
        out["stay_low"][local], out["stay_high"][local] = fit.stay_low, fit.stay_high
    if not used:
        return out
    b0, b1 = np.array(b0s, dtype=np.int64), np.array(b1s, dtype=np.int64)
    lo_obs = np.maximum(b0 - w + 1, 0)
    n_obs = b1 - lo_obs  # observations of each block's ratio vector
    obs = _ranges(lo_obs - offset, b1 - offset)
    per_obs = np.repeat(np.array(constants), n_obs, axis=0)
    c_high, m_high, tv_high, c_low, m_low, tv_low = per_obs.T
    xs = x[obs]
    llr = (c_high - (xs - m_high) ** 2 / tv_high) - (c_low - (xs - m_low) ** 2 / tv_low)
    lam = np.exp(np.clip(llr, -700.0, 700.0))
    block = _ranges(b0, b1)
    first_obs = np.concatenate([[0], np.cumsum(n_obs)[:-1]]) - lo_obs  # lam position of clean index 0
    starts = np.maximum(block - w + 1, 0)
    t = block - offset
    idx0 = np.repeat(first_obs, b1 - b0) + starts
    length = block - starts + 1
    which = np.searchsorted(np.array(used), out["fit_index"][t])  # position of each bar's refit
    start_high = np.array([fits[r].start_high for r in used])[which]
    a_lh = 1.0 - np.array([fits[r].stay_low for r in used])[which]  # P(low -> high)
    slope = np.array([fits[r].stay_high for r in used])[which] - a_lh  # P(h->h) - P(l->h)
    out["p_high"][t] = filtered_high(lam, idx0, length, start_high, a_lh, slope, compiled)
    return out


# below this many windows the filter runs as numpy (no numba start-up, ~1 s per process: an
# hourly update filters ~100 bars); from it on compiled. Both run the same float operations in
# the same order, so they return the same bits (tests/unit/test_volatility.py). Not a model
# constant: it changes the speed, never a value. volatility_frames.volatility_regime_rows
# compares it with the windows of the whole run (a full build: every segment compiled, the
# numpy filter of ~250k windows of the sample's smaller segments cost ~2 s more).
COMPILED_FILTER_MIN_WINDOWS = 20_000


def filtered_high(
    lam: np.ndarray,
    idx0: np.ndarray,
    length: np.ndarray,
    start_high: np.ndarray,
    a_lh: np.ndarray,
    slope: np.ndarray,
    compiled: bool | None = None,
) -> np.ndarray:
    """Filtered P(high) at the end of each window (see :func:`forward_high_numpy`): compiled
    (:func:`market_regimes.engines.hmm_kernels.forward_high`) when `compiled`, numpy when it is
    False; None: compiled for batches of COMPILED_FILTER_MIN_WINDOWS windows or more. The same
    bits either way."""
    if compiled is None:
        compiled = len(idx0) >= COMPILED_FILTER_MIN_WINDOWS
    if compiled:
        from market_regimes.engines.hmm_kernels import forward_high

        return forward_high(lam, idx0, length, start_high, a_lh, slope)
    return forward_high_numpy(lam, idx0, length, start_high, a_lh, slope)


def forward_high_numpy(
    lam: np.ndarray, idx0: np.ndarray, length: np.ndarray, start_high: np.ndarray, a_lh: np.ndarray, slope: np.ndarray
) -> np.ndarray:
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
        sel = where_full[lo : lo + chunk]
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


# --------------------------------------------------------------------------- realized-vol percentile
HIGH, LOW = 1.0, 0.0


def log_realized_vol(x: np.ndarray, n: int, floor: float = 1e-20) -> np.ndarray:
    """ln sqrt(mean of x^2 over the last n values up to each index) (expanding over the
    first n - 1), the mean floored at `floor`; shape of x. Each value is the sequential sum
    of its own window (``_lastsum``), so it is the same bits whatever precedes the window:
    a look-back that starts later gives the same values from its index n - 1 on."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), np.nan)
    if len(x) == 0:
        return out
    sq = x * x
    head = min(n - 1, len(x))
    for c in range(head):  # expanding windows of the first n - 1 indices
        out[c] = _lastsum(sq[: c + 1]) / (c + 1)
    if len(x) >= n:
        ends = np.arange(n - 1, len(x))
        for a in range(0, len(ends), 65536):  # bounded memory
            out[ends[a : a + 65536]] = _lastsum(trailing_windows(sq, n, ends[a : a + 65536])) / n
    return 0.5 * np.log(np.maximum(out, floor))


def row_quantiles(rows: np.ndarray, qs) -> np.ndarray:
    """``np.quantile(rows, qs, axis=-1)`` (numpy's default "linear" method) of a 2-D array,
    bit for bit: each row sorted (numpy's vectorised sort: ~2.5x faster than the
    partition np.quantile runs along the first axis of its transposed copy), then numpy's
    neighbours and interpolation of its virtual index (n - 1) q (its ``_get_indexes`` /
    ``_lerp``, operation for operation); a row holding a NaN gives NaN, as in numpy. Rows
    holding a -0.0 go to np.quantile itself (-0.0 and 0.0 are equal to both, and which of
    them the partition leaves at a position differs from the sort; log_realized_vol never
    gives -0.0). Returns shape (len(qs), rows) (tests/unit/test_volatility.py compares
    with np.quantile)."""
    qs = np.asarray(qs, dtype=float)
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    count, n = rows.shape
    if n == 0:
        raise ValueError("row_quantiles: rows without values")
    zero = rows == 0
    if zero.any() and np.signbit(rows[zero]).any():
        return np.quantile(rows, qs, axis=-1)
    ordered = np.sort(rows, axis=-1)
    virtual = (n - 1) * qs
    previous, following = _lerp_indexes(virtual, n)
    gamma = (virtual - previous)[:, None]
    a, b = ordered[:, previous].T, ordered[:, following].T
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=np.broadcast_to(gamma >= 0.5, out.shape))
    has_nan = np.isnan(ordered[:, -1])  # NaN sorts last
    if has_nan.any():
        out[:, has_nan] = np.nan
    return out


def _lerp_indexes(virtual: np.ndarray, n) -> tuple[np.ndarray, np.ndarray]:
    """numpy's ``_get_indexes`` for the linear quantile: the order statistics below and above
    each virtual index (n - 1) q of n values (the largest value, index -1, at and above
    n - 1; the first below 0), as intp arrays of virtual's shape."""
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1  # the largest value (numpy's index -1)
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    return previous.astype(np.intp), following.astype(np.intp)


def _plain_values(values: np.ndarray) -> bool:
    """No NaN and no -0.0 (window_order_stats' condition)."""
    return not (np.isnan(values).any() or (np.signbit(values) & (values == 0)).any())


def _sliding_quantiles(score: np.ndarray, lows: np.ndarray, highs: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """np.quantile(score[lows[j] : highs[j] + 1], qs) for each j (windows sliding forward,
    score without NaN or -0.0 there), shape (len(qs), len(lows)): the order statistics of
    hmm_kernels.window_order_stats, interpolated as :func:`row_quantiles` (numpy's
    ``_get_indexes`` / ``_lerp``) with each window's own length."""
    from market_regimes.engines.hmm_kernels import window_order_stats

    n = (highs - lows + 1).astype(np.int64)[None, :]
    virtual = (n - 1) * qs[:, None]
    previous, following = _lerp_indexes(virtual, n)
    gamma = virtual - previous
    at = np.concatenate(
        [np.where(previous < 0, n + previous, previous), np.where(following < 0, n + following, following)]
    )
    stats = window_order_stats(score, lows.astype(np.int64), highs.astype(np.int64), np.ascontiguousarray(at.T))
    a, b = stats[:, : len(qs)].T, stats[:, len(qs) :].T
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def scheduled_quantiles(
    score: np.ndarray,
    min_bars: int,
    every: int,
    window: int,
    qs,
    omit_nan: bool = False,
    offset: int = 0,
    first: int | None = None,
    compiled: bool = False,
) -> np.ndarray:
    """Quantiles of `score` updated on a schedule: at each update index r (min_bars - 1,
    + every, ...) the levels `qs` of score[max(0, r - window + 1) .. r] (numpy's linear
    interpolation); an index c gets the values of the last r <= c. The score must be
    finite, or `omit_nan` set: then NaN values are left out of every window
    (np.nanquantile; NaN for a window without a value).

    offset / first (incremental runs): `score` holds the indices offset .. offset + n - 1
    of the whole sequence and only the indices >= first (default offset) are wanted; the
    windows they need must lie inside it (ValueError otherwise). Each window's quantiles
    depend on its values only, so the result equals the whole-sequence call there.

    compiled (a large run, numba already loaded): the windows' order statistics come from
    one sorted window slid along the schedule
    (:func:`market_regimes.engines.hmm_kernels.window_order_stats`) and numpy's
    interpolation of them (:func:`row_quantiles`'), the same bits as np.quantile; windows
    holding a NaN or a -0.0 take the numpy path. Without it each window is sorted on its own
    (:func:`row_quantiles`).

    Returns (len(qs), len(score)) over the local positions; NaN before the first update
    and before `first`."""
    score = np.asarray(score, dtype=float)
    n = len(score)
    first = offset if first is None else first
    qs = np.asarray(qs, dtype=float)
    out = np.full((len(qs), n), np.nan)
    refits = refit_points(offset + n, min_bars, every)
    if first > 0 and len(refits) and refits[0] <= first:  # the last update at or before `first` on
        refits = refits[np.searchsorted(refits, first, side="right") - 1 :]
    if len(refits) == 0:
        return out
    lows = np.maximum(refits - window + 1, 0)
    if lows.min() < offset:
        raise ValueError(f"scheduled quantiles: a window starts at index {int(lows.min())}, the look-back at {offset}")
    values = np.full((len(qs), len(refits)), np.nan)
    local = refits - offset
    if omit_nan:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN
            for j, (lo, r) in enumerate(zip((lows - offset).tolist(), local.tolist())):
                values[:, j] = np.nanquantile(score[lo : r + 1], qs)
    elif compiled and _plain_values(score[lows.min() - offset : local.max() + 1]):
        values = _sliding_quantiles(score, lows - offset, local, qs)
    else:
        full = np.flatnonzero(refits >= window - 1)
        if len(full):
            windows = sliding_window_view(score, window)
            for a in range(0, len(full), 4096):  # bounded memory: 4096 windows at a time
                sel = full[a : a + 4096]
                values[:, sel] = row_quantiles(windows[local[sel] - (window - 1)], qs)
        for j in np.flatnonzero(refits < window - 1):  # expanding windows of a sequence's start
            values[:, j] = row_quantiles(score[None, : local[j] + 1], qs)[:, 0]
    block = np.searchsorted(refits, np.arange(offset, offset + n), side="right") - 1
    have = (block >= 0) & (np.arange(offset, offset + n) >= first)
    out[:, have] = values[:, block[have]]
    return out


def hysteresis(
    score: np.ndarray, enter_at: np.ndarray | float, exit_at: np.ndarray | float, initial: float = np.nan
) -> np.ndarray:
    """Two-threshold switch (Schmitt trigger): high from the first index with score >=
    enter_at (and > exit_at: a flat window whose levels coincide with its score, e.g. a
    market without trades, is low), low again from the first later index with score <
    exit_at. Indices where score or a threshold is NaN keep the previous
    label. `initial`: the label before index 0 (1.0 high, 0.0 low: an incremental run
    continues from its last stored label); NaN: none, then there is no label before the
    first index with a finite score and thresholds, and that index is high if it enters,
    else low. Returns float labels (1.0 / 0.0 / NaN)."""
    score = np.asarray(score, dtype=float)
    enter_at = np.broadcast_to(np.asarray(enter_at, dtype=float), score.shape)
    exit_at = np.broadcast_to(np.asarray(exit_at, dtype=float), score.shape)
    n = len(score)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(score) & np.isfinite(enter_at) & np.isfinite(exit_at)
        up = valid & (score >= enter_at) & (score > exit_at)
        down = valid & ~up & (score < exit_at)
    # without an initial label the first valid index always sets one; later ones only when they enter or exit
    first = int(np.argmax(valid)) if valid.any() and not np.isfinite(initial) else n
    event = np.where(up | down | (np.arange(n) == first), np.arange(n), -1)
    last = np.maximum.accumulate(event) if n else event
    out = np.full(n, float(initial))
    have = last >= 0
    out[have] = np.where(up[last[have]], HIGH, LOW)
    return out


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
    ret, er, codes = direction_codes(windows, min_er)
    return ret, er, np.array(DIRECTIONS, dtype=object)[codes]


#: the directions in the order of :func:`direction_codes`' codes
DIRECTIONS = ("up", "down", "none")


def direction_codes(windows: np.ndarray, min_er: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`direction_inputs` with the direction as codes into :data:`DIRECTIONS` (int8:
    0 up, 1 down, 2 none): (window return, efficiency ratio, codes)."""
    ret = _lastsum(windows)
    path = _lastsum(np.abs(windows))
    with np.errstate(invalid="ignore", divide="ignore"):
        er = np.where(path > 0, np.abs(ret) / np.where(path > 0, path, 1.0), 0.0)
    trending = er >= min_er
    codes = np.full(len(ret), 2, dtype=np.int8)
    codes[trending & (ret > 0)] = 0
    codes[trending & (ret < 0)] = 1
    return ret, er, codes


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


#: the vol regimes and quadrants in the order of :func:`quadrant_codes`' codes
VOL_REGIMES = ("high", "low")
QUADRANTS = ("CRISIS", "EXPANSION", "NORMAL", "QUIET")
# quadrant code per (vol regime code, direction code) (rows high, low; columns DIRECTIONS)
_QUADRANT_OF = np.array([[1, 0, 1], [2, 2, 3]], dtype=np.int8)


def quadrant_codes(vol_regime: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """:func:`quadrants` on codes: vol_regime codes into :data:`VOL_REGIMES`, direction codes
    into :data:`DIRECTIONS` (-1 = missing in either); returns codes into :data:`QUADRANTS`
    (int8, -1 where either input is missing)."""
    v = np.asarray(vol_regime)
    d = np.asarray(direction)
    known = (v >= 0) & (d >= 0)
    return np.where(known, _QUADRANT_OF[np.where(known, v, 0), np.where(known, d, 0)], -1).astype(np.int8)


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
    count = rows - window
    mus = np.empty((count, assets))
    covs = np.empty((count, assets, assets))
    # the windows before each row t (t = window ..), as views: by_asset[i] = y[i : i + window].T,
    # by_row[i] = y[i : i + window]
    by_asset = sliding_window_view(y, window, axis=0)[:count]
    by_row = sliding_window_view(y, (window, assets))[:count, 0]
    # one BLAS thread: the matrices are small (threads only cost: 5x slower on a loaded
    # 2-core machine) and the bits do not depend on the machine's core count
    with threadpool_limits(limits=1, user_api="blas"):
        # _TURBULENCE_CHUNK windows at a time (bounded memory): the stacked sums and matmul
        # run each window's operations as the window alone would (same bits, ~2x faster than
        # one window per Python step)
        for a in range(0, count, _TURBULENCE_CHUNK):
            b = min(a + _TURBULENCE_CHUNK, count)
            mus[a:b] = _lastsum(by_asset[a:b]) / window
            dev = by_row[a:b] - mus[a:b, None, :]
            covs[a:b] = np.matmul(dev.transpose(0, 2, 1), dev) / (window - 1)
        inv = np.linalg.pinv(covs)  # one stacked call: LAPACK per matrix, as if one by one
    d = y[window:] - mus
    q = _lastsum(inv * d[:, None, :])  # Sigma^-1 d, summed in index order
    out[window:] = _lastsum(d * q)
    return out


_TURBULENCE_CHUNK = 1024  # windows per stacked step of turbulence (memory: chunk x window x assets floats)
