"""Grid lifecycle engine: exit states, restart gates, probation and notifications of one grid.

A grid trader runs a ladder of buy levels below the price and sell levels above it on a
range [lower, upper]. This engine walks the 1h bars of one series segment, bar by bar, and
says at every bar in which state the grid is, why it changed, and whether the trader is to
be notified. Pure Python + numpy + pandas: no dbt, no Dagster, no SQL; every constant is a
row of the seed ``seeds/grid_lifecycle_config.csv`` (:class:`LifecycleConfig`).

States (``STATES``): DISABLED, PROBATION, NORMAL, WARNING, LATEST_ACCEPTABLE_EXIT,
MANDATORY_EXIT, EXITED. Evaluated hourly on the bar's close (never on wicks; only the
probation round trips read highs and lows, because fills happen on them).

Exit triggers (each its own function returning ``(fired, value)``; NaN inputs and too
short a history never fire; thresholds are the trading team's exit-strategy thresholds):

* LATEST_ACCEPTABLE_EXIT if any of :func:`transition_1h_trigger` (the 1h verdict is
  TRANSITION on 4 consecutive bars), :func:`transition_4h_trigger` (the last ended 4h bar's
  verdict is TRANSITION on 2 consecutive distinct 4h bars), :func:`half_life_latest_trigger`
  (OU half-life > 2.0 x its baseline, the median of the 720 bars before; AR(1) b >= 1
  counts as above), :func:`atr_ratio_latest_trigger` (atr_ratio >= 1.25),
  :func:`z_stretch_trigger` (z beyond +-2 on the same side for 6 bars).
* WARNING if at least 2 (one is not enough) of :func:`high_vol_prob_condition` (next-bar
  high-vol probability >= 0.40), :func:`support_falling_condition` (RANGE_OK support fell 3
  bars in a row and by >= 10 points), :func:`er_short_condition` (er_24 >= 0.6),
  :func:`half_life_warning_condition` (half-life >= 1.5 x baseline),
  :func:`atr_ratio_warning_condition` (1.10 <= atr_ratio < 1.25).
* MANDATORY_EXIT if any of :func:`closes_outside_trigger` (2 consecutive closes outside
  [lower, upper]), :func:`stop_buffer_trigger` (one close beyond a bound by more than 0.1 x
  atr_14), :func:`directional_swing_trigger` (6 consecutive close-to-close moves in one
  direction that moved >= 3 x atr_14 and end in the outer third of the grid; the extra
  conditions are a project definition: the bare run fires about 2.6 times a week on a
  random walk).

State machine (:func:`walk_grid`):

1. Escalation is immediate (to the highest level whose triggers fire, skipping levels).
   De-escalation: one level down after ``de_escalation_bars`` (6) consecutive bars without
   any trigger of the current level (for WARNING: without the 2+ rule holding).
2. MANDATORY_EXIT ends the grid: the bar whose triggers fire is shown as MANDATORY_EXIT (it
   is notified, and the recommendations read it as ``stop``); the next bar is EXITED
   (reason ``grid_ended``). Project definition: one bar in MANDATORY_EXIT so the state is
   visible in the per-bar table. The stop itself is dated at the MANDATORY_EXIT bar.
3. Only the restart gates lead out of EXITED (see below).
4. Probation (after an enable or restart; a configured enabled grid starts in it): the
   placement bar has probation_bars 0; the grid is checked from the next bar on. A quick
   stop (1 close outside [lower, upper], or any LATEST_ACCEPTABLE_EXIT or MANDATORY_EXIT
   trigger) -> EXITED at once (``quick_stop``). At probation bar 24: with >= 1 completed
   round trip -> NORMAL (or straight to WARNING if its rule holds at that bar,
   ``probation_passed``), else -> EXITED (``probation_failed``; project definition: a grid
   that could not complete one round trip in a day is not working). WARNING does not
   interrupt a probation.
5. Round trip (project definition, :func:`update_round_trips`): arithmetic levels
   lower + i (upper - lower) / (levels - 1), i = 0..levels-1. A buy fills at level i
   (i < levels - 1, at most one open buy per level) on a bar whose low reaches it
   (low <= level) while the level is below the previous bar's close; it completes on a
   LATER bar whose high reaches the next level up (high >= level i+1). Completions are
   checked before the bar's new fills, so a fill never completes in its own bar (the
   intrabar order is unknown). Counted during probation.
6. Restart gates (project definitions of the conditions; bar by bar, from the bar after the
   stop, sequential: a gate is evaluated only after the previous one passed, from the next
   bar on): gate 1 VolChangeScore < 50 on 6 consecutive bars; gate 2 TrendScore < 50 and
   adx_slope_10 <= 0 on 6; gate 3 RQS >= 60 and MeanRevScore >= 55 with the close inside the
   post-stop range on 12 (gate_k_bars = 0 drops gate k: it passes as soon as it is
   reached, without its condition; the research reports' gate ablation). A bar failing the
   current gate's condition (NaN fails) resets that gate's count; a TREND or TRANSITION verdict resets the progress of all gates (also
   of passed ones). Post-stop range: the 5th percentile of the lows and the 95th of the
   highs (linear interpolation, as the primary quantile range) of the bars after the stop
   bar, at most the last 168 (the range window), the current bar included: a range
   discovered from the stop onward, never across the break. Time floor: 24 bars after the
   stop, doubled when this stop and an earlier one are at most 168 h apart (bar_start
   timestamps; >= 2 stops within 7 days). restart_permitted = all three gates passed and
   the floor reached (or the grid was never stopped). Confidence is not an input.
7. Virtual grid (``GridSpec.virtual``: a policy following the recommendations on its
   own): starts DISABLED; at a RANGE_OK verdict while restart is permitted it is placed at
   [support, resistance] of that bar (after a stop: at the post-stop range; needs a finite
   range with lower < upper) with the probation parameters (allocation, levels) of the
   seed -> PROBATION (``enable`` / ``restart``); while running it stops -> EXITED on
   MANDATORY_EXIT (as above) or at once on a TREND / TRANSITION verdict (``stop_trend`` /
   ``stop_transition``: the recommendations' ``stop``).
8. Configured grid: enabled -> PROBATION at its first bar (placed at [lower, upper]);
   disabled -> DISABLED for good (restart permission is still reported). Only the exit
   triggers move it (a TREND / TRANSITION verdict makes the recommendations say ``stop``;
   the human acts). After EXITED it stays EXITED (a human re-enables it with a new config
   version) while the gates run and report ``restart_permitted``.

Per bar, in this order: the market buffers and the LATEST / WARNING triggers (every bar,
whatever the state); the initial state (first bar of a fresh walk); MANDATORY_EXIT ->
EXITED; the gates of a stop awaiting restart; the virtual grid's enable / restart; the
running grid (probation: quick stop, verdict stop, end of probation; otherwise
MANDATORY_EXIT, then the verdict stop, then escalation / de-escalation); notifications. A
lifecycle row shows the values after its bar (a restart bar shows the new placement with
the gates reset; its state_changes row holds the gate evidence).

History is append-only: one ``state_changes`` row per change (the first bar of a fresh walk
records the initial state with from_state NULL and reason ``start``) with every trigger that
fired at that bar and its value. Notifications: every bar in WARNING,
LATEST_ACCEPTABLE_EXIT or MANDATORY_EXIT is a notification, rate-limited per (grid, state)
on bar_start timestamps (real time, not bar counts): WARNING at most one per 4 h,
LATEST_ACCEPTABLE_EXIT per 2 h, MANDATORY_EXIT per 1 h; the limits are per state, so a
higher state is never suppressed by a lower one's recent notification; a suppressed one
is logged with ``is_sent`` False and its ``suppressed_reason``.

Point-in-time and resumable: a row at bar t uses bars <= t only; :class:`LifecycleState`
holds everything needed to continue (JSON round trip exact), and walking ``bars[:n]`` then
``bars[n:]`` with the state in between gives the same rows as one walk.
"""

from __future__ import annotations

import gc
import json
import math
from bisect import bisect_left, insort
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle_config import DEFAULT_CONFIG_CSV, LifecycleConfig

__all__ = [
    "DEFAULT_CONFIG_CSV",
    "LifecycleConfig",
    "GridSpec",
    "LifecycleState",
    "LifecycleResult",
    "walk_grid",
    "placed_state",
    "placement_states",
    "STATES",
    "INPUT_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "STATE_CHANGE_COLUMNS",
    "NOTIFICATION_COLUMNS",
    "transition_1h_trigger",
    "transition_4h_trigger",
    "effective_half_life",
    "half_life_baseline",
    "half_life_ratio",
    "half_life_latest_trigger",
    "atr_ratio_latest_trigger",
    "zscore",
    "z_stretch_trigger",
    "high_vol_prob_condition",
    "support_falling_condition",
    "er_short_condition",
    "half_life_warning_condition",
    "atr_ratio_warning_condition",
    "closes_outside_trigger",
    "stop_buffer_trigger",
    "directional_swing_trigger",
    "grid_levels",
    "update_round_trips",
    "post_stop_range",
    "quantile_linear",
    "gc_paused",
]

NAN = math.nan
INF = math.inf

DISABLED = "DISABLED"
PROBATION = "PROBATION"
NORMAL = "NORMAL"
WARNING = "WARNING"
LATEST = "LATEST_ACCEPTABLE_EXIT"
MANDATORY = "MANDATORY_EXIT"
EXITED = "EXITED"
STATES = (DISABLED, PROBATION, NORMAL, WARNING, LATEST, MANDATORY, EXITED)
_LEVEL = {NORMAL: 0, WARNING: 1, LATEST: 2, MANDATORY: 3}
_BY_LEVEL = (NORMAL, WARNING, LATEST, MANDATORY)
_RUNNING = frozenset((PROBATION, NORMAL, WARNING, LATEST))
_NOTIFIED = (WARNING, LATEST, MANDATORY)

TRANSITION = "TRANSITION"
TREND = "TREND"
RANGE_OK = "RANGE_OK"

