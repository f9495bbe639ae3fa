"""Compiled loops of the 2-state Gaussian HMM (numba): EM over a batch of windows and the
filtered probability of the high state at the end of many windows; and the order statistics
of sliding windows behind the rv_percentile detector's quantile levels
(:func:`window_order_stats`, for volatility.scheduled_quantiles).

These are the recursions :mod:`market_regimes.engines.volatility` documents (hmmlearn's
GaussianHMM EM with "scaling" forward-backward, and the forward filter), written as plain
loops over one window at a time so numba compiles them (``cache=True``: compiled once per
machine, then loaded). A window's result depends on that window only, in a fixed order of
float operations, so it is the same whatever else is in the batch (prefix invariance).

Why compiled (project decision, issue "hourly update in seconds"): the batched numpy EM
stepped through time in Python, ~20 numpy calls per step, and cost 8.3 s of the sample
build's 19.6 s of volatility engine time; the loops here run the same arithmetic in
about 1 s. Sums run in index order like the numpy version's ``cumsum``; ``exp``/``log``
come from the C library instead of numpy's SIMD versions (at most 1 ulp apart), so fits
agree with the numpy/hmmlearn EM to ~1e-14 relative and labels are identical on the
sample (benchmarks/detectors.py --agreement, tests/unit/test_volatility.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LOG2PI = math.log(2 * math.pi)
_LOGE2 = math.log(2.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _logaddexp(x: float, y: float) -> float:
    """numpy's npy_logaddexp, operation for operation."""
    if x == y:
        return x + _LOGE2
    tmp = x - y
    if tmp > 0:
        return x + math.log1p(math.exp(-tmp))
    if tmp <= 0:
        return y + math.log1p(math.exp(tmp))
    return tmp  # NaN


@njit(cache=True, nogil=True, error_model="numpy")
def _floor(x: float, lo: float) -> float:
    """np.maximum(x, lo) for a scalar: NaN stays NaN."""
    return lo if x < lo else x


