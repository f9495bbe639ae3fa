"""One test per transition rule of docs/uptrend-engine.md, on hand-made EMA stacks (equality edges)."""

from __future__ import annotations

import pytest

from market_regimes.engines.uptrend_states import EmaStack, Transition, transition, walk_states

BULL = EmaStack(e20=110, e30=109, e60=105, e144=100, e250=95, e333=90)
BEAR = EmaStack(e20=80, e30=81, e60=85, e144=90, e250=95, e333=100)
MIXED = EmaStack(e20=101, e30=102, e60=100, e144=103, e250=99, e333=98)  # fast above 60, no stack


@pytest.mark.parametrize("prev", [None, "S4"])
def test_bootstrap_and_s4(prev):
    assert transition(prev, 70, BEAR, bootstrap_to_s3=True) == Transition("S0")
    assert transition(prev, 120, BULL, bootstrap_to_s3=True) == Transition("S3", s3_entry=True)
    assert transition(prev, 120, BULL, bootstrap_to_s3=False) == Transition("S4")
    assert transition(prev, 100, MIXED, bootstrap_to_s3=True) == Transition("S4")


def test_s0_to_s1_needs_fast_above_60_and_price_strictly_above_e60():
    assert transition("S0", 100.01, MIXED, True).state == "S1"
    assert transition("S0", 100, MIXED, True).state == "S0"  # P == E60: equality never transitions
    not_fast = EmaStack(e20=101, e30=100, e60=100, e144=103, e250=99, e333=98)  # E30 == E60
    assert transition("S0", 120, not_fast, True).state == "S0"


def test_s1_bear_stack_exits_before_anything_else():
    assert transition("S1", 120, BEAR, True) == Transition(
        "S0", exit_reason="s1_bearish_stack", exit_position=True, emergency_exit=True
    )


def test_s1_to_s2_above_e333_strictly():
    assert transition("S1", 98.5, MIXED, True) == Transition("S2")
    assert transition("S1", 98, MIXED, True) == Transition("S1")  # P == E333 stays


def test_s2_back_to_s1_below_e333_has_precedence_over_bull_stack():
    assert transition("S2", 89.9, BULL, True) == Transition("S1")
    assert transition("S2", 90, BULL, True) == Transition("S3", s3_entry=True)  # P == E333: not below
    assert transition("S2", 98, MIXED, True) == Transition("S2")


def test_s3_exits_only_when_all_emas_below_333():
    all_below = EmaStack(e20=90, e30=91, e60=92, e144=93, e250=94, e333=95)
    assert transition("S3", 96, all_below, True) == Transition(
        "S0", exit_reason="all_emas_below_333", exit_position=True, s3_exit=True
    )
    one_equal = EmaStack(e20=90, e30=91, e60=92, e144=93, e250=95, e333=95)  # E250 == E333
    assert transition("S3", 96, one_equal, True) == Transition("S3")


def test_s3_emergency_exit_below_e333_without_state_change():
    assert transition("S3", 89, BULL, True) == Transition("S3", emergency_exit=True)
    assert transition("S3", 90, BULL, True) == Transition("S3")  # P == E333: no emergency


def test_unknown_state_is_an_error():
    with pytest.raises(ValueError, match="unknown previous state 'S5'"):
        transition("S5", 1, BULL, True)


def test_walk_states_from_the_first_ready_bar():
    rows = [  # close, EMA stack, ready
        (100, MIXED, False),
        (70, BEAR, True),  # bootstrap: bear stack -> S0
        (100.5, MIXED, True),  # fast above 60 and P > E60 -> S1
        (98.5, MIXED, True),  # P > E333 -> S2
        (120, BULL, True),  # bull stack -> S3 (s3_start = 4)
        (89, BULL, True),  # P < E333: emergency exit, stays S3
        (96, EmaStack(90, 91, 92, 93, 94, 95), True),  # all below 333 -> S0
    ]
    emas = {k: [getattr(r[1], k) for r in rows] for k in ("e20", "e30", "e60", "e144", "e250", "e333")}
    path = walk_states([r[0] for r in rows], emas, [r[2] for r in rows], bootstrap_to_s3=True)
    assert path.first_bar == 1
    assert path.state == ["S0", "S1", "S2", "S3", "S3", "S0"]
    assert path.prev_state == [None, "S0", "S1", "S2", "S3", "S3"]
    assert path.s3_start == [None, None, None, 4, 4, None]
    assert path.emergency_exit == [False, False, False, False, True, False]
    assert path.exit_reason == [None] * 5 + ["all_emas_below_333"]
    assert path.exit_position == [False] * 5 + [True]


def test_walk_states_rejects_a_null_input_after_the_start():
    emas = {k: [1.0, 1.0] for k in ("e20", "e30", "e60", "e144", "e250", "e333")}
    with pytest.raises(ValueError, match="bar 1 has a NULL input"):
        walk_states([1.0, 1.0], emas, [True, False], bootstrap_to_s3=True)


def test_state_rows_without_ready_bars_keep_the_column_types():
    import pandas as pd

    from market_regimes.engines.uptrend_config import load_config_csv
    from market_regimes.engines.uptrend_frames import COLUMNS, ENGINE_INPUTS, uptrend_state_rows

    out = uptrend_state_rows(
        pd.DataFrame(columns=["driver", "timeframe", "segment_id", "bar_start", "close", *ENGINE_INPUTS]),
        load_config_csv(),
    )
    assert out.empty and list(out.columns) == list(COLUMNS)
    assert {c: str(out[c].dtype) for c in ("state", "exit_reason", "exit_position", "bar_start")} == {
        "state": "string",
        "exit_reason": "string",
        "exit_position": "boolean",
        "bar_start": "datetime64[us]",
    }
    assert str(out["ox"].dtype) == "float64" and str(out["trim_flag"].dtype) == "boolean"
