"""Uptrend Engine states and transitions (shared/docs/UPTREND_ENGINE.md, "Predicates" and
"States and transitions"). Pure Python, no dbt.

One series = one driver at one timeframe; the engine walks its final bars in time order
and moves between S0 (downtrend), S1 (early uptrend), S2 (no man's land), S3 (confirmed
uptrend) and S4 (watch only, before a bear or bull stack is seen). At most one transition
per bar, with the precedence listed in :func:`transition`. Every comparison is strict, so
equality never transitions (P == E333 stays).

This module holds the state machine only; flags, scores (TS, OX, DX, EDX) and S/R levels
build on it.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("S0", "S1", "S2", "S3", "S4")


@dataclass(frozen=True)
class EmaStack:
    """The six EMAs of one bar (price units): alpha = 2/(n+1), SMA-seeded (SPEC §5)."""

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


def transition(prev_state: str | None, price: float, emas: EmaStack, bootstrap_to_s3: bool) -> Transition:
    """Apply the UPTREND_ENGINE.md transition rules to one bar.

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
    if prev_state is None or prev_state == "S4":
        if emas.bear_stack():
            return Transition("S0")
        if bootstrap_to_s3 and emas.bull_stack():
            return Transition("S3", s3_entry=True)
        return Transition("S4")
    if prev_state == "S0":
        return Transition("S1" if emas.fast_above_60() and price > emas.e60 else "S0")
    if prev_state == "S1":
        if emas.bear_stack():
            return Transition("S0", exit_reason="s1_bearish_stack", exit_position=True, emergency_exit=True)
        return Transition("S2" if price > emas.e333 else "S1")
    if prev_state == "S2":
        if price < emas.e333:
            return Transition("S1")
        if emas.bull_stack():
            return Transition("S3", s3_entry=True)
        return Transition("S2")
    if prev_state == "S3":
        if emas.all_below_333():
            return Transition("S0", exit_reason="all_emas_below_333", exit_position=True, s3_exit=True)
        return Transition("S3", emergency_exit=price < emas.e333)
    raise ValueError(f"unknown previous state {prev_state!r} (expected one of {', '.join(STATES)} or None)")


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


def walk_states(close, emas: dict[str, object], ready, bootstrap_to_s3: bool) -> StatePath:
    """Walk one segment's final bars in time order through :func:`transition`.

    Args:
        close: sequence of closes (length n).
        emas: sequences e20, e30, e60, e144, e250, e333 (length n each).
        ready: sequence of booleans: every engine input of the bar is non-NULL
            (UPTREND_ENGINE.md "Inputs per bar"). The engine starts at the first ready bar;
            earlier bars get no state. A later non-ready bar is an error.
        bootstrap_to_s3: option `bootstrap_to_s3`.

    Returns:
        A :class:`StatePath` for bars first_bar..n-1; prev_state is None on first_bar.

    Raises:
        ValueError: lengths differ, or a bar after the first ready bar is not ready.
    """
    n = len(close)
    keys = ("e20", "e30", "e60", "e144", "e250", "e333")
    if any(len(emas[k]) != n for k in keys) or len(ready) != n:
        raise ValueError("walk_states: close, every EMA and ready must have the same length")
    first = next((i for i in range(n) if ready[i]), n)
    path = StatePath(first, [], [], [], [], [], [])
    prev: str | None = None
    s3_start: int | None = None
    for i in range(first, n):
        if not ready[i]:
            raise ValueError(f"walk_states: bar {i} has a NULL input after the engine started at bar {first}")
        step = transition(prev, float(close[i]), EmaStack(*(float(emas[k][i]) for k in keys)), bootstrap_to_s3)
        if step.s3_entry:
            s3_start = i
        elif step.s3_exit:
            s3_start = None
        path.state.append(step.state)
        path.prev_state.append(prev)
        path.exit_reason.append(step.exit_reason)
        path.exit_position.append(step.exit_position)
        path.emergency_exit.append(step.emergency_exit)
        path.s3_start.append(s3_start if step.state == "S3" else None)
        prev = step.state
    return path
