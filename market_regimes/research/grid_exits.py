"""Exit states as detectors of confirmed breaks, and the restart gates against simple delays.

Research report on the grid lifecycle (``fct_grid_lifecycle``): did WARNING /
LATEST_ACCEPTABLE_EXIT / MANDATORY_EXIT come before the range actually broke, how early,
how often in vain, and how soon did a restarted grid get stopped again? The breaks are
confirmed with the bars AFTER them, so this module looks ahead BY DESIGN: it is an
evaluation, never an input of the lifecycle.

Pieces (each usable alone; arrays in, arrays / small records out; bar indices are 0-based
positions in one series segment, in time order):

* :func:`confirmed_breaks` — the bars where the close left [lower, upper] for good;
* :func:`detector_metrics` — recall, precision, lead times and false stops of one exit
  state as a detector of those breaks (:class:`DetectorMetrics`, per-break and per-entry
  arrays kept for a bootstrap);
* :func:`loss_avoided` — the price move a stop avoided until some bars after the break;
* :func:`changes_per_symbol_week` / :func:`symbol_weeks` — state changes (and, with
  symbol_weeks, notifications) per symbol-week;
* :func:`warning_condition_base_rates` — how often each WARNING condition holds inside
  RANGE_OK hours (the base rate a "2 of 5" rule builds on);
* :func:`restart_delays`, :func:`retrigger_rate`, :func:`fixed_delay_restarts` — restart
  delay, retrigger rate, and the simple-delay baselines (time floor only = 24 bars; fixed
  48 / 72 bars).

Every definition below is a project definition (the evaluation's wording fixes the
quantities, not their edge cases); the reason is given where a choice was made.

Pure Python + numpy + pandas: no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import EXITED, LATEST, MANDATORY, RANGE_OK, STATES, WARNING

__all__ = [
    "confirmed_breaks",
    "detector_metrics",
    "DetectorMetrics",
    "loss_avoided",
    "symbol_weeks",
    "changes_per_symbol_week",
    "PerSymbolWeek",
    "warning_condition_base_rates",
    "restart_delays",
    "retrigger_rate",
    "RetriggerResult",
    "fixed_delay_restarts",
    "DETECTOR_STATES",
    "STATE_LEVELS",
    "CONFIRM_BARS",
    "EXCURSION_ATR",
    "RETRIGGER_WINDOW",
    "FLOOR_ONLY_DELAY",
    "FIXED_DELAYS",
    "WARNING_CONDITIONS",
    "AT_LEAST_2",
]

CONFIRM_BARS = 24
EXCURSION_ATR = 1.0
RETRIGGER_WINDOW = 72
FLOOR_ONLY_DELAY = 24  # the restart gates' time floor alone
FIXED_DELAYS = (48, 72)
# the five WARNING conditions as the lifecycle engine names them in its trigger lists
WARNING_CONDITIONS = ("high_vol_prob", "support_falling", "er_short", "half_life_warning", "atr_ratio_warning")
AT_LEAST_2 = "at_least_2"  # the WARNING rule itself: 2 or more conditions at once
# exit level of a lifecycle state: the detectors are the exit states themselves; every other
# state (DISABLED, PROBATION, NORMAL, EXITED) is level 0 (see detector_metrics for EXITED)
STATE_LEVELS = {WARNING: 1, LATEST: 2, MANDATORY: 3}
DETECTOR_STATES = (WARNING, LATEST, MANDATORY)
_WEEK_HOURS = 168.0


# --------------------------------------------------------------------------- validation helpers
def _whole(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _float_array(values: object, name: str, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what}: {name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _bars_array(values: object, name: str, what: str, n: int | None = None) -> np.ndarray:
    """Bar indices: whole numbers >= 0 (< n when n is given), strictly increasing."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what}: {name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{what}: {name} must be whole-number bar indices")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or (n is not None and arr.max() >= n):
        bound = f"0..{n - 1}" if n is not None else ">= 0"
        raise ValueError(f"{what}: {name} must be bar indices in {bound}")
    if len(arr) > 1 and not (np.diff(arr) > 0).all():
        raise ValueError(f"{what}: {name} must be strictly increasing")
    return arr


