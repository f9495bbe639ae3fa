"""Point-in-time price structure for the Uptrend Engine (docs/uptrend-engine.md):
swing pivots and clustered support/resistance levels ("Inputs per bar", S/R levels), the
SR boost of the flag gates ("Scores"), and the ATR zigzag of EDX's struct component.

Pure Python + numpy, no dbt. Every function works on one segment's bars in time order
(index 0 = the segment's first final bar) and uses, at bar t, only bars <= t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class Pivots:
    """Pivots of a close series, in pivot-bar order (index-aligned int/float arrays).

    idx: bar index of the pivot close; price: that close; kind: +1 high, -1 low;
    confirm: first bar index at which the pivot is known (usable from this bar on).
    """

    idx: np.ndarray
    price: np.ndarray
    kind: np.ndarray
    confirm: np.ndarray


def swing_pivots(close: np.ndarray, bars: int, min_prominence: float) -> Pivots:
    """Swing highs and lows of the S/R levels (docs/uptrend-engine.md).

    A swing high is a close strictly above the `bars` closes before and the `bars` closes
    after it and at least `min_prominence` (fraction) above the lower of the lowest close
    before and the lowest close after; a swing low mirrors it (strictly below both sides,
    at least `min_prominence` below the higher of the two highest closes). A pivot at bar i
    is confirmed at bar i + bars (it needs the closes after it).

    Args:
        close: closes of one segment, shape (n,), no NaN.
        bars: closes compared on each side (seed swing_bars, 5).
        min_prominence: seed swing_min_prominence (0.005 = 0.5%).

    Returns:
        :class:`Pivots` sorted by bar index (a bar is never both a high and a low).
    """
    close = np.asarray(close, dtype=float)
    n = len(close)
    if n < 2 * bars + 1:
        empty = np.zeros(0, dtype=np.int64)
        return Pivots(empty, np.zeros(0), empty, empty)
    windows = sliding_window_view(close, 2 * bars + 1)
    mid = windows[:, bars]
    before, after = windows[:, :bars], windows[:, bars + 1 :]
    high = (
        (mid > before.max(axis=1))
        & (mid > after.max(axis=1))
        & (mid >= (1.0 + min_prominence) * np.minimum(before.min(axis=1), after.min(axis=1)))
    )
    low = (
        (mid < before.min(axis=1))
        & (mid < after.min(axis=1))
        & (mid <= (1.0 - min_prominence) * np.maximum(before.max(axis=1), after.max(axis=1)))
    )
    idx = np.flatnonzero(high | low) + bars
    kind = np.where(high[idx - bars], 1, -1)
    return Pivots(idx.astype(np.int64), close[idx], kind.astype(np.int64), (idx + bars).astype(np.int64))


def _extend_clusters(
    prices: list[float],
    start: int,
    stop: int,
    cluster_pct: float,
    firsts: list[float],
    sums: list[float],
    counts: list[int],
    last: list[int],
) -> None:
    """Add prices[start:stop] (time order) to the clusters in place: a pivot joins the first
    cluster (in order of creation) whose first pivot it is within cluster_pct of, else it
    starts one. last[c] = index of the cluster's newest pivot."""
    for j in range(start, stop):
        price = prices[j]
        for c, first in enumerate(firsts):
            if abs(price - first) <= cluster_pct * first:
                sums[c] += price
                counts[c] += 1
                last[c] = j
                break
        else:
            firsts.append(price)
            sums.append(price)
            counts.append(1)
            last.append(j)


def _strongest(sums: list[float], counts: list[int], last: list[int], max_levels: int) -> tuple[list[float], list[int]]:
    """(mean prices, strengths) of the max_levels strongest clusters (ties: most recent pivot first)."""
    order = sorted(range(len(counts)), key=lambda c: (-counts[c], -last[c]))[:max_levels]
    return [sums[c] / counts[c] for c in order], [counts[c] for c in order]