@njit(cache=True, nogil=True, error_model="numpy")
def em_windows(values, starts, lengths, lo, hi, var, stay, n_iter, tol, covars_prior, fit_transitions, tiny, llr_clip):
    """EM of many windows of scaled |log returns| (window i = values[starts[i]:starts[i] +
    lengths[i]], lengths >= 2), each from its own start: means lo[i] / hi[i], both
    variances var[i], start probabilities 1/2, stay probabilities `stay`.

    Returns (params, iters): params[i] = (mean0, mean1, var0, var1, a00, a01, a10, a11,
    start0, start1) in the scaled units (state 0 started low), iters[i] = iterations run.
    An iteration: scaled forward-backward on the likelihood ratio lam_t = N(z_t; 1) /
    N(z_t; 0) clipped to e^+-llr_clip, the log-likelihood of the parameters before the
    M-step, then hmmlearn's MAP M-step (variances (covars_prior + weighted squared
    deviations) / max(mass, 1e-5); a probability that is exactly 0 stays 0; transitions
    kept when fit_transitions is 0). Stops after n_iter iterations or after the iteration
    whose log-likelihood gained less than tol on the previous one."""
    k = len(starts)
    params = np.full((k, 10), np.nan)
    iters = np.zeros(k, dtype=np.int64)
    longest = 0
    for i in range(k):
        longest = max(longest, lengths[i])
    lp0 = np.empty(longest)
    lp1 = np.empty(longest)
    lam = np.empty(longest)
    pred0 = np.empty(longest)
    q = np.empty(longest)
    norm = np.empty(longest)
    beta0 = np.empty(longest)
    beta1 = np.empty(longest)
    g0 = np.empty(longest)
    g1 = np.empty(longest)
    for i in range(k):
        z = values[starts[i] : starts[i] + lengths[i]]
        n = lengths[i]
        s0, s1 = 0.5, 0.5
        a00, a01, a10, a11 = stay, 1.0 - stay, 1.0 - stay, stay
        m0, m1, v0, v1 = lo[i], hi[i], var[i], var[i]
        prev_lb = np.nan
        for it in range(n_iter):
            w0, w1 = _floor(v0, tiny), _floor(v1, tiny)
            c0 = _LOG2PI + math.log(w0)
            c1 = _LOG2PI + math.log(w1)
            for t in range(n):
                d0 = z[t] - m0
                d1 = z[t] - m1
                lp0[t] = -0.5 * (c0 + d0 * d0 / w0)
                lp1[t] = -0.5 * (c1 + d1 * d1 / w1)
                r = lp1[t] - lp0[t]
                if r < -llr_clip:
                    r = -llr_clip
                elif r > llr_clip:
                    r = llr_clip
                lam[t] = math.exp(r)
            up, down = a11 - a01, a10 - a00
            lb = 0.0
            for t in range(n):  # forward pass and log-likelihood
                if t == 0:
                    pred0[0] = s0
                    p1 = s1
                else:
                    pred0[t] = q[t - 1] * down + a00
                    p1 = q[t - 1] * up + a01
                n1 = p1 * lam[t]
                norm[t] = pred0[t] + n1
                q[t] = n1 / norm[t]
                lb += _logaddexp(lp0[t] + math.log(pred0[t]), lp1[t] + math.log(p1))
            beta0[n - 1] = 1.0
            beta1[n - 1] = 1.0
            for t in range(n - 2, -1, -1):
                g0[t + 1] = (1.0 / norm[t + 1]) * beta0[t + 1]
                g1[t + 1] = (lam[t + 1] / norm[t + 1]) * beta1[t + 1]
                beta0[t] = a00 * g0[t + 1] + a01 * g1[t + 1]
                beta1[t] = a10 * g0[t + 1] + a11 * g1[t + 1]
            n0 = n1s = o0 = o1 = q0 = q1 = 0.0
            x00 = x01 = x10 = x11 = 0.0
            start0 = start1 = 0.0
            for t in range(n):
                alpha0 = pred0[t] / norm[t]
                post0, post1 = alpha0 * beta0[t], q[t] * beta1[t]
                tot = post0 + post1
                if tot == 0:
                    tot = 1.0
                post0, post1 = post0 / tot, post1 / tot
                if t == 0:
                    start0, start1 = post0, post1
                if t < n - 1:
                    x00 += alpha0 * g0[t + 1]
                    x01 += alpha0 * g1[t + 1]
                    x10 += q[t] * g0[t + 1]
                    x11 += q[t] * g1[t + 1]
                n0 += post0
                n1s += post1
                o0 += post0 * z[t]
                o1 += post1 * z[t]
                q0 += post0 * z[t] * z[t]
                q1 += post1 * z[t] * z[t]
            x00, x01, x10, x11 = x00 * a00, x01 * a01, x10 * a10, x11 * a11
            r0 = 0.0 if s0 == 0 else _floor(start0, 0.0)
            r1 = 0.0 if s1 == 0 else _floor(start1, 0.0)
            total = r0 + r1
            s0, s1 = r0 / total, r1 / total
            if fit_transitions:
                r00 = 0.0 if a00 == 0 else x00
                r01 = 0.0 if a01 == 0 else x01
                r10 = 0.0 if a10 == 0 else x10
                r11 = 0.0 if a11 == 0 else x11
                row0, row1 = r00 + r01, r10 + r11
                if row0 == 0:
                    row0 = 1.0
                if row1 == 0:
                    row1 = 1.0
                a00, a01, a10, a11 = r00 / row0, r01 / row0, r10 / row1, r11 / row1
            m0, m1 = o0 / n0, o1 / n1s
            e0 = q0 - 2 * m0 * o0 + m0 * m0 * n0
            e1 = q1 - 2 * m1 * o1 + m1 * m1 * n1s
            v0 = (covars_prior + e0) / _floor(n0, 1e-5)
            v1 = (covars_prior + e1) / _floor(n1s, 1e-5)
            iters[i] += 1
            done = lb - prev_lb < tol
            prev_lb = lb
            if done:
                break
        params[i, 0], params[i, 1], params[i, 2], params[i, 3] = m0, m1, v0, v1
        params[i, 4], params[i, 5], params[i, 6], params[i, 7] = a00, a01, a10, a11
        params[i, 8], params[i, 9] = s0, s1
    return params, iters


