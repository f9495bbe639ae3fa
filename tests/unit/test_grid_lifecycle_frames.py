"""The many-grid adapter of the lifecycle engine (market_regimes.engines.grid_lifecycle_frames):
which walks it makes, what each row carries, and that continuing from the stored states
equals one full walk (the incremental contract of fct_grid_lifecycle)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines.grid_lifecycle import GridSpec, LifecycleState, walk_grid
from market_regimes.engines.grid_lifecycle_config import LifecycleConfig
from market_regimes.engines.grid_lifecycle_frames import (
    OUTPUT_COLUMNS,
    lifecycle_rows,
    stored_states,
    virtual_grid_id,
    walk_id,
)

CFG = LifecycleConfig.from_csv(
    half_life_baseline_bars=20,
    half_life_baseline_min_bars=10,
    time_floor_bars=6,
    gate_1_bars=2,
    gate_2_bars=2,
    gate_3_bars=3,
    probation_bars=8,
)
VERDICTS = np.array(["RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION"], dtype=object)


def series(seed: int, n: int, exchange: str, symbol: str, segment: int, start: str) -> pd.DataFrame:
    """A random 1h series in the engine's input shape: random-walk closes around 100, verdicts
    from a sticky chain (mostly RANGE_OK), scores that pass the gates half of the time."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.6, n))
    state = np.zeros(n, dtype=int)
    for i in range(1, n):
        state[i] = state[i - 1] if rng.random() < 0.9 else rng.choice(4, p=[0.55, 0.25, 0.1, 0.1])
    bar_start = pd.date_range(start, periods=n, freq="h")
    frame = pd.DataFrame(
        {
            "exchange": exchange,
            "symbol": symbol,
            "segment_id": segment,
            "bar_start": bar_start,
            "close": close,
            "high": close + rng.uniform(0.1, 1.0, n),
            "low": close - rng.uniform(0.1, 1.0, n),
            "atr_14": 1.0,
            "bb_mid_20": close + rng.normal(0, 0.5, n),
            "bb_std_20": 1.0,
            "verdict": VERDICTS[state],
            "coarse_bar_start": bar_start.floor("4h") - pd.Timedelta("4h"),
            "coarse_verdict": VERDICTS[state],
            "ou_half_life": rng.uniform(5, 15, n),
            "ou_ar1_b": 0.9,
            "atr_ratio": rng.uniform(0.8, 1.3, n),
            "er_short": rng.uniform(0, 0.7, n),
            "range_ok_support": rng.uniform(30, 90, n),
            "vol_change_score": rng.uniform(20, 70, n),
            "trend_score": rng.uniform(20, 70, n),
            "adx_slope_10": rng.normal(0, 1, n),
            "range_quality_score": rng.uniform(40, 90, n),
            "mean_rev_score": rng.uniform(40, 90, n),
            "next_high_vol_prob": rng.uniform(0, 0.6, n),
            "support": close - 3,
            "resistance": close + 3,
        }
    )
    frame.loc[rng.random(n) < 0.02, "atr_14"] = np.nan
    return frame


BARS = pd.concat(
    [
        series(1, 300, "x", "AAA", 0, "2024-01-01"),
        series(2, 120, "x", "AAA", 1, "2024-02-01"),
        series(3, 250, "y", "BBB", 0, "2024-01-03"),
    ],
    ignore_index=True,
)
CONFIGS = pd.DataFrame(
    {
        "grid_id": ["g1", "g1", "g2"],
        "exchange": ["x", "x", "y"],
        "symbol": ["AAA", "AAA", "BBB"],
        "lower": [95.0, 90.0, 1.0],
        "upper": [105.0, 110.0, 2.0],
        "levels": [6, 8, 4],
        "allocation_frac": [0.5, 0.4, 0.3],
        "enabled": [True, True, False],
        "valid_from": pd.to_datetime(["2024-01-03 00:00", "2024-01-08 05:00", "2024-01-01 00:00"]),
        "valid_to": pd.to_datetime(["2024-01-08 05:00", None, None], format="ISO8601"),
    }
)


def test_walks_rows_and_their_columns():
    rows = lifecycle_rows(BARS, CONFIGS, CFG)
    assert list(rows.columns) == list(OUTPUT_COLUMNS)
    walks = rows.groupby("walk_id").size()
    # virtual: AAA segments 0 and 1, BBB; g1 two versions on AAA segment 0 (and version 2 also on
    # segment 1: 2024-02-01 is after its valid_from); g2 on BBB
    assert sorted(walks.index) == sorted(
        [
            walk_id("virtual|x|AAA", 0, None),
            walk_id("virtual|x|AAA", 1, None),
            walk_id("virtual|y|BBB", 0, None),
            "g1|0|2024-01-03T00:00:00",
            "g1|0|2024-01-08T05:00:00",
            "g1|1|2024-01-08T05:00:00",
            "g2|0|2024-01-01T00:00:00",
        ]
    )
    assert walks[walk_id(virtual_grid_id("x", "AAA"), 0, None)] == 300
    assert walks["g1|0|2024-01-03T00:00:00"] == 125  # 2024-01-03 00:00 .. 2024-01-08 04:00
    assert walks["g1|0|2024-01-08T05:00:00"] == 300 - 48 - 125
    assert walks["g2|0|2024-01-01T00:00:00"] == 250
    # one row per grid and bar; the engine state only on the last row of each walk
    assert not rows.duplicated(["grid_id", "bar_start"]).any()
    last = rows.groupby("walk_id")["bar_start"].transform("max") == rows["bar_start"]
    assert rows.loc[last, "engine_state"].notna().all() and rows.loc[~last, "engine_state"].isna().all()
    assert set(rows.loc[rows["grid_kind"] == "virtual", "grid_id"]) == {"virtual|x|AAA", "virtual|y|BBB"}
    # a configured enabled version starts in PROBATION, the disabled one stays DISABLED
    first = rows.sort_values("bar_start").groupby("walk_id").first()
    assert first.loc["g1|0|2024-01-03T00:00:00", "state"] == "PROBATION"
    assert set(rows.loc[rows["grid_id"] == "g2", "state"]) == {"DISABLED"}
    assert first.loc[walk_id("virtual|x|AAA", 0, None), "state"] in ("DISABLED", "PROBATION")


