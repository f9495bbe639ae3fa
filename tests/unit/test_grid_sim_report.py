"""The simulated grid by verdict (market_regimes.research.grid_sim_report) on hand-made series.

Each expectation is checked against the building blocks it is defined by: the placement
bars by the step / out-of-sample / verdict / range rules written out, the results against
simulate_grid and exit_index called directly on the same bars and placement_states, the
summary against cvar and plain means of the placement rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines.grid_lifecycle import placement_states
from market_regimes.engines.grid_lifecycle_config import LifecycleConfig
from market_regimes.research.grid_outcomes import GridOutcomeConfig, block_bootstrap_ci, block_bootstrap_rows
from market_regimes.research.grid_sim_report import (
    PLACEMENT_COLUMNS,
    REPORT_COLUMNS,
    sim_by_verdict_report,
    simulate_placements,
)
from market_regimes.research.grid_simulator import (
    EXIT_POLICIES,
    GridSimConfig,
    cvar,
    cvar_difference_ci,
    exit_index,
    simulate_grid,
)

LIFECYCLE = LifecycleConfig.from_csv(half_life_baseline_bars=10, half_life_baseline_min_bars=5)
CFG = GridOutcomeConfig(horizons=(4, 8), train_frac=0.5, n_boot=200)
T0 = pd.Timestamp("2024-03-01")


def series(key: str = "x|AAA", n: int = 60, seed: int = 0, segment: int = 1, start: pd.Timestamp = T0) -> pd.DataFrame:
    """A random walk around 100 (hourly), range [96, 104], atr 1, neutral lifecycle inputs;
    verdicts cycle RANGE_OK, RANGE_WEAK, TRANSITION, TREND every 5 bars."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.6, n))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) + rng.uniform(0, 0.5, n)
    low = np.minimum(open_, close) - rng.uniform(0, 0.5, n)
    verdicts = np.array(["RANGE_OK", "RANGE_WEAK", "TRANSITION", "TREND"], dtype=object)[(np.arange(n) // 5) % 4]
    return pd.DataFrame(
        {
            "series_key": key,
            "segment_id": segment,
            "bar_start": pd.date_range(start, periods=n, freq="h"),
            "open": open_,
            "close": close,
            "high": high,
            "low": low,
            "atr_14": 1.0,
            "bb_mid_20": 100.0,
            "bb_std_20": 1.0,
            "verdict": verdicts,
            "coarse_bar_start": pd.NaT,
            "coarse_verdict": None,
            "ou_half_life": 10.0,
            "ou_ar1_b": 0.9,
            "atr_ratio": 1.0,
            "er_short": 0.2,
            "range_ok_support": 60.0,
            "vol_change_score": 30.0,
            "trend_score": 30.0,
            "adx_slope_10": -0.1,
            "range_quality_score": 70.0,
            "mean_rev_score": 70.0,
            "next_high_vol_prob": 0.1,
            "support": 96.0,
            "resistance": 104.0,
        }
    )


def test_placements_follow_the_step_split_and_range_rules_and_equal_the_building_blocks():
    bars = series()
    bars.loc[36, "verdict"] = None  # no verdict: not a placement
    bars.loc[42, ["support", "resistance"]] = [104.0, 96.0]  # not a range: not a placement
    everything = simulate_placements(bars, LIFECYCLE, GridSimConfig(), CFG, step=3)
    assert list(everything.columns) == list(PLACEMENT_COLUMNS)
    got = everything[everything["policy"] != "shuffled_exit"]
    # out-of-sample = bars 30..59; every 3rd bar from 30; 36 and 42 skipped; t + 4 <= 59
    placed = sorted(set(got["bar_start"]))
    want = [T0 + pd.Timedelta(hours=t) for t in range(30, 56, 3) if t not in (36, 42)]
    assert placed == want
    at_51 = got[got["bar_start"] == T0 + pd.Timedelta(hours=51)]
    assert sorted(set(at_51["horizon_bars"])) == [4, 8]  # 51 + 8 = 59: fits
    at_54 = got[got["bar_start"] == T0 + pd.Timedelta(hours=54)]
    assert sorted(set(at_54["horizon_bars"])) == [4]  # 54 + 8 > 59: censored for H = 8
    assert (got["fill_minutes"] == 60).all()
    # every row equals simulate_grid / exit_index / placement_states on the same bars
    positions = [t for t in range(30, 56, 3) if t not in (36, 42)]
    states = placement_states(
        bars,
        positions,
        [96.0] * len(positions),
        [104.0] * len(positions),
        LIFECYCLE.probation_levels,
        LIFECYCLE.probation_allocation,
        LIFECYCLE,
        8,
    )
    assert {s for row in states for s in row} >= {"PROBATION", "EXITED"}
    checked = 0
    for j, t in enumerate(positions):
        for h in (4, 8):
            if t + h > 59:
                continue
            sim = simulate_grid(
                bars.iloc[t + 1 : t + 1 + h], 96.0, 104.0, LIFECYCLE.probation_levels, LIFECYCLE.probation_allocation
            )
            for policy in EXIT_POLICIES:
                k = exit_index(states[j], policy, h, bars["verdict"].iloc[t + 1 : t + 1 + h].tolist())
                row = got[
                    (got["bar_start"] == T0 + pd.Timedelta(hours=t))
                    & (got["horizon_bars"] == h)
                    & (got["policy"] == policy)
                ].iloc[0]
                want_row = simulate_grid(
                    bars.iloc[t + 1 : t + 1 + h],
                    96.0,
                    104.0,
                    LIFECYCLE.probation_levels,
                    LIFECYCLE.probation_allocation,
                    exit_at=k,
                )
                assert (row["exit_bar"], row["bars_held"], row["verdict"]) == (k, k + 1, bars["verdict"].iloc[t])
                for name in ("grid_pnl", "inventory_pnl", "total", "max_drawdown"):
                    assert row[name] == pytest.approx(getattr(want_row, name), abs=1e-12)
                assert row["round_trips"] == want_row.round_trips
                if policy == "hold":
                    assert row["total"] == pytest.approx(sim.total, abs=1e-12)
                checked += 1
    assert checked == len(got) == 7 * 4 * 2 - 4  # 7 placements x 4 policies x 2 H, 54 censored for H = 8
    assert got["round_trips"].max() > 0  # the walk trades
    # the null: per H the mandatory exit bars, permuted over the same placements
    shuffled = everything[everything["policy"] == "shuffled_exit"]
    for h in (4, 8):
        mand = got[(got["policy"] == "mandatory") & (got["horizon_bars"] == h)]
        shuf = shuffled[shuffled["horizon_bars"] == h]
        assert shuf["bar_start"].tolist() == mand["bar_start"].tolist()
        for verdict in set(mand["verdict"]):  # permuted within each verdict
            assert sorted(shuf.loc[shuf["verdict"] == verdict, "exit_bar"]) == sorted(
                mand.loc[mand["verdict"] == verdict, "exit_bar"]
            )
        for _, row in shuf.iterrows():
            t = int((row["bar_start"] - T0) / pd.Timedelta(hours=1))
            want = simulate_grid(
                bars.iloc[t + 1 : t + 1 + h],
                96.0,
                104.0,
                LIFECYCLE.probation_levels,
                LIFECYCLE.probation_allocation,
                exit_at=int(row["exit_bar"]),
            )
            assert row["total"] == pytest.approx(want.total, abs=1e-12)
    assert (shuffled["exit_bar"].to_numpy() != got.loc[got["policy"] == "mandatory", "exit_bar"].to_numpy()).any()


def test_fine_bars_are_used_only_where_they_cover_the_window():
    bars = series(n=40)
    cfg = GridOutcomeConfig(horizons=(4,), train_frac=0.5, n_boot=50)
    # 15-minute bars for bars 21..28 (the windows of placements 20 and 24): four per hour,
    # each hour's four split the 1h bar's path open -> low -> high -> close
    rows = []
    for t in range(21, 29):
        o, h, low, c = bars.loc[t, ["open", "high", "low", "close"]]
        path = [
            (o, max(o, low + 0.1), low, low + 0.1),
            (low + 0.1, h, low + 0.1, h - 0.1),
            (h - 0.1, h, min(h - 0.1, c), c),
            (c, c, c, c),
        ]
        for q, (a, b, d, e) in enumerate(path):
            rows.append(
                {
                    "series_key": "x|AAA",
                    "bar_start": bars.loc[t, "bar_start"] + pd.Timedelta(minutes=15 * q),
                    "interval_minutes": 15,
                    "open": a,
                    "high": max(a, b, e),
                    "low": min(a, d, e),
                    "close": e,
                }
            )
    fine = pd.DataFrame(rows)
    got = simulate_placements(bars, LIFECYCLE, GridSimConfig(), cfg, fine, step=4)
    by_t = got[got["policy"] == "hold"].set_index("bar_start")["fill_minutes"]
    assert by_t[T0 + pd.Timedelta(hours=20)] == 15 and by_t[T0 + pd.Timedelta(hours=24)] == 15
    assert by_t[T0 + pd.Timedelta(hours=28)] == 60  # no fine bars there
    hold_20 = got[(got["policy"] == "hold") & (got["bar_start"] == T0 + pd.Timedelta(hours=20))].iloc[0]
    want = simulate_grid(fine.iloc[0:16], 96.0, 104.0, LIFECYCLE.probation_levels, LIFECYCLE.probation_allocation)
    assert hold_20["total"] == pytest.approx(want.total, abs=1e-12)
    # one missing 15-minute bar: the window falls back to the 1h bars
    got2 = simulate_placements(bars, LIFECYCLE, GridSimConfig(), cfg, fine.drop(index=5), step=4)
    by_t2 = got2[got2["policy"] == "hold"].set_index("bar_start")["fill_minutes"]
    assert by_t2[T0 + pd.Timedelta(hours=20)] == 60 and by_t2[T0 + pd.Timedelta(hours=24)] == 15


def test_no_outcome_crosses_a_segment_and_series_split_separately():
    a = series("x|AAA", n=40, segment=1)
    b = series("x|AAA", n=20, seed=1, segment=2, start=T0 + pd.Timedelta(hours=45))
    c = series("y|BBB", n=40, seed=2)
    got = simulate_placements(
        pd.concat([a, b, c], ignore_index=True),
        LIFECYCLE,
        GridSimConfig(),
        GridOutcomeConfig(horizons=(4,), train_frac=0.5, n_boot=50),
        step=5,
    )
    # x|AAA has 60 bars: out of sample = its last 30 = bars 30..39 of segment 1 and all of segment 2
    aaa = sorted(set(got.loc[got["series_key"] == "x|AAA", "bar_start"]))
    seg1 = [T0 + pd.Timedelta(hours=t) for t in (30, 35)]  # 35 + 4 <= 39
    seg2 = [T0 + pd.Timedelta(hours=45 + t) for t in (0, 5, 10, 15)]  # 15 + 4 <= 19
    assert aaa == seg1 + seg2
    bbb = sorted(set(got.loc[got["series_key"] == "y|BBB", "bar_start"]))
    assert bbb == [T0 + pd.Timedelta(hours=t) for t in (20, 25, 30, 35)]


def test_summary_by_verdict_and_policy_equals_the_rows():
    bars = pd.concat([series("x|AAA", n=120), series("y|BBB", n=120, seed=3)], ignore_index=True)
    rows = simulate_placements(bars, LIFECYCLE, GridSimConfig(), CFG, step=2)
    report = sim_by_verdict_report(rows, CFG, step=2)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert report[["horizon_bars", "verdict", "policy"]].head(6).values.tolist() == [
        [4, "ALL", "hold"],
        [4, "ALL", "mandatory"],
        [4, "ALL", "first_latest"],
        [4, "ALL", "seed_rules"],
        [4, "ALL", "shuffled_exit"],
        [4, "RANGE_OK", "hold"],
    ]
    assert len(report) == 2 * 5 * 5  # H x (ALL + 4 verdicts) x (4 policies + shuffled_exit)
    for (h, verdict, policy), row in report.set_index(["horizon_bars", "verdict", "policy"]).iterrows():
        part = rows[
            (rows["horizon_bars"] == h)
            & (rows["policy"] == policy)
            & ((rows["verdict"] == verdict) if verdict != "ALL" else True)
        ]
        hold = rows[
            (rows["horizon_bars"] == h)
            & (rows["policy"] == "hold")
            & ((rows["verdict"] == verdict) if verdict != "ALL" else True)
        ]
        assert row["n"] == len(part) > 0
        assert row["mean"] == pytest.approx(part["total"].mean(), abs=1e-15)
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
        assert row["cvar_5"] == pytest.approx(cvar(part["total"].to_numpy()), abs=1e-15)
        assert row["cvar_5_vs_hold"] == pytest.approx(
            cvar(part["total"].to_numpy()) - cvar(hold["total"].to_numpy()), abs=1e-15
        )
        assert row["mean_grid_pnl"] + row["mean_inventory_pnl"] == pytest.approx(row["mean"], abs=1e-12)
        assert row["mean_bars_held"] == pytest.approx(part["bars_held"].mean())
        assert row["round_trips_per_day"] == pytest.approx(part["round_trips"].sum() / (part["bars_held"].sum() / 24))
        shuffled = rows[
            (rows["horizon_bars"] == h)
            & (rows["policy"] == "shuffled_exit")
            & ((rows["verdict"] == verdict) if verdict != "ALL" else True)
        ]
        assert row["cvar_5_vs_shuffled"] == pytest.approx(
            cvar(part["total"].to_numpy()) - cvar(shuffled["total"].to_numpy()), abs=1e-15
        )
        if policy == "hold":
            assert row["mean_bars_held"] == h and math.isnan(row["cvar_diff_ci_low"])
        if policy == "shuffled_exit":
            assert row["cvar_5_vs_shuffled"] == 0 and math.isnan(row["cvar_null_ci_low"])


def test_cvar_difference_of_a_shift_is_the_shift_with_a_zero_width_interval():
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 0.01, 200)
    groups = np.repeat(["a", "b"], 100)
    diff, lo, hi = cvar_difference_ci(ref, np.column_stack([ref, ref + 0.003]), groups, 3, n_boot=100)
    np.testing.assert_allclose(diff, [0.0, 0.003], atol=1e-15)
    np.testing.assert_allclose(lo, [0.0, 0.003], atol=1e-15)
    np.testing.assert_allclose(hi, [0.0, 0.003], atol=1e-15)
    # a policy that cuts the losses at -0.005: its CVaR5 is -0.005, better than the reference's
    cut = np.maximum(ref, -0.005)
    d, lo, hi = cvar_difference_ci(ref, cut[:, None], groups, 3, n_boot=200)
    assert d[0] == pytest.approx(-0.005 - cvar(ref)) and 0 < lo[0] <= d[0] <= hi[0]
    with pytest.raises(ValueError, match="groups"):
        cvar_difference_ci(ref, cut[:, None], groups[:10], 3)


def test_block_bootstrap_rows_are_the_resamples_of_block_bootstrap_ci():
    rng = np.random.default_rng(1)
    values = rng.normal(size=300)
    groups = np.repeat(["a", "b", "c"], [150, 100, 50])
    mean, lo, hi = block_bootstrap_ci(values, groups, 7, n_boot=300, seed=5)
    means = np.array([values[rows].mean() for rows in block_bootstrap_rows(groups, 7, n_boot=300, seed=5)])
    np.testing.assert_allclose([lo, hi], np.quantile(means, [0.025, 0.975]), rtol=0, atol=1e-12)
    assert list(block_bootstrap_rows(np.array([]), 3)) == []
    with pytest.raises(ValueError, match="must be >= 1"):
        next(block_bootstrap_rows(groups, 0))


def test_no_placement_gives_typed_empty_tables():
    bars = series(n=30)
    bars["verdict"] = None  # no bar has a verdict
    rows = simulate_placements(bars, LIFECYCLE, GridSimConfig(), CFG, step=3)
    assert len(rows) == 0 and list(rows.columns) == list(PLACEMENT_COLUMNS)
    report = sim_by_verdict_report(rows, CFG)
    assert len(report) == 0 and list(report.columns) == list(REPORT_COLUMNS)
    assert report["n"].dtype == np.int64 and report["policy"].dtype == object and report["mean"].dtype == float


def test_cvar_intervals_equal_cvar_difference_ci_against_each_reference():
    """The report resamples once for both references (hold, shuffled_exit): the same numbers
    as cvar_difference_ci called with each."""
    bars = pd.concat([series("x|AAA", n=120), series("y|BBB", n=120, seed=3)], ignore_index=True)
    rows = simulate_placements(bars, LIFECYCLE, GridSimConfig(), CFG, step=2)
    report = sim_by_verdict_report(rows, CFG, step=2).set_index(["horizon_bars", "verdict", "policy"])
    policies = [*EXIT_POLICIES, "shuffled_exit"]
    for h in (4, 8):
        at_h = rows[rows["horizon_bars"] == h]
        total = {p: at_h.loc[at_h["policy"] == p, "total"].to_numpy() for p in policies}
        keys = at_h.loc[at_h["policy"] == "hold", "series_key"].to_numpy(dtype=object)
        block = math.ceil(h / 2)
        for reference, low, high in (
            ("hold", "cvar_diff_ci_low", "cvar_diff_ci_high"),
            ("shuffled_exit", "cvar_null_ci_low", "cvar_null_ci_high"),
        ):
            others = [p for p in policies if p != reference]
            _, lo, hi = cvar_difference_ci(
                total[reference],
                np.column_stack([total[p] for p in others]),
                keys,
                block,
                CFG.n_boot,
                CFG.seed,
                CFG.ci_level,
            )
            for i, p in enumerate(others):
                assert report.loc[(h, "ALL", p), low] == lo[i] and report.loc[(h, "ALL", p), high] == hi[i]