INPUT_COLUMNS = (
    "bar_start",
    "close",
    "high",
    "low",
    "atr_14",
    "bb_mid_20",
    "bb_std_20",
    "verdict",
    "coarse_bar_start",
    "coarse_verdict",
    "ou_half_life",
    "ou_ar1_b",
    "atr_ratio",
    "er_short",
    "range_ok_support",
    "vol_change_score",
    "trend_score",
    "adx_slope_10",
    "range_quality_score",
    "mean_rev_score",
    "next_high_vol_prob",
    "support",
    "resistance",
)
LIFECYCLE_COLUMNS = (
    "grid_id",
    "bar_start",
    "state",
    "lower",
    "upper",
    "levels",
    "allocation_frac",
    "restart_permitted",
    "gate_1_bars",
    "gate_2_bars",
    "gate_3_bars",
    "gates_passed",
    "bars_since_stop",
    "time_floor_bars",
    "stop_reason",
    "post_stop_lower",
    "post_stop_upper",
    "probation_bars",
    "round_trips",
    "warning_conditions",
    "latest_triggers",
    "mandatory_triggers",
    "fired_triggers",
    "half_life_baseline",
    "quiet_bars",
)
STATE_CHANGE_COLUMNS = ("grid_id", "bar_start", "from_state", "to_state", "reason", "triggers")
NOTIFICATION_COLUMNS = ("grid_id", "bar_start", "state", "is_sent", "suppressed_reason")

_ROW_COLUMNS = LIFECYCLE_COLUMNS[1:]  # the per-bar row tuples of walk_grid (grid_id is constant)
_NS_PER_HOUR = 3_600_000_000_000
_NAT = np.iinfo(np.int64).min


def _isnan(x: float) -> bool:
    return x != x


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored on exit, also on error).

    The walks allocate millions of small tuples and lists that live until the walk's frames
    are built (rows, input lists) and create no reference cycles; the collector would scan
    them again and again (about a fifth of a walk's time on the sample). Reference counting
    still frees everything; only cycles wait until the block ends. Nested use is fine.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _push_window(buf: deque, srt: list, value: float) -> None:
    """Append `value` to the bounded window `buf` (a deque with maxlen) and keep `srt`, the
    sorted list of the window's non-NaN values, in step (the oldest value leaves both)."""
    if len(buf) == buf.maxlen:
        old = buf[0]
        if old == old:
            del srt[bisect_left(srt, old)]
    buf.append(value)
    if value == value:
        insort(srt, value)


# =========================================================================== LATEST triggers
def _trailing_run(values: Sequence[object], wanted: object) -> int:
    """Number of trailing entries of `values` equal to `wanted`."""
    run = 0
    for i in range(len(values) - 1, -1, -1):
        if values[i] != wanted:
            break
        run += 1
    return run


def transition_1h_trigger(verdicts: Sequence[str | None], bars: int) -> tuple[bool, float]:
    """LATEST trigger: the 1h verdict is TRANSITION on the last `bars` (4) consecutive bars.

    Args:
        verdicts: the 1h verdicts of the latest bars, oldest first, current bar last
            (None / non-TRANSITION break the run); any length.
        bars: the run length needed (seed latest_transition_1h_bars).

    Returns:
        (fired, value): value = the trailing run of TRANSITION (bars, float); fired when it is
        >= bars (fewer verdicts than `bars`: never). Source: trading team's exit-strategy
        thresholds.
    """
    run = _trailing_run(verdicts, TRANSITION)
    return run >= bars, float(run)


def transition_4h_trigger(coarse_verdicts: Sequence[str | None], bars: int) -> tuple[bool, float]:
    """LATEST trigger: TRANSITION on the last `bars` (2) consecutive distinct 4h bars.

    Args:
        coarse_verdicts: the verdicts of the distinct ended 4h bars seen so far, oldest first
            (one entry per new coarse_bar_start, not per 1h bar), latest last.
        bars: seed latest_transition_4h_bars.

    Returns:
        (fired, value) as :func:`transition_1h_trigger`, counted in 4h bars.
    """
    run = _trailing_run(coarse_verdicts, TRANSITION)
    return run >= bars, float(run)


def effective_half_life(half_life: float, ar1_b: float) -> float:
    """The OU half-life to compare with its baseline, in bars.

    AR(1) b >= 1 means no mean reversion: +inf (slowest, "counts as above" the baseline);
    b <= 0 the fastest: 0.0; otherwise `half_life` as given (NaN stays NaN). A NaN b leaves
    `half_life` (already +inf for b >= 1 upstream) as it is.
    """
    if ar1_b == ar1_b:  # not NaN
        if ar1_b >= 1:
            return INF
        if ar1_b <= 0:
            return 0.0
    return float(half_life)


def _median_sorted(values: Sequence[float]) -> float:
    n = len(values)
    mid = n // 2
    if n % 2:
        return float(values[mid])
    return (values[mid - 1] + values[mid]) / 2.0


def half_life_baseline(values: Iterable[float], min_bars: int) -> float:
    """The half-life baseline: median of the non-NaN effective half-lives of the trailing
    window (the caller passes the 720 bars before the current one; +inf values count).

    Returns NaN when fewer than `min_bars` (seed half_life_baseline_min_bars) values are
    non-NaN (short history: the half-life triggers do not fire).
    """
    kept = sorted(v for v in values if v == v)
    if len(kept) < max(1, min_bars):
        return NAN
    return _median_sorted(kept)


def half_life_ratio(half_life: float, ar1_b: float, baseline: float) -> float:
    """Effective half-life / baseline: +inf when b >= 1 (or the half-life is +inf), or when
    the baseline is 0 and the half-life positive; 0.0 when the baseline is +inf and the
    half-life finite; NaN when either is NaN or both are 0."""
    value = effective_half_life(half_life, ar1_b)
    if _isnan(value) or _isnan(baseline):
        return NAN
    if value == INF:
        return INF
    if baseline == INF:
        return 0.0
    if baseline <= 0:
        return INF if value > 0 else NAN
    return value / baseline


def half_life_latest_trigger(half_life: float, ar1_b: float, baseline: float, multiple: float) -> tuple[bool, float]:
    """LATEST trigger: the OU half-life is above `multiple` (2.0) x its baseline.

    Args:
        half_life: ou_half_life of the bar (bars; +inf when b >= 1). ar1_b: its AR(1) b.
        baseline: :func:`half_life_baseline` of the 720 bars before (NaN: not fired).
        multiple: seed latest_half_life_multiple.

    Returns:
        (fired, value): value = :func:`half_life_ratio`; fired when value > multiple (b >= 1
        counts as above whenever a baseline exists). Source: trading team's exit-strategy
        thresholds.
    """
    ratio = half_life_ratio(half_life, ar1_b, baseline)
    return ratio > multiple, ratio


def atr_ratio_latest_trigger(atr_ratio: float, threshold: float) -> tuple[bool, float]:
    """LATEST trigger: atr_ratio (atr_14 / mean(atr_14, 100 bars)) >= `threshold` (1.25).
    Returns (fired, atr_ratio); NaN never fires. Source: trading team's exit-strategy
    thresholds (volatility expansion)."""
    return atr_ratio >= threshold, float(atr_ratio)


def zscore(close: float, mid: float, std: float) -> float:
    """z = (close - bb_mid_20) / bb_std_20; NaN when any input is NaN or std <= 0."""
    if not std > 0:
        return NAN
    return (close - mid) / std


def z_stretch_trigger(z_values: Sequence[float], bound: float, bars: int) -> tuple[bool, float]:
    """LATEST trigger: the close stays stretched beyond +-`bound` (2) standard deviations of
    the 20-bar Bollinger mean, on the same side, for `bars` (6) consecutive bars.

    Project definition of "without moving back toward the mean": no close of the run is back
    within the bound (|z| <= bound) or on the other side; a smaller excursion that stays
    beyond the bound is not a reversion a grid can trade (z also shrinks as the band widens).

    Args:
        z_values: :func:`zscore` of the latest bars, oldest first, current last.
        bound: seed latest_z_bound (strictly beyond). bars: seed latest_z_bars.

    Returns:
        (fired, value): value = the current z (NaN with no values); fewer than `bars`
        values or a NaN among the last `bars`: not fired.
    """
    if not z_values:
        return False, NAN
    current = float(z_values[-1])
    if len(z_values) < bars:
        return False, current
    n = len(z_values)
    if current > bound:
        fired = all(z_values[i] > bound for i in range(n - bars, n))
    elif current < -bound:
        fired = all(z_values[i] < -bound for i in range(n - bars, n))
    else:
        fired = False
    return fired, current


# =========================================================================== WARNING conditions
def high_vol_prob_condition(prob: float, threshold: float) -> tuple[bool, float]:
    """WARNING condition: the HMM probability that the next bar is high-vol >= `threshold`
    (0.40). Returns (fired, prob); NaN never fires. Source: trading team's exit-strategy
    thresholds (the transition probability, read as next-bar high-vol probability)."""
    return prob >= threshold, float(prob)


def support_falling_condition(supports: Sequence[float], bars: int, min_drop: float) -> tuple[bool, float]:
    """WARNING condition: the RANGE_OK support (min(RQS, MeanRevScore), 0-100) fell on each of
    the last `bars` (3) bars and by >= `min_drop` (10) points in total.

    Args:
        supports: the support of the latest bars, oldest first, current last; `bars` falls
            need bars + 1 values.
    Returns:
        (fired, value): value = total drop supports[-bars-1] - supports[-1] (points; NaN with
        too few values or a NaN among them); fired when every step is a strict fall and the
        drop >= min_drop. Source: trading team's exit-strategy thresholds.
    """
    n = len(supports)
    if n < bars + 1:
        return False, NAN
    window = [supports[i] for i in range(n - bars - 1, n)]
    if any(_isnan(v) for v in window):
        return False, NAN
    drop = float(window[0] - window[-1])
    falling = all(window[i] < window[i - 1] for i in range(1, len(window)))
    return falling and drop >= min_drop, drop


def er_short_condition(er: float, threshold: float) -> tuple[bool, float]:
    """WARNING condition: the 24-bar efficiency ratio er_24 >= `threshold` (0.6). Returns
    (fired, er); NaN never fires. Source: trading team's exit-strategy thresholds."""
    return er >= threshold, float(er)


def half_life_warning_condition(half_life: float, ar1_b: float, baseline: float, multiple: float) -> tuple[bool, float]:
    """WARNING condition: the OU half-life >= `multiple` (1.5) x its baseline (ratio as
    :func:`half_life_ratio`; b >= 1 counts as above; NaN baseline: not fired). Source:
    trading team's exit-strategy thresholds (mean-reversion slowdown)."""
    ratio = half_life_ratio(half_life, ar1_b, baseline)
    return ratio >= multiple, ratio


def atr_ratio_warning_condition(atr_ratio: float, low: float, high: float) -> tuple[bool, float]:
    """WARNING condition: `low` (1.10) <= atr_ratio < `high` (1.25). Returns (fired,
    atr_ratio); NaN never fires. Source: trading team's exit-strategy thresholds."""
    return low <= atr_ratio < high, float(atr_ratio)


# =========================================================================== MANDATORY triggers
def closes_outside_trigger(closes: Sequence[float], lower: float, upper: float, bars: int) -> tuple[bool, float]:
    """MANDATORY trigger (bars = 2) and probation quick stop (bars = 1): the last `bars`
    closes are all outside [lower, upper] (close < lower or close > upper; a NaN close is not
    outside).

    Returns:
        (fired, value): value = the trailing count of closes outside (float); fewer closes
        than `bars` or NaN bounds: not fired. Source: trading team's exit-strategy thresholds.
    """
    run = 0
    for i in range(len(closes) - 1, -1, -1):
        c = closes[i]
        if c < lower or c > upper:
            run += 1
        else:
            break
    return run >= bars, float(run)


def stop_buffer_trigger(close: float, lower: float, upper: float, atr: float, buffer_atr: float) -> tuple[bool, float]:
    """MANDATORY trigger: one close beyond a grid bound by more than `buffer_atr` (0.1) x atr_14.

    Returns:
        (fired, value): value = max(lower - close, close - upper) / atr_14 (ATR units,
        negative inside the grid); fired when value > buffer_atr; NaN close, bounds or
        atr (or atr <= 0): (False, NaN). Source: trading team's exit-strategy thresholds.
    """
    if not atr > 0:
        return False, NAN
    value = max(lower - close, close - upper) / atr
    if _isnan(value):
        return False, NAN
    return value > buffer_atr, value


def directional_swing_trigger(
    closes: Sequence[float], atr: float, lower: float, upper: float, bars: int, min_atr: float, outer_frac: float
) -> tuple[bool, float]:
    """MANDATORY trigger: `bars` (6) consecutive close-to-close moves in one direction (each
    close strictly beyond the previous one; bars + 1 closes) that together moved >= `min_atr`
    (3) x atr_14 of the current bar AND end at or beyond the outer `outer_frac` (one third)
    of the grid in the run's direction (rising: close >= upper - frac (upper - lower);
    falling: close <= lower + frac (upper - lower)).

    Returns:
        (fired, value): value = |close[-1] - close[-bars-1]| / atr_14 (ATR units; NaN with
        too few closes, a NaN among them or atr <= 0). Source: trading team's exit-strategy
        thresholds for the run; the ATR size and the outer-third end are project
        definitions (the bare 6-close run fires about 2.6 times a week on a random walk).
    """
    n = len(closes)
    if n < bars + 1 or not atr > 0:
        return False, NAN
    window = [closes[i] for i in range(n - bars - 1, n)]
    if any(_isnan(v) for v in window):
        return False, NAN
    value = abs(window[-1] - window[0]) / atr
    up = all(window[i] > window[i - 1] for i in range(1, len(window)))
    down = not up and all(window[i] < window[i - 1] for i in range(1, len(window)))
    if not (up or down) or not value >= min_atr:
        return False, value
    zone = outer_frac * (upper - lower)
    end = window[-1]
    in_outer = end >= upper - zone if up else end <= lower + zone
    return bool(in_outer), value


# =========================================================================== round trips, post-stop range
def grid_levels(lower: float, upper: float, levels: int) -> list[float]:
    """Arithmetic grid levels: lower + i (upper - lower) / (levels - 1), i = 0..levels-1
    (both bounds are levels). Project definition of the grid the probation watches."""
    step = (upper - lower) / (levels - 1)
    return [lower + i * step for i in range(levels - 1)] + [upper]


def update_round_trips(
    level_prices: Sequence[float], open_buys: Sequence[int], prev_close: float, high: float, low: float
) -> tuple[list[int], int]:
    """One bar of the probation's round-trip count (project definition).

    First the open buys complete: an open buy at level i is a completed round trip when this
    bar's high >= level i + 1. Then new buys fill: level i (i < levels - 1, not already open)
    fills when low <= level i < prev_close (the bar reached a level below the previous
    close). A buy never completes in the bar it filled in.

    Args:
        level_prices: :func:`grid_levels`, ascending. open_buys: indices of open buys.
        prev_close, high, low: previous close and this bar's extremes (NaN: no fill / completion).

    Returns:
        (open buys after the bar, ascending; completed round trips in this bar).
    """
    still_open = []
    completed = 0
    for i in open_buys:
        if high >= level_prices[i + 1]:
            completed += 1
        else:
            still_open.append(i)
    held = set(still_open)
    for i in range(len(level_prices) - 1):
        price = level_prices[i]
        if i not in held and low <= price < prev_close:
            still_open.append(i)
    still_open.sort()
    return still_open, completed


def quantile_linear(sorted_values: Sequence[float], q: float) -> float:
    """Quantile q of ascending values by linear interpolation between order statistics
    (numpy's default, DuckDB's quantile_cont); NaN for no values."""
    n = len(sorted_values)
    if n == 0:
        return NAN
    pos = q * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    a, b = sorted_values[lo], sorted_values[hi]
    return a + (b - a) * frac if frac else float(a)


@lru_cache(maxsize=64)  # one table per (quantile, window) of a config, shared by every walk
def _quantile_steps(q: float, max_n: int) -> tuple[tuple[int, int, float], ...]:
    """For n = 0..max_n values: (lo, hi, frac) of :func:`quantile_linear`'s interpolation at q
    (order statistics lo and hi, weight frac of hi; the same arithmetic), so that a rolling
    quantile over a window of at most max_n values looks its step up by the count. n = 0:
    (0, 0, 0.0), unused (no values: NaN)."""
    out = [(0, 0, 0.0)]
    for n in range(1, max_n + 1):
        pos = q * (n - 1)
        lo = int(math.floor(pos))
        out.append((lo, min(lo + 1, n - 1), pos - lo))
    return tuple(out)


def post_stop_range(lows: Iterable[float], highs: Iterable[float], low_q: float, high_q: float) -> tuple[float, float]:
    """The post-stop range (project definition): (low_q quantile of the lows, high_q quantile
    of the highs) of the bars since the stop (the caller passes them: the bars after the
    stop bar, at most post_stop_range_max_bars, current included); NaN values are skipped;
    (NaN, NaN) with no values."""
    lo = quantile_linear(sorted(v for v in lows if v == v), low_q)
    hi = quantile_linear(sorted(v for v in highs if v == v), high_q)
    return lo, hi


# =========================================================================== value objects
@dataclass(frozen=True)
class GridSpec:
    """One grid to walk.

    grid_id: text key (a configured grid's id, or "virtual").
    lower, upper: grid bounds (price units; finite, lower < upper) of a configured grid;
        ignored (NaN allowed) for a virtual grid, which is placed by its policy.
    levels: number of grid levels (>= 2; both bounds are levels). allocation_frac: capital
        share in (0, 1]. A virtual grid uses the seed's probation_levels /
        probation_allocation instead.
    enabled: a configured grid is running from its first bar (PROBATION) or DISABLED.
    virtual: the policy grid (see the module docstring); enabled is ignored.

    Raises (on construction):
        ValueError: naming the field and value, for a configured grid with bad bounds,
            levels or allocation, or an empty grid_id.
    """

    grid_id: str
    lower: float = NAN
    upper: float = NAN
    levels: int = 0
    allocation_frac: float = NAN
    enabled: bool = False
    virtual: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.grid_id, str) or not self.grid_id:
            raise ValueError(f"grid spec: grid_id = {self.grid_id!r} must be a non-empty string")
        if self.virtual:
            return
        if not (math.isfinite(self.lower) and math.isfinite(self.upper) and self.lower < self.upper):
            raise ValueError(
                f"grid spec {self.grid_id}: lower = {self.lower!r}, upper = {self.upper!r} "
                "must be finite with lower < upper"
            )
        if isinstance(self.levels, bool) or int(self.levels) != self.levels or self.levels < 2:
            raise ValueError(f"grid spec {self.grid_id}: levels = {self.levels!r} must be a whole number >= 2")
        if not 0 < self.allocation_frac <= 1:
            raise ValueError(f"grid spec {self.grid_id}: allocation_frac = {self.allocation_frac!r} must be in (0, 1]")

    @classmethod
    def virtual_grid(cls, grid_id: str = "virtual") -> "GridSpec":
        """The virtual (policy) grid of a series."""
        return cls(grid_id=grid_id, virtual=True)