def test_rows_do_not_depend_on_the_input_order():
    # BARS is in the walks' order (the adapter reads it so: no sort); shuffled it is sorted first
    ordered = lifecycle_rows(BARS, CONFIGS, CFG)
    shuffled = lifecycle_rows(BARS.sample(frac=1.0, random_state=11), CONFIGS, CFG)
    pd.testing.assert_frame_equal(shuffled, ordered)


def test_rows_carry_the_engines_changes_and_notifications():
    """The per-bar JSON of state changes and the notification columns are the engine's tables."""
    rows = lifecycle_rows(BARS, CONFIGS, CFG)
    seg = BARS[(BARS["symbol"] == "AAA") & (BARS["segment_id"] == 0)]
    result = walk_grid(seg, GridSpec.virtual_grid("virtual|x|AAA"), CFG)
    mine = rows[rows["walk_id"] == walk_id("virtual|x|AAA", 0, None)].reset_index(drop=True)
    assert mine["state"].tolist() == result.lifecycle["state"].tolist()
    changes = [
        (t, c["from_state"], c["to_state"], c["reason"])
        for t, js in zip(mine["bar_start"], mine["state_changes"])
        if js is not None
        for c in json.loads(js)
    ]
    sc = result.state_changes
    assert changes == list(zip(sc["bar_start"], sc["from_state"], sc["to_state"], sc["reason"]))
    assert len(changes) > 5  # the random series moves the virtual grid through several states
    notes = mine.dropna(subset=["notified_state"])
    assert notes["bar_start"].tolist() == result.notifications["bar_start"].tolist()
    assert notes["is_sent"].tolist() == result.notifications["is_sent"].tolist()


@pytest.mark.parametrize("cut", ["2024-01-02 10:00", "2024-01-08 05:00", "2024-01-10 00:00", "2024-02-01 03:00"])
def test_continuing_from_the_stored_states_equals_one_walk(cut):
    """fct_grid_lifecycle's incremental run: the rows before `cut`, then the bars after each walk's
    last stored bar with its engine_state, give the full walk's rows (the previous last rows lose
    their state in the table; the adapter re-writes them)."""
    full = lifecycle_rows(BARS, CONFIGS, CFG)
    cut = pd.Timestamp(cut)
    before = lifecycle_rows(BARS[BARS["bar_start"] < cut], CONFIGS, CFG)
    states = stored_states(before)
    after = lifecycle_rows(BARS[BARS["bar_start"] >= cut], CONFIGS, CFG, states)
    previous = before[before["engine_state"].notna() & before["walk_id"].isin(after["walk_id"])]
    merged = pd.concat(
        [before[~before.index.isin(previous.index)], previous.assign(engine_state=None), after], ignore_index=True
    ).sort_values(["grid_id", "bar_start"], ignore_index=True)
    pd.testing.assert_frame_equal(merged, full, check_dtype=False)


def test_a_state_of_other_constants_is_refused_with_the_way_out():
    rows = lifecycle_rows(BARS[BARS["bar_start"] < "2024-01-05"], CONFIGS, CFG)
    other = LifecycleConfig.from_csv(
        half_life_baseline_bars=21,
        half_life_baseline_min_bars=10,
        time_floor_bars=6,
        gate_1_bars=2,
        gate_2_bars=2,
        gate_3_bars=3,
        probation_bars=8,
    )
    with pytest.raises(ValueError, match=r"seed grid_lifecycle_config changed.*--full-refresh"):
        lifecycle_rows(BARS, CONFIGS, other, stored_states(rows))
    assert LifecycleState.from_json(stored_states(rows)[walk_id("virtual|y|BBB", 0, None)]).grid_id == "virtual|y|BBB"


def test_missing_columns_and_empty_input():
    with pytest.raises(ValueError, match=r"bars miss columns \['segment_id'\]"):
        lifecycle_rows(BARS.drop(columns=["segment_id"]), CONFIGS, CFG)
    with pytest.raises(ValueError, match=r"configs miss columns \['valid_to'\]"):
        lifecycle_rows(BARS, CONFIGS.drop(columns=["valid_to"]), CFG)
    empty = lifecycle_rows(BARS.iloc[:0], CONFIGS, CFG)
    assert empty.empty and list(empty.columns) == list(OUTPUT_COLUMNS)
