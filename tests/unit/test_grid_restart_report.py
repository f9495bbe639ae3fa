"""The restart-outcome report (market_regimes.research.grid_restart_report) on one hand-made walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines.grid_lifecycle_config import LifecycleConfig
from market_regimes.research.grid_outcomes import GridOutcomeConfig
from market_regimes.research.grid_restart_report import REPORT_COLUMNS, restart_outcome_report

LIFECYCLE = LifecycleConfig.from_csv()
CFG = GridOutcomeConfig(train_frac=0.0, n_boot=200)


def one_walk() -> pd.DataFrame:
    """Closes 100, a jump to 105 on bars 50-59, 100 again; high / low = close +- 1, atr 1. A stop at
    bar 10 (bars_since_stop 0 there, counting on), the gates restart the grid at bar 40."""
    n = 200
    close = np.full(n, 100.0)
    close[50:60] = 105.0
    since = np.full(n, np.nan)
    since[10:41] = np.arange(31)
    return pd.DataFrame(
        {
            "walk_id": "w",
            "series_key": "s",
            "bar_start": pd.date_range("2024-01-01", periods=n, freq="h"),
            "close": close,
            "high": close + 1,
            "low": close - 1,
            "atr_14": 1.0,
            "bars_since_stop": pd.array(since, dtype="Int64"),
            "is_restart": np.arange(n) == 40,
        }
    )


def metric(report: pd.DataFrame, policy: str, name: str) -> tuple[int, float]:
    row = report[(report["policy"] == policy) & (report["metric"] == name)].iloc[0]
    return int(row["n"]), float(row["value"])


def test_policies_on_a_hand_made_walk():
    """gates (restart 40) and floor_only (34) are placed at [99, 101] (only flat bars since the stop):
    the close 105 at bar 50 is 4 ATR beyond, a stop-buffer trigger. fixed_48 (58) and fixed_72 (82)
    see the jump in their post-stop bars: 95th percentile of the highs 106, range [99, 106], and
    the closes after them stay inside."""
    report = restart_outcome_report(one_walk(), LIFECYCLE, CFG)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert metric(report, "gates", "retrigger_rate") == (1, 1.0)
    assert metric(report, "gates", "delay_bars") == (1, 30.0)
    assert metric(report, "floor_only", "retrigger_rate") == (1, 1.0)
    assert metric(report, "floor_only", "delay_bars") == (1, 24.0)
    assert metric(report, "fixed_48", "retrigger_rate") == (1, 0.0)
    assert metric(report, "fixed_72", "retrigger_rate") == (1, 0.0)
    assert metric(report, "fixed_72", "restarts") == (1, 1.0)


def test_censoring_training_part_and_missing_columns():
    walk = one_walk().iloc[:150]  # fixed_72 restarts at 82: 82 + 72 > 149, censored
    assert metric(restart_outcome_report(walk, LIFECYCLE, CFG), "fixed_72", "restarts") == (0, 0.0)
    trained = restart_outcome_report(one_walk(), LIFECYCLE, GridOutcomeConfig(train_frac=0.5, n_boot=200))
    assert metric(trained, "gates", "restarts")[0] == 0  # bar 40 lies in the first half
    assert np.isnan(metric(trained, "gates", "retrigger_rate")[1])
    with pytest.raises(ValueError, match=r"missing input columns \['is_restart'\]"):
        restart_outcome_report(one_walk().drop(columns=["is_restart"]), LIFECYCLE, CFG)


# --------------------------------------------------------------------------- gate ablation
def test_ablation_inputs_are_the_virtual_walks_and_dropping_gates_restarts_sooner():
    """On the frames test's two random-walk series (short constants so that grids stop and
    restart): ablation_inputs has one row per virtual-grid bar with the walk's restarts, and
    with every gate dropped each stop restarts no later than through the gates."""
    import dataclasses
    import json

    from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows
    from market_regimes.research.grid_restart_report import ablation_inputs, gate_ablation_report
    from tests.unit.test_grid_lifecycle_frames import BARS, CONFIGS

    short = dataclasses.replace(
        LifecycleConfig.from_csv(),
        half_life_baseline_bars=20,
        half_life_baseline_min_bars=10,
        gate_1_bars=2,
        gate_2_bars=2,
        gate_3_bars=3,
        time_floor_bars=6,
        probation_bars=8,
    )
    inputs = ablation_inputs(BARS, short)
    rows = lifecycle_rows(BARS, CONFIGS.iloc[:0], short)
    assert len(inputs) == len(rows) == len(BARS) and inputs["close"].notna().all()
    restarts = sum(c["reason"] == "restart" for js in rows["state_changes"].dropna() for c in json.loads(js))
    assert int(inputs["is_restart"].sum()) == restarts > 0
    assert set(inputs["series_key"]) == {"virtual|x|AAA", "virtual|y|BBB"}
    dropped = ablation_inputs(BARS, dataclasses.replace(short, gate_1_bars=0, gate_2_bars=0, gate_3_bars=0))
    assert int(dropped["is_restart"].sum()) >= restarts
    report = gate_ablation_report(BARS, short, CFG)
    assert report["policy"].tolist() == [f"without_gate_{g}" for g in (1, 2, 3) for _ in range(3)]
    assert report["metric"].tolist() == ["restarts", "retrigger_rate", "delay_bars"] * 3