# field name -> kind, for the JSON encoding ("f": float, "ft": tuple of floats, "it": tuple of
# ints, "st": tuple of str|None, "pairs": tuple of (str, int)); others are JSON-native
_STATE_KINDS = {
    "lower": "f",
    "upper": "f",
    "allocation_frac": "f",
    "prev_close": "f",
    "open_buys": "it",
    "closes": "ft",
    "z_values": "ft",
    "supports": "ft",
    "verdicts_1h": "st",
    "verdicts_4h": "st",
    "half_lives": "ft",
    "last_sent": "pairs",
    "stop_history": "it",
    "gate_bars": "it",
    "post_lows": "ft",
    "post_highs": "ft",
}


def _enc_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(float(x))  # 'nan', 'inf', '-inf'


@dataclass(frozen=True)
class LifecycleState:
    """Everything needed to continue a walk after its last bar (a value object; build it
    with :func:`walk_grid`, store it with :meth:`to_json`).

    Timestamps are int nanoseconds since the epoch (UTC, tz-naive bar_start), None when
    unset. Buffers hold the latest values the triggers need (oldest first): closes,
    z_values, supports (RANGE_OK support), verdicts_1h, verdicts_4h (one per distinct
    4h bar), half_lives (effective half-lives of the last half_life_baseline_bars bars),
    post_lows / post_highs (bars since the stop, at most post_stop_range_max_bars).
    """

    grid_id: str
    config_fingerprint: str
    virtual: bool
    started: bool = False
    last_bar_start: int | None = None
    state: str = DISABLED
    quiet_bars: int = 0
    lower: float = NAN
    upper: float = NAN
    levels: int = 0
    allocation_frac: float = NAN
    probation_bars: int = 0
    round_trips: int = 0
    open_buys: tuple[int, ...] = ()
    prev_close: float = NAN
    closes: tuple[float, ...] = ()
    z_values: tuple[float, ...] = ()
    supports: tuple[float, ...] = ()
    verdicts_1h: tuple[str | None, ...] = ()
    verdicts_4h: tuple[str | None, ...] = ()
    last_coarse_start: int | None = None
    half_lives: tuple[float, ...] = ()
    last_sent: tuple[tuple[str, int], ...] = ()
    stopped: bool = False
    stop_start: int | None = None
    stop_reason: str | None = None
    bars_since_stop: int | None = None
    time_floor_bars: int | None = None
    stop_history: tuple[int, ...] = ()
    gates_passed: int = 0
    gate_bars: tuple[int, ...] = (0, 0, 0)
    post_lows: tuple[float, ...] = ()
    post_highs: tuple[float, ...] = ()
    version: int = field(default=1)

    def to_json(self) -> str:
        """Strict JSON (non-finite floats as the strings "nan" / "inf" / "-inf"); keys sorted."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            kind = _STATE_KINDS.get(f.name)
            if kind == "f":
                value = _enc_float(value)
            elif kind == "ft":
                value = [_enc_float(v) for v in value]
            elif kind in ("it", "st"):
                value = list(value)
            elif kind == "pairs":
                value = [[s, t] for s, t in value]
            out[f.name] = value
        return json.dumps(out, sort_keys=True, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "LifecycleState":
        """Inverse of :meth:`to_json` (``from_json(s).to_json() == s``).

        Raises:
            ValueError: not a state of this version (missing / unknown fields, bad JSON).
        """
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) != names or data.get("version") != 1:
            raise ValueError("LifecycleState.from_json: not a version-1 grid lifecycle state")
        values: dict[str, object] = {}
        for name, value in data.items():
            kind = _STATE_KINDS.get(name)
            if kind == "f":
                value = float(value)
            elif kind == "ft":
                value = tuple(float(v) for v in value)
            elif kind == "it":
                value = tuple(int(v) for v in value)
            elif kind == "st":
                value = tuple(value)
            elif kind == "pairs":
                value = tuple((str(s), int(t)) for s, t in value)
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class LifecycleResult:
    """The output of :func:`walk_grid`: DataFrames ``lifecycle`` (LIFECYCLE_COLUMNS, one row
    per walked bar), ``state_changes`` (STATE_CHANGE_COLUMNS), ``notifications``
    (NOTIFICATION_COLUMNS) and the ``final_state`` to continue from."""

    lifecycle: pd.DataFrame
    state_changes: pd.DataFrame
    notifications: pd.DataFrame
    final_state: LifecycleState


# =========================================================================== the walk
def _ns_array(values: pd.Series) -> np.ndarray:
    """A timestamp column as int64 ns (NaT -> _NAT); tz-aware values are converted to UTC."""
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _verdict(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _triggers_json(items: list[tuple[str, float]]) -> str:
    """The fired triggers as JSON text, each value at 6 significant digits (display precision:
    builds that differ in the inputs' last bits write the same text)."""
    return json.dumps(
        [{"trigger": name, "value": _enc_float(float(f"{float(v):.6g}"))} for name, v in items],
        allow_nan=False,
        separators=(",", ":"),
    )


def _int64_array(values: Sequence[int | None]) -> pd.arrays.IntegerArray:
    """Whole numbers (None for missing) as a nullable Int64 array: ``pd.array(values,
    dtype="Int64")`` without its per-value type inference (the values are small ints)."""
    floats = np.array(values, dtype=float)  # None -> NaN; ints < 2**53 exact
    missing = np.isnan(floats)
    return pd.arrays.IntegerArray(np.where(missing, 0, floats).astype(np.int64), missing)


def _fmt_ns(ns: int) -> str:
    return str(pd.Timestamp(ns))


class _Walk:
    """The mutable walker (one grid, one segment); mirrors LifecycleState."""

    def __init__(self, grid: GridSpec, cfg: LifecycleConfig, state: LifecycleState) -> None:
        self.grid, self.cfg = grid, cfg
        for f in fields(LifecycleState):
            setattr(self, f.name, getattr(state, f.name))
        c = cfg
        self.closes = deque(
            state.closes,
            maxlen=max(c.mandatory_outside_closes, c.quick_stop_outside_closes, c.mandatory_swing_bars + 1),
        )
        self.z_values = deque(state.z_values, maxlen=c.latest_z_bars)
        self.supports = deque(state.supports, maxlen=c.warning_support_fall_bars + 1)
        self.verdicts_1h = deque(state.verdicts_1h, maxlen=c.latest_transition_1h_bars)
        self.verdicts_4h = deque(state.verdicts_4h, maxlen=c.latest_transition_4h_bars)
        self.half_lives = deque(state.half_lives, maxlen=c.half_life_baseline_bars)
        self.sorted_half_lives = sorted(v for v in state.half_lives if v == v)
        self.last_sent = dict(state.last_sent)
        self.stop_history = list(state.stop_history)
        self.gate_bars = list(state.gate_bars)
        self.open_buys = list(state.open_buys)
        self.post_lows = deque(state.post_lows, maxlen=c.post_stop_range_max_bars)
        self.post_highs = deque(state.post_highs, maxlen=c.post_stop_range_max_bars)
        # the non-NaN post-stop lows / highs kept sorted as the buffers move (insort after equal
        # values, the oldest of equal values removed first: the same list as sorted(buffer))
        self.sorted_post_lows = sorted(v for v in self.post_lows if v == v)
        self.sorted_post_highs = sorted(v for v in self.post_highs if v == v)
        self.level_prices = grid_levels(self.lower, self.upper, self.levels) if self.levels >= 2 else []
        self.limit_ns = {
            WARNING: round(c.notify_warning_hours * _NS_PER_HOUR),
            LATEST: round(c.notify_latest_hours * _NS_PER_HOUR),
            MANDATORY: round(c.notify_mandatory_hours * _NS_PER_HOUR),
        }
        self.limit_hours = {
            WARNING: c.notify_warning_hours,
            LATEST: c.notify_latest_hours,
            MANDATORY: c.notify_mandatory_hours,
        }
        self.window_ns = round(c.repeat_stop_window_hours * _NS_PER_HOUR)
        self.gate_need = (c.gate_1_bars, c.gate_2_bars, c.gate_3_bars)

    def to_state(self) -> LifecycleState:
        values = {}
        for f in fields(LifecycleState):
            value = getattr(self, f.name)
            if isinstance(value, (deque, list)):
                value = tuple(value)
            elif isinstance(value, dict):
                value = tuple(sorted(value.items()))
            values[f.name] = value
        return LifecycleState(**values)

    # ------------------------------------------------------------------ actions
    def place(self, lower: float, upper: float, levels: int, allocation: float) -> None:
        self.lower, self.upper, self.levels, self.allocation_frac = (
            float(lower),
            float(upper),
            int(levels),
            float(allocation),
        )
        self.level_prices = grid_levels(self.lower, self.upper, self.levels)
        self.probation_bars = 0
        self.round_trips = 0
        self.open_buys = []
        self.quiet_bars = 0
        self.stopped = False
        self.stop_start = None
        self.stop_reason = None
        self.bars_since_stop = None
        self.time_floor_bars = None
        self.reset_gates()
        self.clear_post()

    def clear_post(self) -> None:
        self.post_lows.clear()
        self.post_highs.clear()
        self.sorted_post_lows = []
        self.sorted_post_highs = []

    def push_post(self, low: float, high: float) -> None:
        """Append one bar to the post-stop buffers (and their sorted non-NaN copies)."""
        _push_window(self.post_lows, self.sorted_post_lows, low)
        _push_window(self.post_highs, self.sorted_post_highs, high)

    def reset_gates(self) -> None:
        self.gates_passed = 0
        self.gate_bars = [0, 0, 0]

    def record_stop(self, ts: int, reason: str) -> None:
        c = self.cfg
        self.stopped = True
        self.stop_start = ts
        self.stop_reason = reason
        self.bars_since_stop = 0
        self.stop_history = [s for s in self.stop_history if ts - s <= self.window_ns] + [ts]
        repeat = len(self.stop_history) >= c.repeat_stops
        self.time_floor_bars = c.time_floor_bars * (c.time_floor_repeat_multiple if repeat else 1)
        self.reset_gates()
        self.clear_post()
        self.open_buys = []
        self.quiet_bars = 0


# the numeric inputs: every input column but the bar's time and the verdict labels
FLOAT_INPUT_COLUMNS = tuple(
    c for c in INPUT_COLUMNS if c not in ("bar_start", "verdict", "coarse_bar_start", "coarse_verdict")
)


def _input_lists(part: pd.DataFrame, ts: list[int]) -> dict[str, object]:
    """The walk's input columns, once per walked frame of n bars.

    Returns a dict: per name of ``FLOAT_INPUT_COLUMNS`` a Python list of n floats (NaN for
    missing), ``ts`` (= the given bar_start, int ns), ``verdict`` / ``coarse_verdict`` (str or
    None), ``coarse_bar_start`` (int ns, _NAT for NaT); and ``arrays``: the same columns as
    numpy arrays (float64 per float input, object arrays for the verdicts, int64 for
    coarse_bar_start) for the vectorised market part (:func:`_advance_market`).
    """
    arrays: dict[str, np.ndarray] = {
        name: part[name].to_numpy(dtype=float, na_value=np.nan) for name in FLOAT_INPUT_COLUMNS
    }
    out: dict[str, object] = {name: values.tolist() for name, values in arrays.items()}
    out["ts"] = ts
    out["verdict"] = [v if isinstance(v, str) else None for v in part["verdict"].tolist()]  # _verdict
    out["coarse_verdict"] = [v if isinstance(v, str) else None for v in part["coarse_verdict"].tolist()]
    coarse = _ns_array(part["coarse_bar_start"])
    out["coarse_bar_start"] = coarse.tolist()
    arrays["verdict"] = np.array(out["verdict"], dtype=object)
    arrays["coarse_verdict"] = np.array(out["coarse_verdict"], dtype=object)
    arrays["coarse_bar_start"] = coarse
    out["arrays"] = arrays
    return out


# the market triggers in the order of the module docstring (a bar's items list them in this order)
_LATEST_NAMES = ("transition_1h", "transition_4h", "half_life_latest", "atr_ratio_latest", "z_stretch")
_WARNING_NAMES = ("high_vol_prob", "support_falling", "er_short", "half_life_warning", "atr_ratio_warning")


class _MarketParts:
    """The market part of every bar of one input (:func:`_input_lists`, n bars), by bar index.

    What the LATEST triggers, the WARNING conditions and the half-life baseline say at a bar
    depends only on the bars (through the market buffers of a walk), not on the grid: it is
    computed once per input by :func:`_advance_market` and read by every walk over these
    bars. Bars not computed hold NaN / 0 / "".

    baseline[i]: the half-life baseline at bar i (bars; NaN before half_life_baseline_min_bars
        values). n_latest[i] / n_warning[i]: how many LATEST triggers / WARNING conditions
        fired at bar i. names[i]: their names, comma-separated (LATEST first, each group in
        the order of _LATEST_NAMES / _WARNING_NAMES; "" for none). latest_code /
        warning_code (int64 arrays, n): bit k set when trigger k of _LATEST_NAMES /
        _WARNING_NAMES fired; latest_values / warning_values (float arrays, n x 5): the value
        of each fired one. :meth:`items` gives a bar's (name, value) pairs (a state change's
        evidence): built only when asked, so the walks allocate nothing per bar for them.
    """

    __slots__ = (
        "baseline",
        "n_latest",
        "n_warning",
        "names",
        "latest_code",
        "warning_code",
        "latest_values",
        "warning_values",
    )

    def __init__(self, n: int) -> None:
        self.baseline: list[float] = [NAN] * n
        self.n_latest: list[int] = [0] * n
        self.n_warning: list[int] = [0] * n
        self.names: list[str] = [""] * n
        self.latest_code = np.zeros(n, dtype=np.int64)
        self.warning_code = np.zeros(n, dtype=np.int64)
        self.latest_values = np.full((n, len(_LATEST_NAMES)), NAN)
        self.warning_values = np.full((n, len(_WARNING_NAMES)), NAN)

    def items(self, i: int) -> list[tuple[str, float]]:
        """The (name, value) pairs of bar i: the fired LATEST triggers, then the WARNING conditions."""
        out = []
        for names, code, values in (
            (_LATEST_NAMES, int(self.latest_code[i]), self.latest_values[i]),
            (_WARNING_NAMES, int(self.warning_code[i]), self.warning_values[i]),
        ):
            for k, name in enumerate(names):
                if code >> k & 1:
                    out.append((name, float(values[k])))
        return out


def _trailing_runs(mask: np.ndarray) -> np.ndarray:
    """Per position i of a bool array: the number of consecutive True values ending at i
    (0 where mask[i] is False); int64, same length."""
    idx = np.arange(1, len(mask) + 1, dtype=np.int64)
    last_false = np.maximum.accumulate(np.where(mask, 0, idx)) if len(mask) else idx
    return idx - last_false


def _advance_market(w: "_Walk", c: dict[str, object], lo: int, hi: int, parts: _MarketParts) -> None:
    """Advance the market buffers of walker ``w`` over the bars lo..hi-1 of input ``c`` and
    write every bar's market part into ``parts`` (indices lo..hi-1).

    The vectorised equivalent (same comparisons, same IEEE operations, hence the same bits)
    of evaluating at every bar, on the buffers after that bar: :func:`zscore`,
    :func:`transition_1h_trigger`, :func:`transition_4h_trigger`, :func:`half_life_baseline`
    of the bars before (kept as a sorted window: one bisect per bar, the only loop),
    :func:`half_life_latest_trigger`, :func:`atr_ratio_latest_trigger`,
    :func:`z_stretch_trigger`, and the WARNING conditions :func:`high_vol_prob_condition`,
    :func:`support_falling_condition`, :func:`er_short_condition`,
    :func:`half_life_warning_condition`, :func:`atr_ratio_warning_condition`. A trailing
    "run of n bars" is a run length over the buffer's earlier values followed by the new bars
    (:func:`_trailing_runs`). Updates w.z_values, supports, verdicts_1h, verdicts_4h,
    last_coarse_start, half_lives and sorted_half_lives; not the closes, prev_close or
    last_bar_start (the grid part of :func:`_walk_bars` moves those).
    """
    n = hi - lo
    if n <= 0:
        return
    cfg = w.cfg
    a = c["arrays"]
    sl = slice(lo, hi)
    close, mid, std = a["close"][sl], a["bb_mid_20"][sl], a["bb_std_20"][sl]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, (close - mid) / std, NAN)  # zscore: NaN unless std > 0

    # ---- z stretch: the same side beyond the bound on the last latest_z_bars bars
    bound, z_bars = cfg.latest_z_bound, cfg.latest_z_bars
    k = len(w.z_values)
    zz = np.concatenate([np.array(w.z_values, dtype=float), z])
    z_fired = (_trailing_runs(zz > bound)[k:] >= z_bars) | (_trailing_runs(zz < -bound)[k:] >= z_bars)
    w.z_values.extend(z[-w.z_values.maxlen :].tolist())

    # ---- RANGE_OK support falling: fall_bars strict falls in a row, total drop >= points
    fall_bars, fall_points = cfg.warning_support_fall_bars, cfg.warning_support_fall_points
    sup = a["range_ok_support"][sl]
    k = len(w.supports)
    ss = np.concatenate([np.array(w.supports, dtype=float), sup])
    falls = np.zeros(len(ss), dtype=bool)
    falls[1:] = ss[1:] < ss[:-1]
    drop = np.full(len(ss), NAN)
    drop[fall_bars:] = ss[:-fall_bars] - ss[fall_bars:]  # the value of support_falling_condition
    with np.errstate(invalid="ignore"):
        sup_fired = (_trailing_runs(falls) >= fall_bars)[k:] & (drop >= fall_points)[k:]
    drop = drop[k:]
    w.supports.extend(sup[-w.supports.maxlen :].tolist())

    # ---- 1h TRANSITION run (the value: the run within the buffer, at most its length)
    verdict = a["verdict"][sl]
    v1h = w.verdicts_1h
    k = len(v1h)
    is_tr = np.concatenate([np.array([v == TRANSITION for v in v1h], dtype=bool), verdict == TRANSITION])
    run_1h = np.minimum(_trailing_runs(is_tr)[k:], v1h.maxlen)
    t1h_fired = run_1h >= cfg.latest_transition_1h_bars  # implies the current verdict is TRANSITION
    v1h.extend(verdict[-v1h.maxlen :].tolist())

    # ---- 4h TRANSITION run: one buffer entry per new (non-NaT) coarse_bar_start
    v4h = w.verdicts_4h
    k = len(v4h)
    cstart = a["coarse_bar_start"][sl]
    where = np.flatnonzero(cstart != _NAT)
    starts = cstart[where]
    new = np.ones(len(starts), dtype=bool)
    new[1:] = starts[1:] != starts[:-1]
    if len(starts) and w.last_coarse_start is not None:
        new[0] = bool(starts[0] != w.last_coarse_start)
    appended = where[new]  # bar offsets that append their coarse verdict
    added = a["coarse_verdict"][sl][appended]
    seq_tr = np.concatenate([np.array([v == TRANSITION for v in v4h], dtype=bool), added == TRANSITION])
    run_seq = np.minimum(_trailing_runs(seq_tr), v4h.maxlen)
    count = np.zeros(n, dtype=np.int64)
    count[appended] = 1
    size = k + np.cumsum(count)  # buffer entries ever appended, after each bar
    last = np.maximum(size - 1, 0)
    if len(seq_tr):
        run_4h = np.where(size > 0, run_seq[last], 0)
    else:
        run_4h = np.zeros(n, dtype=np.int64)
    t4h_fired = run_4h >= cfg.latest_transition_4h_bars  # implies the buffer's last verdict is TRANSITION
    v4h.extend(added[-v4h.maxlen :].tolist())
    if len(starts):
        w.last_coarse_start = int(starts[-1])

    # ---- effective half-lives and their baseline (median of the window before the bar)
    hl, b = a["ou_half_life"][sl], a["ou_ar1_b"][sl]
    eff = hl.copy()
    eff[b >= 1] = INF  # effective_half_life: b >= 1 no mean reversion, b <= 0 the fastest
    eff[b <= 0] = 0.0
    eff_l = eff.tolist()
    hist = list(w.half_lives) + eff_l  # the window's values, then the new ones
    k = len(w.half_lives)
    hl_max, half_min = w.half_lives.maxlen, max(1, cfg.half_life_baseline_min_bars)
    srt = w.sorted_half_lives
    baseline_l = parts.baseline
    for j, e in enumerate(eff_l):
        n_srt = len(srt)
        if n_srt >= half_min:  # _median_sorted
            m = n_srt // 2
            baseline_l[lo + j] = float(srt[m]) if n_srt % 2 else (srt[m - 1] + srt[m]) / 2.0
        else:
            baseline_l[lo + j] = NAN
        out = k + j - hl_max  # the value leaving the window (the deque's oldest)
        if out >= 0:
            old = hist[out]
            if old == old:
                del srt[bisect_left(srt, old)]
        if e == e:
            insort(srt, e)
    w.half_lives.extend(eff_l[-hl_max:])
    baseline = np.array(baseline_l[lo:hi], dtype=float)
    # half_life_ratio(hl, b, baseline), its branches in order
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.select(
            [np.isnan(baseline) | np.isnan(eff), eff == INF, baseline == INF, baseline <= 0],
            [NAN, INF, 0.0, np.where(eff > 0, INF, NAN)],
            eff / baseline,
        )

    # ---- the one-comparison triggers and conditions (NaN never fires)
    atr_ratio, prob, er = a["atr_ratio"][sl], a["next_high_vol_prob"][sl], a["er_short"][sl]
    with np.errstate(invalid="ignore"):
        hl_latest = ratio > cfg.latest_half_life_multiple
        atr_latest = atr_ratio >= cfg.latest_atr_ratio
        prob_fired = prob >= cfg.warning_high_vol_prob
        er_fired = er >= cfg.warning_er_short
        hl_warning = ratio >= cfg.warning_half_life_multiple
        atr_warning = (cfg.warning_atr_ratio_min <= atr_ratio) & (atr_ratio < cfg.warning_atr_ratio_max)

    # ---- per bar: which fired (bit codes), their values, counts and names
    latest_fired = (t1h_fired, t4h_fired, hl_latest, atr_latest, z_fired)
    warning_fired = (prob_fired, sup_fired, er_fired, hl_warning, atr_warning)
    latest_code = sum(fired.astype(np.int64) << k for k, fired in enumerate(latest_fired))
    warning_code = sum(fired.astype(np.int64) << k for k, fired in enumerate(warning_fired))
    parts.latest_code[sl], parts.warning_code[sl] = latest_code, warning_code
    parts.latest_values[sl] = np.column_stack([run_1h, run_4h, ratio, atr_ratio, z]).astype(float)
    parts.warning_values[sl] = np.column_stack([prob, drop, er, ratio, atr_ratio])
    popcount = np.array([bin(code).count("1") for code in range(1 << len(_LATEST_NAMES))], dtype=np.int64)
    parts.n_latest[sl] = popcount[latest_code].tolist()
    parts.n_warning[sl] = popcount[warning_code].tolist()
    both = latest_code | warning_code << len(_LATEST_NAMES)
    codes, where = np.unique(both, return_inverse=True)
    text = np.array(
        [
            ",".join([name for k, name in enumerate(_LATEST_NAMES + _WARNING_NAMES) if code >> k & 1])
            for code in codes.tolist()
        ],
        dtype=object,
    )
    parts.names[sl] = text[where.reshape(-1)].tolist()


