"""The lever-outcome report's logic on hand-made series (market_regimes.research.lever_outcomes).

Forward returns and vol at the lever close, quantile edges and groups (ties, clamps), the
moments (mean, sd, t, win rate), the rotation null against a brute-force loop, and the
whole report on a 10-bar series worked by hand (docs/levers.md "Do the levers pay?").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_regimes.research.grid_outcomes import block_bootstrap_ci, block_bootstrap_diff_ci
from market_regimes.research.lever_outcomes import (
    REPORT_COLUMNS,
    LeverOutcomeConfig,
    assign_quantile,
    forward_outcomes,
    group_moments,
    lever_outcome_report,
    quantile_edges,
    rotation_null_spreads,
    rotation_shifts,
)

LN2 = math.log(2)


# ---- forward outcomes ----------------------------------------------------------------------


def test_forward_outcomes_start_at_the_lever_close_and_stop_at_gaps():
    # closes every 60 minutes at 60, 120, 180, 240 (1, 2, 4, 8), a missing bar at 300, then
    # 360, 420 (8, 16) and 480 (32) in a new segment
    close_time = np.array([60, 120, 180, 240, 360, 420, 480])
    close = np.array([1.0, 2.0, 4.0, 8.0, 8.0, 16.0, 32.0])
    segment = np.array([1, 1, 1, 1, 1, 1, 2])
    # levers closing at 60 (bar 0..60), 120, 240, 300 (no close: not observable), 360, 420
    lever_close = np.array([60, 120, 240, 300, 360, 420])
    observable, ret, rv = forward_outcomes(lever_close, close_time, close, segment, 60, (1, 2))
    assert observable.tolist() == [True, True, True, False, True, True]
    # h = 1: ln(C(t + 60) / C(t)); 240 -> 300 is missing; 420 -> 480 crosses the segment
    np.testing.assert_allclose(ret[:, 0], [LN2, LN2, np.nan, np.nan, LN2, np.nan], rtol=1e-15)
    # h = 2: 60 -> 180 = ln 4, 120 -> 240 = ln 4, 360 -> 480 crosses the segment
    np.testing.assert_allclose(ret[:, 1], [2 * LN2, 2 * LN2, np.nan, np.nan, np.nan, np.nan], rtol=1e-15)
    # realized vol: h = 1 is |return|; h = 2 sqrt((ln2^2 + ln2^2) / 2) = ln 2
    np.testing.assert_allclose(rv[:, 0], [LN2, LN2, np.nan, np.nan, LN2, np.nan], rtol=1e-15)
    np.testing.assert_allclose(rv[:, 1], [LN2, LN2, np.nan, np.nan, np.nan, np.nan], rtol=1e-15)


def test_forward_rv_of_mixed_steps():
    # steps ln 2, -ln 2, ln 4: h = 3 gives sqrt((1 + 1 + 4) ln2^2 / 3) = sqrt(2) ln 2
    _, _, rv = forward_outcomes(
        np.array([0]), np.array([0, 5, 10, 15]), np.array([1.0, 2.0, 1.0, 4.0]), np.ones(4), 5, (3,)
    )
    assert rv[0, 0] == pytest.approx(math.sqrt(2) * LN2, rel=1e-15)


def test_forward_outcomes_reject_unsorted_closes():
    with pytest.raises(ValueError, match="strictly increasing"):
        forward_outcomes(np.array([0]), np.array([60, 0]), np.array([1.0, 1.0]), np.ones(2), 60, (1,))


# ---- quantile groups -----------------------------------------------------------------------


def test_quintile_edges_and_groups():
    values = np.arange(1.0, 11.0)
    # numpy's linear interpolation: position 9p -> 2.8, 4.6, 6.4, 8.2
    np.testing.assert_allclose(quantile_edges(values, 5), [2.8, 4.6, 6.4, 8.2], rtol=1e-15)
    assert assign_quantile(values, quantile_edges(values, 5)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_at_the_clamps_go_up_and_leave_groups_empty():
    # 4 of 10 at the lower clamp 0, 3 at the upper 1 (linear interpolation at positions 9p:
    # 1.8 -> 0, 3.6 -> 0 + 0.6 x 0.4 = 0.24, 5.4 -> 0.5 + 0.4 x 0.1 = 0.54, 7.2 -> 1)
    values = np.array([0, 0, 0, 0, 0.4, 0.5, 0.6, 1, 1, 1])
    edges = quantile_edges(values, 5)
    np.testing.assert_allclose(edges, [0.0, 0.24, 0.54, 1.0], rtol=1e-12)
    # a value equal to an edge goes up: the zeros pass the first edge (group 2, Q1 stays
    # empty), the ones all four (group 5)
    assert assign_quantile(values, edges).tolist() == [2, 2, 2, 2, 3, 3, 4, 5, 5, 5]
    assert assign_quantile(np.array([np.nan]), edges).tolist() == [0]
    assert assign_quantile(values, np.full(4, np.nan)).tolist() == [0] * 10


# ---- moments --------------------------------------------------------------------------------


def test_group_moments_by_hand():
    values = np.array([[1.0], [2.0], [3.0], [4.0], [-1.0], [np.nan]])
    masks = np.array([[1, 0], [1, 0], [1, 0], [1, 1], [0, 1], [0, 1]], dtype=bool)
    m = group_moments(values, masks)
    assert m["n"].tolist() == [[4, 2]]
    np.testing.assert_allclose(m["mean"], [[2.5, 1.5]], rtol=1e-15)
    # sd of 1..4 = sqrt(5/3); of (4, -1) = sqrt(12.5)
    np.testing.assert_allclose(m["sd"], [[math.sqrt(5 / 3), math.sqrt(12.5)]], rtol=1e-15)
    np.testing.assert_allclose(
        m["t_stat"], [[2.5 / (math.sqrt(5 / 3) / 2), 1.5 / (math.sqrt(12.5) / math.sqrt(2))]], rtol=1e-14
    )
    np.testing.assert_allclose(m["win_rate"], [[1.0, 0.5]])


def test_group_moments_of_one_value_and_of_constants():
    m = group_moments(np.array([[3.0], [3.0], [5.0]]), np.array([[1, 0], [1, 0], [0, 1]], dtype=bool))
    assert np.isnan(m["t_stat"]).all()  # sd 0, and n < 2
    assert np.isnan(m["sd"][0, 1]) and m["sd"][0, 0] == 0.0


# ---- rotation null ---------------------------------------------------------------------------


def test_rotation_shifts():
    assert rotation_shifts(10, 3).tolist() == [3, 4, 5, 6, 7]
    assert rotation_shifts(5, 3).tolist() == [1, 2, 3, 4]  # n < 2 block + 1: every non-zero shift
    assert rotation_shifts(1, 3).tolist() == []


def test_rotation_null_matches_rolling_the_groups_one_shift_at_a_time():
    rng = np.random.default_rng(7)
    n, q = 60, 3
    groups = rng.integers(1, q + 1, size=n)
    groups[:5] = 2  # some runs
    values = rng.normal(size=(n, 2))
    values[rng.random(n) < 0.1, 0] = np.nan
    rows = {"a": np.arange(0, 36), "b": np.arange(36, n)}
    shifts = rotation_shifts(n, 4)
    got = rotation_null_spreads(groups, shifts, rows, values, q)
    for sample, idx in rows.items():
        for d_i, d in enumerate(shifts):
            g = np.roll(groups, d)[idx]
            present = [k for k in range(1, q + 1) if (g == k).any()]
            for col in range(2):
                v = values[idx, col]
                top = np.nanmean(np.where(g == present[-1], v, np.nan))
                bottom = np.nanmean(np.where(g == present[0], v, np.nan))
                assert got[sample][d_i, col] == pytest.approx(top - bottom, abs=1e-12), (sample, d, col)


# ---- the report on a hand-worked series ----------------------------------------------------

# ten 1h lever bars from 2024-01-01 00:00; the composite closes at their closes 01:00 .. 11:00
# move by these one-bar log returns (bar k's forward 1-bar return)
RETURNS = [0.01, -0.02, 0.03, 0.0, 0.01, 0.02, 0.05, -0.01, 0.04, -0.03]
# A of formula project: in-sample 0.1 .. 0.6 (median edge 0.35), out-of-sample 0.2, 0.9, 0.1, 0.8
A_PROJECT = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.2, 0.9, 0.1, 0.8]
# the literal formula: A clamped (0 or 1) on most bars
A_LITERAL = [0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
HAND = LeverOutcomeConfig(horizons=(1,), quantiles=2, train_frac=0.6, n_boot=200, block_bars=1, seed=3, ci_level=0.9)


def _hand_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    starts = pd.date_range("2024-01-01", periods=10, freq="h")
    levers = pd.concat(
        [
            pd.DataFrame(
                {
                    "bar_start": starts,
                    "execution_timeframe": "1h",
                    "bucket": "small",
                    "formula": "project",
                    "a_value": A_PROJECT,
                    "e_value": [1 - a for a in A_PROJECT],
                }
            ),
            pd.DataFrame(
                {
                    "bar_start": starts,
                    "execution_timeframe": "1h",
                    "bucket": "small",
                    "formula": "seed_compute_levers",
                    "a_value": A_LITERAL,
                    "e_value": [0.5] * 10,
                }
            ),
        ],
        ignore_index=True,
    )
    close = 100 * np.exp(np.r_[0.0, np.cumsum(RETURNS)])
    closes = pd.DataFrame(
        {
            "bucket": "small",
            "execution_timeframe": "1h",
            "execution_minutes": 60,
            "close_at": pd.date_range("2024-01-01 01:00", periods=11, freq="h"),
            "close": close,
            "segment_id": 1,
        }
    )
    return levers, closes


@pytest.fixture(scope="module")
def hand_report() -> pd.DataFrame:
    levers, closes = _hand_inputs()
    return lever_outcome_report(levers, closes, HAND)


def _row(report, **keys) -> pd.Series:
    sel = report
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel.iloc[0]


def test_hand_series_shape(hand_report):
    # 2 formulas x 2 levers x 2 sources x 2 samples x 1 horizon x 2 metrics x (all, Q1, Q2, spread)
    assert list(hand_report.columns) == list(REPORT_COLUMNS)
    assert len(hand_report) == 2 * 2 * 2 * 2 * 2 * 4


def test_hand_series_quantile_groups_and_moments(hand_report):
    key = dict(formula="project", lever="A", lever_source="actual", sample="out_of_sample", metric="forward_return")
    # out-of-sample A 0.2, 0.9, 0.1, 0.8 against the in-sample median 0.35: groups 1, 2, 1, 2
    q1, q2 = _row(hand_report, **key, lever_group="Q1"), _row(hand_report, **key, lever_group="Q2")
    assert (q1["n_bars"], q1["n"], q1["lever_min"], q1["lever_max"]) == (2, 2, 0.1, 0.2)
    assert (q2["n_bars"], q2["lever_min"], q2["lever_max"]) == (2, 0.8, 0.9)
    # Q1 returns 0.05 and 0.04; Q2 -0.01 and -0.03
    assert q1["mean"] == pytest.approx(0.045, abs=1e-15) and q2["mean"] == pytest.approx(-0.02, abs=1e-15)
    assert q1["sd"] == pytest.approx(math.sqrt(0.00005), rel=1e-12)
    assert q1["t_stat"] == pytest.approx(9.0, rel=1e-12) and q2["t_stat"] == pytest.approx(-2.0, rel=1e-12)
    assert (q1["win_rate"], q2["win_rate"]) == (1.0, 0.0)
    spread = _row(hand_report, **key, lever_group="top_minus_bottom")
    assert spread["mean"] == pytest.approx(-0.065, abs=1e-15)
    assert (spread["top_quantile"], spread["bottom_quantile"], spread["expected_sign"]) == (2, 1, 1)
    # Welch: -0.065 / sqrt(0.00005 / 2 + 0.0002 / 2)
    assert spread["t_stat"] == pytest.approx(-0.065 / math.sqrt(0.000125), rel=1e-12)
    assert not spread["is_separated_as_expected"]  # the wrong sign
    # the forward vol of h = 1 is |return|: Q2 |-0.01|, |-0.03|
    vol = _row(hand_report, **{**key, "metric": "forward_rv"}, lever_group="Q2")
    assert vol["mean"] == pytest.approx(0.02, abs=1e-15) and pd.isna(vol["t_stat"]) and pd.isna(vol["win_rate"])


def test_hand_series_intervals_are_the_shared_block_bootstrap(hand_report):
    """Each interval is grid_outcomes' block bootstrap of the same rows (same blocks, same draws)."""
    values = np.array(RETURNS[6:])
    segment = np.ones(4)
    key = dict(formula="project", lever="A", lever_source="actual", sample="out_of_sample", metric="forward_return")
    groups = np.array([1, 2, 1, 2])
    for name, mask in (("Q1", groups == 1), ("Q2", groups == 2), ("all", np.ones(4, dtype=bool))):
        mean, lo, hi = block_bootstrap_ci(
            values, segment, HAND.block_bars, HAND.n_boot, HAND.seed, HAND.ci_level, mask=mask
        )
        row = _row(hand_report, **key, lever_group=name)
        assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((mean, lo, hi), abs=1e-15), name
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    diff, lo, hi = block_bootstrap_diff_ci(
        values, segment, groups == 2, groups == 1, HAND.block_bars, HAND.n_boot, HAND.seed, HAND.ci_level
    )
    spread = _row(hand_report, **key, lever_group="top_minus_bottom")
    assert (spread["mean"], spread["ci_low"], spread["ci_high"]) == pytest.approx((diff, lo, hi), abs=1e-15)