def cluster_levels(prices: list[float], cluster_pct: float, max_levels: int) -> tuple[list[float], list[int]]:
    """Cluster pivot prices (in time order) into levels.

    A pivot joins the first cluster (in order of creation) whose first pivot it is within
    `cluster_pct` of (|p - first| <= cluster_pct x first), otherwise it starts a cluster.
    Level = mean price of the cluster, strength = number of pivots. The `max_levels`
    strongest are kept (ties: the cluster with the most recent pivot first).

    Returns:
        (level prices, strengths), strongest first.
    """
    firsts: list[float] = []
    sums: list[float] = []
    counts: list[int] = []
    last: list[int] = []
    _extend_clusters(list(prices), 0, len(prices), cluster_pct, firsts, sums, counts, last)
    return _strongest(sums, counts, last, max_levels)


class SupportResistance:
    """S/R levels of one segment at any bar, point-in-time (docs/uptrend-engine.md).

    At bar t the levels are the clusters of the confirmed pivots (confirm <= t) whose bar
    lies in the trailing window of `window` bars (t - window + 1 .. t), plus the running
    max and min close of that window, each with the strength of the strongest level. With
    no pivot in the window there are no levels (the running max/min have no strength to
    borrow). Levels are computed on demand and cached per pivot set, so a caller that
    needs them on a few bars pays for those only.
    """

    def __init__(
        self,
        close: np.ndarray,
        *,
        window: int,
        swing_bars: int,
        min_prominence: float,
        cluster_pct: float,
        max_levels: int,
    ):
        close = np.asarray(close, dtype=float)
        self._pivots = swing_pivots(close, swing_bars, min_prominence)
        self._window = window
        self._cluster_pct = cluster_pct
        self._max_levels = max_levels
        self._prices = self._pivots.price.tolist()
        # running max / min close of the trailing window (shorter at the segment start)
        n = len(close)
        if n:
            padded = np.concatenate([np.full(window - 1, np.nan), close])
            view = sliding_window_view(padded, window)
            self._run_max = np.nanmax(view, axis=1)
            self._run_min = np.nanmin(view, axis=1)
        else:
            self._run_max = self._run_min = close
        # pivot range [lo, hi) of every bar: in the window and confirmed by the bar
        bars = np.arange(n)
        self._lo = np.searchsorted(self._pivots.idx, bars - window + 1, side="left").tolist()
        self._hi = np.searchsorted(self._pivots.confirm, bars, side="right").tolist()
        self._cache: dict[tuple[int, int], tuple[list[float], list[int]]] = {}
        self._state: tuple[int, int, list, list, list, list] | None = None  # last clustering, to extend

    @property
    def pivots(self) -> Pivots:
        """The swing pivots the levels are built from."""
        return self._pivots

    def _clusters(self, lo: int, hi: int) -> tuple[list[float], list[int]]:
        """Clusters of pivots lo..hi-1, extending the previous clustering when only pivots
        were appended (same lo), else clustering from scratch (as cluster_levels)."""
        cached = self._cache.get((lo, hi))
        if cached is not None:
            return cached
        state = self._state
        if state is not None and state[0] == lo and state[1] <= hi:
            firsts, sums, counts, last = (list(x) for x in state[2:])
            start = state[1]
        else:
            firsts, sums, counts, last = [], [], [], []
            start = lo
        _extend_clusters(self._prices, start, hi, self._cluster_pct, firsts, sums, counts, last)
        self._state = (lo, hi, firsts, sums, counts, last)
        result = _strongest(sums, counts, last, self._max_levels)
        self._cache[(lo, hi)] = result
        return result

    def levels(self, t: int) -> tuple[list[float], list[int]]:
        """(prices, strengths) of the levels at bar t (pivot levels, then running max, min)."""
        lo, hi = self._lo[t], self._hi[t]
        if hi <= lo:
            return [], []
        prices, strengths = self._clusters(lo, hi)
        top = strengths[0]
        return prices + [float(self._run_max[t]), float(self._run_min[t])], strengths + [top, top]

    def boost(self, t: int, anchor: float, atr: float, weight: float, reach_atr: float) -> float:
        """SR boost(anchor) = weight x max over levels with d = |level - anchor| <= reach_atr x
        ATR of (strength / max strength) x (1 - d / (reach_atr x ATR)); 0 without such a level
        (or ATR <= 0)."""
        prices, strengths = self.levels(t)
        reach = reach_atr * atr
        if not prices or not reach > 0:
            return 0.0
        top = strengths[0]
        best = 0.0
        for price, strength in zip(prices, strengths):
            d = abs(price - anchor)
            if d <= reach:
                best = max(best, strength / top * (1.0 - d / reach))
        return weight * best

    def near(self, t: int, price: float, reach: float) -> bool:
        """Some level lies within `reach` (price units) of `price` at bar t."""
        if self._hi[t] <= self._lo[t]:
            return False
        if abs(self._run_max[t] - price) <= reach or abs(self._run_min[t] - price) <= reach:
            return True  # the running max/min are levels whenever a pivot level exists
        return any(abs(level - price) <= reach for level in self.levels(t)[0])


