"""The exit-event report (market_regimes.research.grid_exit_report) on two hand-made walks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_regimes.research.grid_exit_report import REPORT_COLUMNS, exit_event_report
from market_regimes.research.grid_outcomes import GridOutcomeConfig

CFG = GridOutcomeConfig(train_frac=0.0, n_boot=200)


def walk(
    key: str,
    closes: list[float],
    states: dict[range, str],
    fired: dict[int, str] | None = None,
    verdict: str = "RANGE_OK",
) -> pd.DataFrame:
    n = len(closes)
    state = ["NORMAL"] * n
    for where, s in states.items():
        for i in where:
            state[i] = s
    changes = [int(i > 0 and state[i] != state[i - 1]) for i in range(n)]
    return pd.DataFrame(
        {
            "walk_id": f"{key}|0|",
            "series_key": key,
            "bar_start": pd.date_range("2024-01-01", periods=n, freq="h"),
            "state": state,
            "lower": 90.0,
            "upper": 110.0,
            "close": closes,
            "atr_14": 1.0,
            "verdict": verdict,
            "fired_triggers": [(fired or {}).get(i, "") for i in range(n)],
            "is_sent": [c == 1 for c in changes],
            "from_state_changes": changes,
        }
    )


def two_walks() -> pd.DataFrame:
    # A: WARNING at 40-44, MANDATORY_EXIT at 45, EXITED after; the close breaks above 110 at bar 50
    # and stays out (116) for 24 bars: a confirmed break (excursion 6 ATR), detected 10 / 5 / 5 bars early
    a = walk(
        "A",
        [100.0] * 50 + [115.0] + [116.0] * 49,
        {range(40, 45): "WARNING", range(45, 46): "MANDATORY_EXIT", range(46, 100): "EXITED"},
        fired={3: "er_short,high_vol_prob", 7: "er_short"},
    )
    # B: a MANDATORY_EXIT at 30 with the closes never leaving the grid: a false stop
    b = walk("B", [100.0] * 100, {range(30, 31): "MANDATORY_EXIT", range(31, 100): "EXITED"}, verdict="TREND")
    return pd.concat([a, b], ignore_index=True)


def value(report: pd.DataFrame, detector: str, metric: str) -> tuple[int, float]:
    row = report[(report["detector"] == detector) & (report["metric"] == metric)].iloc[0]
    return int(row["n"]), float(row["value"])


def test_detectors_on_hand_made_walks():
    report = exit_event_report(two_walks(), CFG)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert value(report, "WARNING", "recall") == (1, 1.0)
    assert value(report, "WARNING", "lead_time_bars") == (1, 10.0)
    assert value(report, "LATEST_ACCEPTABLE_EXIT", "lead_time_bars") == (1, 5.0)  # the jump to MANDATORY counts
    assert value(report, "MANDATORY_EXIT", "lead_time_bars") == (1, 5.0)
    assert value(report, "MANDATORY_EXIT", "median_lead_time_bars") == (1, 5.0)
    # entries: WARNING A@40 (followed) and B@30 (the jump, not followed); MANDATORY A@45, B@30
    assert value(report, "WARNING", "precision") == (2, 0.5)
    assert value(report, "MANDATORY_EXIT", "false_stop_rate") == (2, 0.5)
    assert value(report, "ANY_STOP", "false_stop_rate") == (2, 0.5)
    assert report[(report["detector"] == "WARNING") & (report["metric"] == "false_stop_rate")].empty
    # activity: A changes at 40, 45, 46; B at 30, 31: 5 changes, 5 sent, over 200 / 168 weeks
    assert value(report, "ALL", "state_changes_per_symbol_week")[1] == pytest.approx(5 / (200 / 168))
    assert value(report, "ALL", "notifications_sent_per_symbol_week")[1] == pytest.approx(5 / (200 / 168))
    # base rates inside RANGE_OK hours (walk A's 100 bars): er_short on 2, high_vol_prob on 1
    assert value(report, "er_short", "share_of_range_ok_hours") == (100, 0.02)
    assert value(report, "high_vol_prob", "share_of_range_ok_hours") == (100, 0.01)
    assert value(report, "atr_ratio_warning", "share_of_range_ok_hours") == (100, 0.0)


def test_a_break_of_an_abandoned_placement_and_the_training_part_do_not_count():
    bars = two_walks()
    # as walk A, but the break comes at bar 76, 30 bars after the stop instead of 5
    late = walk(
        "C",
        [100.0] * 76 + [115.0] + [116.0] * 43,
        {range(40, 45): "WARNING", range(45, 46): "MANDATORY_EXIT", range(46, 120): "EXITED"},
    )
    report = exit_event_report(late, CFG)
    assert value(report, "MANDATORY_EXIT", "recall")[0] == 0  # placement not live in the 24 bars before
    # train_frac 0.6 of 100 bars: bars 60.. evaluated; walk A's break at 50 and its entries are training
    trained = exit_event_report(bars, GridOutcomeConfig(train_frac=0.6, n_boot=200))
    assert value(trained, "MANDATORY_EXIT", "recall")[0] == 0
    n, rate = value(trained, "MANDATORY_EXIT", "false_stop_rate")
    assert n == 0 and np.isnan(rate)


def test_missing_columns():
    with pytest.raises(ValueError, match=r"missing input columns \['atr_14'\]"):
        exit_event_report(two_walks().drop(columns=["atr_14"]), CFG)


def test_no_range_ok_hours_and_no_events():
    """A fixture-sized input: no RANGE_OK bar, triggers all NULL, no break: NaN values, n = 0."""
    bars = walk("D", [100.0] * 30, {}, verdict="TREND").assign(fired_triggers=None)
    report = exit_event_report(bars, CFG)
    assert value(report, "er_short", "share_of_range_ok_hours")[0] == 0
    assert np.isnan(value(report, "er_short", "share_of_range_ok_hours")[1])
    assert value(report, "MANDATORY_EXIT", "recall")[0] == 0
    empty = exit_event_report(bars.iloc[:0], CFG)
    assert list(empty.columns) == list(REPORT_COLUMNS) and (empty["n"] == 0).all()