@njit(cache=True, nogil=True, error_model="numpy")
def forward_high(lam, idx0, length, start_high, a_lh, slope):
    """Filtered P(high) at the end of each window i, which reads likelihood ratios
    lam[idx0[i] : idx0[i] + length[i]]: pred_0 = start_high; p_j = pred_j lam_j /
    ((1 - pred_j) + pred_j lam_j); pred_j+1 = a_lh + p_j (a_hh - a_lh) (slope = a_hh - a_lh).

    Windows of equal length run 32 at a time, step by step (independent recursions side
    by side keep the divider busy), their parameters copied to block-local arrays. A full
    block of windows that start at consecutive ratios (a refit block of hmm_filter: window
    i + 1 starts one after window i) reads each step's 32 ratios as one slice, which the
    compiler turns into vector arithmetic (~4x faster than one window at a time on the
    sample's hourly segments). Vector lanes run the same IEEE operations as scalar code, so
    each window's result is the same bits either way (tests/unit/test_volatility.py)."""
    n = len(idx0)
    out = np.empty(n)
    block = 32
    q = np.empty(block)
    sl = np.empty(block)
    al = np.empty(block)
    base = np.empty(block, dtype=np.int64)
    i = 0
    while i < n:
        m = 1
        while m < block and i + m < n and length[i + m] == length[i]:
            m += 1
        steps = length[i]
        consecutive = m == block
        for b in range(m):  # step 0: pred = start_high (a window without steps: 0)
            pred = start_high[i + b]
            num = pred * lam[idx0[i + b]] if steps > 0 else 0.0
            q[b] = num / ((1.0 - pred) + num) if steps > 0 else 0.0
            sl[b] = slope[i + b]
            al[b] = a_lh[i + b]
            base[b] = idx0[i + b]
            if idx0[i + b] != idx0[i] + b:
                consecutive = False
        if consecutive:
            i0 = idx0[i]
            for j in range(1, steps):
                w = lam[i0 + j : i0 + j + block]
                for b in range(block):
                    pred = q[b] * sl[b] + al[b]
                    num = pred * w[b]
                    q[b] = num / ((1.0 - pred) + num)
        else:
            for j in range(1, steps):
                for b in range(m):
                    pred = q[b] * sl[b] + al[b]
                    num = pred * lam[base[b] + j]
                    q[b] = num / ((1.0 - pred) + num)
        for b in range(m):
            out[i + b] = q[b]
        i += m
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def window_order_stats(score, lows, highs, positions):
    """Order statistics of many windows of `score` that slide forward: window j is
    score[lows[j] : highs[j] + 1] (lows and highs non-decreasing) and out[j, k] is its
    value at position positions[j, k] of the window sorted ascending.

    One sorted copy of the window is kept and updated from window to window: the values that
    left (sorted) are skipped and the values that came (sorted) merged in, one pass over the
    window (a window of 2160 that moves 24 values: ~10x less work than sorting it); a window
    that overlaps less than half of the previous one is sorted anew. The score must hold no
    NaN and no -0.0 in the windows (equal values are then the same bits, so which of two
    equal values leaves does not matter): scheduled_quantiles checks that first."""
    k = len(lows)
    out = np.empty((k, positions.shape[1]))
    longest = 1
    for j in range(k):
        longest = max(longest, highs[j] - lows[j] + 1)
    buf = np.empty(longest)
    tmp = np.empty(longest)
    count = 0
    cur_lo, cur_hi = 0, -1
    for j in range(k):
        lo, hi = lows[j], highs[j]
        n = hi - lo + 1
        gone, came = lo - cur_lo, hi - cur_hi
        if count == 0 or lo > cur_hi or gone < 0 or came < 0 or 2 * (gone + came) > count:
            for p in range(n):
                buf[p] = score[lo + p]
            buf[:n].sort()
        elif gone > 0 or came > 0:
            rem = np.sort(score[cur_lo:lo])
            add = np.sort(score[cur_hi + 1 : hi + 1])
            ir, ia, o = 0, 0, 0
            for p in range(count):
                v = buf[p]
                if ir < len(rem) and v == rem[ir]:
                    ir += 1
                    continue
                while ia < len(add) and add[ia] < v:
                    tmp[o] = add[ia]
                    o += 1
                    ia += 1
                tmp[o] = v
                o += 1
            while ia < len(add):
                tmp[o] = add[ia]
                o += 1
                ia += 1
            buf, tmp = tmp, buf
        count, cur_lo, cur_hi = n, lo, hi
        for c in range(positions.shape[1]):
            out[j, c] = buf[positions[j, c]]
    return out