def test_hand_series_clamped_formula_groups_and_formula_difference(hand_report):
    key = dict(
        formula="seed_compute_levers", lever="A", lever_source="actual", sample="out_of_sample", metric="forward_return"
    )
    # in-sample literal A 0, 0, 1, 1, 0, 1: median 0.5; out-of-sample 1, 1, 0, 0 -> groups 2, 2, 1, 1
    assert _row(hand_report, **key, lever_group="Q2")["mean"] == pytest.approx(0.02, abs=1e-15)  # 0.05, -0.01
    assert _row(hand_report, **key, lever_group="Q1")["mean"] == pytest.approx(0.005, abs=1e-15)  # 0.04, -0.03
    spread = _row(hand_report, **key, lever_group="top_minus_bottom")
    assert spread["mean"] == pytest.approx(0.015, abs=1e-15)
    # this formula's spread minus the project formula's: 0.015 - (-0.065), paired interval
    assert spread["minus_other_formula"] == pytest.approx(0.08, abs=1e-15)
    other = _row(hand_report, **{**key, "formula": "project"}, lever_group="top_minus_bottom")
    assert other["minus_other_formula"] == pytest.approx(-0.08, abs=1e-15)
    assert spread["minus_other_formula_ci_low"] <= 0.08 <= spread["minus_other_formula_ci_high"]
    # E of that formula is constant 0.5: the edge is 0.5 and every bar sits in Q2 (ties go up),
    # so Q1 is empty and top and bottom are both Q2: spread 0
    e_key = {**key, "lever": "E"}
    assert _row(hand_report, **e_key, lever_group="Q1")["n_bars"] == 0
    e_spread = _row(hand_report, **e_key, lever_group="top_minus_bottom")
    assert (e_spread["top_quantile"], e_spread["bottom_quantile"], e_spread["mean"]) == (2, 2, 0.0)