def zigzag_pivots(close: np.ndarray, atr: np.ndarray, atr_mult: float, min_leg_bars: int) -> Pivots:
    """ATR zigzag of closes (EDX struct): alternating high/low pivots, point-in-time.

    From the last confirmed pivot the walk tracks the extreme close in the other direction
    (the highest after a low, the lowest after a high; ties keep the earlier bar). That
    extreme is confirmed as a pivot at bar t when the close at t has reversed from it by at
    least atr_mult x atr[t] and it lies at least min_leg_bars bars after the last pivot;
    the next extreme is then searched from the bar after the new pivot. Before the first
    pivot both extremes are tracked and the first reversal decides. Confirmed pivots are
    never moved. Bars with a NaN ATR only extend the extremes.

    Args:
        close, atr: one segment, shape (n,) each (atr = Wilder ATR(14), NaN while warming).
        atr_mult: seed zigzag_atr_mult (1.2). min_leg_bars: seed zigzag_min_leg_bars (4).

    Returns:
        :class:`Pivots` in time order with confirm = the confirming bar.
    """
    return atr_zigzag(close, close, close, atr, atr_mult, min_leg_bars)


def atr_zigzag(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    atr_mult: float,
    min_leg_bars: int,
    resume: tuple[int, int, int] | None = None,
) -> Pivots:
    """ATR zigzag on bar extremes: alternating high/low pivots, point-in-time.

    The walk of :func:`zigzag_pivots` with the extremes taken from `high` (pivot highs)
    and `low` (pivot lows) while the reversal is always measured on `close`: from the last
    confirmed pivot it tracks the highest high after a low (the lowest low after a high;
    ties keep the earlier bar); that extreme at bar j is confirmed at the first bar t > j
    with high[j] - close[t] >= atr_mult x atr[t] (close[t] - low[j] >= atr_mult x atr[t] for a
    low) and j at least min_leg_bars bars after the last pivot; the next extreme is then
    searched from the bar after the new pivot. Before the first pivot both extremes are
    tracked and the first reversal decides (both at once: the earlier extreme; same bar:
    the low). Confirmed pivots are never moved; bars with a NaN or zero ATR only extend
    the extremes. ``atr_zigzag(close, close, close, ...)`` is :func:`zigzag_pivots`.

    Args:
        high, low, close, atr: one segment, shape (n,) each, time order.
        atr_mult: reversal in ATRs. min_leg_bars: minimum bars between consecutive pivots
            (<= 1: no minimum).

        resume: continue a walk instead of starting one: (pivot_idx, pivot_kind, confirm_idx)
            of the last pivot an earlier walk over the same bars confirmed (kind -1 low, +1
            high; positions into these arrays, 0 <= pivot_idx < confirm_idx < n). The walk
            takes the state it had right after that confirmation (searching the opposite
            extreme from pivot_idx + 1) and goes on from bar confirm_idx + 1, so the
            pivots it returns (that one excluded) are exactly the later pivots of a walk
            from the segment's first bar, whatever bars before pivot_idx the arrays hold.

    Returns:
        :class:`Pivots` in time order (price = high[idx] for highs, low[idx] for lows) with
        confirm = the confirming bar (always > idx).

    Raises:
        ValueError: a resume point outside the arrays.
    """
    h = np.ascontiguousarray(high, dtype=float)
    lw = np.ascontiguousarray(low, dtype=float)
    c = np.ascontiguousarray(close, dtype=float)
    a = np.ascontiguousarray(atr, dtype=float)
    n = len(c)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Pivots(empty, np.zeros(0), empty, empty)
    hi_i = lo_i = 0
    direction = 0  # 0 before the first pivot; +1 searching a high (last pivot a low); -1 searching a low
    last = -min_leg_bars
    first = 1
    if resume is not None:
        found, found_kind, at = (int(v) for v in resume)
        if not 0 <= found < at < n or found_kind not in (-1, 1):
            raise ValueError(f"atr_zigzag: resume point {resume!r} is not a pivot inside the {n} bars")
        last, first = found, at + 1
        if found_kind > 0:  # after a high: the lowest low since it
            direction = -1
            lo_i = found + 1 + int(np.argmin(lw[found + 1 : at + 1]))
        else:
            direction = 1
            hi_i = found + 1 + int(np.argmax(h[found + 1 : at + 1]))
    idx, kind, price, confirm = _zigzag_walk(
        h, lw, c, a, float(atr_mult), int(min_leg_bars), first, direction, hi_i, lo_i, last
    )
    return Pivots(idx, price, kind, confirm)