def _bound(value: object, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"confirmed_breaks: {name} must be a number or an array of {n} values, got shape {arr.shape}")
    return arr


def _state_levels(states: Sequence[object], exited_level: int, what: str) -> np.ndarray:
    # through the distinct states (a million rows of Python strings mapped one by one cost seconds)
    codes, distinct = pd.factorize(pd.Series(list(states), dtype=object))  # -1 = missing
    unknown = sorted({str(s) for s in distinct} - set(STATES))
    if unknown:
        raise ValueError(f"{what}: unknown states {unknown} (expected {list(STATES)})")
    levels = {**STATE_LEVELS, EXITED: exited_level}
    lookup = np.array([levels.get(s, 0) for s in distinct] + [0], dtype=np.int64)  # index -1: missing -> 0
    return lookup[codes]


# --------------------------------------------------------------------------- confirmed breaks
def confirmed_breaks(
    close: np.ndarray,
    atr: np.ndarray,
    lower: float | np.ndarray,
    upper: float | np.ndarray,
    confirm_bars: int = CONFIRM_BARS,
    excursion_atr: float = EXCURSION_ATR,
) -> np.ndarray:
    """Bars where the close broke out of [lower, upper] for good (a confirmed break).

    Bar t (one series segment, closes only: the exit states never read wicks) is a confirmed
    break when, with lo = lower[t], up = upper[t] (the grid in place at the break; scalars
    apply to every bar) and a = atr[t]:

    1. close[t] is outside: close[t] < lo or close[t] > up (the bounds themselves are
       inside, as the lifecycle engine's closes-outside trigger), and close[t-1] is inside
       [lo, up]: the FIRST close outside after a run inside (t = 0 has no bar before it and
       never qualifies: its break, if any, happened before the data);
    2. no close back inside within the next ``confirm_bars`` bars: every close of
       t+1..t+confirm_bars is outside [lo, up] (either side); with confirm_bars = 24 a close
       back inside at t+24 refutes the break, one at t+25 does not;
    3. an excursion beyond the broken bound of at least ``excursion_atr`` x a within the
       closes t..t+confirm_bars (the break bar included): max(close) - up >= k a for a break
       upward (close[t] > up), lo - min(close) >= k a downward; exactly k a counts.

    Censoring (project definition): t + confirm_bars past the last bar, a NaN close in
    t-1..t+confirm_bars, or a NaN / non-positive atr[t] or NaN bound: not a confirmed break
    (it cannot be confirmed from the data). After a confirmed break the next one needs a
    close back inside first (condition 1).

    Args:
        close, atr: shape (n,), price units, in time order.
        lower, upper: numbers, or shape (n,) per-bar bounds (e.g. the lifecycle's lower /
            upper); lower < upper where used.
        confirm_bars: whole number >= 1 (24). excursion_atr: k, finite >= 0 (1.0).

    Returns:
        int64 array of the break bars t, ascending.

    Raises:
        ValueError: arrays of different lengths or not one-dimensional, bad confirm_bars /
            excursion_atr, a bar with lower >= upper.
    """
    what = "confirmed_breaks"
    close = _float_array(close, "close", what)
    atr = _float_array(atr, "atr", what)
    n = len(close)
    if len(atr) != n:
        raise ValueError(f"{what}: close ({n}) and atr ({len(atr)}) must have the same length")
    lo, up = _bound(lower, n, "lower"), _bound(upper, n, "upper")
    if not _whole(confirm_bars) or confirm_bars < 1:
        raise ValueError(f"{what}: confirm_bars = {confirm_bars!r} must be a whole number >= 1")
    if (
        isinstance(excursion_atr, bool)
        or not isinstance(excursion_atr, (int, float, np.integer, np.floating))
        or not math.isfinite(excursion_atr)
        or excursion_atr < 0
    ):
        raise ValueError(f"{what}: excursion_atr = {excursion_atr!r} must be a finite number >= 0")
    if (lo >= up).any():
        i = int(np.flatnonzero(lo >= up)[0])
        raise ValueError(f"{what}: lower = {float(lo[i])!r} >= upper = {float(up[i])!r} at bar {i}")
    if n < confirm_bars + 2:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        out_now = (close[1:] < lo[1:]) | (close[1:] > up[1:])
        in_before = (close[:-1] >= lo[1:]) & (close[:-1] <= up[1:])
    candidates = np.flatnonzero(out_now & in_before) + 1
    candidates = candidates[candidates + confirm_bars <= n - 1]
    breaks = []
    for t in candidates.tolist():
        a, lo_t, up_t = atr[t], lo[t], up[t]
        if not a > 0:
            continue
        window = close[t : t + confirm_bars + 1]
        if not np.isfinite(window).all():
            continue
        if ((window[1:] >= lo_t) & (window[1:] <= up_t)).any():
            continue
        excursion = window.max() - up_t if close[t] > up_t else lo_t - window.min()
        if excursion >= excursion_atr * a:
            breaks.append(t)
    return np.asarray(breaks, dtype=np.int64)