def test_hand_series_rotation_null_and_shuffled_rows(hand_report):
    """The null of the project A spread, recomputed by rolling the groups over shifts 1..9."""
    groups = np.array([1, 1, 1, 2, 2, 2, 1, 2, 1, 2])  # project A against the edge 0.35
    returns = np.array(RETURNS)
    spreads = []
    for d in range(1, 10):  # block_bars 1: every shift in [1, 9]
        g = np.roll(groups, d)[6:]
        r = returns[6:]
        spreads.append(r[g == 2].mean() - r[g == 1].mean() if (g == 1).any() and (g == 2).any() else np.nan)
    spreads = np.array(spreads)
    key = dict(
        formula="project", lever="A", sample="out_of_sample", metric="forward_return", lever_group="top_minus_bottom"
    )
    row = _row(hand_report, **key, lever_source="actual")
    finite = spreads[np.isfinite(spreads)]
    assert row["null_p_value"] == pytest.approx((1 + np.sum(np.abs(finite) >= 0.065 - 1e-12)) / (1 + len(finite)))
    lo, hi = np.quantile(finite, [0.05, 0.95])
    assert (row["null_ci_low"], row["null_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    # the shuffled rows: one of those shifts (drawn with the seed), grouped by the same edges
    shift = int(np.random.default_rng(HAND.seed).choice(np.arange(1, 10)))
    shuffled = _row(hand_report, **key, lever_source="shuffled")
    assert shuffled["mean"] == pytest.approx(spreads[shift - 1], abs=1e-15)
    assert pd.isna(shuffled["null_p_value"]) and pd.isna(shuffled["minus_other_formula"])


def test_edges_come_from_the_in_sample_part_only():
    levers, closes = _hand_inputs()
    # out-of-sample A 0.9, 0.95, 0.99, 0.4: the in-sample median 0.35 puts all four in Q2;
    # an edge over all ten bars (0.45) would put 0.4 in Q1
    late = (levers["formula"] == "project") & (levers["bar_start"] >= pd.Timestamp("2024-01-01 06:00"))
    levers.loc[late, "a_value"] = [0.9, 0.95, 0.99, 0.4]
    report = lever_outcome_report(levers, closes, HAND)
    key = dict(formula="project", lever="A", lever_source="actual", metric="forward_return", lever_group="Q1")
    assert _row(report, **key, sample="out_of_sample")["n_bars"] == 0
    assert _row(report, **key, sample="in_sample")["n_bars"] == 3
    spread = _row(report, **{**key, "lever_group": "top_minus_bottom"}, sample="out_of_sample")
    assert (spread["top_quantile"], spread["bottom_quantile"], spread["mean"]) == (2, 2, 0.0)


def test_report_does_not_depend_on_the_input_row_order():
    levers, closes = _hand_inputs()
    a = lever_outcome_report(levers, closes, HAND)
    b = lever_outcome_report(levers.sample(frac=1, random_state=1), closes.sample(frac=1, random_state=2), HAND)
    pd.testing.assert_frame_equal(a, b)


def test_a_lever_bar_without_a_close_is_not_observable_and_off_grid_bars_fail():
    levers, closes = _hand_inputs()
    # drop the composite close at 04:00 (the close of lever bar 03:00): 9 observable bars
    report = lever_outcome_report(levers, closes[closes["close_at"] != pd.Timestamp("2024-01-01 04:00")], HAND)
    rows = report[
        (report["lever_group"] == "all")
        & (report["formula"] == "project")
        & (report["lever"] == "A")
        & (report["lever_source"] == "actual")
        & (report["metric"] == "forward_return")
    ]
    # 9 bars: 5 in-sample (floor 5.4), 4 out-of-sample; the 1-bar return of bar 02:00 (close
    # 03:00 -> 04:00) is gone too
    assert rows.set_index("sample")["n_bars"].to_dict() == {"in_sample": 5, "out_of_sample": 4}
    assert rows.set_index("sample")["n"].to_dict() == {"in_sample": 4, "out_of_sample": 4}
    off = closes.assign(close_at=closes["close_at"] + pd.Timedelta(minutes=30))
    with pytest.raises(ValueError, match="off its 60-minute grid"):
        lever_outcome_report(levers, off, HAND)


def test_config_from_the_dbt_var():
    cfg = LeverOutcomeConfig.from_mapping(
        {
            "horizons": "1, 4,24",
            "quantiles": "5",
            "train_frac": "0.6",
            "n_boot": "1000",
            "block_bars": "24",
            "seed": "0",
            "ci_level": "0.95",
        }
    )
    assert cfg == LeverOutcomeConfig()
    with pytest.raises(ValueError, match="missing keys"):
        LeverOutcomeConfig.from_mapping({"horizons": "1"})
    with pytest.raises(ValueError, match="quantiles"):
        LeverOutcomeConfig(quantiles=1)
    with pytest.raises(ValueError, match="horizons"):
        LeverOutcomeConfig(horizons=(1, 1))
    with pytest.raises(ValueError, match="unknown formulas"):
        levers, closes = _hand_inputs()
        lever_outcome_report(levers.assign(formula="other"), closes, HAND)


def test_worked_example_under_the_literal_formula():
    """docs/levers.md "Two formulas": the worked example (exec 1h, bucket small) with the trading
    teams' literal compute_levers, delta x driver weight x execution multiplier (no timeframe
    weight), from the shipped seeds: A leaves [0, 1] (1.3625, clamped to 1), E = 0.10375."""
    from pathlib import Path

    seeds = Path(__file__).resolve().parents[2] / "seeds"
    states = pd.read_csv(seeds / "regime_state_deltas.csv").set_index("state")
    flags = pd.read_csv(seeds / "regime_flag_deltas.csv").set_index(["state", "flag"])
    weights = pd.read_csv(seeds / "driver_weights.csv").set_index("driver")["weight"]
    mult = pd.read_csv(seeds / "execution_timeframe_multipliers.csv").set_index(["execution_timeframe", "timeframe"])[
        "multiplier"
    ]
    config = pd.read_csv(seeds / "levers_config.csv").set_index("key")["value"]
    assert config["apply_timeframe_weights"] == 1  # the shipped default is formula project
    example = [
        ("BTC", "macro", "S3", []),
        ("BTC", "meso", "S1", ["buy"]),
        ("ALT", "macro", "S3", []),
        ("ALT", "meso", "S2", []),
        ("small", "macro", "S0", []),
        ("small", "meso", "S1", []),
        ("BTC.d", "macro", "S2", []),
        ("USDT.d", "macro", "S0", []),
    ]
    a = e = 0.0
    per_driver: dict[str, float] = {}
    for driver, timeframe, state, active in example:
        da = states.at[state, "delta_a"] + sum(flags.at[(state, f), "delta_a"] for f in active)
        de = states.at[state, "delta_e"] + sum(flags.at[(state, f), "delta_e"] for f in active)
        scale = weights[driver] * mult[("1h", timeframe)]
        per_driver[driver] = per_driver.get(driver, 0.0) + da * scale
        a += da * scale
        e += de * scale
    assert {d: round(v, 6) for d, v in per_driver.items()} == {
        "BTC": 0.3075,
        "ALT": 0.1725,
        "small": 0.1425,
        "BTC.d": -0.03,
        "USDT.d": 0.27,
    }
    assert config["base_a"] + a == pytest.approx(1.3625, abs=1e-12)
    assert min(max(config["base_a"] + a, 0), 1) == 1
    assert config["base_e"] + e == pytest.approx(0.10375, abs=1e-12)