def _walk_bars(
    w: "_Walk",
    c: dict[str, object],
    lo: int,
    hi: int,
    parts: _MarketParts,
    rows: list,
    changes: list[tuple],
    notes: list[tuple],
    states_only: bool = False,
    until_exited: bool = False,
) -> int:
    """Advance the walker ``w`` over the bars lo..hi-1 of the input lists ``c``
    (:func:`_input_lists`) whose market part is in ``parts`` (:func:`_advance_market`, the
    same market buffers at bar lo as ``w``'s), appending one row tuple per bar
    (``_ROW_COLUMNS``), the state changes (bar_start, from_state, to_state, reason, triggers
    JSON) and the notifications (bar_start, state, is_sent, suppressed_reason): the loop of
    :func:`walk_grid`. Of the market buffers it moves only the closes (the MANDATORY triggers
    read them), prev_close and last_bar_start.

    states_only: append only the state of each bar to ``rows`` and record neither state
        changes nor notifications (the states are the same; :func:`placement_states`).
    until_exited: stop after the first bar that ends EXITED (a configured grid stays EXITED).

    Returns:
        the index after the last walked bar (hi, or earlier with until_exited).
    """
    grid, cfg = w.grid, w.cfg
    virtual = grid.virtual
    ts_list = c["ts"]
    close_l, high_l, low_l, atr_l = c["close"], c["high"], c["low"], c["atr_14"]
    sup_l, volc_l, trend_l, adxs_l = c["range_ok_support"], c["vol_change_score"], c["trend_score"], c["adx_slope_10"]
    rqs_l, mr_l = c["range_quality_score"], c["mean_rev_score"]
    s_l, r_l = c["support"], c["resistance"]
    verdict_l = c["verdict"]
    baseline_l, n_latest_l, n_warning_l, names_l = parts.baseline, parts.n_latest, parts.n_warning, parts.names
    rows_append = rows.append
    # Per-bar speed: constants and buffers as locals. A trigger's value is recorded only when
    # it fires, so a buffer trigger is evaluated (by its public function) only when a cheap
    # necessary condition of firing holds (bar counts are >= 1 and bounds / multiples > 0,
    # as LifecycleConfig validates); the one-comparison triggers are inlined (same
    # comparison, same value as their functions).
    warning_min = cfg.warning_min_conditions
    closes_buf = w.closes
    swing_bars, swing_min_atr = cfg.mandatory_swing_bars, cfg.mandatory_swing_min_atr
    buffer_atr = cfg.mandatory_stop_buffer_atr
    post_max = w.post_lows.maxlen
    low_steps = _quantile_steps(cfg.post_stop_low_quantile, post_max)
    high_steps = _quantile_steps(cfg.post_stop_high_quantile, post_max)

    for i in range(lo, hi):
        ts = ts_list[i]
        close = close_l[i]
        verdict = verdict_l[i]
        n_latest, n_warning = n_latest_l[i], n_warning_l[i]  # the market triggers fired (parts.items(i))
        closes_buf.append(close)
        warning_rule = n_warning >= warning_min
        mandatory: list[tuple[str, float]] = []
        extra: list[tuple[str, float]] = []
        bar_changes: list[tuple[str | None, str, str, list]] = []

        # ---- first bar of a fresh walk
        placed_now = False
        if not w.started:
            w.started = True
            if not virtual and grid.enabled:
                w.place(grid.lower, grid.upper, grid.levels, grid.allocation_frac)
                w.state = PROBATION
                placed_now = True
            else:
                w.state = DISABLED
                if not virtual:  # a configured grid shows its bounds even when disabled
                    w.lower, w.upper, w.levels, w.allocation_frac = (
                        grid.lower,
                        grid.upper,
                        grid.levels,
                        grid.allocation_frac,
                    )
            bar_changes.append((None, w.state, "start", []))

        # ---- MANDATORY_EXIT ends the grid on the next bar
        if w.state == MANDATORY:
            bar_changes.append((MANDATORY, EXITED, "grid_ended", []))
            w.state = EXITED

        # ---- a stop awaiting restart: post-stop range and gates (from the bar after the stop)
        ps_lo = ps_hi = NAN
        stopped = w.stopped
        if stopped:
            w.bars_since_stop += 1
            # w.push_post(low, high), then post_stop_range(w.post_lows, w.post_highs, ...) on the
            # kept sorted buffers (quantile_linear, its interpolation steps looked up by count):
            # inlined, the same operations
            low, high = low_l[i], high_l[i]
            buf, srt_post = w.post_lows, w.sorted_post_lows
            if len(buf) == post_max:
                old = buf[0]
                if old == old:
                    del srt_post[bisect_left(srt_post, old)]
            buf.append(low)
            if low == low:
                insort(srt_post, low)
            n_post = len(srt_post)
            if n_post:
                k_lo, k_hi, frac = low_steps[n_post]
                a_q, b_q = srt_post[k_lo], srt_post[k_hi]
                ps_lo = a_q + (b_q - a_q) * frac if frac else float(a_q)
            buf, srt_post = w.post_highs, w.sorted_post_highs
            if len(buf) == post_max:
                old = buf[0]
                if old == old:
                    del srt_post[bisect_left(srt_post, old)]
            buf.append(high)
            if high == high:
                insort(srt_post, high)
            n_post = len(srt_post)
            if n_post:
                k_lo, k_hi, frac = high_steps[n_post]
                a_q, b_q = srt_post[k_lo], srt_post[k_hi]
                ps_hi = a_q + (b_q - a_q) * frac if frac else float(a_q)
            if verdict == TREND or verdict == TRANSITION:
                w.reset_gates()
            else:
                while w.gates_passed < 3 and w.gate_need[w.gates_passed] == 0:
                    w.gates_passed += 1  # a dropped gate (gate_k_bars = 0) passes without its condition
                if w.gates_passed < 3:
                    k = w.gates_passed
                    if k == 0:
                        ok = volc_l[i] < cfg.gate_vol_change_max
                    elif k == 1:
                        ok = trend_l[i] < cfg.gate_trend_max and adxs_l[i] <= cfg.gate_adx_slope_max
                    else:
                        ok = (
                            rqs_l[i] >= cfg.gate_rqs_min
                            and mr_l[i] >= cfg.gate_mean_rev_min
                            and ps_lo < ps_hi
                            and ps_lo <= close <= ps_hi
                        )
                    if ok:
                        w.gate_bars[k] += 1
                        if w.gate_bars[k] >= w.gate_need[k]:
                            w.gates_passed += 1
                    else:
                        w.gate_bars[k] = 0

        # ---- virtual policy: enable / restart at RANGE_OK when permitted
        if (
            virtual
            and verdict == RANGE_OK
            and (w.state == DISABLED or w.state == EXITED)
            and ((not stopped) or (w.gates_passed == 3 and w.bars_since_stop >= w.time_floor_bars))
        ):
            lo_b, hi_b = (ps_lo, ps_hi) if stopped else (s_l[i], r_l[i])
            if lo_b < hi_b and math.isfinite(lo_b) and math.isfinite(hi_b):
                reason = "restart" if stopped else "enable"
                evidence = [("range_ok_support", sup_l[i]), ("lower", lo_b), ("upper", hi_b)]
                if stopped:
                    evidence = [
                        ("gates_passed", float(w.gates_passed)),
                        ("bars_since_stop", float(w.bars_since_stop)),
                    ] + evidence
                w.place(lo_b, hi_b, cfg.probation_levels, cfg.probation_allocation)
                bar_changes.append((w.state, PROBATION, reason, [*parts.items(i), *evidence]))
                w.state = PROBATION
                placed_now = True

        # ---- a running grid (not on its placement bar)
        st = w.state
        if st in _RUNNING and not placed_now:
            lower, upper = w.lower, w.upper
            atr = atr_l[i]
            outside = close < lower or close > upper  # else no trailing close outside: no run
            if outside:
                fired, v = closes_outside_trigger(closes_buf, lower, upper, cfg.mandatory_outside_closes)
                if fired:
                    mandatory.append(("closes_outside", v))
            if atr > 0:  # stop_buffer_trigger: NaN / non-positive atr never fires
                v = max(lower - close, close - upper) / atr
                if v > buffer_atr:
                    mandatory.append(("stop_buffer", v))
                # the swing's size first: |close - the close swing_bars ago| / atr >= min_atr (as computed there)
                if len(closes_buf) > swing_bars and abs(close - closes_buf[-swing_bars - 1]) / atr >= swing_min_atr:
                    fired, v = directional_swing_trigger(
                        closes_buf, atr, lower, upper, swing_bars, swing_min_atr, cfg.mandatory_swing_outer_frac
                    )
                    if fired:
                        mandatory.append(("directional_swing", v))
            verdict_stop = virtual and (verdict == TREND or verdict == TRANSITION)
            if st == PROBATION:
                w.probation_bars += 1
                w.open_buys, done = update_round_trips(w.level_prices, w.open_buys, w.prev_close, high_l[i], low_l[i])
                w.round_trips += done
                fired = False
                if outside:
                    fired, v = closes_outside_trigger(closes_buf, lower, upper, cfg.quick_stop_outside_closes)
                    if fired:
                        extra.append(("quick_stop_outside", v))
                if fired or mandatory or n_latest:
                    w.record_stop(ts, "quick_stop")
                    bar_changes.append((PROBATION, EXITED, "quick_stop", [*extra, *mandatory, *parts.items(i)]))
                    w.state = EXITED
                elif verdict_stop:
                    reason = "stop_trend" if verdict == TREND else "stop_transition"
                    w.record_stop(ts, reason)
                    bar_changes.append(
                        (PROBATION, EXITED, reason, [(f"verdict_{verdict}", 1.0), *mandatory, *parts.items(i)])
                    )
                    w.state = EXITED
                elif w.probation_bars >= cfg.probation_bars:
                    evidence = [("round_trips", float(w.round_trips))]
                    if w.round_trips >= cfg.probation_min_round_trips:
                        w.state = WARNING if warning_rule else NORMAL
                        w.quiet_bars = 0
                        bar_changes.append(
                            (PROBATION, w.state, "probation_passed", [*evidence, *mandatory, *parts.items(i)])
                        )
                    else:
                        w.record_stop(ts, "probation_failed")
                        bar_changes.append(
                            (PROBATION, EXITED, "probation_failed", [*evidence, *mandatory, *parts.items(i)])
                        )
                        w.state = EXITED
            else:
                level = _LEVEL[st]
                if mandatory:
                    w.record_stop(ts, "mandatory_exit")
                    w.state = MANDATORY
                    bar_changes.append((st, MANDATORY, "escalation", [*mandatory, *parts.items(i)]))
                elif verdict_stop:
                    reason = "stop_trend" if verdict == TREND else "stop_transition"
                    w.record_stop(ts, reason)
                    bar_changes.append((st, EXITED, reason, [(f"verdict_{verdict}", 1.0), *parts.items(i)]))
                    w.state = EXITED
                else:
                    target = 2 if n_latest else (1 if warning_rule else 0)
                    if target > level:
                        w.state = _BY_LEVEL[target]
                        w.quiet_bars = 0
                        bar_changes.append((st, w.state, "escalation", [*parts.items(i)]))
                    elif target == level:
                        w.quiet_bars = 0
                    else:
                        w.quiet_bars += 1
                        if w.quiet_bars >= cfg.de_escalation_bars:
                            w.state = _BY_LEVEL[level - 1]
                            w.quiet_bars = 0
                            bar_changes.append((st, w.state, "de_escalation", [*parts.items(i)]))

        w.prev_close = close
        w.last_bar_start = ts
        st = w.state
        if states_only:
            rows_append(st)
            if until_exited and st == EXITED:
                return i + 1
            continue

        # ---- notifications
        if st in _LEVEL and st != NORMAL:
            last = w.last_sent.get(st)
            if last is not None and ts - last < w.limit_ns[st]:
                hours = (ts - last) / _NS_PER_HOUR
                notes.append(
                    (
                        ts,
                        st,
                        False,
                        f"rate limit: {st} already sent at {_fmt_ns(last)}, {hours:g} h "
                        f"before (at most one per {w.limit_hours[st]:g} h)",
                    )
                )
            else:
                w.last_sent[st] = ts
                notes.append((ts, st, True, None))

        # ---- rows
        for frm, to, reason, trig in bar_changes:
            changes.append((ts, frm, to, reason, _triggers_json(trig)))
        stopped = w.stopped
        levels = w.levels
        gate_bars = w.gate_bars
        rows_append(
            (
                ts,
                st,
                w.lower,
                w.upper,
                levels if levels >= 2 else None,
                w.allocation_frac,
                (not stopped) or (w.gates_passed == 3 and w.bars_since_stop >= w.time_floor_bars),
                gate_bars[0],
                gate_bars[1],
                gate_bars[2],
                w.gates_passed,
                w.bars_since_stop if stopped else None,
                w.time_floor_bars if stopped else None,
                w.stop_reason if stopped else None,
                ps_lo if stopped else NAN,
                ps_hi if stopped else NAN,
                w.probation_bars,
                w.round_trips,
                n_warning,
                n_latest,
                len(mandatory),
                ",".join(
                    [name for name, _ in mandatory] + ([names_l[i]] if names_l[i] else []) + [name for name, _ in extra]
                )
                if (mandatory or extra)
                else names_l[i],
                baseline_l[i],
                w.quiet_bars,
            )
        )
        if until_exited and st == EXITED:
            return i + 1
    return hi


