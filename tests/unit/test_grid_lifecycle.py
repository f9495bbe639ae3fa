"""Grid lifecycle engine (market_regimes/engines/grid_lifecycle.py) on hand-made bars.

Every expected state, bar and value below is worked out by hand from the docstring
definitions. The bars are neutral unless a test changes them (close 100 inside a grid
[90, 110] with levels 90, 95, 100, 105, 110; atr_14 1; z 0; no trigger fires), so each
test moves exactly the inputs it is about. The config is the shipped seed with a short
half-life baseline (10 bars, 5 needed) so the series stay short.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines.grid_lifecycle import (
    INPUT_COLUMNS,
    LIFECYCLE_COLUMNS,
    NOTIFICATION_COLUMNS,
    STATE_CHANGE_COLUMNS,
    GridSpec,
    LifecycleConfig,
    LifecycleState,
    atr_ratio_latest_trigger,
    atr_ratio_warning_condition,
    closes_outside_trigger,
    directional_swing_trigger,
    effective_half_life,
    er_short_condition,
    grid_levels,
    half_life_baseline,
    half_life_latest_trigger,
    half_life_warning_condition,
    high_vol_prob_condition,
    placed_state,
    placement_states,
    post_stop_range,
    quantile_linear,
    stop_buffer_trigger,
    support_falling_condition,
    transition_1h_trigger,
    transition_4h_trigger,
    update_round_trips,
    walk_grid,
    z_stretch_trigger,
    zscore,
)
from market_regimes.engines.grid_lifecycle_config import DEFAULT_CONFIG_CSV

NAN = math.nan
INF = math.inf
EPS = 1e-9
T0 = pd.Timestamp("2024-03-01 00:00:00")
CFG = LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5)
GRID = GridSpec("g1", lower=90.0, upper=110.0, levels=5, allocation_frac=0.5, enabled=True)
VIRTUAL = GridSpec.virtual_grid()

NEUTRAL = dict(
    close=100.0,
    atr_14=1.0,
    bb_mid_20=100.0,
    bb_std_20=1.0,
    verdict="RANGE_OK",
    coarse_bar_start=pd.NaT,
    coarse_verdict=None,
    ou_half_life=10.0,
    ou_ar1_b=0.9,
    atr_ratio=1.0,
    er_short=0.2,
    range_ok_support=60.0,
    vol_change_score=30.0,
    trend_score=30.0,
    adx_slope_10=-0.1,
    range_quality_score=70.0,
    mean_rev_score=70.0,
    next_high_vol_prob=0.1,
    support=95.0,
    resistance=105.0,
)


def make_bars(n: int, times=None, **changes) -> pd.DataFrame:
    """n neutral bars (hourly from T0 unless `times`); changes: column -> value for all bars,
    or {bar: value} / {range: value} for some. high / low follow close +- 0.5 unless set."""
    df = pd.DataFrame({k: [v] * n for k, v in NEUTRAL.items()})
    df["verdict"] = df["verdict"].astype(object)
    df["coarse_verdict"] = df["coarse_verdict"].astype(object)
    df.insert(0, "bar_start", pd.Series(times if times is not None else pd.date_range(T0, periods=n, freq="h")))
    df["high"] = NAN
    df["low"] = NAN
    for column, value in changes.items():
        if isinstance(value, dict):
            for where, v in value.items():
                idx = list(where) if isinstance(where, range) else [where]
                assert all(0 <= j < n for j in idx), f"bar {where} outside the {n} bars"
                for j in idx:
                    df.at[j, column] = v
        else:
            df[column] = value
    df["high"] = df["high"].fillna(df["close"] + 0.5)
    df["low"] = df["low"].fillna(df["close"] - 0.5)
    return df


def running(n: int, **changes) -> pd.DataFrame:
    """Bars on which the configured grid passes its probation at bar 24 (a buy at 95 on bar
    2, low 94.9 < previous close 100; completed on bar 3, high 100.5 >= 100)."""
    low = changes.pop("low", {})
    return make_bars(n, low={2: 94.9, **low}, **changes)


def states(result) -> list[str]:
    return result.lifecycle["state"].tolist()


def changes_of(result) -> list[tuple]:
    sc = result.state_changes
    return [
        (int((t - T0) / pd.Timedelta("1h")), f, to, r)
        for t, f, to, r in zip(sc["bar_start"], sc["from_state"], sc["to_state"], sc["reason"])
    ]


def hour(i: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=i)


# =========================================================================== config
def test_seed_loads_with_the_documented_values():
    cfg = LifecycleConfig.from_csv()
    assert (cfg.latest_transition_1h_bars, cfg.latest_transition_4h_bars, cfg.half_life_baseline_bars) == (4, 2, 720)
    assert (cfg.latest_half_life_multiple, cfg.latest_atr_ratio, cfg.latest_z_bound, cfg.latest_z_bars) == (
        2.0,
        1.25,
        2.0,
        6,
    )
    assert (cfg.warning_min_conditions, cfg.warning_high_vol_prob, cfg.warning_er_short) == (2, 0.40, 0.6)
    assert (cfg.warning_atr_ratio_min, cfg.warning_atr_ratio_max, cfg.warning_half_life_multiple) == (1.10, 1.25, 1.5)
    assert (cfg.mandatory_outside_closes, cfg.mandatory_stop_buffer_atr, cfg.mandatory_swing_bars) == (2, 0.1, 6)
    assert cfg.mandatory_swing_outer_frac == 1 / 3
    assert (cfg.notify_warning_hours, cfg.notify_latest_hours, cfg.notify_mandatory_hours) == (4, 2, 1)
    assert (cfg.time_floor_bars, cfg.time_floor_repeat_multiple, cfg.repeat_stop_window_hours) == (24, 2, 168)
    assert (cfg.probation_allocation, cfg.probation_levels, cfg.probation_bars) == (0.55, 5, 24)
    assert isinstance(cfg.gate_3_bars, int) and isinstance(cfg.warning_er_short, float)
    rows = pd.read_csv(DEFAULT_CONFIG_CSV)
    assert list(rows.columns) == ["key", "value", "description"]
    assert rows["description"].str.len().min() > 10


def test_from_rows_accepts_a_frame_of_doubles_records_and_pairs():
    rows = pd.read_csv(DEFAULT_CONFIG_CSV)
    rows["value"] = rows["value"].astype(float)  # as dbt loads the seed (value: double)
    cfg = LifecycleConfig.from_rows(rows[["key", "value"]])
    assert cfg == LifecycleConfig.from_csv()
    assert isinstance(cfg.gate_1_bars, int) and cfg.gate_1_bars == 6
    assert LifecycleConfig.from_rows(rows.to_dict("records")) == cfg
    assert LifecycleConfig.from_rows(list(zip(rows["key"], rows["value"]))) == cfg
    with pytest.raises(ValueError, match=r"grid lifecycle config: duplicate key 'gate_1_bars'"):
        LifecycleConfig.from_rows(list(zip(rows["key"], rows["value"])) + [("gate_1_bars", 6)])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"gate_1_bars": "-1"}, r"gate_1_bars = -1 must be >= 0"),
        ({"gate_1_bars": "6.5"}, r"gate_1_bars = '6.5' is not a valid int"),
        ({"latest_atr_ratio": "abc"}, r"latest_atr_ratio = 'abc' is not a valid float"),
        ({"latest_atr_ratio": "nan"}, r"latest_atr_ratio = 'nan' is not a valid float"),
        ({"latest_half_life_multiple": "0"}, r"latest_half_life_multiple = 0.0 must be > 0"),
        ({"warning_high_vol_prob": "1.5"}, r"warning_high_vol_prob = 1.5 must be in \[0, 1\]"),
        (
            {"warning_atr_ratio_min": "1.3"},
            r"warning_atr_ratio_min = 1.3 must be > 0 and < warning_atr_ratio_max = 1.25",
        ),
        ({"warning_min_conditions": "6"}, r"warning_min_conditions = 6 must be <= 5"),
        (
            {"half_life_baseline_min_bars": "800"},
            r"half_life_baseline_min_bars = 800 must be <= half_life_baseline_bars = 720",
        ),
        ({"mandatory_swing_outer_frac": "0.6"}, r"mandatory_swing_outer_frac = 0.6 must be > 0 and <= 0.5"),
        ({"mandatory_stop_buffer_atr": "-0.1"}, r"mandatory_stop_buffer_atr = -0.1 must be >= 0"),
        ({"gate_rqs_min": "101"}, r"gate_rqs_min = 101.0 must be in \[0, 100\]"),
        (
            {"post_stop_low_quantile": "0.95"},
            r"post_stop_low_quantile = 0.95 must be >= 0 and < post_stop_high_quantile",
        ),
        ({"probation_allocation": "0.7"}, r"probation_allocation = 0.7 must be in \[0.50, 0.60\]"),
        ({"probation_levels": "3"}, r"probation_levels = 3 must be in \[4, 6\]"),
        ({"notify_warning_hours": "-4"}, r"notify_warning_hours = -4.0 must be > 0"),
        ({"time_floor_bars": "-1"}, r"time_floor_bars = -1 must be >= 0"),
    ],
)
def test_config_rejects_bad_values_naming_key_and_value(changes, message):
    with pytest.raises(ValueError, match="grid lifecycle config: " + message):
        LifecycleConfig.from_csv(**changes)


def test_config_rejects_missing_and_unknown_keys():
    values = dict(pd.read_csv(DEFAULT_CONFIG_CSV)[["key", "value"]].itertuples(index=False))
    del values["gate_2_bars"]
    with pytest.raises(ValueError, match=r"missing keys \['gate_2_bars'\], unknown keys \[\]"):
        LifecycleConfig.from_mapping(values)
    with pytest.raises(ValueError, match=r"unknown keys \['gate_4_bars'\]"):
        LifecycleConfig.from_mapping({**values, "gate_2_bars": 6, "gate_4_bars": 6})


def test_grid_spec_validation():
    with pytest.raises(ValueError, match=r"grid spec g: lower = 110.0, upper = 90.0 must be finite with lower < upper"):
        GridSpec("g", 110.0, 90.0, 5, 0.5, True)
    with pytest.raises(ValueError, match=r"levels = 1 must be a whole number >= 2"):
        GridSpec("g", 90.0, 110.0, 1, 0.5, True)
    with pytest.raises(ValueError, match=r"allocation_frac = 1.5 must be in \(0, 1\]"):
        GridSpec("g", 90.0, 110.0, 5, 1.5, True)
    assert GridSpec.virtual_grid().virtual and math.isnan(GridSpec.virtual_grid().lower)


# =========================================================================== LATEST triggers
def test_transition_triggers_count_trailing_runs():
    T, R = "TRANSITION", "RANGE_OK"
    assert transition_1h_trigger([R, T, T, T, T], 4) == (True, 4.0)
    assert transition_1h_trigger([T, T, T], 4) == (False, 3.0)  # short history
    assert transition_1h_trigger([T, T, None, T, T, T], 4) == (False, 3.0)  # None breaks the run
    assert transition_1h_trigger([T, T, T, T, R], 4) == (False, 0.0)
    assert transition_1h_trigger([], 4) == (False, 0.0)
    assert transition_4h_trigger([R, T, T], 2) == (True, 2.0)
    assert transition_4h_trigger([T], 2) == (False, 1.0)
    assert transition_4h_trigger([T, R], 2) == (False, 0.0)


def test_half_life_baseline_and_effective_half_life():
    assert half_life_baseline([4.0, NAN, 1.0, 3.0, 2.0], 4) == 2.5
    assert half_life_baseline([4.0, NAN, 1.0, 3.0], 4) != half_life_baseline([4.0, NAN, 1.0, 3.0], 4)  # NaN: 3 < 4
    assert half_life_baseline([1.0, INF, INF], 3) == INF
    assert half_life_baseline([1.0, 2.0, INF], 3) == 2.0
    assert effective_half_life(7.0, 1.0) == INF  # b >= 1: no mean reversion
    assert effective_half_life(7.0, -0.2) == 0.0
    assert effective_half_life(7.0, 0.5) == 7.0
    assert effective_half_life(7.0, NAN) == 7.0
    assert math.isnan(effective_half_life(NAN, 0.5))


def test_half_life_latest_trigger_at_threshold():
    assert half_life_latest_trigger(20.0, 0.9, 10.0, 2.0) == (False, 2.0)  # not above
    fired, value = half_life_latest_trigger(20.0 + 1e-6, 0.9, 10.0, 2.0)
    assert fired and value > 2.0
    assert half_life_latest_trigger(20.0 - 1e-6, 0.9, 10.0, 2.0)[0] is False
    assert half_life_latest_trigger(3.0, 1.0, 10.0, 2.0) == (True, INF)  # b >= 1 counts as above
    assert half_life_latest_trigger(3.0, 0.999, 10.0, 2.0) == (False, 0.3)
    assert half_life_latest_trigger(3.0, 1.0, INF, 2.0) == (True, INF)
    for hl, b, base in [(NAN, 0.9, 10.0), (25.0, 0.9, NAN), (3.0, 1.0, NAN)]:  # NaN / short history
        fired, value = half_life_latest_trigger(hl, b, base, 2.0)
        assert fired is False and math.isnan(value)


def test_half_life_warning_condition_at_threshold():
    assert half_life_warning_condition(15.0, 0.9, 10.0, 1.5) == (True, 1.5)  # at or above
    assert half_life_warning_condition(15.0 - 1e-6, 0.9, 10.0, 1.5)[0] is False
    assert half_life_warning_condition(1.0, 1.2, 10.0, 1.5) == (True, INF)
    assert half_life_warning_condition(0.0, -0.5, 0.0, 1.5)[0] is False  # 0 / 0: undefined
    assert half_life_warning_condition(15.0, 0.9, NAN, 1.5)[0] is False


def test_atr_ratio_triggers_at_threshold():
    assert atr_ratio_latest_trigger(1.25, 1.25) == (True, 1.25)
    assert atr_ratio_latest_trigger(1.25 - EPS, 1.25)[0] is False
    assert atr_ratio_latest_trigger(1.25 + EPS, 1.25)[0] is True
    assert atr_ratio_latest_trigger(NAN, 1.25)[0] is False
    assert atr_ratio_warning_condition(1.10, 1.10, 1.25) == (True, 1.10)
    assert atr_ratio_warning_condition(1.10 - EPS, 1.10, 1.25)[0] is False
    assert atr_ratio_warning_condition(1.25 - EPS, 1.10, 1.25)[0] is True
    assert atr_ratio_warning_condition(1.25, 1.10, 1.25)[0] is False  # LATEST takes over
    assert atr_ratio_warning_condition(NAN, 1.10, 1.25)[0] is False


def test_z_stretch_trigger():
    assert zscore(103.0, 100.0, 1.5) == 2.0
    assert math.isnan(zscore(103.0, 100.0, 0.0)) and math.isnan(zscore(103.0, NAN, 1.0))
    above = [2.0 + EPS, 2.5, 2.4, 3.0, 2.1, 2.2]
    assert z_stretch_trigger(above, 2.0, 6) == (True, 2.2)  # a smaller excursion beyond the bound is no reversion
    assert z_stretch_trigger([1.0] + above, 2.0, 6) == (True, 2.2)
    assert z_stretch_trigger([2.0] + above[1:], 2.0, 6) == (False, 2.2)  # at the bound: not beyond
    assert z_stretch_trigger(above[1:], 2.0, 6) == (False, 2.2)  # short history
    assert z_stretch_trigger([-v for v in above], 2.0, 6) == (True, -2.2)
    assert z_stretch_trigger([-3.0] + above[1:], 2.0, 6)[0] is False  # not the same side
    assert z_stretch_trigger(above[:3] + [NAN] + above[4:], 2.0, 6)[0] is False
    assert z_stretch_trigger(above[:5] + [1.9], 2.0, 6) == (False, 1.9)  # back inside: reverted
    fired, value = z_stretch_trigger([], 2.0, 6)
    assert fired is False and math.isnan(value)


# =========================================================================== WARNING conditions
def test_warning_conditions_at_threshold():
    assert high_vol_prob_condition(0.40, 0.40) == (True, 0.40)
    assert high_vol_prob_condition(0.40 - EPS, 0.40)[0] is False
    assert high_vol_prob_condition(NAN, 0.40)[0] is False
    assert er_short_condition(0.6, 0.6) == (True, 0.6)
    assert er_short_condition(0.6 - EPS, 0.6)[0] is False
    assert er_short_condition(NAN, 0.6)[0] is False


def test_support_falling_condition():
    assert support_falling_condition([80.0, 75.0, 72.0, 70.0], 3, 10.0) == (True, 10.0)
    assert support_falling_condition([99.0, 80.0, 75.0, 72.0, 70.0], 3, 10.0) == (True, 10.0)  # last 3 falls only
    assert support_falling_condition([80.0, 75.0, 72.0, 70.0 + 1e-6], 3, 10.0)[0] is False  # 10 - eps points
    assert support_falling_condition([80.0, 75.0, 75.0, 60.0], 3, 10.0) == (False, 20.0)  # not falling every bar
    assert support_falling_condition([80.0, 90.0, 72.0, 60.0], 3, 10.0) == (False, 20.0)
    fired, value = support_falling_condition([75.0, 72.0, 60.0], 3, 10.0)  # short history: 2 falls
    assert fired is False and math.isnan(value)
    assert support_falling_condition([80.0, NAN, 72.0, 60.0], 3, 10.0)[0] is False


# =========================================================================== MANDATORY triggers
def test_closes_outside_trigger():
    assert closes_outside_trigger([100.0, 111.0, 89.0], 90.0, 110.0, 2) == (True, 2.0)
    assert closes_outside_trigger([111.0, 110.0, 111.0], 90.0, 110.0, 2) == (False, 1.0)  # at the bound: inside
    assert closes_outside_trigger([110.0 + EPS, 110.0 + EPS], 90.0, 110.0, 2) == (True, 2.0)
    assert closes_outside_trigger([111.0], 90.0, 110.0, 2) == (False, 1.0)  # short history
    assert closes_outside_trigger([111.0], 90.0, 110.0, 1) == (True, 1.0)
    assert closes_outside_trigger([111.0, NAN], 90.0, 110.0, 1) == (False, 0.0)
    assert closes_outside_trigger([111.0, 111.0], NAN, NAN, 2)[0] is False


def test_stop_buffer_trigger():
    assert stop_buffer_trigger(111.0, 90.0, 110.0, 10.0, 0.1) == (False, 0.1)  # by exactly 0.1 ATR: not more
    assert stop_buffer_trigger(111.0 + 1e-6, 90.0, 110.0, 10.0, 0.1)[0] is True
    assert stop_buffer_trigger(111.0 - 1e-6, 90.0, 110.0, 10.0, 0.1)[0] is False
    assert stop_buffer_trigger(89.0 - 1e-6, 90.0, 110.0, 10.0, 0.1)[0] is True
    assert stop_buffer_trigger(100.0, 90.0, 110.0, 10.0, 0.1) == (False, -1.0)
    for args in [(NAN, 90.0, 110.0, 10.0), (120.0, 90.0, 110.0, NAN), (120.0, 90.0, 110.0, 0.0)]:
        fired, value = stop_buffer_trigger(*args, 0.1)
        assert fired is False and math.isnan(value)


def test_directional_swing_trigger():
    # grid [90, 108]: width 18, outer third 6 -> rising runs must end >= 102, falling <= 96
    rising = [100.0, 100.5, 101.0, 101.5, 102.0, 102.5, 103.0]  # 6 moves, 3.0 in total
    assert directional_swing_trigger(rising, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3) == (True, 3.0)
    assert directional_swing_trigger([99.0] + rising, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3) == (True, 3.0)
    fired, value = directional_swing_trigger(rising, 1.0 + 1e-6, 90.0, 108.0, 6, 3.0, 1 / 3)
    assert fired is False and value < 3.0  # moved 3 ATR - eps
    assert directional_swing_trigger(rising[1:], 1.0, 90.0, 108.0, 6, 3.0, 1 / 3)[0] is False  # short history
    flat = rising[:3] + [101.0] + rising[4:]  # one close equal to the previous: no run
    assert directional_swing_trigger(flat, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3) == (False, 3.0)
    low_end = [v - 1.0 - 1e-6 for v in rising]  # ends at 102 - 1 - eps: below the outer third
    assert directional_swing_trigger(low_end, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3)[0] is False
    edge = [v - 1.0 for v in rising]  # ends at exactly 102: at the outer third
    assert directional_swing_trigger(edge, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3) == (True, 3.0)
    falling = [96.0 + 3.0 - 0.5 * i for i in range(7)]  # 99 -> 96
    assert directional_swing_trigger(falling, 1.0, 90.0, 108.0, 6, 3.0, 1 / 3) == (True, 3.0)
    assert directional_swing_trigger([v + EPS * 1e3 for v in falling], 1.0, 90.0, 108.0, 6, 3.0, 1 / 3)[0] is False
    assert directional_swing_trigger(rising[:3] + [NAN] + rising[4:], 1.0, 90.0, 108.0, 6, 3.0, 1 / 3)[0] is False
    assert directional_swing_trigger(rising, NAN, 90.0, 108.0, 6, 3.0, 1 / 3)[0] is False


# =========================================================================== round trips, post-stop range
def test_grid_levels_and_round_trips():
    levels = grid_levels(90.0, 110.0, 5)
    assert levels == [90.0, 95.0, 100.0, 105.0, 110.0]
    # low 94 < previous close 101: buys at 95 and 100 (90 not reached; 110 is the top, never bought)
    open_buys, done = update_round_trips(levels, [], 101.0, 101.5, 94.0)
    assert (open_buys, done) == ([1, 2], 0)
    # a later high of 100 completes the buy at 95 only; the one at 100 needs 105
    assert update_round_trips(levels, open_buys, 99.0, 100.0, 99.5) == ([2], 1)
    assert update_round_trips(levels, [1, 2], 99.0, 99.99, 99.5) == ([1, 2], 0)
    # a level equal to the previous close is not below it
    assert update_round_trips(levels, [], 100.0, 100.5, 99.0) == ([], 0)
    # a fill never completes in its own bar
    assert update_round_trips(levels, [], 99.0, 106.0, 94.0) == ([1], 0)
    assert update_round_trips(levels, [1], NAN, NAN, NAN) == ([1], 0)


def test_post_stop_range_is_linear_quantiles():
    rng = np.random.default_rng(3)
    lows, highs = rng.normal(100, 2, 37).tolist(), rng.normal(104, 2, 37).tolist()
    lo, hi = post_stop_range(lows + [NAN], highs, 0.05, 0.95)
    assert lo == pytest.approx(np.percentile(lows, 5), rel=1e-12)
    assert hi == pytest.approx(np.percentile(highs, 95), rel=1e-12)
    assert quantile_linear([1.0, 2.0, 3.0, 4.0, 5.0], 0.05) == pytest.approx(1.2)
    assert quantile_linear([7.0], 0.95) == 7.0
    assert all(math.isnan(v) for v in post_stop_range([], [NAN], 0.05, 0.95))


# =========================================================================== probation
def test_probation_passes_at_its_24th_bar_after_a_round_trip():
    r = walk_grid(running(30), GRID, CFG)
    assert states(r) == ["PROBATION"] * 24 + ["NORMAL"] * 6
    lc = r.lifecycle
    assert lc["probation_bars"].tolist()[:4] == [0, 1, 2, 3] and lc["probation_bars"].iloc[24] == 24
    assert lc["round_trips"].tolist()[:5] == [0, 0, 0, 1, 1]
    assert changes_of(r) == [(0, None, "PROBATION", "start"), (24, "PROBATION", "NORMAL", "probation_passed")]
    assert json.loads(r.state_changes["triggers"].iloc[1]) == [{"trigger": "round_trips", "value": 1.0}]
    assert (lc["lower"] == 90.0).all() and (lc["levels"] == 5).all() and (lc["allocation_frac"] == 0.5).all()
    assert r.notifications.empty


def test_probation_without_a_round_trip_fails():
    r = walk_grid(make_bars(30), GRID, CFG)
    assert states(r) == ["PROBATION"] * 24 + ["EXITED"] * 6
    assert changes_of(r)[-1] == (24, "PROBATION", "EXITED", "probation_failed")
    assert r.lifecycle["stop_reason"].iloc[24] == "probation_failed"


@pytest.mark.parametrize(
    "changes, fired",
    [
        ({"close": {5: 110.01}}, "quick_stop_outside"),  # one close outside (0.01 ATR: no stop buffer)
        ({"close": {5: 89.99}}, "quick_stop_outside"),
        ({"atr_ratio": {5: 1.25}}, "atr_ratio_latest"),  # a LATEST trigger
    ],
)
def test_probation_quick_stop(changes, fired):
    r = walk_grid(running(10, **changes), GRID, CFG)
    assert states(r) == ["PROBATION"] * 5 + ["EXITED"] * 5
    assert changes_of(r)[-1] == (5, "PROBATION", "EXITED", "quick_stop")
    assert fired in [t["trigger"] for t in json.loads(r.state_changes["triggers"].iloc[-1])]
    assert r.lifecycle["bars_since_stop"].tolist()[5:] == [0, 1, 2, 3, 4]


def test_no_quick_stop_at_the_bound_or_on_the_placement_bar():
    r = walk_grid(running(30, close={5: 110.0}), GRID, CFG)  # at the bound: inside
    assert states(r)[24] == "NORMAL"
    r = walk_grid(running(30, close={0: 111.0}), GRID, CFG)  # the grid is placed at bar 0's close
    assert states(r)[:2] == ["PROBATION", "PROBATION"]


def test_warning_does_not_interrupt_probation_and_can_follow_it_directly():
    two = {"er_short": {10: 0.7, 24: 0.7}, "next_high_vol_prob": {10: 0.5, 24: 0.5}}
    r = walk_grid(running(26, **two), GRID, CFG)
    assert states(r) == ["PROBATION"] * 24 + ["WARNING", "WARNING"]
    assert r.lifecycle["warning_conditions"].iloc[10] == 2
    assert changes_of(r)[-1] == (24, "PROBATION", "WARNING", "probation_passed")


# =========================================================================== WARNING 2+ rule, escalation, de-escalation
def test_one_warning_condition_is_not_enough():
    r = walk_grid(running(45, er_short={range(30, 41): 0.7}), GRID, CFG)
    assert set(states(r)[24:]) == {"NORMAL"}
    assert r.lifecycle["warning_conditions"].tolist()[29:42] == [0] + [1] * 11 + [0]
    assert r.lifecycle["fired_triggers"].iloc[30] == "er_short"
    assert r.notifications.empty


@pytest.mark.parametrize(
    "pair", [("er_short", "next_high_vol_prob"), ("atr_ratio", "ou_half_life"), ("range_ok_support", "er_short")]
)
def test_two_warning_conditions_escalate_and_de_escalate_after_6_quiet_bars(pair):
    values = {"er_short": 0.6, "next_high_vol_prob": 0.4, "atr_ratio": 1.1, "ou_half_life": 15.0}
    changes = {c: {30: values[c]} for c in pair if c != "range_ok_support"}
    if "range_ok_support" in pair:
        changes["range_ok_support"] = {27: 80.0, 28: 75.0, 29: 72.0, 30: 70.0}
    r = walk_grid(running(45, **changes), GRID, CFG)
    assert states(r)[29:38] == ["NORMAL"] + ["WARNING"] * 6 + ["NORMAL"] * 2
    assert changes_of(r)[2:] == [(30, "NORMAL", "WARNING", "escalation"), (36, "WARNING", "NORMAL", "de_escalation")]
    assert r.lifecycle["quiet_bars"].tolist()[30:37] == [0, 1, 2, 3, 4, 5, 0]
    assert r.lifecycle["warning_conditions"].iloc[30] == 2


def test_latest_de_escalates_one_level_at_a_time():
    r = walk_grid(running(50, atr_ratio={30: 1.3}), GRID, CFG)
    assert states(r)[29:44] == ["NORMAL"] + ["LATEST_ACCEPTABLE_EXIT"] * 6 + ["WARNING"] * 6 + ["NORMAL"] * 2
    assert changes_of(r)[2:] == [
        (30, "NORMAL", "LATEST_ACCEPTABLE_EXIT", "escalation"),
        (36, "LATEST_ACCEPTABLE_EXIT", "WARNING", "de_escalation"),
        (42, "WARNING", "NORMAL", "de_escalation"),
    ]


def test_a_trigger_again_restarts_the_quiet_count():
    r = walk_grid(running(50, atr_ratio={30: 1.3, 33: 1.3}), GRID, CFG)
    assert states(r)[38:46] == ["LATEST_ACCEPTABLE_EXIT", "WARNING"] + ["WARNING"] * 5 + ["NORMAL"]


def test_lower_level_triggers_hold_the_lower_level_only():
    two = {"er_short": {range(31, 41): 0.7}, "next_high_vol_prob": {range(31, 41): 0.5}}
    r = walk_grid(running(50, atr_ratio={30: 1.3}, **two), GRID, CFG)
    # LATEST quiet on 31-36 (WARNING holds) -> WARNING at 36; WARNING quiet on 41-46 -> NORMAL at 46
    assert states(r)[35:48] == ["LATEST_ACCEPTABLE_EXIT"] + ["WARNING"] * 10 + ["NORMAL"] * 2


@pytest.mark.parametrize(
    "changes, bar, trigger",
    [
        ({"atr_ratio": {30: 1.25}}, 30, "atr_ratio_latest"),
        ({"verdict": {range(27, 31): "TRANSITION"}}, 30, "transition_1h"),
        ({"ou_half_life": {30: 20.5}}, 30, "half_life_latest"),
        ({"ou_ar1_b": {30: 1.0}, "ou_half_life": {30: INF}}, 30, "half_life_latest"),
        ({"close": {range(25, 31): 102.5}}, 30, "z_stretch"),
        ("coarse", 32, "transition_4h"),
    ],
)
def test_each_latest_trigger_moves_normal_to_latest_on_its_own(changes, bar, trigger):
    if changes == "coarse":  # 4h bars start every 4 hours; the last ended one is aligned to each 1h bar
        n = 40
        starts = [T0 + pd.Timedelta(hours=4 * (i // 4 - 1)) if i >= 4 else pd.NaT for i in range(n)]
        cverdict = {i: "TRANSITION" for i in range(28, 36)}  # the 4h bars starting at 24 h and 28 h
        df = running(n, coarse_bar_start=starts, coarse_verdict=cverdict)
    else:
        df = running(40, **changes)
    r = walk_grid(df, GRID, CFG)
    s = states(r)
    assert s[bar - 1] == "NORMAL" and s[bar] == "LATEST_ACCEPTABLE_EXIT"
    assert trigger in r.lifecycle["fired_triggers"].iloc[bar].split(",")
    assert changes_of(r)[2] == (bar, "NORMAL", "LATEST_ACCEPTABLE_EXIT", "escalation")
    assert r.notifications["state"].tolist()[:1] == ["LATEST_ACCEPTABLE_EXIT"]  # LATEST on its own


def test_latest_triggers_do_not_fire_just_below_their_thresholds():
    df = running(
        40,
        atr_ratio={30: 1.25 - EPS},
        verdict={range(27, 30): "TRANSITION"},
        ou_half_life={30: 20.0},
        close={range(26, 31): 102.5, 31: 102.0},
    )
    r = walk_grid(df, GRID, CFG)
    assert r.lifecycle["latest_triggers"].sum() == 0
    assert "LATEST_ACCEPTABLE_EXIT" not in states(r)


def test_half_life_baseline_needs_its_minimum_history():
    # baseline = median of the 10 bars before; 5 non-NaN values needed
    hl = {i: NAN for i in range(0, 26)}
    hl.update({26: 10.0, 27: 10.0, 28: 10.0, 29: 10.0, 30: 30.0, 31: 10.0, 32: 30.0})
    r = walk_grid(running(35, ou_half_life=hl), GRID, CFG)
    base = r.lifecycle["half_life_baseline"].tolist()
    assert all(math.isnan(v) for v in base[:31]) and base[31] == 10.0
    assert states(r)[30] == "NORMAL"  # 30 = 3 x the later baseline, but only 4 values before it
    assert states(r)[32] == "LATEST_ACCEPTABLE_EXIT"


@pytest.mark.parametrize(
    "changes, trigger",
    [
        ({"close": {29: 110.05, 30: 110.05}}, "closes_outside"),
        ({"close": {30: 111.0 + 1e-6}}, "stop_buffer"),
        ({"close": {25: 101.0, 26: 102.0, 27: 103.0, 28: 104.0, 29: 105.0, 30: 106.0}}, "directional_swing"),
    ],
)
def test_each_mandatory_trigger_ends_the_grid_on_the_next_bar(changes, trigger):
    r = walk_grid(running(35, atr_14={30: 10.0} if trigger == "stop_buffer" else 1.0, **changes), GRID, CFG)
    assert states(r)[28:33] == ["NORMAL", "NORMAL", "MANDATORY_EXIT", "EXITED", "EXITED"]
    assert r.lifecycle["fired_triggers"].iloc[30].split(",")[0] == trigger
    assert changes_of(r)[2:] == [
        (30, "NORMAL", "MANDATORY_EXIT", "escalation"),
        (31, "MANDATORY_EXIT", "EXITED", "grid_ended"),
    ]
    assert r.lifecycle["bars_since_stop"].tolist()[30:33] == [0, 1, 2]
    assert r.lifecycle["stop_reason"].iloc[31] == "mandatory_exit"


def test_mandatory_triggers_hold_back_just_inside_their_thresholds():
    df = running(40, close={29: 110.05, 30: 110.0, 33: 111.0 - 1e-6}, atr_14={33: 10.0})
    r = walk_grid(df, GRID, CFG)
    assert r.lifecycle["mandatory_triggers"].sum() == 0 and "MANDATORY_EXIT" not in states(r)


# =========================================================================== scenarios
def test_full_progression_normal_warning_latest_mandatory_exited():
    df = running(
        40,
        er_short={30: 0.7, 31: 0.7},
        next_high_vol_prob={30: 0.5, 31: 0.5},
        atr_ratio={32: 1.3},
        close={33: 110.05, 34: 110.05},
    )
    r = walk_grid(df, GRID, CFG)
    assert (
        states(r)[24:37]
        == ["NORMAL"] * 6 + ["WARNING"] * 2 + ["LATEST_ACCEPTABLE_EXIT"] * 2 + ["MANDATORY_EXIT"] + ["EXITED"] * 2
    )
    assert changes_of(r) == [
        (0, None, "PROBATION", "start"),
        (24, "PROBATION", "NORMAL", "probation_passed"),
        (30, "NORMAL", "WARNING", "escalation"),
        (32, "WARNING", "LATEST_ACCEPTABLE_EXIT", "escalation"),
        (34, "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT", "escalation"),
        (35, "MANDATORY_EXIT", "EXITED", "grid_ended"),
    ]
    triggers = [json.loads(t) for t in r.state_changes["triggers"]]
    assert triggers[2] == [{"trigger": "high_vol_prob", "value": 0.5}, {"trigger": "er_short", "value": 0.7}]
    assert triggers[3] == [{"trigger": "atr_ratio_latest", "value": 1.3}]
    assert triggers[4] == [{"trigger": "closes_outside", "value": 2.0}]
    n = r.notifications
    assert list(n.columns) == list(NOTIFICATION_COLUMNS)
    assert list(zip(n["bar_start"], n["state"], n["is_sent"])) == [
        (hour(30), "WARNING", True),
        (hour(31), "WARNING", False),
        (hour(32), "LATEST_ACCEPTABLE_EXIT", True),
        (hour(33), "LATEST_ACCEPTABLE_EXIT", False),
        (hour(34), "MANDATORY_EXIT", True),
    ]
    assert n["suppressed_reason"].iloc[1] == (
        "rate limit: WARNING already sent at 2024-03-02 06:00:00, 1 h before (at most one per 4 h)"
    )
    assert n["suppressed_reason"].iloc[[0, 2, 4]].isna().all()
    # EXITED only leaves through the gates; a configured grid stays EXITED even then
    assert set(states(r)[35:]) == {"EXITED"}


# =========================================================================== notifications
def test_rate_limits_per_state_on_real_timestamps():
    df = running(50, er_short={range(30, 41): 0.7}, next_high_vol_prob={range(30, 41): 0.5})
    r = walk_grid(df, GRID, CFG)
    n = r.notifications
    # WARNING on 30-45 (its rule holds on 30-40; 6 quiet bars 41-46 -> NORMAL at 46)
    assert n["bar_start"].tolist() == [hour(i) for i in range(30, 46)]
    assert n.loc[n["is_sent"], "bar_start"].tolist() == [hour(30), hour(34), hour(38), hour(42)]
    assert n.loc[~n["is_sent"], "suppressed_reason"].str.startswith("rate limit: WARNING already sent at").all()
    # the limit is real time, not bars: a 3 h gap after bar 31 makes bar 32 4 h after bar 30
    times = [hour(i) for i in range(32)] + [hour(i + 2) for i in range(32, 40)]
    r = walk_grid(
        running(40, times=times, er_short={range(30, 40): 0.7}, next_high_vol_prob={range(30, 40): 0.5}), GRID, CFG
    )
    n = r.notifications
    assert n["is_sent"].tolist()[:4] == [True, False, True, False]
    assert n["bar_start"].tolist()[2] == hour(34)
    # from the seed: another limit changes it
    r = walk_grid(
        df,
        GRID,
        LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5, notify_warning_hours=3),
    )
    assert r.notifications["is_sent"].tolist()[:7] == [True, False, False, True, False, False, True]


def test_a_higher_state_is_never_suppressed_by_a_lower_ones_limit():
    df = running(45, er_short={30: 0.7}, next_high_vol_prob={30: 0.5}, atr_ratio={31: 1.3}, close={32: 111.2})
    r = walk_grid(df, GRID, CFG)
    n = r.notifications
    assert list(zip(n["state"], n["is_sent"])) == [
        ("WARNING", True),
        ("LATEST_ACCEPTABLE_EXIT", True),
        ("MANDATORY_EXIT", True),
    ]
    # LATEST lasting 6 bars: its own 2 h limit
    r = walk_grid(running(45, atr_ratio={30: 1.3}), GRID, CFG)
    n = r.notifications
    latest = n[n["state"] == "LATEST_ACCEPTABLE_EXIT"]
    assert latest["is_sent"].tolist() == [True, False, True, False, True, False]
    warning = n[n["state"] == "WARNING"]
    assert warning["bar_start"].iloc[0] == hour(36) and warning["is_sent"].iloc[0]  # after LATEST: sent
    assert warning["is_sent"].tolist() == [True, False, False, False, True, False]


# =========================================================================== restart gates
def stopped_at_34(n: int, **changes) -> pd.DataFrame:
    """The configured grid hits MANDATORY_EXIT at bar 34 (2 closes just outside), EXITED from 35."""
    close = {33: 110.05, 34: 110.05, **changes.pop("close", {})}
    return running(n, close=close, **changes)


def test_gates_are_sequential_and_the_time_floor_holds():
    r = walk_grid(stopped_at_34(70), GRID, CFG)
    lc = r.lifecycle
    assert lc["gate_1_bars"].tolist()[34:42] == [0, 1, 2, 3, 4, 5, 6, 6]
    assert lc["gate_2_bars"].tolist()[40:48] == [0, 1, 2, 3, 4, 5, 6, 6]
    assert lc["gate_3_bars"].tolist()[46:59] == list(range(13))
    assert lc["gates_passed"].tolist()[39:59] == [0, 1] + [1] * 5 + [2] * 6 + [2] * 6 + [3]
    # all gates pass at bar 58, 24 bars after the stop = the time floor
    assert lc["restart_permitted"].tolist()[33:60] == [True] + [False] * 24 + [True] * 2
    assert lc["bars_since_stop"].iloc[58] == 24 and lc["time_floor_bars"].iloc[58] == 24
    assert set(states(r)[35:]) == {"EXITED"}  # configured: a human re-enables it
    assert lc["post_stop_lower"].iloc[36] == 99.5 and lc["post_stop_upper"].iloc[36] == 100.5
    assert math.isnan(lc["post_stop_lower"].iloc[34])  # the stop bar itself is not in the post-stop range
    # a longer time floor holds the permission back after the gates passed
    cfg = LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5, time_floor_bars=30)
    lc = walk_grid(stopped_at_34(70), GRID, cfg).lifecycle
    assert lc["gates_passed"].iloc[58] == 3
    assert lc["restart_permitted"].tolist()[58:66] == [False] * 6 + [True] * 2


def test_a_later_gate_waits_for_the_earlier_one():
    # gate 2's condition holds all along, gate 1's only from bar 38: gate 2 counts from bar 44
    r = walk_grid(stopped_at_34(80, vol_change_score={range(35, 38): 60.0}), GRID, CFG)
    lc = r.lifecycle
    assert lc["gate_1_bars"].tolist()[35:44] == [0, 0, 0, 1, 2, 3, 4, 5, 6]
    assert lc["gate_2_bars"].tolist()[43:50] == [0, 1, 2, 3, 4, 5, 6]
    assert lc["gates_passed"].iloc[48] == 1 and lc["gates_passed"].iloc[49] == 2  # gate 3 counts 50-61
    assert lc["gates_passed"].iloc[60] == 2 and lc["gates_passed"].iloc[61] == 3
    assert lc["restart_permitted"].tolist()[60:62] == [False, True]


def test_a_dropped_gate_passes_when_it_is_reached():
    # gate 1 dropped (gate_1_bars 0): gate 2 counts from the first bar after the stop (35),
    # passes at 40, gate 3 counts 41-52; VolChangeScore 90 would have failed gate 1
    cfg = LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5, gate_1_bars=0)
    lc = walk_grid(stopped_at_34(70, vol_change_score={range(35, 70): 90.0}), GRID, cfg).lifecycle
    assert lc["gates_passed"].tolist()[34:42] == [0, 1, 1, 1, 1, 1, 2, 2]
    assert lc["gate_1_bars"].iloc[40] == 0 and lc["gate_2_bars"].tolist()[35:41] == [1, 2, 3, 4, 5, 6]
    assert lc["gates_passed"].tolist()[51:53] == [2, 3]
    assert lc["restart_permitted"].tolist()[57:59] == [False, True]  # the time floor (24 bars) still holds
    # gate 3 dropped: passes on the bar gate 2 passes (46), though the close is outside its range
    cfg3 = LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5, gate_3_bars=0)
    lc = walk_grid(stopped_at_34(70, range_quality_score={range(35, 70): 0.0}), GRID, cfg3).lifecycle
    assert lc["gates_passed"].tolist()[45:48] == [1, 2, 3]
    # every gate dropped: passed from the first bar after the stop; a TREND verdict resets them
    # and they pass again on the next bar
    cfg0 = LifecycleConfig.from_csv(
        half_life_baseline_bars=10, half_life_baseline_min_bars=5, gate_1_bars=0, gate_2_bars=0, gate_3_bars=0
    )
    lc = walk_grid(stopped_at_34(70, verdict={40: "TREND"}), GRID, cfg0).lifecycle
    assert lc["gates_passed"].tolist()[34:43] == [0, 3, 3, 3, 3, 3, 0, 3, 3]


def test_a_failing_bar_restarts_only_the_current_gates_count():
    r = walk_grid(stopped_at_34(70, vol_change_score={38: NAN, 45: 90.0}, trend_score={47: 50.0}), GRID, CFG)
    lc = r.lifecycle
    # a NaN fails gate 1 at 38; gate 1 passes at 44, so VolChangeScore 90 at 45 no longer matters
    assert lc["gate_1_bars"].tolist()[35:47] == [1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 6, 6]
    assert lc["gate_2_bars"].tolist()[44:52] == [0, 1, 2, 0, 1, 2, 3, 4]  # TrendScore 50 is not below 50


def test_trend_or_transition_resets_all_gates():
    for verdict in ("TREND", "TRANSITION"):
        r = walk_grid(stopped_at_34(80, verdict={50: verdict}), GRID, CFG)
        lc = r.lifecycle
        assert lc["gates_passed"].iloc[49] == 2 and lc["gate_3_bars"].iloc[49] == 3
        assert (lc.loc[50, ["gates_passed", "gate_1_bars", "gate_2_bars", "gate_3_bars"]] == 0).all()
        assert lc["gate_1_bars"].iloc[51] == 1
        assert lc["restart_permitted"].tolist()[73:75] == [False, True]  # 50 + 24
    # a reset also revokes a permission already given
    r = walk_grid(stopped_at_34(80, verdict={60: "TREND"}), GRID, CFG)
    assert r.lifecycle["restart_permitted"].tolist()[58:62] == [True, True, False, False]


def test_gate_3_needs_its_scores_and_the_close_inside_the_post_stop_range():
    r = walk_grid(stopped_at_34(70, range_quality_score={50: 60.0 - EPS}, mean_rev_score={53: 55.0}), GRID, CFG)
    assert r.lifecycle["gate_3_bars"].tolist()[46:56] == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5]  # 55 is enough
    # the close 100.6 (high 100.6) is above the post-stop range of bars 35-50: 95th percentile
    # of fifteen highs 100.5 and one 100.6 = 100.525
    lc = walk_grid(stopped_at_34(70, close={50: 100.6}, high={50: 100.6}), GRID, CFG).lifecycle
    assert lc["post_stop_upper"].iloc[50] == pytest.approx(100.525, abs=1e-12)
    assert lc["gate_3_bars"].tolist()[46:52] == [0, 1, 2, 3, 0, 1]


def test_restart_ignores_confidence():
    df = stopped_at_34(70)
    base = walk_grid(df, GRID, CFG)
    df["confidence"] = 0.0  # however weak the verdicts are
    other = walk_grid(df, GRID, CFG)
    pd.testing.assert_frame_equal(base.lifecycle, other.lifecycle)
    assert other.lifecycle["restart_permitted"].iloc[58]


# =========================================================================== virtual grid
def test_virtual_grid_enables_at_range_ok_with_probation_params():
    r = walk_grid(make_bars(8, verdict={0: "RANGE_WEAK", 1: None, 2: "TREND"}, support={3: 96.0}), VIRTUAL, CFG)
    assert states(r) == ["DISABLED"] * 3 + ["PROBATION"] * 5
    assert changes_of(r) == [(0, None, "DISABLED", "start"), (3, "DISABLED", "PROBATION", "enable")]
    lc = r.lifecycle
    assert (lc["lower"].iloc[3], lc["upper"].iloc[3], lc["levels"].iloc[3], lc["allocation_frac"].iloc[3]) == (
        96.0,
        105.0,
        5,
        0.55,
    )
    assert math.isnan(lc["lower"].iloc[0]) and lc["restart_permitted"].all()
    assert {"trigger": "lower", "value": 96.0} in json.loads(r.state_changes["triggers"].iloc[1])
    # no finite range: no enable
    r = walk_grid(make_bars(3, support=NAN), VIRTUAL, CFG)
    assert states(r) == ["DISABLED"] * 3


def test_virtual_grid_stops_on_trend_or_transition():
    for verdict, reason in (("TREND", "stop_trend"), ("TRANSITION", "stop_transition")):
        r = walk_grid(make_bars(12, verdict={10: verdict}), VIRTUAL, CFG)
        assert states(r) == ["PROBATION"] * 10 + ["EXITED"] * 2
        assert changes_of(r)[-1] == (10, "PROBATION", "EXITED", reason)
        assert r.lifecycle["stop_reason"].iloc[11] == reason and not r.lifecycle["restart_permitted"].iloc[10]


def stop_restart_bars(n: int, second_stop_at: int | None = 26, times=None, **changes) -> pd.DataFrame:
    """Virtual grid: enabled at bar 0, stopped by a TREND verdict at bar 1 and again at
    `second_stop_at` (after its restart at bar 25)."""
    verdict = {1: "TREND", **({second_stop_at: "TREND"} if second_stop_at else {}), **changes.pop("verdict", {})}
    return make_bars(n, times=times, verdict=verdict, **changes)


def test_virtual_grid_restarts_only_through_the_gates_at_the_post_stop_range():
    highs = {i: 100.5 + 0.1 * (i % 5) for i in range(2, 26)}
    r = walk_grid(stop_restart_bars(30, second_stop_at=None, high=highs), VIRTUAL, CFG)
    assert states(r)[:27] == ["PROBATION"] + ["EXITED"] * 24 + ["PROBATION"] * 2
    assert changes_of(r)[2:] == [(1, "PROBATION", "EXITED", "stop_trend"), (25, "EXITED", "PROBATION", "restart")]
    lc = r.lifecycle
    expected_upper = float(np.percentile([highs[i] for i in range(2, 26)], 95))
    assert lc["upper"].iloc[25] == pytest.approx(expected_upper, rel=1e-12) and lc["lower"].iloc[25] == 99.5
    assert lc["levels"].iloc[25] == 5 and lc["allocation_frac"].iloc[25] == 0.55
    assert pd.isna(lc["bars_since_stop"].iloc[25]) and lc["restart_permitted"].iloc[25]
    # gates blocked (volatility never settles): EXITED for good, whatever the verdicts
    r = walk_grid(stop_restart_bars(60, vol_change_score={range(2, 60): 55.0}), VIRTUAL, CFG)
    assert set(states(r)[1:]) == {"EXITED"} and not r.lifecycle["restart_permitted"].iloc[1:].any()


@pytest.mark.parametrize("gap_hours, floor, restart_bar", [(0, 48, 74), (143, 48, 74), (144, 24, 50)])
def test_time_floor_doubles_after_two_stops_within_7_days(gap_hours, floor, restart_bar):
    # stop 1 at bar 1 (hour 1); stop 2 at bar 26, 25 h later plus the gap: 168 h apart is still within 7 days
    times = [hour(i) for i in range(26)] + [hour(i + gap_hours) for i in range(26, 90)]
    r = walk_grid(stop_restart_bars(90, times=times), VIRTUAL, CFG)
    lc = r.lifecycle
    assert lc["time_floor_bars"].iloc[1] == 24 and lc["time_floor_bars"].iloc[26] == floor
    assert states(r)[restart_bar - 1 : restart_bar + 1] == ["EXITED", "PROBATION"]
    assert lc["gates_passed"].iloc[49] == 2 and lc["gate_3_bars"].iloc[49] == 11  # gate 3 on 39-50
    if restart_bar == 74:
        assert lc["gates_passed"].iloc[50] == 3 and lc["bars_since_stop"].iloc[50] == 24


def test_a_third_stop_within_7_days_keeps_the_doubled_floor_and_old_stops_drop_out():
    r = walk_grid(stop_restart_bars(160, verdict={75: "TREND"}), VIRTUAL, CFG)
    lc = r.lifecycle
    assert lc["time_floor_bars"].iloc[75] == 48 and states(r)[122:124] == ["EXITED", "PROBATION"]
    times = [hour(i) for i in range(75)] + [hour(i + 200) for i in range(75, 160)]
    lc = walk_grid(stop_restart_bars(160, times=times, verdict={75: "TREND"}), VIRTUAL, CFG).lifecycle
    assert lc["time_floor_bars"].iloc[75] == 24  # stops at 1 h and 26 h are more than 168 h before 275 h


# =========================================================================== resume, prefix invariance, state
def scenario() -> pd.DataFrame:
    """A virtual grid through enable (bar 2), probation (a round trip on bars 5-6; NORMAL at
    26), WARNING (30), LATEST (33) and its de-escalation, a TREND stop (45), gates (gate 1
    reset at 50 by VolChangeScore 80), a restart (74) after a 5 h gap in the bars (90),
    LATEST on b >= 1 (104), z stretched on 100-105 (fires at 105) and two TRANSITION 4h bars
    (fires on 116-119), with a half-life series that
    fills the 10-bar baseline slowly (NaN gaps) and jumps at 40."""
    n = 130
    rng = np.random.default_rng(11)
    hl = rng.uniform(8.0, 12.0, n)
    hl[[1, 2, 4, 7]] = NAN
    hl[40] = 40.0
    b = np.full(n, 0.9)
    b[104] = 1.0
    times = [hour(i) for i in range(90)] + [hour(i + 5) for i in range(90, n)]
    coarse = [T0 + pd.Timedelta(hours=4 * (i // 4 - 1)) if i >= 4 else pd.NaT for i in range(n)]
    return make_bars(
        n,
        times=times,
        ou_half_life=hl,
        ou_ar1_b=b,
        coarse_bar_start=coarse,
        verdict={0: "RANGE_WEAK", 1: "RANGE_WEAK", 45: "TREND"},
        low={5: 97.0, **{i: 99.5 - 0.1 * (i % 3) for i in range(46, 74)}},
        high={i: 100.5 + 0.2 * (i % 4) for i in range(46, 74)},
        er_short={range(30, 33): 0.7},
        next_high_vol_prob={range(30, 34): 0.5},
        atr_ratio={33: 1.3},
        vol_change_score={50: 80.0},
        bb_mid_20={range(100, 106): 97.5},
        coarse_verdict={i: "TRANSITION" for i in range(112, 120)},
    )


def assert_same(parts: list, full) -> None:
    for name in ("lifecycle", "state_changes", "notifications"):
        got = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(got, getattr(full, name), check_dtype=True)


def test_scenario_covers_what_the_resume_tests_split():
    full = walk_grid(scenario(), VIRTUAL, CFG)
    lc = full.lifecycle
    assert changes_of(full)[1:] == [
        (2, "DISABLED", "PROBATION", "enable"),
        (26, "PROBATION", "NORMAL", "probation_passed"),
        (30, "NORMAL", "WARNING", "escalation"),
        (33, "WARNING", "LATEST_ACCEPTABLE_EXIT", "escalation"),
        (39, "LATEST_ACCEPTABLE_EXIT", "WARNING", "de_escalation"),
        (40, "WARNING", "LATEST_ACCEPTABLE_EXIT", "escalation"),  # half-life 40 = 4 x its baseline
        (45, "LATEST_ACCEPTABLE_EXIT", "EXITED", "stop_trend"),
        (74, "EXITED", "PROBATION", "restart"),
        (98 + 5, "PROBATION", "NORMAL", "probation_passed"),  # bar 98 (after the 5 h gap)
        (104 + 5, "NORMAL", "LATEST_ACCEPTABLE_EXIT", "escalation"),  # b >= 1
        (111 + 5, "LATEST_ACCEPTABLE_EXIT", "WARNING", "de_escalation"),  # z_stretch at 105
        (116 + 5, "WARNING", "LATEST_ACCEPTABLE_EXIT", "escalation"),  # the second TRANSITION 4h bar
        (125 + 5, "LATEST_ACCEPTABLE_EXIT", "WARNING", "de_escalation"),
    ]
    assert (lc["lower"].iloc[74], lc["upper"].iloc[74]) == pytest.approx((99.3, 101.1))  # the post-stop range
    assert lc["round_trips"].iloc[6] == 1 and math.isnan(lc["half_life_baseline"].iloc[5])  # baseline partly filled
    assert lc["gate_1_bars"].tolist()[46:52] == [1, 2, 3, 4, 0, 1] and lc["gate_3_bars"].iloc[65] == 3
    assert lc["fired_triggers"].tolist()[115:121] == [""] + ["transition_4h"] * 4 + [""]
    assert full.notifications["is_sent"].any() and not full.notifications["is_sent"].all()


@pytest.mark.parametrize("cut", [1, 2, 5, 12, 31, 33, 50, 65, 80, 91, 103, 114, 117, 129])
def test_resume_from_serialised_state_equals_one_walk(cut):
    bars = scenario()
    full = walk_grid(bars, VIRTUAL, CFG)
    first = walk_grid(bars.iloc[:cut], VIRTUAL, CFG)
    text = first.final_state.to_json()
    assert LifecycleState.from_json(text).to_json() == text
    second = walk_grid(bars.iloc[cut:], VIRTUAL, CFG, LifecycleState.from_json(text))
    assert_same([first, second], full)
    assert second.final_state.to_json() == full.final_state.to_json()
    # bars at or before the state's last bar are skipped
    again = walk_grid(bars, VIRTUAL, CFG, first.final_state)
    assert_same([first, again], full)


@pytest.mark.parametrize("cut", [3, 24, 27, 28, 29, 35, 60])
def test_resume_of_a_configured_grid(cut):
    bars = stopped_at_34(
        70,
        ou_half_life={i: 10.0 + i % 3 for i in range(70)},
        verdict={range(27, 31): "TRANSITION"},
        range_ok_support={26: 80.0, 27: 75.0, 28: 72.0, 29: 70.0},
        er_short={29: 0.7},
    )
    full = walk_grid(bars, GRID, CFG)
    fired = full.lifecycle["fired_triggers"]
    assert fired.iloc[29] == "support_falling,er_short" and fired.iloc[30] == "transition_1h,support_falling"
    assert full.lifecycle["gate_3_bars"].iloc[50] == 4  # gate 3 counts from 47
    first = walk_grid(bars.iloc[:cut], GRID, CFG)
    second = walk_grid(bars.iloc[cut:], GRID, CFG, LifecycleState.from_json(first.final_state.to_json()))
    assert_same([first, second], full)


@pytest.mark.parametrize("n", [1, 7, 26, 40, 52, 90, 130])
def test_prefix_invariance(n):
    bars = scenario()
    full = walk_grid(bars, VIRTUAL, CFG)
    part = walk_grid(bars.iloc[:n], VIRTUAL, CFG)
    pd.testing.assert_frame_equal(part.lifecycle, full.lifecycle.iloc[:n].reset_index(drop=True))
    last = bars["bar_start"].iloc[n - 1]
    for name in ("state_changes", "notifications"):
        frame = getattr(full, name)
        pd.testing.assert_frame_equal(getattr(part, name), frame[frame["bar_start"] <= last].reset_index(drop=True))


def test_state_json_is_strict_and_exact_with_non_finite_values():
    bars = scenario()
    bars.loc[125:128, "close"] = NAN
    state = walk_grid(bars, VIRTUAL, CFG).final_state
    text = state.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = LifecycleState.from_json(text)
    assert back.to_json() == text and any(math.isnan(v) for v in back.closes)
    assert INF in walk_grid(bars.iloc[:110], VIRTUAL, CFG).final_state.half_lives
    with pytest.raises(ValueError, match="not a version-1 grid lifecycle state"):
        LifecycleState.from_json(json.dumps({"grid_id": "x"}))


def test_a_state_is_only_continued_by_its_grid_and_config():
    state = walk_grid(make_bars(5), VIRTUAL, CFG).final_state
    with pytest.raises(ValueError, match="belongs to grid 'virtual', not 'g1'"):
        walk_grid(make_bars(5), GRID, CFG, state)
    with pytest.raises(ValueError, match="different LifecycleConfig"):
        walk_grid(make_bars(5), VIRTUAL, LifecycleConfig.from_csv(), state)


def test_input_validation_and_output_shape():
    with pytest.raises(ValueError, match=r"missing input columns \['next_high_vol_prob'\]"):
        walk_grid(make_bars(3).drop(columns="next_high_vol_prob"), GRID, CFG)
    with pytest.raises(ValueError, match="strictly increasing"):
        walk_grid(make_bars(3).iloc[[0, 2, 1]], GRID, CFG)
    r = walk_grid(make_bars(3), GRID, CFG)
    assert list(r.lifecycle.columns) == list(LIFECYCLE_COLUMNS)
    assert list(r.state_changes.columns) == list(STATE_CHANGE_COLUMNS)
    assert r.lifecycle["bar_start"].dtype == "datetime64[ns]" and r.lifecycle["bar_start"].iloc[2] == hour(2)
    empty = walk_grid(make_bars(0), GRID, CFG)
    assert empty.lifecycle.empty and list(empty.lifecycle.columns) == list(LIFECYCLE_COLUMNS)
    assert walk_grid(make_bars(3), GRID, CFG, empty.final_state).lifecycle.equals(r.lifecycle)
    assert set(INPUT_COLUMNS) <= set(make_bars(1).columns)
    # a disabled configured grid: DISABLED, never stopped -> restart permitted
    r = walk_grid(make_bars(3), GridSpec("g2", 90.0, 110.0, 5, 0.5, False), CFG)
    assert states(r) == ["DISABLED"] * 3 and r.lifecycle["restart_permitted"].all()


def test_speed_of_a_long_series():
    rng = np.random.default_rng(0)
    n = 10_000
    close = 100 + np.cumsum(rng.normal(0, 0.3, n))
    bars = make_bars(
        n,
        close=close,
        verdict=rng.choice(["RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION"], n),
        atr_ratio=rng.uniform(0.8, 1.3, n),
        er_short=rng.uniform(0, 0.7, n),
        vol_change_score=rng.uniform(0, 80, n),
    )
    started = time.perf_counter()
    r = walk_grid(bars, VIRTUAL, CFG)
    assert time.perf_counter() - started < 5.0  # about 0.3 s here: 30 us a bar
    assert len(r.lifecycle) == n


# --------------------------------------------------------------------------- placements (research)
def reference_placement(bars: pd.DataFrame, t: int, lower: float, upper: float, horizon: int) -> list:
    """The states of one placement by the definition: a disabled grid over bars[:t], then the
    placed grid from t (placed_state), the horizon bars after t; None past the end."""
    grid = GridSpec("placement", lower, upper, 5, 0.5, enabled=True)
    state = None
    if t > 0:
        market = walk_grid(bars.iloc[:t], GridSpec("placement", 1.0, 2.0, 2, 1.0), CFG).final_state
        state = placed_state(market, grid)
    states = walk_grid(bars.iloc[t : t + horizon + 1], grid, CFG, state).lifecycle["state"].tolist()[1:]
    return states + [None] * (horizon - len(states))


def test_placement_states_equal_one_walk_per_placement():
    bars = scenario()
    positions = [0, 3, 3, 3, 20, 28, 31, 44, 75, 98, 101, 112, 125, 129]
    lowers = [90.0, 90.0, 103.0, 99.0, 90.0, 90.0, 96.0, 99.6, 90.0, 90.0, 99.0, 90.0, 90.0, 90.0]
    uppers = [110.0, 110.0, 110.0, 101.0, 110.0, 110.0, 104.0, 100.4, 110.0, 110.0, 101.0, 110.0, 110.0, 110.0]
    got = placement_states(bars, positions, lowers, uppers, 5, 0.5, CFG, 30)
    assert got.shape == (14, 30)
    seen = set()
    for j, t in enumerate(positions):
        want = reference_placement(bars, t, lowers[j], uppers[j], 30)
        assert got[j].tolist() == want, (j, t)
        seen |= set(want)
    # the placements pass through the running states, are stopped, and run past the end
    assert {"PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "EXITED", None} <= seen
    # a grid above the price is quick-stopped (stop buffer) and stays EXITED (a configured
    # grid never restarts)
    assert got[2, 0] == "EXITED" and set(got[2]) == {"EXITED"}
    assert got[13].tolist() == [None] * 30  # the last bar: nothing after it


def test_placed_state_keeps_the_market_buffers_and_starts_the_grid_fresh():
    bars = scenario()
    market = walk_grid(bars.iloc[:60], VIRTUAL, CFG).final_state  # any grid's state: stopped at 45
    assert market.stopped and market.half_lives
    grid = GridSpec("p", 90.0, 110.0, 5, 0.5, enabled=True)
    state = placed_state(market, grid)
    assert (state.grid_id, state.started, state.state, state.stopped, state.stop_history) == (
        "p",
        False,
        "DISABLED",
        False,
        (),
    )
    assert (state.half_lives, state.closes, state.last_bar_start) == (
        market.half_lives,
        market.closes,
        market.last_bar_start,
    )
    warm = walk_grid(bars.iloc[60:70], grid, CFG, state).lifecycle
    cold = walk_grid(bars.iloc[60:70], grid, CFG).lifecycle
    assert warm["state"].iloc[0] == "PROBATION" and warm["half_life_baseline"].notna().all()
    assert cold["half_life_baseline"].isna().iloc[:5].all()  # a fresh walk needs 5 half-lives first
    with pytest.raises(ValueError, match="enabled configured grid"):
        placed_state(market, VIRTUAL)
    with pytest.raises(ValueError, match="enabled configured grid"):
        placed_state(market, GridSpec("p", 90.0, 110.0, 5, 0.5, enabled=False))
    with pytest.raises(ValueError, match="walked no bar"):
        placed_state(LifecycleState(grid_id="x", config_fingerprint=CFG.fingerprint(), virtual=False), grid)


def test_placement_states_rejects_bad_input():
    bars = scenario()
    with pytest.raises(ValueError, match="non-decreasing bar indices in 0..129"):
        placement_states(bars, [5, 3], [90.0, 90.0], [110.0, 110.0], 5, 0.5, CFG, 10)
    with pytest.raises(ValueError, match="non-decreasing bar indices"):
        placement_states(bars, [130], [90.0], [110.0], 5, 0.5, CFG, 10)
    with pytest.raises(ValueError, match="same length"):
        placement_states(bars, [1, 2], [90.0], [110.0], 5, 0.5, CFG, 10)
    with pytest.raises(ValueError, match="horizon"):
        placement_states(bars, [1], [90.0], [110.0], 5, 0.5, CFG, 0)
    with pytest.raises(ValueError, match="lower < upper"):
        placement_states(bars, [1], [110.0], [90.0], 5, 0.5, CFG, 10)
    with pytest.raises(ValueError, match="missing input columns"):
        placement_states(bars.drop(columns=["atr_14"]), [1], [90.0], [110.0], 5, 0.5, CFG, 10)


# --------------------------------------------------------------------------- the vectorised market part
def test_market_part_equals_the_trigger_functions_bar_by_bar():
    """_advance_market (numpy, in two blocks) gives at every bar exactly what the public
    trigger functions say on the buffers of a bar-by-bar walk: the same fired triggers in
    the same order, the same values (bit for bit) and the same half-life baseline."""
    from collections import deque

    from market_regimes.engines import grid_lifecycle as gl

    rng = np.random.default_rng(7)
    n = 600
    z_like = 3.0 * np.sin(np.arange(n) / 12.0) + rng.normal(0.0, 0.5, n)  # stretches beyond +-2
    bars = make_bars(n)
    bars["bb_std_20"] = np.where(rng.random(n) < 0.05, 0.0, 1.0 + rng.random(n))
    bars["close"] = bars["bb_mid_20"] + z_like * bars["bb_std_20"]
    bars["verdict"] = rng.choice(
        np.array(["TRANSITION", "TREND", "RANGE_OK", None], dtype=object), n, p=[0.6, 0.1, 0.2, 0.1]
    )
    coarse = pd.Series(pd.to_datetime([T0 + pd.Timedelta(hours=4 * (i // 4)) for i in range(n)]))
    coarse[rng.random(n) < 0.1] = pd.NaT
    bars["coarse_bar_start"] = coarse
    bars["coarse_verdict"] = rng.choice(np.array(["TRANSITION", "RANGE_OK", None], dtype=object), n, p=[0.7, 0.2, 0.1])
    bars["ou_half_life"] = np.where(rng.random(n) < 0.05, INF, rng.uniform(0.0, 30.0, n))
    bars["ou_ar1_b"] = rng.uniform(-0.2, 1.2, n)
    bars["range_ok_support"] = 60.0 - np.cumsum(rng.normal(1.0, 4.0, n)) % 50
    bars["atr_ratio"] = rng.uniform(0.9, 1.4, n)
    bars["er_short"] = rng.uniform(0.0, 1.0, n)
    bars["next_high_vol_prob"] = rng.uniform(0.0, 0.8, n)
    for column in (
        "bb_std_20",
        "ou_half_life",
        "ou_ar1_b",
        "range_ok_support",
        "atr_ratio",
        "er_short",
        "next_high_vol_prob",
        "close",
    ):
        bars.loc[rng.random(n) < 0.04, column] = NAN
    cfg = CFG
    cols = gl._input_lists(bars, gl._ns_array(bars["bar_start"]).tolist())
    w = gl._Walk(GRID, cfg, LifecycleState(grid_id=GRID.grid_id, config_fingerprint=cfg.fingerprint(), virtual=False))
    parts = gl._MarketParts(n)
    gl._advance_market(w, cols, 0, 250, parts)
    gl._advance_market(w, cols, 250, n, parts)

    z_buf, sup_buf = deque(maxlen=cfg.latest_z_bars), deque(maxlen=cfg.warning_support_fall_bars + 1)
    v1h, v4h = deque(maxlen=cfg.latest_transition_1h_bars), deque(maxlen=cfg.latest_transition_4h_bars)
    hls: deque = deque(maxlen=cfg.half_life_baseline_bars)
    last_coarse = None
    fired_latest = fired_warning = 0
    seen = set()
    for i in range(n):
        close, verdict = cols["close"][i], cols["verdict"][i]
        z = zscore(close, cols["bb_mid_20"][i], cols["bb_std_20"][i])
        z_buf.append(z)
        sup_buf.append(cols["range_ok_support"][i])
        v1h.append(verdict)
        cstart = cols["coarse_bar_start"][i]
        if cstart != gl._NAT and cstart != last_coarse:
            v4h.append(cols["coarse_verdict"][i])
            last_coarse = cstart
        hl, b = cols["ou_half_life"][i], cols["ou_ar1_b"][i]
        baseline = half_life_baseline(list(hls), cfg.half_life_baseline_min_bars)
        hls.append(effective_half_life(hl, b))
        checks = [
            ("transition_1h", transition_1h_trigger(list(v1h), cfg.latest_transition_1h_bars)),
            ("transition_4h", transition_4h_trigger(list(v4h), cfg.latest_transition_4h_bars)),
            ("half_life_latest", half_life_latest_trigger(hl, b, baseline, cfg.latest_half_life_multiple)),
            ("atr_ratio_latest", atr_ratio_latest_trigger(cols["atr_ratio"][i], cfg.latest_atr_ratio)),
            ("z_stretch", z_stretch_trigger(list(z_buf), cfg.latest_z_bound, cfg.latest_z_bars)),
            ("high_vol_prob", high_vol_prob_condition(cols["next_high_vol_prob"][i], cfg.warning_high_vol_prob)),
            (
                "support_falling",
                support_falling_condition(
                    list(sup_buf), cfg.warning_support_fall_bars, cfg.warning_support_fall_points
                ),
            ),
            ("er_short", er_short_condition(cols["er_short"][i], cfg.warning_er_short)),
            ("half_life_warning", half_life_warning_condition(hl, b, baseline, cfg.warning_half_life_multiple)),
            (
                "atr_ratio_warning",
                atr_ratio_warning_condition(cols["atr_ratio"][i], cfg.warning_atr_ratio_min, cfg.warning_atr_ratio_max),
            ),
        ]
        want = [(name, value) for name, (fired, value) in checks if fired]
        got = parts.items(i)
        assert [name for name, _ in got] == [name for name, _ in want], i
        assert all(a == b or (a != a and b != b) for (_, a), (_, b) in zip(got, want)), i
        n_latest = sum(1 for name, _ in want if name in gl._LATEST_NAMES)
        assert (parts.n_latest[i], parts.n_warning[i]) == (n_latest, len(want) - n_latest), i
        assert parts.names[i] == ",".join(name for name, _ in want), i
        assert parts.baseline[i] == baseline or (baseline != baseline and parts.baseline[i] != parts.baseline[i]), i
        fired_latest += n_latest
        fired_warning += len(want) - n_latest
        seen |= {name for name, _ in want}
    # the walk's buffers continue as a bar-by-bar walk's
    assert list(w.z_values) == list(z_buf) or all(a == b or (a != a and b != b) for a, b in zip(w.z_values, z_buf))
    assert list(w.verdicts_1h) == list(v1h) and list(w.verdicts_4h) == list(v4h) and w.last_coarse_start == last_coarse
    assert len(w.half_lives) == len(hls) and all(a == b or (a != a and b != b) for a, b in zip(w.half_lives, hls))
    assert fired_latest > 100 and fired_warning > 100
    assert seen == set(gl._LATEST_NAMES) | set(gl._WARNING_NAMES)  # every trigger fired somewhere