# --------------------------------------------------------------------------- detectors
@dataclass(frozen=True, eq=False)
class DetectorMetrics:
    """One exit state as a detector of confirmed breaks (see :func:`detector_metrics`).

    Counts are ints; rates are floats (NaN when the denominator is 0).
    detected: bool (n_breaks,); lead_times: float (n_breaks,), bars, NaN where undetected.
    entry_bars: int (n_entries,); entry_followed: bool (n_entries,), a break followed.
    mandatory_entry_bars: int; false_stop: bool (n_mandatory_entries,).
    """

    state: str
    lookback: int
    n_breaks: int
    n_detected: int
    recall: float
    n_entries: int
    n_true_entries: int
    precision: float
    n_mandatory_entries: int
    n_false_stops: int
    false_stop_rate: float
    detected: np.ndarray
    lead_times: np.ndarray
    entry_bars: np.ndarray
    entry_followed: np.ndarray
    mandatory_entry_bars: np.ndarray
    false_stop: np.ndarray

    @property
    def mean_lead_time(self) -> float:
        """Mean lead time over the detected breaks (bars; NaN if none)."""
        x = self.lead_times[np.isfinite(self.lead_times)]
        return float(x.mean()) if len(x) else float("nan")


def _entries(levels: np.ndarray, level: int) -> np.ndarray:
    """Bars where the level rises to >= `level` from below (the bar before the first: 0)."""
    at = levels >= level
    return np.flatnonzero(at & ~np.r_[False, at[:-1]])