@gc_paused()  # allocation-heavy, no cycles: see gc_paused
def walk_grid(
    bars: pd.DataFrame, grid: GridSpec, config: LifecycleConfig, state: LifecycleState | None = None
) -> LifecycleResult:
    """Walk one grid over the 1h bars of one series segment.

    Args:
        bars: one segment, ordered by bar_start (strictly increasing), with INPUT_COLUMNS
            (extra columns ignored): bar_start (tz-naive UTC timestamp), close, high, low,
            atr_14, bb_mid_20, bb_std_20 (price units), verdict (1h verdict, str or None),
            coarse_bar_start / coarse_verdict (start and verdict of the last ended 4h bar),
            ou_half_life (bars; +inf when b >= 1), ou_ar1_b, atr_ratio, er_short (er_24),
            range_ok_support (min(RQS, MeanRevScore), 0-100), vol_change_score,
            trend_score, range_quality_score, mean_rev_score (0-100), adx_slope_10,
            next_high_vol_prob (0-1), support, resistance (the bar's primary range). Any
            value may be NaN / None (NaN never fires a trigger, never passes a gate).
        grid: the grid (:class:`GridSpec`).
        config: :class:`LifecycleConfig`.
        state: a previous walk's ``final_state`` of this grid and config: the walk continues
            after its last bar (bars at or before it are skipped). None: a fresh walk.

    Returns:
        :class:`LifecycleResult`. ``lifecycle`` columns (one row per walked bar, values
        after the bar): grid_id, bar_start (datetime64[ns]), state, lower, upper (price
        units: a configured grid's bounds; a virtual grid's current or last placement, NaN
        before the first), levels (Int64), allocation_frac, restart_permitted (bool: True
        while the grid was never stopped or runs again after a restart; after a stop, True
        once all gates passed and the time floor is reached), gate_1_bars / gate_2_bars /
        gate_3_bars (consecutive bars of each gate's condition; a passed gate keeps its
        count), gates_passed (0-3), bars_since_stop (0 on the stop bar) and
        time_floor_bars (Int64, NA while no stop awaits a restart), stop_reason
        (quick_stop, probation_failed, mandatory_exit, stop_trend, stop_transition; None
        while no stop awaits a restart), post_stop_lower / post_stop_upper (price units,
        NaN unless stopped), probation_bars and round_trips (of the current placement's
        probation, kept after it), warning_conditions, latest_triggers,
        mandatory_triggers (counts fired at the bar; the market triggers are evaluated
        every bar, the MANDATORY ones only while the grid runs; they move the state only
        while it runs), fired_triggers (comma-separated names, "" for none),
        half_life_baseline (bars; median of the effective half-lives of the bars before,
        NaN until half_life_baseline_min_bars exist), quiet_bars (consecutive bars
        without the current exit level's triggers). A 4h bar counts once, when its
        coarse_bar_start first appears (NaT adds none).
        ``state_changes`` (append-only): grid_id, bar_start, from_state (None for the first
        row of a fresh walk), to_state, reason (start, enable, restart, probation_passed,
        probation_failed, quick_stop, escalation, de_escalation, grid_ended, stop_trend,
        stop_transition), triggers (JSON list of {"trigger", "value"}: every trigger that
        fired at that bar with its value, plus the reason's own evidence: verdict_TREND /
        verdict_TRANSITION (1.0), round_trips, gates_passed, bars_since_stop,
        range_ok_support, lower, upper of a placement; non-finite values as "inf" / "nan").
        ``notifications``: grid_id, bar_start, state, is_sent, suppressed_reason.

    Raises:
        ValueError: missing columns (named), bar_start not strictly increasing or NaT, a
            state of another grid / config.
    """
    cfg = config
    missing = [c for c in INPUT_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"walk_grid: missing input columns {missing}")
    if state is None:
        state = LifecycleState(grid_id=grid.grid_id, config_fingerprint=cfg.fingerprint(), virtual=grid.virtual)
    elif state.grid_id != grid.grid_id or state.virtual != grid.virtual:
        raise ValueError(f"walk_grid: the state belongs to grid {state.grid_id!r}, not {grid.grid_id!r}")
    elif state.config_fingerprint != cfg.fingerprint():
        raise ValueError("walk_grid: the state was produced under a different LifecycleConfig")

    ts_all = _ns_array(bars["bar_start"])
    if (ts_all == _NAT).any():
        raise ValueError("walk_grid: bar_start has missing values")
    if len(ts_all) > 1 and not (np.diff(ts_all) > 0).all():
        raise ValueError("walk_grid: bar_start must be strictly increasing (one segment, ordered)")
    start = 0 if state.last_bar_start is None else int(np.searchsorted(ts_all, state.last_bar_start, side="right"))
    part = bars.iloc[start:]
    cols = _input_lists(part, ts_all[start:].tolist())
    w = _Walk(grid, cfg, state)
    gid = grid.grid_id
    rows: list[tuple] = []
    changes: list[tuple] = []
    notes: list[tuple] = []
    n_bars = len(cols["ts"])
    parts = _MarketParts(n_bars)
    _advance_market(w, cols, 0, n_bars, parts)  # the market part of every bar, vectorised
    _walk_bars(w, cols, 0, n_bars, parts, rows, changes, notes)

    # one row tuple per bar (LIFECYCLE_COLUMNS without grid_id), transposed once
    out: dict[str, Sequence] = dict(zip(_ROW_COLUMNS, zip(*rows))) if rows else {c: [] for c in _ROW_COLUMNS}
    n = len(out["bar_start"])
    lifecycle = pd.DataFrame(
        {
            "grid_id": pd.Series([gid] * n, dtype=object),
            "bar_start": pd.to_datetime(np.array(out["bar_start"], dtype=np.int64).view("datetime64[ns]")),
            "state": pd.Series(out["state"], dtype=object),
            "lower": np.array(out["lower"], dtype=float),
            "upper": np.array(out["upper"], dtype=float),
            "levels": _int64_array(out["levels"]),
            "allocation_frac": np.array(out["allocation_frac"], dtype=float),
            "restart_permitted": np.array(out["restart_permitted"], dtype=bool),
            **{
                c: np.array(out[c], dtype=np.int64)
                for c in ("gate_1_bars", "gate_2_bars", "gate_3_bars", "gates_passed")
            },
            "bars_since_stop": _int64_array(out["bars_since_stop"]),
            "time_floor_bars": _int64_array(out["time_floor_bars"]),
            "stop_reason": pd.Series(out["stop_reason"], dtype=object),
            "post_stop_lower": np.array(out["post_stop_lower"], dtype=float),
            "post_stop_upper": np.array(out["post_stop_upper"], dtype=float),
            **{
                c: np.array(out[c], dtype=np.int64)
                for c in (
                    "probation_bars",
                    "round_trips",
                    "warning_conditions",
                    "latest_triggers",
                    "mandatory_triggers",
                )
            },
            "fired_triggers": pd.Series(out["fired_triggers"], dtype=object),
            "half_life_baseline": np.array(out["half_life_baseline"], dtype=float),
            "quiet_bars": np.array(out["quiet_bars"], dtype=np.int64),
        }
    )
    lifecycle = lifecycle[list(LIFECYCLE_COLUMNS)]

    def ts_col(rows: list[tuple]) -> pd.Series:
        return pd.to_datetime(np.array([r[0] for r in rows], dtype=np.int64).view("datetime64[ns]"))

    state_changes = pd.DataFrame(
        {
            "grid_id": pd.Series([gid] * len(changes), dtype=object),
            "bar_start": ts_col(changes),
            "from_state": pd.Series([r[1] for r in changes], dtype=object),
            "to_state": pd.Series([r[2] for r in changes], dtype=object),
            "reason": pd.Series([r[3] for r in changes], dtype=object),
            "triggers": pd.Series([r[4] for r in changes], dtype=object),
        }
    )
    notifications = pd.DataFrame(
        {
            "grid_id": pd.Series([gid] * len(notes), dtype=object),
            "bar_start": ts_col(notes),
            "state": pd.Series([r[1] for r in notes], dtype=object),
            "is_sent": np.array([r[2] for r in notes], dtype=bool),
            "suppressed_reason": pd.Series([r[3] for r in notes], dtype=object),
        }
    )
    return LifecycleResult(
        lifecycle=lifecycle, state_changes=state_changes, notifications=notifications, final_state=w.to_state()
    )


