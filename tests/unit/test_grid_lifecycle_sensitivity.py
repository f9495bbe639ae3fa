"""The tuning guide's sensitivity runs (market_regimes.research.grid_lifecycle_sensitivity)."""

from __future__ import annotations

import json

import pytest

from market_regimes.engines.grid_lifecycle_config import DEFAULT_CONFIG_CSV, LifecycleConfig
from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows
from market_regimes.research.grid_lifecycle_sensitivity import lifecycle_sensitivity, rates
from market_regimes.seed_config import read_key_values
from tests.unit.test_grid_lifecycle_frames import BARS, CONFIGS

SEED = dict(read_key_values(DEFAULT_CONFIG_CSV))
SHORT = {
    "half_life_baseline_bars": 20,
    "half_life_baseline_min_bars": 10,
    "gate_1_bars": 2,
    "gate_2_bars": 2,
    "gate_3_bars": 3,
    "time_floor_bars": 6,
    "probation_bars": 8,
}


def test_rates_count_the_changes_of_a_walk():
    rows = lifecycle_rows(BARS, CONFIGS.iloc[:0], LifecycleConfig.from_mapping({**SEED, **SHORT}))
    got = rates(rows)
    changes = sum(
        len([c for c in json.loads(js) if c["from_state"] is not None]) for js in rows["state_changes"].dropna()
    )
    assert got["changes_per_symbol_week"] == pytest.approx(changes / (len(rows) / 168))
    assert got["placements"] >= got["probation_passed"] + got["probation_failed"] > 0
    assert 0 < got["share_hours_running"] < 1


def test_variants_use_the_training_part_and_change_the_rates():
    """Each row is rates() of the virtual grids on the first 60% of every series (AAA: 252 of its
    420 bars, BBB: 150 of 250) under the seed with the variant's key replaced."""
    base = {**SEED, **SHORT}
    table = lifecycle_sensitivity(
        BARS, base, train_frac=0.6, variants={"shipped": {}, "short probation": {"probation_bars": 4}}
    )
    assert table["variant"].tolist() == ["shipped", "short probation"]
    ordered = BARS.assign(key=BARS["exchange"] + "|" + BARS["symbol"]).sort_values(["key", "bar_start"])
    position = ordered.groupby("key").cumcount()
    size = ordered.groupby("key")["key"].transform("size")
    train = ordered[position < (0.6 * size).astype(int)].drop(columns="key")
    assert len(train) == 252 + 150
    for row, change in ((0, {}), (1, {"probation_bars": 4})):
        expected = rates(lifecycle_rows(train, CONFIGS.iloc[:0], LifecycleConfig.from_mapping({**base, **change})))
        assert table.iloc[row].drop("variant").to_dict() == pytest.approx(expected)
    assert table.loc[1, "probation_passed"] != table.loc[0, "probation_passed"]
    with pytest.raises(ValueError, match="probation_levels"):
        lifecycle_sensitivity(BARS, base, variants={"bad": {"probation_levels": 9}})