def _any_in(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For every [starts[k], ends[k]]: is a point of the sorted `points` inside?"""
    return np.searchsorted(points, ends, side="right") > np.searchsorted(points, starts, side="left")


def detector_metrics(
    states: Sequence[str | None],
    breaks: np.ndarray,
    lookback: int,
    state: str,
    exited_counts_as_mandatory: bool = False,
) -> DetectorMetrics:
    """Recall, precision, lead times and false stops of one exit state as a break detector.

    Levels (``STATE_LEVELS``): WARNING 1, LATEST_ACCEPTABLE_EXIT 2, MANDATORY_EXIT 3, every
    other state 0. The detector of a state S with level L "fires" at an ENTRY: a bar k whose
    level is >= L while the bar before it is < L (the level before bar 0 is taken as 0), so
    escalating WARNING -> MANDATORY_EXIT is one entry of the WARNING detector, not two, and a
    jump NORMAL -> MANDATORY_EXIT is an entry of all three ("the state or a higher one").
    EXITED is level 0 by default: the detectors are the exit states themselves, and the bar
    after a MANDATORY_EXIT is EXITED anyway; with ``exited_counts_as_mandatory`` it is level
    3, so a grid the engine ended without a MANDATORY_EXIT bar (a probation quick stop or a
    failed probation, a verdict stop of the virtual grid) counts as a stop.

    For the breaks b (e.g. :func:`confirmed_breaks` of the same bars) and w = ``lookback``:

    * detected: an entry e with b - w <= e <= b (the break bar itself included: a stop at
      the break bar's close still precedes the confirmation); lead time = b - (the FIRST
      such entry), in bars (0 = at the break bar); recall = detected / breaks.
    * precision: an entry e is followed by a break when one lies in [e, e + w];
      precision = such entries / entries.
    * false stop: an entry into MANDATORY_EXIT (level 3, whatever ``state``) with no break
      in [m, m + w]; false_stop_rate = false stops / MANDATORY_EXIT entries.

    An entry before the break that is still active at it but older than w bars does not
    count (the detector must fire within the window). Entries in the last w bars, or breaks
    that could not be confirmed near the end, are censored by the caller's choice of bars
    (confirmed_breaks already never reports one it cannot confirm).

    Args:
        states: per-bar lifecycle states of one series segment (str; None = no state,
            level 0), in time order; the bars ``breaks`` index.
        breaks: strictly increasing bar indices into ``states``.
        lookback: w, whole number >= 0 (bars).
        state: the detector, one of DETECTOR_STATES.
        exited_counts_as_mandatory: see above (False).

    Returns:
        :class:`DetectorMetrics` with the counts, the rates and the per-break / per-entry
        arrays (so the caller can bootstrap them).

    Raises:
        ValueError: an unknown state in ``states`` or ``state``, a bad lookback, breaks not
            strictly increasing or outside the bars.
    """
    what = "detector_metrics"
    if state not in DETECTOR_STATES:
        raise ValueError(f"{what}: state = {state!r} must be one of {list(DETECTOR_STATES)}")
    if not _whole(lookback) or lookback < 0:
        raise ValueError(f"{what}: lookback = {lookback!r} must be a whole number >= 0")
    levels = _state_levels(states, 3 if exited_counts_as_mandatory else 0, what)
    breaks = _bars_array(breaks, "breaks", what, len(levels))
    w = int(lookback)
    entries = _entries(levels, STATE_LEVELS[state])
    mandatory = _entries(levels, STATE_LEVELS[MANDATORY])
    # detection: the first entry at or after b - w, if it is <= b
    if len(entries):
        first = np.searchsorted(entries, breaks - w, side="left")
        first_bar = entries[np.minimum(first, len(entries) - 1)]
        detected = (first < len(entries)) & (first_bar <= breaks)
    else:
        first_bar = np.zeros(len(breaks), dtype=np.int64)
        detected = np.zeros(len(breaks), dtype=bool)
    lead = np.where(detected, (breaks - first_bar).astype(float), np.nan)
    followed = _any_in(breaks, entries, entries + w)
    false_stop = ~_any_in(breaks, mandatory, mandatory + w)
    n_b, n_e, n_m = len(breaks), len(entries), len(mandatory)
    nan = float("nan")
    return DetectorMetrics(
        state=state,
        lookback=w,
        n_breaks=n_b,
        n_detected=int(detected.sum()),
        recall=float(detected.sum() / n_b) if n_b else nan,
        n_entries=n_e,
        n_true_entries=int(followed.sum()),
        precision=float(followed.sum() / n_e) if n_e else nan,
        n_mandatory_entries=n_m,
        n_false_stops=int(false_stop.sum()),
        false_stop_rate=float(false_stop.sum() / n_m) if n_m else nan,
        detected=detected,
        lead_times=lead,
        entry_bars=entries,
        entry_followed=followed,
        mandatory_entry_bars=mandatory,
        false_stop=false_stop,
    )


def loss_avoided(
    close: np.ndarray, stop_bar: int | np.ndarray, break_bar: int | np.ndarray, horizon: int
) -> float | np.ndarray:
    """The price move a stop avoided, as a return of a long unit held from the stop.

    loss_avoided = 1 - close[e] / close[stop_bar], e = min(break_bar + horizon, n - 1):
    the loss of one unit of the grid's (long) inventory had it been held from the stop's
    close to the close ``horizon`` bars after the break (or the last bar). Positive: the
    price fell after the stop (a loss avoided); negative: it rose (a long grid holds little
    inventory after an upward break, so the number then bounds what the stop gave up).
    Project definition: the inventory a long grid holds at a break is long, whatever the
    break's side; the caller picks the breaks (e.g. downward ones only).

    Args:
        close: shape (n,), price units (> 0 where read).
        stop_bar, break_bar: bar indices in 0..n-1 (a number each, or arrays of one shape);
            the stop may come after the break (a late stop).
        horizon: bars after the break, whole number >= 0.

    Returns:
        float for scalar bars, else a float array of their shape; NaN where a close read is
        NaN.

    Raises:
        ValueError: bar indices out of range or not whole numbers, a bad horizon, a close <= 0.
    """
    what = "loss_avoided"
    close = _float_array(close, "close", what)
    n = len(close)
    if not _whole(horizon) or horizon < 0:
        raise ValueError(f"{what}: horizon = {horizon!r} must be a whole number >= 0")
    scalar = np.ndim(stop_bar) == 0 and np.ndim(break_bar) == 0
    stops, brks = np.broadcast_arrays(np.asarray(stop_bar), np.asarray(break_bar))
    for name, arr in (("stop_bar", stops), ("break_bar", brks)):
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n):
            raise ValueError(f"{what}: {name} must be whole-number bar indices in 0..{n - 1}")
    stops, brks = stops.astype(np.int64), brks.astype(np.int64)
    end = np.minimum(brks + int(horizon), n - 1)
    c_stop, c_end = close[stops], close[end]
    if ((c_stop <= 0) | (c_end <= 0)).any():
        raise ValueError(f"{what}: closes must be > 0")
    out = 1.0 - c_end / c_stop
    return float(out) if scalar else out


# --------------------------------------------------------------------------- changes per symbol-week
@dataclass(frozen=True)
class PerSymbolWeek:
    """count events over symbol_weeks symbol-weeks: rate = count / symbol_weeks (NaN for 0 weeks)."""

    count: int
    symbol_weeks: float
    rate: float


def _series_codes(n: int, series: Sequence[object] | None, what: str) -> np.ndarray:
    if series is None:
        return np.zeros(n, dtype=np.int64)
    codes, _ = pd.factorize(pd.Series(list(series), dtype=object), use_na_sentinel=True)
    if len(codes) != n:
        raise ValueError(f"{what}: series has {len(codes)} values for {n} bars")
    if (codes < 0).any():
        raise ValueError(f"{what}: series must not be missing")
    return codes


def _bar_layout(
    bar_start: Sequence[object], series: Sequence[object] | None, bar_hours: float | None, what: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """(ns timestamps, series codes, bar length in hours), validated."""
    ts = pd.to_datetime(pd.Series(list(bar_start)))
    if ts.isna().any():
        raise ValueError(f"{what}: bar_start has missing values")
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    codes = _series_codes(len(ns), series, what)
    same = codes[1:] == codes[:-1]
    steps = np.diff(ns)
    if len(ns) > 1 and (same & (steps <= 0)).any():
        raise ValueError(f"{what}: bar_start must be strictly increasing within every series")
    if len(np.unique(codes)) != len(np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])):
        raise ValueError(f"{what}: the bars of a series must be adjacent")
    if bar_hours is None:
        inner = steps[same]
        if len(inner) == 0:
            raise ValueError(f"{what}: cannot infer the bar length from single bars; pass bar_hours")
        bar_hours = float(inner.min()) / 3.6e12
    elif (
        isinstance(bar_hours, bool)
        or not isinstance(bar_hours, (int, float, np.integer, np.floating))
        or not math.isfinite(bar_hours)
        or bar_hours <= 0
    ):
        raise ValueError(f"{what}: bar_hours = {bar_hours!r} must be a finite number > 0")
    return ns, codes, float(bar_hours)


def symbol_weeks(
    bar_start: Sequence[object], series: Sequence[object] | None = None, bar_hours: float | None = None
) -> float:
    """Symbol-weeks covered by bars: n_bars x bar_hours / 168 (summed over series).

    Args:
        bar_start: per-bar start timestamps (anything pandas.to_datetime reads), strictly
            increasing within every series; the bars of a series adjacent.
        series: optional per-bar series labels (e.g. (exchange, symbol)); None: one series.
        bar_hours: the bar length in hours; None: the smallest step between consecutive
            bars of a series (1.0 for 1h bars, whatever the gaps).

    Returns:
        float symbol-weeks (use it for notifications per symbol-week:
        notifications / symbol_weeks(...)).

    Raises:
        ValueError: missing timestamps, bars out of order, a bar length that cannot be
            inferred (only single-bar series) or is not > 0.
    """
    ns, _, hours = _bar_layout(bar_start, series, bar_hours, "symbol_weeks")
    return len(ns) * hours / _WEEK_HOURS


def changes_per_symbol_week(
    bar_start: Sequence[object],
    state: Sequence[str | None],
    series: Sequence[object] | None = None,
    bar_hours: float | None = None,
) -> PerSymbolWeek:
    """Lifecycle state changes per symbol-week.

    A change (project definition) is a bar whose state differs from the state of the bar
    exactly one bar length before it in the same series (a missing state counts as a state
    of its own). Across a gap in bar_start (a new segment: the walk restarts) no change is
    counted: a fresh walk's first state is not a change. Weeks: :func:`symbol_weeks`.

    Args:
        bar_start, series, bar_hours: as :func:`symbol_weeks`.
        state: per-bar state (str or None), same length.

    Returns:
        :class:`PerSymbolWeek` (count = changes).

    Raises:
        ValueError: lengths differ, or as :func:`symbol_weeks`.
    """
    what = "changes_per_symbol_week"
    states = pd.Series(list(state), dtype=object)
    ns, codes, hours = _bar_layout(bar_start, series, bar_hours, what)
    if len(states) != len(ns):
        raise ValueError(f"{what}: state has {len(states)} values for {len(ns)} bars")
    labels = states.where(states.notna(), "\0missing").astype(str).to_numpy()
    step = round(hours * 3.6e12)
    adjacent = (codes[1:] == codes[:-1]) & (np.diff(ns) == step)
    changes = int((adjacent & (labels[1:] != labels[:-1])).sum())
    weeks = len(ns) * hours / _WEEK_HOURS
    return PerSymbolWeek(count=changes, symbol_weeks=weeks, rate=changes / weeks if weeks else float("nan"))


# --------------------------------------------------------------------------- WARNING base rates
def warning_condition_base_rates(
    frame: pd.DataFrame,
    conditions: Sequence[str] = WARNING_CONDITIONS,
    verdict: str = "verdict",
    within: str = RANGE_OK,
) -> pd.DataFrame:
    """Base rate of each WARNING condition inside RANGE_OK hours.

    Universe: the rows of ``frame`` whose ``verdict`` column equals ``within`` (RANGE_OK:
    the hours where a grid is meant to run). Per condition column (boolean: True / False,
    1 / 0, missing): n_hours = universe rows where it is not missing, n_true = rows where it
    is True, base_rate = n_true / n_hours. A last row ``at_least_2`` is the WARNING rule
    itself: 2 or more of the conditions True at once (a missing one counts as not True),
    over all universe rows. The base rates show how often the 2-of-5 rule would fire by
    chance in a working range if the conditions were independent.

    Args:
        frame: one row per hour with the verdict column and the condition columns.
        conditions: the boolean condition columns (default WARNING_CONDITIONS, the names
            the lifecycle engine gives them).
        verdict: the verdict column's name ("verdict"). within: the verdict ("RANGE_OK").

    Returns:
        DataFrame with columns condition, n_hours, n_true, base_rate (NaN for n_hours 0):
        one row per condition in the given order, then ``at_least_2``.

    Raises:
        ValueError: missing columns, duplicate or no conditions, a condition value that is
            not boolean (True / False / 1 / 0 / missing).
    """
    what = "warning_condition_base_rates"
    conditions = list(conditions)
    if not conditions:
        raise ValueError(f"{what}: no conditions given")
    if len(set(conditions)) != len(conditions):
        raise ValueError(f"{what}: duplicate conditions {conditions}")
    missing = [c for c in [verdict, *conditions] if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing input columns {missing}")
    universe = frame.loc[frame[verdict].eq(within).fillna(False).astype(bool), conditions]
    rows = []
    true_count = np.zeros(len(universe), dtype=np.int64)
    for name in conditions:
        col = universe[name].astype(object)
        present = col.notna().to_numpy()
        values = col[present]
        bad = [v for v in values.tolist() if not (isinstance(v, (bool, np.bool_)) or v in (0, 1))]
        if bad:
            raise ValueError(f"{what}: column {name} has non-boolean values, e.g. {bad[0]!r}")
        is_true = np.zeros(len(universe), dtype=bool)
        is_true[present] = np.asarray([bool(v) for v in values.tolist()], dtype=bool)
        true_count += is_true
        n_hours = int(present.sum())
        n_true = int(is_true.sum())
        rows.append(
            {
                "condition": name,
                "n_hours": n_hours,
                "n_true": n_true,
                "base_rate": n_true / n_hours if n_hours else float("nan"),
            }
        )
    n_all = len(universe)
    n_rule = int((true_count >= 2).sum())
    rows.append(
        {
            "condition": AT_LEAST_2,
            "n_hours": n_all,
            "n_true": n_rule,
            "base_rate": n_rule / n_all if n_all else float("nan"),
        }
    )
    out = pd.DataFrame(rows, columns=["condition", "n_hours", "n_true", "base_rate"])
    return out.astype({"n_hours": np.int64, "n_true": np.int64})


# --------------------------------------------------------------------------- restarts
def restart_delays(stop_bars: np.ndarray, restart_bars: np.ndarray) -> np.ndarray:
    """Bars from each stop to its restart.

    The restart of stop s_k is the first restart bar r with s_k < r < s_{k+1} (the next
    stop; no bound after the last stop): a restart after the next stop belongs to that stop,
    and one on the next stop's own bar to neither (a grid cannot be restarted and stopped on
    the same bar). No such r: NaN (not restarted before the next stop or the end of the
    data).

    Args:
        stop_bars, restart_bars: strictly increasing bar indices (>= 0) of one series.

    Returns:
        float array (len(stop_bars),): r - s_k in bars, or NaN.
    """
    what = "restart_delays"
    stops = _bars_array(stop_bars, "stop_bars", what)
    restarts = _bars_array(restart_bars, "restart_bars", what)
    if len(stops) == 0:
        return np.zeros(0)
    first = np.searchsorted(restarts, stops, side="right")
    limit = np.r_[stops[1:], np.iinfo(np.int64).max]
    ok = first < len(restarts)
    r = restarts[np.minimum(first, len(restarts) - 1)] if len(restarts) else np.zeros(len(stops), dtype=np.int64)
    ok &= r < limit
    return np.where(ok, (r - stops).astype(float), np.nan)


@dataclass(frozen=True, eq=False)
class RetriggerResult:
    """Restarts followed by a new MANDATORY_EXIT (see :func:`retrigger_rate`).

    rate = n_retriggered / n_restarts (NaN for none); restart_bars: the restarts counted
    (censored ones left out); retriggered: bool per counted restart (for a bootstrap)."""

    rate: float
    n_restarts: int
    n_retriggered: int
    restart_bars: np.ndarray
    retriggered: np.ndarray


def retrigger_rate(
    restart_bars: np.ndarray, mandatory_bars: np.ndarray, window: int = RETRIGGER_WINDOW, n_bars: int | None = None
) -> RetriggerResult:
    """Share of restarts followed by a new MANDATORY_EXIT within ``window`` bars.

    A restart at r is retriggered when a MANDATORY_EXIT entry m (e.g.
    ``DetectorMetrics.mandatory_entry_bars``) lies in r < m <= r + window (after the restart
    bar: the restart bar itself cannot stop the new grid). With ``n_bars`` (bars in the
    series) a restart whose window runs past the last bar (r + window > n_bars - 1) is
    censored and left out, retriggered or not (keeping only the retriggered ones would bias
    the rate upward); without it every restart counts.

    Args:
        restart_bars, mandatory_bars: strictly increasing bar indices (>= 0).
        window: bars, whole number >= 1 (72). n_bars: None or a whole number >= 1.

    Returns:
        :class:`RetriggerResult`.
    """
    what = "retrigger_rate"
    if not _whole(window) or window < 1:
        raise ValueError(f"{what}: window = {window!r} must be a whole number >= 1")
    if n_bars is not None and (not _whole(n_bars) or n_bars < 1):
        raise ValueError(f"{what}: n_bars = {n_bars!r} must be a whole number >= 1")
    restarts = _bars_array(restart_bars, "restart_bars", what, n_bars)
    mandatory = _bars_array(mandatory_bars, "mandatory_bars", what, n_bars)
    if n_bars is not None:
        restarts = restarts[restarts + window <= n_bars - 1]
    hit = _any_in(mandatory, restarts + 1, restarts + int(window))
    n = len(restarts)
    return RetriggerResult(
        rate=float(hit.sum() / n) if n else float("nan"),
        n_restarts=n,
        n_retriggered=int(hit.sum()),
        restart_bars=restarts,
        retriggered=hit,
    )


def fixed_delay_restarts(stop_bars: np.ndarray, delay: int, n_bars: int) -> np.ndarray:
    """Restart bars of a fixed-delay baseline: every stop restarted ``delay`` bars later.

    Baselines of the restart gates (project definitions): time floor only = delay 24
    (FLOOR_ONLY_DELAY: the gates' floor without the gates); fixed 48 / 72 bars
    (FIXED_DELAYS). The restart of stop s is s + delay, kept when it is a bar of the data
    (< n_bars) and comes before the next stop (a stop while the baseline still waits
    supersedes that wait: the next restart counts from the later stop).

    Args:
        stop_bars: strictly increasing bar indices in 0..n_bars-1.
        delay: bars, whole number >= 1. n_bars: bars in the series, whole number >= 1.

    Returns:
        int64 array of restart bars, ascending.
    """
    what = "fixed_delay_restarts"
    if not _whole(n_bars) or n_bars < 1:
        raise ValueError(f"{what}: n_bars = {n_bars!r} must be a whole number >= 1")
    if not _whole(delay) or delay < 1:
        raise ValueError(f"{what}: delay = {delay!r} must be a whole number >= 1")
    stops = _bars_array(stop_bars, "stop_bars", what, int(n_bars))
    restarts = stops + int(delay)
    next_stop = np.r_[stops[1:], np.iinfo(np.int64).max]
    return restarts[(restarts < n_bars) & (restarts < next_stop)]