# market buffers of a state: what every grid of a series sees alike (the triggers' inputs)
_MARKET_FIELDS = (
    "last_bar_start",
    "prev_close",
    "closes",
    "z_values",
    "supports",
    "verdicts_1h",
    "verdicts_4h",
    "last_coarse_start",
    "half_lives",
)


def placed_state(market: LifecycleState, grid: GridSpec) -> LifecycleState:
    """A fresh walk of a configured ``grid`` that starts after ``market``'s last bar with warm market buffers.

    Research use (the simulated grid by verdict places grids anywhere in history): walk a
    DISABLED configured grid over a series' bars up to bar t-1 (its state keeps the market
    buffers: closes, z-scores, RANGE_OK supports, 1h / 4h verdicts, OU half-lives, the
    previous close), then ``walk_grid(bars from t, grid, config, placed_state(market, grid))``
    places ``grid`` at bar t exactly as a configured grid's first bar does (PROBATION, no
    trigger on the placement bar) but with the LATEST / WARNING triggers and the half-life
    baseline as warm as on a grid that has been followed since the series began. The grid
    part (state, stop history, gates, notifications) starts fresh.

    Args:
        market: a state of any grid walked with the same LifecycleConfig (its grid part is
            ignored); it must have walked at least one bar.
        grid: an enabled configured grid (:class:`GridSpec`, not virtual).

    Returns:
        :class:`LifecycleState` of ``grid`` (not started) with market's buffers.

    Raises:
        ValueError: a virtual or disabled grid, or a market state that has walked no bar.
    """
    if grid.virtual or not grid.enabled:
        raise ValueError(f"placed_state: grid {grid.grid_id!r} must be an enabled configured grid")
    if market.last_bar_start is None:
        raise ValueError("placed_state: the market state has walked no bar")
    return LifecycleState(
        grid_id=grid.grid_id,
        config_fingerprint=market.config_fingerprint,
        virtual=False,
        **{name: getattr(market, name) for name in _MARKET_FIELDS},
    )


