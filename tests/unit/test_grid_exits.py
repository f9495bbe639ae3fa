"""Exit states as detectors, restart gates (market_regimes/research/grid_exits.py).

Hand-made series with every expected number worked out from the docstring definitions:
confirmed breaks at the edges of the confirmation window (a close back inside at bar
t + 24 vs t + 25, an excursion of exactly 1 ATR), detector recall / precision / lead times
and false stops on a hand state sequence, retrigger rates and the fixed-delay baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines import grid_lifecycle
from market_regimes.research.grid_exits import (
    AT_LEAST_2,
    FIXED_DELAYS,
    FLOOR_ONLY_DELAY,
    WARNING_CONDITIONS,
    changes_per_symbol_week,
    confirmed_breaks,
    detector_metrics,
    fixed_delay_restarts,
    loss_avoided,
    restart_delays,
    retrigger_rate,
    symbol_weeks,
    warning_condition_base_rates,
)

N, P, W, L, M, E = "NORMAL", "PROBATION", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT", "EXITED"


# --------------------------------------------------------------------------- confirmed breaks
def flat(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """n closes at 100 inside [90, 110], atr 2."""
    return np.full(n, 100.0), np.full(n, 2.0)


def test_break_confirmed_when_back_inside_only_at_t_plus_25():
    close, atr = flat()
    close[5:30] = 112.0  # t = 5 .. t + 24 outside, exactly 1 atr above 110
    close[30] = 100.0  # back inside at t + 25
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [5]


def test_break_refuted_by_a_close_back_inside_at_t_plus_24():
    close, atr = flat()
    close[5:29] = 112.0
    close[29] = 110.0  # t + 24: on the bound = inside
    assert confirmed_breaks(close, atr, 90, 110).tolist() == []
    close[29] = 110.01  # just outside: confirmed again
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [5]


def test_excursion_of_exactly_one_atr_counts_and_less_does_not():
    close, atr = flat()
    close[5:31] = 111.9  # 0.95 atr
    assert confirmed_breaks(close, atr, 90, 110).tolist() == []
    close[29] = 112.0  # t + 24 reaches exactly 1 atr: inside the window
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [5]
    close[29], close[30] = 111.9, 112.0  # only at t + 25: outside the window
    assert confirmed_breaks(close, atr, 90, 110).tolist() == []
    assert confirmed_breaks(close, atr, 90, 110, excursion_atr=0.95).tolist() == [5]
    atr[5] = 1.9  # the atr of the break bar is the one used: 1.9 <= 1.9
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [5]


def test_downward_break_and_a_jump_across_the_range():
    close, atr = flat()
    close[8:34] = 88.0  # 2 below 90 = 1 atr
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [8]
    close[20] = 115.0  # a close above the range is still not inside
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [8]


def test_first_close_outside_of_a_run_inside_and_censoring():
    close, atr = flat(60)
    close[0:3] = 120.0  # outside from the first bar: no run inside before it
    close[10:36] = 113.0
    close[40:60] = 113.0  # breaks at 40 but only 19 bars follow: cannot be confirmed
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [10]
    close[40:] = 100.0
    close[36:] = 113.0  # still outside after 36: t = 10's run continues, t = 36 is no new break
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [10]
    close2, atr2 = flat(29)
    close2[4:] = 113.0  # t = 4, t + 24 = 28 = the last bar: confirmable
    assert confirmed_breaks(close2, atr2, 90, 110).tolist() == [4]
    assert confirmed_breaks(close2[:-1], atr2[:-1], 90, 110).tolist() == []


def test_two_breaks_and_nan_handling():
    close, atr = flat(80)
    close[5:31] = 113.0
    close[40:66] = 86.0
    assert confirmed_breaks(close, atr, 90, 110).tolist() == [5, 40]
    close[50] = np.nan  # a NaN close inside a window: cannot be confirmed
    atr[5] = np.nan  # no atr at the break bar: cannot be confirmed
    assert confirmed_breaks(close, atr, 90, 110).tolist() == []


def test_per_bar_bounds_use_the_break_bars_grid():
    close, atr = flat()
    lower, upper = np.full(40, 90.0), np.full(40, 110.0)
    upper[5:] = 120.0  # from bar 5 the grid is wider
    close[5:31] = 112.0
    assert confirmed_breaks(close, atr, lower, upper).tolist() == []
    upper[5] = 110.0  # the grid at the break bar is [90, 110]; its bounds judge the whole window
    assert confirmed_breaks(close, atr, lower, upper).tolist() == [5]
    assert confirmed_breaks(close, atr, lower, upper, confirm_bars=30).tolist() == []  # back inside at 31


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"atr": np.ones(3)}, r"close \(40\) and atr \(3\) must have the same length"),
        ({"lower": np.ones(3)}, r"lower must be a number or an array of 40 values"),
        ({"lower": 120.0}, r"lower = 120.0 >= upper = 110.0 at bar 0"),
        ({"confirm_bars": 0}, r"confirm_bars = 0 must be a whole number >= 1"),
        ({"excursion_atr": -1.0}, r"excursion_atr = -1.0 must be a finite number >= 0"),
        ({"close": np.ones((2, 20))}, r"close must be one-dimensional"),
    ],
)
def test_confirmed_breaks_rejects_bad_input(kwargs, message):
    close, atr = flat()
    args = {"close": close, "atr": atr, "lower": 90.0, "upper": 110.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        confirmed_breaks(**args)


# --------------------------------------------------------------------------- detectors
# bars:    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21..29 30
HAND = [N, N, N, W, W, N, N, N, W, L, M, E, E, E, E, P, P, P, N, N, M] + [E] * 9 + [N]
BREAKS = [12, 29]


def test_detector_warning_by_hand():
    d = detector_metrics(HAND, BREAKS, 5, W)
    # WARNING-or-higher entries (level rises to >= 1): 3, 8 (W -> L -> M is one entry), 20 (N -> M)
    assert d.entry_bars.tolist() == [3, 8, 20]
    # break 12: entries in [7, 12] -> 8, lead 4; break 29: none in [24, 29]
    assert d.detected.tolist() == [True, False]
    np.testing.assert_array_equal(d.lead_times, [4.0, np.nan])
    assert (d.n_breaks, d.n_detected, d.recall) == (2, 1, 0.5)
    assert d.mean_lead_time == 4.0
    # entry 3: break in [3, 8]? no; 8: [8, 13] has 12; 20: [20, 25]? no
    assert d.entry_followed.tolist() == [False, True, False]
    assert (d.n_entries, d.n_true_entries) == (3, 1)
    assert d.precision == pytest.approx(1 / 3)
    # false stops: MANDATORY entries 10 ([10, 15] has 12) and 20 ([20, 25] has none)
    assert d.mandatory_entry_bars.tolist() == [10, 20]
    assert d.false_stop.tolist() == [False, True]
    assert (d.n_mandatory_entries, d.n_false_stops, d.false_stop_rate) == (2, 1, 0.5)


def test_detector_latest_and_mandatory_by_hand():
    latest = detector_metrics(HAND, BREAKS, 5, L)
    assert latest.entry_bars.tolist() == [9, 20]
    np.testing.assert_array_equal(latest.lead_times, [3.0, np.nan])
    assert (latest.recall, latest.precision) == (0.5, 0.5)
    mandatory = detector_metrics(HAND, BREAKS, 5, M)
    assert mandatory.entry_bars.tolist() == [10, 20]
    np.testing.assert_array_equal(mandatory.lead_times, [2.0, np.nan])
    assert (mandatory.recall, mandatory.precision, mandatory.false_stop_rate) == (0.5, 0.5, 0.5)
    # a longer lookback reaches break 29 from the entry at 20 (lead 9) and the break from 3 (lead 9)
    wide = detector_metrics(HAND, BREAKS, 9, W)
    np.testing.assert_array_equal(wide.lead_times, [9.0, 9.0])
    assert wide.recall == 1.0 and wide.entry_followed.tolist() == [True, True, True]
    assert wide.false_stop_rate == 0.0


def test_detector_window_edges():
    states = [N] * 10 + [M] + [E] * 19  # one MANDATORY entry at bar 10
    assert detector_metrics(states, [10], 5, M).lead_times.tolist() == [0.0]  # at the break bar
    on_edge = detector_metrics(states, [15], 5, M)  # exactly lookback bars before
    assert on_edge.lead_times.tolist() == [5.0] and on_edge.entry_followed.tolist() == [True]
    assert on_edge.false_stop.tolist() == [False]
    past = detector_metrics(states, [16], 5, M)  # one bar too early
    assert past.detected.tolist() == [False] and past.precision == 0.0
    assert past.false_stop.tolist() == [True] and past.false_stop_rate == 1.0
    late = detector_metrics(states, [9], 5, M)  # the entry comes after the break
    assert late.detected.tolist() == [False] and late.entry_followed.tolist() == [False]


def test_detector_first_entry_in_the_window_gives_the_lead_time():
    states = [N, N, W, N, N, W, W, N]
    d = detector_metrics(states, [6], 4, W)  # entries 2 and 5, both within [2, 6]
    assert d.entry_bars.tolist() == [2, 5] and d.lead_times.tolist() == [4.0]
    assert detector_metrics([W, W, N], [], 3, W).entry_bars.tolist() == [0]  # bar 0 already WARNING: an entry


def test_detector_exited_as_mandatory_option_and_empty_cases():
    states = [P, P, E, E, P, N]  # a probation quick stop: EXITED without a MANDATORY_EXIT bar
    plain = detector_metrics(states, [3], 2, M)
    assert plain.n_entries == 0 and plain.recall == 0.0 and math.isnan(plain.precision)
    assert plain.n_mandatory_entries == 0 and math.isnan(plain.false_stop_rate)
    counted = detector_metrics(states, [3], 2, M, exited_counts_as_mandatory=True)
    assert counted.entry_bars.tolist() == [2] and counted.lead_times.tolist() == [1.0]
    no_breaks = detector_metrics(HAND, [], 5, W)
    assert math.isnan(no_breaks.recall) and no_breaks.precision == 0.0 and no_breaks.false_stop_rate == 1.0
    assert detector_metrics([N, None, float("nan"), W], [3], 1, W).lead_times.tolist() == [0.0]


@pytest.mark.parametrize(
    "args, message",
    [
        ((HAND, BREAKS, 5, "STOP"), r"state = 'STOP' must be one of"),
        ((HAND, BREAKS, -1, W), r"lookback = -1 must be a whole number >= 0"),
        ((HAND + ["RUNNING"], BREAKS, 5, W), r"unknown states \['RUNNING'\]"),
        ((HAND, [29, 12], 5, W), r"breaks must be strictly increasing"),
        ((HAND, [31], 5, W), r"breaks must be bar indices in 0..30"),
        ((HAND, [2.5], 5, W), r"breaks must be whole-number bar indices"),
    ],
)
def test_detector_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        detector_metrics(*args)


# --------------------------------------------------------------------------- loss avoided
def test_loss_avoided_by_hand():
    close = np.array([100, 101, 100, 98, 95, 93, 90, 91, 92, 89], dtype=float)
    assert loss_avoided(close, 2, 4, 2) == pytest.approx(1 - 90 / 100)  # stop at 100, 2 bars after the break: 90
    assert loss_avoided(close, 2, 4, 50) == pytest.approx(1 - 89 / 100)  # capped at the last bar
    assert loss_avoided(close, 0, 0, 1) == pytest.approx(1 - 101 / 100)  # the price rose: negative
    out = loss_avoided(close, np.array([2, 6]), np.array([4, 4]), 2)
    np.testing.assert_allclose(out, [1 - 90 / 100, 0.0])
    assert isinstance(loss_avoided(close, 2, 4, 2), float)
    with pytest.raises(ValueError, match=r"stop_bar must be whole-number bar indices in 0..9"):
        loss_avoided(close, 10, 4, 2)
    with pytest.raises(ValueError, match=r"horizon = -1 must be a whole number >= 0"):
        loss_avoided(close, 2, 4, -1)


# --------------------------------------------------------------------------- changes per symbol-week
def hourly(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h")


def test_changes_per_symbol_week_by_hand():
    states = [N] * 10 + [W] * 90 + [N] * 100 + [L] * 136  # 336 bars = 2 weeks, 3 changes
    r = changes_per_symbol_week(hourly(336), states)
    assert (r.count, r.symbol_weeks, r.rate) == (3, 2.0, 1.5)
    with_missing = list(states)
    with_missing[50] = None  # W -> None -> W: two changes more
    assert changes_per_symbol_week(hourly(336), with_missing).count == 5


def test_changes_are_not_counted_across_a_gap():
    ts = hourly(336)
    states = np.array([N] * 200 + [L] * 136, dtype=object)
    keep = np.r_[0:195, 205:336]  # 10 bars missing around the change at bar 200
    r = changes_per_symbol_week(ts[keep], states[keep])
    assert r.count == 0 and r.symbol_weeks == pytest.approx(326 / 168)


def test_changes_per_symbol_week_several_series_and_4h_bars():
    ts = list(hourly(168)) * 2
    states = [N] * 100 + [W] * 68 + [N] * 50 + [W] * 50 + [N] * 68
    r = changes_per_symbol_week(ts, states, series=["A"] * 168 + ["B"] * 168)
    assert (r.count, r.symbol_weeks, r.rate) == (3, 2.0, 1.5)  # the A -> B boundary is no change
    four = pd.date_range("2024-01-01", periods=42, freq="4h")
    assert symbol_weeks(four) == 1.0
    assert changes_per_symbol_week(four, [N] * 21 + [W] * 21).rate == 1.0


def test_symbol_weeks_and_bad_input():
    assert symbol_weeks(hourly(336)) == 2.0
    assert symbol_weeks(hourly(1), bar_hours=1) == pytest.approx(1 / 168)
    with pytest.raises(ValueError, match=r"cannot infer the bar length from single bars"):
        symbol_weeks(hourly(1))
    with pytest.raises(ValueError, match=r"bar_start must be strictly increasing within every series"):
        symbol_weeks(list(hourly(3))[::-1])
    with pytest.raises(ValueError, match=r"the bars of a series must be adjacent"):
        symbol_weeks(list(hourly(4)), series=["A", "B", "A", "B"])
    with pytest.raises(ValueError, match=r"state has 2 values for 3 bars"):
        changes_per_symbol_week(hourly(3), [N, N])


# --------------------------------------------------------------------------- WARNING base rates
def test_warning_condition_base_rates_by_hand():
    frame = pd.DataFrame(
        {
            "verdict": ["RANGE_OK", "RANGE_OK", "RANGE_OK", "RANGE_OK", "RANGE_WEAK", "RANGE_OK", None],
            "c1": pd.array([True, False, True, pd.NA, True, True, True], dtype="boolean"),
            "c2": [1, 0, 1, 0, 1, 0, 1],
            "c3": [False, False, True, False, True, False, True],
        }
    )
    out = warning_condition_base_rates(frame, ["c1", "c2", "c3"])
    assert out["condition"].tolist() == ["c1", "c2", "c3", AT_LEAST_2]
    # RANGE_OK rows 0, 1, 2, 3, 5; c1 is missing on row 3
    assert out["n_hours"].tolist() == [4, 5, 5, 5]
    assert out["n_true"].tolist() == [3, 2, 1, 2]  # 2+ true: rows 0 (c1, c2) and 2 (all three)
    np.testing.assert_allclose(out["base_rate"], [0.75, 0.4, 0.2, 0.4])
    weak = warning_condition_base_rates(frame, ["c1"], within="RANGE_WEAK")
    assert weak["n_true"].tolist() == [1, 0] and weak["base_rate"].tolist() == [1.0, 0.0]


def test_warning_condition_base_rates_bad_input():
    frame = pd.DataFrame({"verdict": ["RANGE_OK"], "c1": [2]})
    with pytest.raises(ValueError, match=r"column c1 has non-boolean values, e.g. 2"):
        warning_condition_base_rates(frame, ["c1"])
    with pytest.raises(ValueError, match=r"missing input columns \['c9'\]"):
        warning_condition_base_rates(frame, ["c9"])
    with pytest.raises(ValueError, match=r"duplicate conditions"):
        warning_condition_base_rates(frame, ["c1", "c1"])
    empty = warning_condition_base_rates(pd.DataFrame({"verdict": ["TREND"], "c1": [True]}), ["c1"])
    assert empty["n_hours"].tolist() == [0, 0] and empty["base_rate"].isna().all()


def test_warning_condition_names_are_the_engines():
    # the names the engine gives its WARNING conditions (state changes, fired_triggers)
    assert tuple(WARNING_CONDITIONS) == grid_lifecycle._WARNING_NAMES


# --------------------------------------------------------------------------- restarts
def test_restart_delays_by_hand():
    out = restart_delays([10, 50, 100], [40, 130])
    np.testing.assert_array_equal(out, [30.0, np.nan, 30.0])  # stop 50 was not restarted before 100
    np.testing.assert_array_equal(restart_delays([10, 50], [50, 60]), [np.nan, 10.0])  # 50: the next stop's bar
    np.testing.assert_array_equal(restart_delays([10], []), [np.nan])
    assert restart_delays([], [5]).tolist() == []
    with pytest.raises(ValueError, match=r"stop_bars must be strictly increasing"):
        restart_delays([10, 10], [])


def test_retrigger_rate_by_hand():
    r = retrigger_rate([10, 100, 200], [50, 82, 273], window=72)
    # 10: (10, 82] has 50 -> yes; 100: (100, 172] none; 200: (200, 272] none (273 is one bar late)
    assert r.retriggered.tolist() == [True, False, False]
    assert (r.n_restarts, r.n_retriggered) == (3, 1) and r.rate == pytest.approx(1 / 3)
    edge = retrigger_rate([10, 100, 200], [50, 100, 272], window=72)  # m = r does not count, r + 72 does
    assert edge.retriggered.tolist() == [True, False, True]
    censored = retrigger_rate([10, 100, 200], [50, 82, 240], window=72, n_bars=250)  # 200 + 72 > 249
    assert censored.restart_bars.tolist() == [10, 100] and censored.rate == 0.5
    assert retrigger_rate([10, 100, 200], [50, 82, 240], window=72, n_bars=273).rate == pytest.approx(2 / 3)
    assert math.isnan(retrigger_rate([], [5]).rate)
    with pytest.raises(ValueError, match=r"window = 0 must be a whole number >= 1"):
        retrigger_rate([1], [2], window=0)
    with pytest.raises(ValueError, match=r"mandatory_bars must be bar indices in 0..99"):
        retrigger_rate([1], [200], n_bars=100)


def test_fixed_delay_restarts_by_hand():
    assert (FLOOR_ONLY_DELAY, FIXED_DELAYS) == (24, (48, 72))
    stops = [10, 30, 100]
    # 10 + 24 = 34 comes after the next stop (30): superseded; 54; 124 is past the data
    assert fixed_delay_restarts(stops, 24, 120).tolist() == [54]
    assert fixed_delay_restarts(stops, 24, 125).tolist() == [54, 124]
    assert fixed_delay_restarts(stops, 20, 200).tolist() == [50, 120]  # 10 + 20 = 30: the next stop's bar
    assert fixed_delay_restarts(stops, 72, 200).tolist() == [172]
    np.testing.assert_array_equal(restart_delays(stops, fixed_delay_restarts(stops, 48, 200)), [np.nan, 48.0, 48.0])
    with pytest.raises(ValueError, match=r"delay = 0 must be a whole number >= 1"):
        fixed_delay_restarts(stops, 0, 200)
    with pytest.raises(ValueError, match=r"stop_bars must be bar indices in 0..49"):
        fixed_delay_restarts(stops, 24, 50)
