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
from hmmlearn.hmm import GaussianHMM
from numpy.lib.stride_tricks import sliding_window_view

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


def fit_hmm(abs_returns: np.ndarray, cfg: VolatilityConfig) -> HmmFit | None:
    """Fit a 2-state Gaussian HMM (hmmlearn, diagonal covariance) to one window of clean
    |log returns|.

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
    model = GaussianHMM(n_components=2, covariance_type="diag", min_covar=cfg.hmm_min_covar,
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


def _log_likelihood_ratio(x: np.ndarray, fit: HmmFit) -> np.ndarray:
    """ln N(x; high) - ln N(x; low) per observation."""
    high = -0.5 * math.log(2 * math.pi * fit.var_high) - (x - fit.mean_high) ** 2 / (2 * fit.var_high)
    low = -0.5 * math.log(2 * math.pi * fit.var_low) - (x - fit.mean_low) ** 2 / (2 * fit.var_low)
    return high - low


def refit_points(n: int, min_fit: int, every: int) -> np.ndarray:
    """Clean indices of the refits of a segment with n clean returns."""
    return np.arange(min_fit - 1, n, every, dtype=np.int64)


def hmm_filter(abs_returns: np.ndarray, cfg: VolatilityConfig, refit_every: int) -> dict[str, np.ndarray]:
    """HMM labels of one segment's clean |log returns| (see the module docstring).

    Returns arrays over the clean indices: ``fit_index`` (clean index of the refit used,
    int; -1 before the first refit), ``fit_obs`` (returns in that refit's window), and
    (NaN before the first refit and after a refit whose window had no scale)
    ``p_high`` (filtered probability of the high-vol state), ``mean_low``, ``mean_high``,
    ``std_low``, ``std_high``, ``stay_low``, ``stay_high``; plus ``n_fits`` (fits run).
    """
    x = np.ascontiguousarray(abs_returns, dtype=float)
    n, w, m = len(x), cfg.hmm_window_bars, cfg.hmm_min_fit_bars
    out = {k: np.full(n, np.nan) for k in ("p_high", "fit_obs", "mean_low", "mean_high", "std_low",
                                           "std_high", "stay_low", "stay_high")}
    out["fit_index"] = np.full(n, -1, dtype=np.int64)
    refits = refit_points(n, m, refit_every)
    fits = {int(r): fit_hmm(x[max(0, r - w + 1): r + 1], cfg) for r in refits}
    out["n_fits"] = np.array(len(fits))
    if len(refits) == 0:
        return out
    # one likelihood-ratio vector per refit block, over every observation a window of the
    # block can reach; the filter of bar t then reads lam[offset(t) + step]
    lam_parts, t_all, idx0_all, length_all = [], [], [], []
    offset = 0
    for r in refits:
        fit = fits[int(r)]
        block = np.arange(r, min(r + refit_every, n))
        out["fit_index"][block] = r
        out["fit_obs"][block] = min(int(r) + 1, w)
        if fit is None:
            continue
        lo_obs = max(0, int(r) - w + 1)
        llr = _log_likelihood_ratio(x[lo_obs: block[-1] + 1], fit)
        lam_parts.append(np.exp(np.clip(llr, -700.0, 700.0)))
        starts = np.maximum(block - w + 1, 0)
        t_all.append(block)
        idx0_all.append(offset + (starts - lo_obs))
        length_all.append(block - starts + 1)
        offset += len(llr)
        out["mean_low"][block], out["mean_high"][block] = fit.mean_low, fit.mean_high
        out["std_low"][block], out["std_high"][block] = math.sqrt(fit.var_low), math.sqrt(fit.var_high)
        out["stay_low"][block], out["stay_high"][block] = fit.stay_low, fit.stay_high
    if not t_all:
        return out
    lam = np.concatenate(lam_parts)
    t = np.concatenate(t_all)
    idx0 = np.concatenate(idx0_all)
    length = np.concatenate(length_all)
    fitted = [int(r) for r in refits if fits[int(r)] is not None]
    which = np.searchsorted(np.array(fitted), out["fit_index"][t])  # position of each bar's refit
    start_high = np.array([fits[r].start_high for r in fitted])[which]
    a_lh = 1.0 - np.array([fits[r].stay_low for r in fitted])[which]  # P(low -> high)
    slope = np.array([fits[r].stay_high for r in fitted])[which] - a_lh  # P(h->h) - P(l->h)
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
    for i, t in enumerate(range(window, rows)):
        past = y[t - window: t]
        mus[i] = _lastsum(past.T) / window
        dev = past - mus[i]
        covs[i] = (dev.T @ dev) / (window - 1)
    d = y[window:] - mus
    inv = np.linalg.pinv(covs)  # one stacked call: LAPACK per matrix, as if one by one
    q = _lastsum(inv * d[:, None, :])  # Sigma^-1 d, summed in index order
    out[window:] = _lastsum(d * q)
    return out