def _market_start(coarse_starts: list[int], first: int, cfg: LifecycleConfig) -> int:
    """The first bar a market walk needs so that its buffers after bar first - 1 equal those
    of a walk from bar 0: every per-bar buffer full (the longest window of the config), and
    at least latest_transition_4h_bars changes of the 4h bar among the walked bars (the 4h
    buffer appends on a change)."""
    need = max(
        cfg.half_life_baseline_bars,
        cfg.mandatory_outside_closes,
        cfg.quick_stop_outside_closes,
        cfg.mandatory_swing_bars + 1,
        cfg.latest_z_bars,
        cfg.warning_support_fall_bars + 1,
        cfg.latest_transition_1h_bars,
    )
    start = max(0, first - need)
    changes, later = 0, None  # changes of the 4h start seen walking back from first - 1
    i = first - 1
    while i >= 0 and (i >= start or changes < cfg.latest_transition_4h_bars):
        value = coarse_starts[i]
        if value != _NAT:
            if later is not None and value != later:
                changes += 1
            later = value
        i -= 1
    return max(0, min(start, i + 1))


@gc_paused()  # allocation-heavy, no cycles: see gc_paused
def placement_states(
    bars: pd.DataFrame,
    positions: Sequence[int],
    lowers: Sequence[float],
    uppers: Sequence[float],
    levels: int,
    allocation_frac: float,
    config: LifecycleConfig,
    horizon: int,
) -> np.ndarray:
    """Lifecycle states of configured grids placed at given bars of one segment (research).

    For every placement j, the grid [lowers[j], uppers[j]] with ``levels`` levels is placed
    at the bar ``positions[j]`` = t (a configured grid's first bar: PROBATION, no trigger on
    that bar) with the market buffers of a grid followed since the segment's first bar
    (:func:`placed_state`), and walked over the ``horizon`` bars after t. The same states
    as ``walk_grid(bars[t:], grid, config, placed_state(walk_grid(bars[:t], <a disabled
    configured grid>).final_state, grid))`` (tested), at a fraction of the cost: the market
    part of every bar (:func:`_advance_market`) is computed once for the segment and read by
    every placement, a placement's walk keeps only its states, and it ends at the bar it is
    EXITED (a configured grid never restarts, so every later bar is EXITED too).

    Args:
        bars: one segment, as :func:`walk_grid` (INPUT_COLUMNS, strictly increasing bar_start).
        positions: bar indices (0-based, into ``bars``) of the placements, non-decreasing.
        lowers, uppers: the placements' bounds (price units, finite, lower < upper).
        levels, allocation_frac: of every placed grid (as :class:`GridSpec`).
        config: :class:`LifecycleConfig`. horizon: bars after the placement (>= 1).

    Returns:
        object array (len(positions), horizon): the state at the close of bar t + 1 + k;
        None where t + 1 + k is past the segment's last bar.

    Raises:
        ValueError: missing columns, unordered bar_start, positions out of range or
            decreasing, bad bounds (as :class:`GridSpec`), horizon < 1.
    """
    missing = [c for c in INPUT_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"placement_states: missing input columns {missing}")
    pos = np.asarray(positions, dtype=np.int64)
    n = len(bars)
    if len(pos) != len(lowers) or len(pos) != len(uppers):
        raise ValueError("placement_states: positions, lowers and uppers must have the same length")
    if len(pos) and (pos.min() < 0 or pos.max() >= n or (np.diff(pos) < 0).any()):
        raise ValueError(f"placement_states: positions must be non-decreasing bar indices in 0..{n - 1}")
    if isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1:
        raise ValueError(f"placement_states: horizon = {horizon!r} must be a whole number >= 1")
    ts_all = _ns_array(bars["bar_start"])
    if (ts_all == _NAT).any() or (n > 1 and not (np.diff(ts_all) > 0).all()):
        raise ValueError("placement_states: bar_start must be strictly increasing without missing values")
    cols = _input_lists(bars, ts_all.tolist())
    fresh = LifecycleState(grid_id="placement", config_fingerprint=config.fingerprint(), virtual=False)
    out = np.full((len(pos), int(horizon)), None, dtype=object)
    if not len(pos):
        return out
    # pass 1: the market part of every bar from where the market buffers fill up before the
    # first placement (the same buffers as a walk from the segment's first bar), computed once
    # for every placed grid
    parts = _MarketParts(n)
    market = _Walk(GridSpec("placement", 1.0, 2.0, 2, 1.0, enabled=False), config, fresh)
    _advance_market(market, cols, _market_start(cols["coarse_bar_start"], int(pos[0]), config), n, parts)
    # pass 2: every placed grid. Of placed_state(market state at t, grid) the walk reads only
    # the closes before t (the MANDATORY triggers) and the previous close (round trips): taken
    # from the input, the rest of the market part from pass 1.
    close_l, ts_l = cols["close"], cols["ts"]
    for j, t in enumerate(pos.tolist()):
        grid = GridSpec(
            "placement", float(lowers[j]), float(uppers[j]), int(levels), float(allocation_frac), enabled=True
        )
        w = _Walk(grid, config, fresh)
        w.closes.extend(close_l[max(0, t - w.closes.maxlen) : t])
        if t > 0:
            w.prev_close, w.last_bar_start = close_l[t - 1], ts_l[t - 1]
        states: list[str] = []
        end = min(n, t + 1 + int(horizon))
        _walk_bars(w, cols, t, end, parts, states, [], [], states_only=True, until_exited=True)
        k = len(states) - 1  # states[0] is the placement bar t
        out[j, :k] = states[1:]
        if w.state == EXITED:
            out[j, k : end - t - 1] = EXITED
    return out
