"""Uptrend Engine states and transitions (docs/uptrend-engine.md, "Predicates" and
"States and transitions"). Pure Python, no dbt.

One series = one driver at one timeframe; the engine walks its final bars in time order
and moves between S0 (downtrend), S1 (early uptrend), S2 (no man's land), S3 (confirmed
uptrend) and S4 (watch only, before a bear or bull stack is seen). At most one transition
per bar, with the precedence listed in :func:`transition`. Every comparison is strict, so
equality never transitions (P == E333 stays).

This module holds the state machine only; flags, scores (TS, OX, DX, EDX) and S/R levels
are in uptrend_scores / uptrend_levels, combined per segment by uptrend_engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATES = ("S0", "S1", "S2", "S3", "S4")


@dataclass(frozen=True)
class EmaStack:
    """The six EMAs of one bar (price units): alpha = 2/(n+1), SMA-seeded (docs/indicators.md)."""

    e20: float
    e30: float
    e60: float
    e144: float
    e250: float
    e333: float

    def bull_stack(self) -> bool:
        """E20 > E60 and E30 > E60 and E60 > E144 > E250 > E333."""
        return self.e20 > self.e60 and self.e30 > self.e60 and self.e60 > self.e144 > self.e250 > self.e333

    def bear_stack(self) -> bool:
        """E20 < E60 and E30 < E60 and E60 < E144 < E250 < E333."""
        return self.e20 < self.e60 and self.e30 < self.e60 and self.e60 < self.e144 < self.e250 < self.e333

    def fast_above_60(self) -> bool:
        """E20 > E60 and E30 > E60."""
        return self.e20 > self.e60 and self.e30 > self.e60

    def all_below_333(self) -> bool:
        """E20, E30, E60, E144 and E250 all below E333."""
        return max(self.e20, self.e30, self.e60, self.e144, self.e250) < self.e333


@dataclass(frozen=True)
class Transition:
    """The state after one bar and what the move carries.

    exit_reason: 's1_bearish_stack' (S1 -> S0) or 'all_emas_below_333' (S3 -> S0), else None.
    exit_position: True on exactly those two transitions.
    emergency_exit: True on S1 -> S0, and while in S3 when P < E333 (no state change).
    s3_entry: the bar starts an S3 episode (sets s3_start; from S2, S4 or bootstrap).
    s3_exit: the bar ends an S3 episode (clears s3_start and first_dip_taken).
    """

    state: str
    exit_reason: str | None = None
    exit_position: bool = False
    emergency_exit: bool = False
    s3_entry: bool = False
    s3_exit: bool = False


# what a move carries besides the new state (codes of _next_state)
_STAY, _S3_ENTRY, _S1_EXIT, _S3_EXIT, _EMERGENCY = range(5)


def _next_state(
    prev: str | None,
    bull: bool,
    bear: bool,
    fast60: bool,
    p_gt_e60: bool,
    p_gt_e333: bool,
    p_lt_e333: bool,
    all_below: bool,
    bootstrap_to_s3: bool,
) -> tuple[str, int]:
    """The transition rules on precomputed predicates: (new state, move code). The one
    implementation behind :func:`transition` (one bar) and :func:`walk_states` (a segment)."""
    if prev is None or prev == "S4":
        if bear:
            return "S0", _STAY
        if bootstrap_to_s3 and bull:
            return "S3", _S3_ENTRY
        return "S4", _STAY
    if prev == "S0":
        return ("S1" if fast60 and p_gt_e60 else "S0"), _STAY
    if prev == "S1":
        if bear:
            return "S0", _S1_EXIT
        return ("S2" if p_gt_e333 else "S1"), _STAY
    if prev == "S2":
        if p_lt_e333:
            return "S1", _STAY
        if bull:
            return "S3", _S3_ENTRY
        return "S2", _STAY
    if prev == "S3":
        if all_below:
            return "S0", _S3_EXIT
        return "S3", (_EMERGENCY if p_lt_e333 else _STAY)
    raise ValueError(f"unknown previous state {prev!r} (expected one of {', '.join(STATES)} or None)")


def transition(prev_state: str | None, price: float, emas: EmaStack, bootstrap_to_s3: bool) -> Transition:
    """Apply the transition rules (docs/uptrend-engine.md) to one bar.

    Precedence: no state / S4: bear stack -> S0, bull stack -> S3 (bootstrap_to_s3), else S4;
    S0: fast_above_60 and P > E60 -> S1; S1: bear stack -> S0 (exit), P > E333 -> S2;
    S2: P < E333 -> S1, bull stack -> S3; S3: all_below_333 -> S0 (exit), P < E333 ->
    emergency exit without a state change.

    Args:
        prev_state: the state after the previous bar, or None at a segment's first bar.
        price: the bar's close P.
        emas: the bar's EMAs.
        bootstrap_to_s3: option `bootstrap_to_s3` (from config): a bull stack without a
            previous state, or in S4, enters S3; otherwise it stays in S4.

    Returns:
        The :class:`Transition` (the new state may equal prev_state).

    Raises:
        ValueError: prev_state is not one of S0..S4 or None.
    """
    state, code = _next_state(
        prev_state,
        emas.bull_stack(),
        emas.bear_stack(),
        emas.fast_above_60(),
        price > emas.e60,
        price > emas.e333,
        price < emas.e333,
        emas.all_below_333(),
        bootstrap_to_s3,
    )
    if code == _S1_EXIT:
        return Transition(state, exit_reason="s1_bearish_stack", exit_position=True, emergency_exit=True)
    if code == _S3_EXIT:
        return Transition(state, exit_reason="all_emas_below_333", exit_position=True, s3_exit=True)
    return Transition(state, emergency_exit=code == _EMERGENCY, s3_entry=code == _S3_ENTRY)


@dataclass(frozen=True)
class StatePath:
    """States of one segment's bars from the engine's first bar on (index-aligned lists)."""

    first_bar: int  # index of the first bar with a state (every input non-NULL); len(input) if none
    state: list[str]
    prev_state: list[str | None]
    exit_reason: list[str | None]
    exit_position: list[bool]
    emergency_exit: list[bool]
    s3_start: list[int | None]  # bar index (into the input) of the current S3 episode's entry


def walk_states(
    close, emas: dict[str, object], ready, bootstrap_to_s3: bool, prev_state: str | None = None
) -> StatePath:
    """Walk one segment's final bars in time order through the transition rules.

    The predicates are computed for every bar at once (numpy, strict comparisons as in
    :class:`EmaStack`); the loop only follows the states.

    Args:
        close: sequence of closes (length n).
        emas: sequences e20, e30, e60, e144, e250, e333 (length n each).
        ready: sequence of booleans: every engine input of the bar is non-NULL
            (docs/uptrend-engine.md "Inputs per bar"). The engine starts at the first ready bar;
            earlier bars get no state. A later non-ready bar is an error.
        bootstrap_to_s3: option `bootstrap_to_s3`.
        prev_state: the state after the bar before the first ready bar, when these bars
            continue an earlier walk (uptrend_engine.SegmentResume); None (default) starts
            a walk. It must not be S3 (a continued walk starts at or before its S3 entry).

    Returns:
        A :class:`StatePath` for bars first_bar..n-1; prev_state is None on first_bar
        (the given prev_state when continuing).

    Raises:
        ValueError: lengths differ, or a bar after the first ready bar is not ready.
    """
    n = len(close)
    keys = ("e20", "e30", "e60", "e144", "e250", "e333")
    if any(len(emas[k]) != n for k in keys) or len(ready) != n:
        raise ValueError("walk_states: close, every EMA and ready must have the same length")
    ready = np.asarray(ready, dtype=bool)
    first = int(np.argmax(ready)) if ready.any() else n
    if not ready[first:].all():
        bad = first + int(np.argmin(ready[first:]))
        raise ValueError(f"walk_states: bar {bad} has a NULL input after the engine started at bar {first}")
    p = np.asarray(close, dtype=float)[first:]
    e20, e30, e60, e144, e250, e333 = (np.asarray(emas[k], dtype=float)[first:] for k in keys)
    fast60 = (e20 > e60) & (e30 > e60)
    bull = fast60 & (e60 > e144) & (e144 > e250) & (e250 > e333)
    bear = (e20 < e60) & (e30 < e60) & (e60 < e144) & (e144 < e250) & (e250 < e333)
    all_below = np.maximum.reduce([e20, e30, e60, e144, e250]) < e333
    columns = zip(
        bull.tolist(),
        bear.tolist(),
        fast60.tolist(),
        (p > e60).tolist(),
        (p > e333).tolist(),
        (p < e333).tolist(),
        all_below.tolist(),
    )
    if prev_state == "S3" or (prev_state is not None and prev_state not in STATES):
        raise ValueError(f"walk_states: cannot continue from previous state {prev_state!r}")
    path = StatePath(first, [], [], [], [], [], [])
    prev: str | None = prev_state
    s3_start: int | None = None
    state_out, prev_out, code_out, s3_out = path.state, path.prev_state, [], path.s3_start
    for i, preds in enumerate(columns, start=first):
        state, code = _next_state(prev, *preds, bootstrap_to_s3)
        if code == _S3_ENTRY:
            s3_start = i
        elif code == _S3_EXIT:
            s3_start = None
        state_out.append(state)
        prev_out.append(prev)
        code_out.append(code)
        s3_out.append(s3_start if state == "S3" else None)
        prev = state
    reasons = {_S1_EXIT: "s1_bearish_stack", _S3_EXIT: "all_emas_below_333"}
    path.exit_reason.extend(reasons.get(c) for c in code_out)
    path.exit_position.extend(c in reasons for c in code_out)
    path.emergency_exit.extend(c in (_S1_EXIT, _EMERGENCY) for c in code_out)
    return path