@njit(cache=True, nogil=True)
def _first_argmax(values):
    """np.argmax of a non-empty float array: the first NaN if any, else the first maximum
    (np.argmin of x is this of -x: negation keeps NaN and reverses every comparison)."""
    best = 0
    for i in range(values.shape[0]):
        v = values[i]
        if v != v:
            return i
        if v > values[best]:
            best = i
    return best


@njit(cache=True, nogil=True)
def _zigzag_walk(h, lw, c, a, atr_mult, min_leg_bars, first, direction, hi_i, lo_i, last):
    """The loop of :func:`atr_zigzag` from bar ``first`` with the walk's state (direction,
    the tracked extremes hi_i / lo_i, the last pivot), compiled (numba): the same
    comparisons in the same order as the Python loop it replaced (pivots are positions and
    copies of inputs, so identical), ~40x faster. Returns (idx, kind, price, confirm)."""
    n = c.shape[0]
    idx = np.empty(n, dtype=np.int64)
    kind = np.empty(n, dtype=np.int64)
    price = np.empty(n, dtype=np.float64)
    confirm = np.empty(n, dtype=np.int64)
    k = 0
    for t in range(first, n):
        ct = c[t]
        if direction >= 0 and h[t] > h[hi_i]:
            hi_i = t
        if direction <= 0 and lw[t] < lw[lo_i]:
            lo_i = t
        reach = atr_mult * a[t]
        if not reach > 0:  # NaN or zero ATR
            continue
        if direction == 0:
            high_done = hi_i < t and h[hi_i] - ct >= reach
            low_done = lo_i < t and ct - lw[lo_i] >= reach
            if high_done and (not low_done or hi_i < lo_i):
                found, is_high = hi_i, True
            elif low_done:
                found, is_high = lo_i, False
            else:
                continue
        elif direction > 0:
            if hi_i == t or h[hi_i] - ct < reach or hi_i - last < min_leg_bars:
                continue
            found, is_high = hi_i, True
        else:
            if lo_i == t or ct - lw[lo_i] < reach or lo_i - last < min_leg_bars:
                continue
            found, is_high = lo_i, False
        idx[k] = found
        kind[k] = 1 if is_high else -1
        price[k] = h[found] if is_high else lw[found]
        confirm[k] = t
        k += 1
        last = found
        if is_high:  # now search the low after it
            direction = -1
            lo_i = found + 1 + _first_argmax(-lw[found + 1 : t + 1])
        else:
            direction = 1
            hi_i = found + 1 + _first_argmax(h[found + 1 : t + 1])
    return idx[:k].copy(), kind[:k].copy(), price[:k].copy(), confirm[:k].copy()
