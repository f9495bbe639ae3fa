"""Grid-verdict outcome report (market_regimes/research/grid_outcomes.py).

The forward outcomes are checked on a six-bar hand-made series with H = 2 and 3 (every
expected number worked out by hand from the docstring definitions) and against a plain loop
on random series; the bootstrap on cases whose interval is known exactly (constant data, one
block per series, identical subsets); the AUC against a brute-force pair count."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_regimes.research import grid_outcomes as go
from market_regimes.research.grid_outcomes import (
    DEFAULT_BASELINES,
    METRICS,
    VERDICTS,
    GridOutcomeConfig,
    auc,
    block_bootstrap_ci,
    block_bootstrap_diff_ci,
    evaluation_mask,
    evaluation_split,
    forward_outcomes,
    outcome_report,
    reliability_table,
    verdict_shares,
)

NAN = np.nan


# --------------------------------------------------------------------------- config
def test_config_defaults_and_from_mapping_conversions():
    cfg = GridOutcomeConfig()
    assert cfg.horizons == (24, 72, 168) and cfg.hold_atr_buffer == 0.1 and cfg.traversal_zone_frac == 0.25
    assert cfg.train_frac == 0.6 and cfg.n_boot == 1000 and cfg.seed == 0 and cfg.ci_level == 0.95
    assert cfg.reliability_bins == 5 and cfg.baselines == DEFAULT_BASELINES
    built = GridOutcomeConfig.from_mapping(
        {"horizons": "2, 3", "n_boot": "200", "hold_atr_buffer": "0", "baselines": ["baseline_x"]}
    )
    assert built == GridOutcomeConfig(horizons=(2, 3), n_boot=200, hold_atr_buffer=0.0, baselines=("baseline_x",))
    assert GridOutcomeConfig(horizons=[5]).horizons == (5,)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"horizon": "24"}, r"grid outcome config: unknown keys \['horizon'\]"),
        ({"horizons": "24,x"}, r"grid outcome config: horizons = '24,x' is not a valid tuple\[int, \.\.\.\]"),
        ({"horizons": "0"}, r"grid outcome config: horizons = \(0,\) must be a non-empty sequence"),
        ({"horizons": "24,24"}, r"grid outcome config: horizons = \(24, 24\) has duplicates"),
        ({"hold_atr_buffer": "-1"}, r"grid outcome config: hold_atr_buffer = -1.0 must be >= 0"),
        ({"traversal_zone_frac": "0.5"}, r"grid outcome config: traversal_zone_frac = 0.5 must be > 0 and < 0.5"),
        ({"train_frac": "1"}, r"grid outcome config: train_frac = 1.0 must be >= 0 and < 1"),
        ({"n_boot": "2.5"}, r"grid outcome config: n_boot = '2.5' is not a valid int"),
        ({"n_boot": "0"}, r"grid outcome config: n_boot = 0 must be >= 1"),
        ({"ci_level": "nan"}, r"grid outcome config: ci_level = 'nan' is not a valid float"),
        ({"ci_level": True}, r"grid outcome config: ci_level = True is not a valid float"),
        ({"reliability_bins": "0"}, r"grid outcome config: reliability_bins = 0 must be >= 1"),
    ],
)
def test_config_rejects_bad_values_naming_the_key(values, message):
    with pytest.raises(ValueError, match=message):
        GridOutcomeConfig.from_mapping(values)


# --------------------------------------------------------------------------- forward outcomes
def hand_series(key: object = "a") -> pd.DataFrame:
    """Six bars; [S, R] = [10, 20] except bar 1 ([11, 19]); atr 1; high / low = close +- 0.5.

    Hold band of bar t: [S - 0.1, R + 0.1]; zones (z = 0.25): lower close <= S + (R - S) / 4,
    upper close >= R - (R - S) / 4, i.e. 12.5 / 17.5 ([10, 20]) and 13 / 17 ([11, 19]).
    """
    close = np.array([15.0, 11.0, 19.0, 12.0, 20.05, 20.2])
    return pd.DataFrame(
        {
            "series_key": [key] * 6,
            "idx": np.arange(6),
            "close": close,
            "high": close + 0.5,
            "low": close - 0.5,
            "atr_14": 1.0,
            "support": [10.0, 11.0, 10.0, 10.0, 10.0, 10.0],
            "resistance": [20.0, 19.0, 20.0, 20.0, 20.0, 20.0],
            "note": list("uvwxyz"),
        }
    )


# (hold, containment, realized_range_ratio, traversals) per bar, worked out by hand
HAND_H2 = [
    (1, 1.0, (19.5 - 10.5) / 10, 1),  # t=0: closes 11 (lower), 19 (upper)
    (1, 1.0, (19.5 - 11.5) / 8, 1),  # t=1 ([11, 19]): 19 (inside, = R; upper), 12 (lower)
    (1, 0.5, (20.55 - 11.5) / 10, 1),  # t=2: 12 (lower), 20.05 (outside [10, 20], inside the band; upper)
    (0, 0.0, (20.7 - 19.55) / 10, 0),  # t=3: 20.05, 20.2 (> 20.1: breaks the band); upper, upper
    (NAN, NAN, NAN, NAN),  # t=4: t + 2 past the last bar
    (NAN, NAN, NAN, NAN),
]
HAND_H3 = [
    (1, 1.0, (19.5 - 10.5) / 10, 2),  # 11, 19, 12: lower, upper, lower
    (0, 2 / 3, (20.55 - 11.5) / 8, 2),  # 19, 12, 20.05 (> 19.1 breaks [11, 19]'s band): U, L, U
    (0, 1 / 3, (20.7 - 11.5) / 10, 1),  # 12, 20.05, 20.2: L, U, U
    (NAN, NAN, NAN, NAN),
    (NAN, NAN, NAN, NAN),
    (NAN, NAN, NAN, NAN),
]


def outcome_matrix(frame: pd.DataFrame, h: int) -> np.ndarray:
    return frame[[f"{m}_{h}" for m in METRICS]].to_numpy(dtype=float)


def test_forward_outcomes_hand_made_series():
    out = forward_outcomes(hand_series(), horizons=(2, 3))
    np.testing.assert_allclose(outcome_matrix(out, 2), np.array(HAND_H2, dtype=float), rtol=1e-12)
    np.testing.assert_allclose(outcome_matrix(out, 3), np.array(HAND_H3, dtype=float), rtol=1e-12)
    assert list(out["note"]) == list("uvwxyz")  # extra columns kept
    assert [c for c in out.columns if c.endswith("_2")] == [
        "hold_2",
        "containment_2",
        "realized_range_ratio_2",
        "traversals_2",
    ]


def test_forward_outcomes_never_cross_a_segment_and_ignore_row_order():
    bars = pd.concat([hand_series("a"), hand_series(("b", 2))], ignore_index=True)
    shuffled = bars.sample(frac=1.0, random_state=3)
    out = forward_outcomes(shuffled, horizons=(2, 3))
    assert list(out.index) == list(shuffled.index)  # input order kept
    out = out.sort_index()
    for part in (out.iloc[:6], out.iloc[6:]):
        np.testing.assert_allclose(outcome_matrix(part, 2), np.array(HAND_H2, dtype=float), rtol=1e-12)
        np.testing.assert_allclose(outcome_matrix(part, 3), np.array(HAND_H3, dtype=float), rtol=1e-12)


def test_forward_outcomes_hold_only_is_the_hold_column_alone():
    # hold_only (the calibration report's path) gives the same hold_H, bit for bit, and
    # no other outcome column; the hand-worked hold of H = 2, 3 still holds
    bars = pd.concat([hand_series("a"), hand_series("b")], ignore_index=True).sample(frac=1.0, random_state=5)
    full = forward_outcomes(bars, horizons=(2, 3))
    hold = forward_outcomes(bars, horizons=(2, 3), hold_only=True)
    assert [c for c in hold.columns if c not in bars.columns] == ["hold_2", "hold_3"]
    for h in (2, 3):
        np.testing.assert_array_equal(hold[f"hold_{h}"].to_numpy(), full[f"hold_{h}"].to_numpy())
    one = forward_outcomes(hand_series(), horizons=(2, 3), hold_only=True)
    np.testing.assert_array_equal(one["hold_2"].to_numpy(), np.array(HAND_H2, dtype=float)[:, 0])
    np.testing.assert_array_equal(one["hold_3"].to_numpy(), np.array(HAND_H3, dtype=float)[:, 0])


def test_forward_outcomes_nan_for_invalid_range_or_nan_window():
    bars = hand_series()
    bars.loc[0, "support"] = NAN  # S missing
    bars.loc[1, "resistance"] = 11.0  # R <= S
    bars.loc[2, "atr_14"] = NAN  # atr missing
    bars.loc[5, "high"] = NAN  # in the window of t=3 (H=2)
    out = forward_outcomes(bars, horizons=(2,))
    assert np.isnan(outcome_matrix(out, 2)[[0, 1, 2, 3]]).all()


def test_forward_outcomes_zone_and_band_bounds_are_inclusive():
    close = np.array([15.0, 12.5, 17.5, 20.1, 9.9])  # lower / upper zone edges, band edges: L, U, U, L
    bars = pd.DataFrame(
        {
            "series_key": 0,
            "idx": range(5),
            "close": close,
            "high": close,
            "low": close,
            "atr_14": 1.0,
            "support": 10.0,
            "resistance": 20.0,
        }
    )
    out = forward_outcomes(bars, horizons=(4,))
    assert outcome_matrix(out, 4)[0].tolist() == [1.0, 0.5, pytest.approx((20.1 - 9.9) / 10), 2.0]


def loop_outcomes(bars: pd.DataFrame, h: int, b: float = 0.1, z: float = 0.25) -> np.ndarray:
    """The definitions as a plain loop (bars sorted, one series after the other)."""
    out = np.full((len(bars), 4), NAN)
    for _, g in bars.groupby("series_key", sort=False):
        c, hi, lo, a, s, r = (g[x].to_numpy() for x in ("close", "high", "low", "atr_14", "support", "resistance"))
        for t in range(len(g) - h):
            if not r[t] > s[t]:
                continue
            w = c[t + 1 : t + h + 1]
            zones = [1 if x >= r[t] - z * (r[t] - s[t]) else -1 if x <= s[t] + z * (r[t] - s[t]) else 0 for x in w]
            last, trav = 0, 0
            for zone in zones:
                if zone:
                    trav += last != 0 and zone != last
                    last = zone
            out[g.index[t]] = (
                float(np.all((w >= s[t] - b * a[t]) & (w <= r[t] + b * a[t]))),
                np.mean((w >= s[t]) & (w <= r[t])),
                (hi[t + 1 : t + h + 1].max() - lo[t + 1 : t + h + 1].min()) / (r[t] - s[t]),
                trav,
            )
    return out


def random_bars(rng: np.random.Generator, n_series: int, lengths: tuple[int, int]) -> pd.DataFrame:
    parts = []
    for k in range(n_series):
        n = int(rng.integers(*lengths))
        c = 100 + np.cumsum(rng.normal(0, 1, n))
        parts.append(
            pd.DataFrame(
                {
                    "series_key": f"s{k}",
                    "idx": np.arange(n),
                    "close": c,
                    "high": c + rng.uniform(0, 1, n),
                    "low": c - rng.uniform(0, 1, n),
                    "atr_14": rng.uniform(0.5, 2, n),
                    "support": c - rng.uniform(-1, 5, n),
                    "resistance": c + rng.uniform(-1, 5, n),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_forward_outcomes_match_a_plain_loop(monkeypatch):
    monkeypatch.setattr(go, "_CHUNK_ROWS", 7)  # several chunks, chunk edges inside series
    bars = random_bars(np.random.default_rng(1), 4, (3, 40))
    out = forward_outcomes(bars, horizons=(1, 3, 10))
    for h in (1, 3, 10):
        np.testing.assert_allclose(outcome_matrix(out, h), loop_outcomes(bars, h), rtol=1e-12)


def test_forward_outcomes_rejects_gaps_and_missing_columns():
    bars = hand_series()
    with pytest.raises(ValueError, match="idx must be consecutive"):
        forward_outcomes(bars.drop(index=2), horizons=(2,))
    with pytest.raises(ValueError, match=r"missing input columns \['atr_14'\]"):
        forward_outcomes(bars.drop(columns="atr_14"), horizons=(2,))


# --------------------------------------------------------------------------- bootstrap
@pytest.mark.parametrize("constant", [2.5, 0.1])
def test_bootstrap_of_constant_data_is_degenerate(constant):
    values = np.full(50, constant)
    groups = np.repeat(["a", "b", "c"], [20, 20, 10])
    assert block_bootstrap_ci(values, groups, block=4, n_boot=200) == (constant, constant, constant)


def test_bootstrap_resamples_within_series_keeping_their_block_counts():
    # one block per series: every resample redraws each series' only block -> no spread at all
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    groups = np.array(["a", "a", "a", "b", "b"])
    assert block_bootstrap_ci(values, groups, block=3, n_boot=100) == (7.2, 7.2, 7.2)
    # blocks [0, 1] [0, 1]: equal block means -> no spread; rows one by one -> spread
    alternating = np.array([0.0, 1.0, 0.0, 1.0])
    assert block_bootstrap_ci(alternating, np.zeros(4), block=2, n_boot=100) == (0.5, 0.5, 0.5)
    mean, lo, hi = block_bootstrap_ci(alternating, np.zeros(4), block=1, n_boot=400)
    assert mean == 0.5 and lo < 0.5 < hi


def test_bootstrap_replicates_take_the_block_means_of_the_scheme():
    # blocks [0, 0] and [1, 1] of one series: a resample draws 2 of them -> means 0, 0.5 or 1
    # with probabilities 1/4, 1/2, 1/4
    _, _, boot = go.bootstrap_means(
        np.array([[0.0], [0.0], [1.0], [1.0]]), np.zeros(4), 2, np.ones((4, 1), dtype=bool), 4000, 0
    )
    values, counts = np.unique(boot.ravel(), return_counts=True)
    assert values.tolist() == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(counts / 4000, [0.25, 0.5, 0.25], atol=0.03)


def test_bootstrap_mask_nan_and_determinism():
    rng = np.random.default_rng(7)
    values = rng.normal(size=300)
    groups = np.repeat([3, 1, 2], 100)
    mask = rng.random(300) < 0.4
    first = block_bootstrap_ci(values, groups, 10, n_boot=300, seed=5, mask=mask)
    assert first == block_bootstrap_ci(values, groups, 10, n_boot=300, seed=5, mask=mask)
    assert first != block_bootstrap_ci(values, groups, 10, n_boot=300, seed=6, mask=mask)
    assert first[0] == pytest.approx(values[mask].mean(), rel=1e-12)
    assert first[1] < first[0] < first[2]
    with_nan = np.where(mask, values, NAN)  # NaN rows: in the blocks, out of the mean
    assert block_bootstrap_ci(with_nan, groups, 10, n_boot=300, seed=5) == pytest.approx(first, rel=1e-12)


def test_bootstrap_does_not_depend_on_the_chunking_or_the_summing_path(monkeypatch):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(400, 3))
    groups = np.repeat(["x", "y"], 200)
    masks = rng.random((400, 4)) < 0.5
    point, counts, boot = go.bootstrap_means(values, groups, 7, masks, 50, 1)
    monkeypatch.setattr(go, "_BOOT_ELEMENTS", 100)  # one resample per chunk
    point2, counts2, boot2 = go.bootstrap_means(values, groups, 7, masks, 50, 1)
    np.testing.assert_allclose(boot2, boot, rtol=1e-12, atol=1e-14)  # the same draws (sums to rounding)
    monkeypatch.setattr(go, "_TAKE_MAX_COLUMNS", 100)  # gather instead of the matrix product
    _, _, boot3 = go.bootstrap_means(values, groups, 7, masks, 50, 1)
    np.testing.assert_allclose(boot3, boot, rtol=1e-12, atol=1e-14)
    assert (counts == masks.sum(axis=0)[None, :]).all()
    np.testing.assert_allclose(point[1, 2], values[masks[:, 2], 1].mean(), rtol=1e-12)


def test_paired_diff_of_identical_subsets_is_exactly_zero():
    rng = np.random.default_rng(3)
    values = rng.normal(size=200)
    groups = np.repeat(["a", "b"], 100)
    subset = rng.random(200) < 0.3
    assert block_bootstrap_diff_ci(values, groups, subset, subset.copy(), block=5, n_boot=200) == (0.0, 0.0, 0.0)


def test_paired_diff_shifted_subset():
    rng = np.random.default_rng(4)
    values = rng.normal(size=400)
    groups = np.repeat(["a", "b"], 200)
    high = values + np.where(np.arange(400) % 2 == 0, 1.0, 0.0)
    diff, lo, hi = block_bootstrap_diff_ci(high, groups, np.arange(400) % 2 == 0, np.ones(400, bool), 8, n_boot=300)
    assert diff == pytest.approx(high[::2].mean() - high.mean(), rel=1e-12)
    assert lo < diff < hi and lo > 0
    again = block_bootstrap_diff_ci(high, groups, np.arange(400) % 2 == 0, np.ones(400, bool), 8, n_boot=300)
    assert again == (diff, lo, hi)


def test_bootstrap_empty_subset_is_nan():
    mean, lo, hi = block_bootstrap_ci(np.arange(6.0), np.zeros(6), 2, n_boot=20, mask=np.zeros(6, bool))
    assert math.isnan(mean) and math.isnan(lo) and math.isnan(hi)


# --------------------------------------------------------------------------- AUC / reliability
def test_auc_exact_cases():
    labels = np.array([0, 0, 1, 1, 1])
    assert auc(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), labels) == 1.0
    assert auc(-np.array([1.0, 2.0, 3.0, 4.0, 5.0]), labels) == 0.0
    assert auc(np.full(5, 7.0), labels) == 0.5
    # one tie across the classes (2 vs 2): counts 1/2; pairs (neg, pos): 6, 5.5 of 6 won
    assert auc(np.array([1.0, 2.0, 2.0, 3.0, 4.0]), labels) == pytest.approx(5.5 / 6)
    assert auc(np.array([1.0, NAN, 0.0, 4.0]), np.array([0, 1, 1, NAN])) == 0.0  # NaN pairs dropped
    assert math.isnan(auc(np.array([1.0, 2.0]), np.array([1, 1])))


def test_auc_equals_a_brute_force_pair_count():
    rng = np.random.default_rng(11)
    scores = rng.integers(0, 6, 300).astype(float)  # many ties
    labels = rng.random(300) < 0.4
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)), rel=1e-12)


def test_reliability_table_by_hand():
    table = reliability_table(np.array([0.1, 0.15, 0.5, 1.0, 0.2, 0.6, NAN]), np.array([1, 0, 1, 1, 0, 0, 1]), bins=5)
    assert table["bin_low"].tolist() == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert table["bin_high"].tolist() == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert table["n"].tolist() == [2, 1, 1, 1, 1]  # 0.2 -> [0.2, 0.4); 0.6 -> [0.6, 0.8); 1.0 -> last bin
    np.testing.assert_allclose(table["mean_confidence"], [0.125, 0.2, 0.5, 0.6, 1.0])
    np.testing.assert_allclose(table["outcome_rate"], [0.5, 0.0, 1.0, 0.0, 1.0])
    empty = reliability_table(np.array([0.5]), np.array([1.0]), bins=2)
    assert empty["n"].tolist() == [0, 1] and math.isnan(empty["outcome_rate"][0])
    with pytest.raises(ValueError, match="within"):
        reliability_table(np.array([1.2]), np.array([1.0]))


# --------------------------------------------------------------------------- evaluation split
def test_evaluation_mask_keeps_the_last_share_of_every_series():
    lengths = {"a": 10, "b": 7, "c": 5, "d": 1}  # evaluated: 10 - 6, 7 - floor(4.2), 5 - 3, 1 - 0
    bars = pd.concat(
        [pd.DataFrame({"series_key": k, "idx": range(n)}) for k, n in lengths.items()], ignore_index=True
    ).sample(frac=1.0, random_state=0)
    mask = evaluation_mask(bars)
    per = bars.assign(ev=mask).groupby("series_key")
    assert per["ev"].sum().to_dict() == {"a": 4, "b": 3, "c": 2, "d": 1}
    # the evaluated bars are the last ones by idx
    assert (
        per.apply(lambda g: g.loc[g["ev"], "idx"].min() > g.loc[~g["ev"], "idx"].max() if (~g["ev"]).any() else True)
    ).all()
    assert evaluation_mask(bars, train_frac=0.0).all()
    assert evaluation_mask(bars, train_frac=0.5)[bars["series_key"].eq("b").to_numpy()].sum() == 4  # 7 - 3


# --------------------------------------------------------------------------- report
def report_frame() -> pd.DataFrame:
    """Two 1h series of 10 bars and one 4h series of 10 bars: [S, R] = [10, 20], atr 1."""
    rows = []
    closes = {
        ("x", "AAA", "1h"): [15, 12, 18, 13, 17, 14, 16, 21, 25, 15],
        ("x", "BBB", "1h"): [15, 15, 15, 15, 15, 15, 15, 15, 15, 15],
        ("y", "AAA", "4h"): [15, 11, 19, 11, 19, 11, 19, 11, 19, 11],
    }
    verdicts = {
        ("x", "AAA", "1h"): [
            None,
            "TREND",
            "RANGE_OK",
            "RANGE_OK",
            "TREND",
            "RANGE_OK",
            "RANGE_WEAK",
            "TREND",
            "TREND",
            "RANGE_OK",
        ],
        ("x", "BBB", "1h"): ["RANGE_OK"] * 10,
        ("y", "AAA", "4h"): ["TRANSITION"] * 5 + ["RANGE_OK"] * 5,
    }
    for key, close in closes.items():
        for i, c in enumerate(close):
            rows.append(
                {
                    "exchange": key[0],
                    "symbol": key[1],
                    "bar_interval": key[2],
                    "series_key": key,
                    "idx": i,
                    "close": float(c),
                    "high": c + 0.5,
                    "low": c - 0.5,
                    "atr_14": 1.0,
                    "support": 10.0,
                    "resistance": 20.0,
                    "verdict": verdicts[key][i],
                    "confidence": (i % 5) / 5 + 0.1,
                    "range_ok_support": float(10 * i % 7),
                    "baseline_adx_below_20": i % 2 == 0,
                    "baseline_chop_above_61_8": True,
                    "baseline_er_below_0_3": False,
                    "baseline_vr_below_1": None if i == 0 else i > 4,
                }
            )
    return pd.DataFrame(rows)


CFG = GridOutcomeConfig(horizons=(2,), train_frac=0.5, n_boot=300)


def test_outcome_report_group_rows():
    bars = report_frame()
    report = outcome_report(bars, CFG)
    table = report["outcomes"]
    assert list(table.columns) == list(go.OUTCOME_COLUMNS)
    groups = [
        ("all", "ALL"),
        *[("verdict", v) for v in VERDICTS],
        ("baseline", "adx_below_20"),
        ("baseline", "chop_above_61_8"),
        ("baseline", "er_below_0_3"),
        ("baseline", "vr_below_1"),
    ]
    assert len(table) == 2 * len(groups) * len(METRICS)  # two intervals, one horizon
    h1 = table[table["bar_interval"] == "1h"].set_index(["group_kind", "group", "metric"])
    assert [k[:2] for k in h1.index[::4]] == groups

    # universe 1h, H = 2: bars idx 5..9 (train_frac 0.5), bars 8, 9 have no t + 2 -> idx 5, 6, 7
    # AAA idx 5 (RANGE_OK): closes 16, 21 -> hold 0 (21 > 20.1), containment 1/2, 1 traversal? 16 middle,
    #   21 upper -> 0; idx 6 (RANGE_WEAK): 21, 25 -> hold 0, containment 0; idx 7 (TREND): 25, 15 -> 0, 0.5
    # BBB idx 5, 6, 7 (RANGE_OK): 15, 15 -> hold 1, containment 1, ratio (15.5 - 14.5) / 10, 0 traversals
    assert h1.loc[("all", "ALL", "hold"), "n"] == 6
    assert h1.loc[("all", "ALL", "hold"), "mean"] == pytest.approx(3 / 6)
    assert h1.loc[("verdict", "RANGE_OK", "hold"), ["n", "mean"]].tolist() == [4, pytest.approx(3 / 4)]
    assert h1.loc[("verdict", "RANGE_OK", "containment"), "mean"] == pytest.approx((0.5 + 3) / 4)
    assert h1.loc[("verdict", "RANGE_WEAK", "containment"), ["n", "mean"]].tolist() == [1, 0.0]
    assert h1.loc[("verdict", "TREND", "realized_range_ratio"), "mean"] == pytest.approx((25.5 - 14.5) / 10)
    assert h1.loc[("verdict", "TRANSITION", "hold"), "n"] == 0
    assert math.isnan(h1.loc[("verdict", "TRANSITION", "hold"), "mean"])
    assert h1.loc[("verdict", "RANGE_OK", "hold"), "diff_vs_all"] == pytest.approx(3 / 4 - 3 / 6)
    # baselines: bars where the column is true (None = false); er_below_0_3 never true
    assert h1.loc[("baseline", "adx_below_20", "hold"), "n"] == 2  # idx 6 of AAA and BBB
    assert h1.loc[("baseline", "chop_above_61_8", "traversals"), "n"] == 6
    assert h1.loc[("baseline", "er_below_0_3", "hold"), "n"] == 0
    assert h1.loc[("baseline", "vr_below_1", "hold"), "mean"] == pytest.approx(3 / 6)
    # the baseline true on every bar is the ALL group: identical paired resamples
    assert h1.loc[("baseline", "chop_above_61_8", "hold"), ["diff_vs_all", "diff_ci_low", "diff_ci_high"]].tolist() == [
        0.0,
        0.0,
        0.0,
    ]
    all_rows = h1.xs(("all", "ALL"), level=("group_kind", "group"))
    assert (all_rows[["diff_vs_all", "diff_ci_low", "diff_ci_high"]] == 0).all().all()
    ok = h1["n"] > 0
    assert (h1.loc[ok, "ci_low"] <= h1.loc[ok, "mean"] + 1e-12).all()
    assert (h1.loc[ok, "mean"] <= h1.loc[ok, "ci_high"] + 1e-12).all()


def test_outcome_report_intervals_match_the_public_bootstrap():
    bars = report_frame()
    table = outcome_report(bars, CFG)["outcomes"]
    outcomes = forward_outcomes(bars, (2,))
    universe = (
        evaluation_mask(bars, 0.5) & bars["verdict"].notna().to_numpy() & bars["bar_interval"].eq("1h").to_numpy()
    )
    sub = outcomes[universe]  # already in (series, idx) order
    values, groups = sub["containment_2"].to_numpy(), sub["series_key"].to_numpy()
    ok_mask = sub["verdict"].eq("RANGE_OK").to_numpy()
    row = table.set_index(["bar_interval", "group", "metric"]).loc[("1h", "RANGE_OK", "containment")]
    mean, lo, hi = block_bootstrap_ci(values, groups, 2, n_boot=300, seed=0, mask=ok_mask)
    assert [row["mean"], row["ci_low"], row["ci_high"]] == pytest.approx([mean, lo, hi], rel=1e-12)
    diff, dlo, dhi = block_bootstrap_diff_ci(values, groups, ok_mask, np.ones(len(values), bool), 2, n_boot=300)
    assert [row["diff_vs_all"], row["diff_ci_low"], row["diff_ci_high"]] == pytest.approx([diff, dlo, dhi], rel=1e-12)


def test_outcome_report_auc_reliability_and_shares():
    bars = report_frame()
    report = outcome_report(bars, CFG)
    auc_table = report["auc"].set_index("bar_interval")
    assert list(report["auc"].columns) == ["bar_interval", "horizon", "n", "n_hold", "auc", "auc_shuffled"]
    # 1h universe rows (sorted by series, idx): AAA 5, 6, 7 (hold 0), BBB 5, 6, 7 (hold 1)
    scores = np.array([10 * i % 7 for i in (5, 6, 7, 5, 6, 7)], dtype=float)
    assert auc_table.loc["1h", ["n", "n_hold"]].tolist() == [6, 3]
    assert auc_table.loc["1h", "auc"] == auc(scores, np.array([0, 0, 0, 1, 1, 1]))
    assert 0 <= auc_table.loc["1h", "auc_shuffled"] <= 1

    rel = report["reliability"]
    assert len(rel) == 2 * len(VERDICTS) * 5
    ok_1h = rel[(rel["bar_interval"] == "1h") & (rel["verdict"] == "RANGE_OK")]
    # RANGE_OK 1h: AAA idx 5 (confidence 0.1, hold 0), BBB idx 5, 6, 7 (0.1, 0.3, 0.5; hold 1)
    assert ok_1h["n"].tolist() == [2, 1, 1, 0, 0]
    assert ok_1h["outcome_rate"].tolist()[:3] == [0.5, 1.0, 1.0]

    shares = report["shares"].set_index(["exchange", "symbol", "bar_interval"])
    aaa = shares.loc[("x", "AAA", "1h")]
    assert aaa["n_bars"] == 9  # idx 0 has no verdict
    assert aaa[["share_range_ok", "share_range_weak", "share_trend", "share_transition"]].tolist() == pytest.approx(
        [4 / 9, 1 / 9, 4 / 9, 0.0]
    )
    # TREND OK OK TREND OK WEAK TREND TREND OK: 6 changes in 9 bars
    assert aaa["verdict_changes_per_100"] == pytest.approx(600 / 9)
    assert shares.loc[("x", "BBB", "1h"), "verdict_changes_per_100"] == 0.0
    assert shares.loc[("y", "AAA", "4h"), "verdict_changes_per_100"] == pytest.approx(10.0)
    assert verdict_shares(bars).equals(report["shares"])


def test_outcome_report_is_deterministic_and_validates():
    bars = report_frame()
    first, second = outcome_report(bars, CFG), outcome_report(bars, CFG)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    # the warehouse returns rows in no fixed order: the same rows reversed give the same report
    # (the shuffled AUC and the bootstrap used to follow the first-seen order of the series)
    backwards = outcome_report(bars.iloc[::-1].reset_index(drop=True), CFG)
    for name in ("outcomes", "auc"):
        pd.testing.assert_frame_equal(first[name], backwards[name])
    with pytest.raises(ValueError, match="unknown verdicts"):
        outcome_report(bars.assign(verdict="RANGE"), CFG)
    with pytest.raises(ValueError, match=r"missing input columns \['baseline_vr_below_1'\]"):
        outcome_report(bars.drop(columns="baseline_vr_below_1"), CFG)


def test_without_outcomes_the_report_skips_only_the_bootstrap_table():
    """with_outcomes=False: auc / reliability / shares without the bootstrap."""
    bars = report_frame()
    full, light = outcome_report(bars, CFG), outcome_report(bars, CFG, with_outcomes=False)
    assert len(full["outcomes"]) > 0 and light["outcomes"].empty
    assert list(light["outcomes"].columns) == list(full["outcomes"].columns)
    for name in ("auc", "reliability", "shares"):
        pd.testing.assert_frame_equal(light[name], full[name])


def test_shuffled_null_rows_evaluate_the_surrogate_bars_like_the_real_ones():
    """SHUF rows: the surrogate build's bars through the same evaluation; diff_vs_all against the real
    ALL, with no paired interval; real rows unchanged; NOT_BUILT marks a report without the null."""
    bars = report_frame()
    null = report_frame()
    # the null's AAA 1h closes all at 15 inside [10, 20]: its RANGE_OK idx 5 holds (1h universe idx 5..7)
    null.loc[(null["symbol"] == "AAA") & (null["bar_interval"] == "1h"), ["close", "high", "low"]] = [15.0, 15.5, 14.5]
    plain = outcome_report(bars, CFG)["outcomes"]
    table = outcome_report(bars, CFG, null_bars=null)["outcomes"]
    pd.testing.assert_frame_equal(table.iloc[: len(plain)], plain)
    shuf = table.iloc[len(plain) :].set_index(["bar_interval", "group", "metric"])
    assert set(table.iloc[len(plain) :]["group_kind"]) == {"shuffled_null"}
    assert sorted(shuf.xs("1h").index.get_level_values(0).unique()) == sorted(
        ["SHUF", *[f"SHUF_{v}" for v in VERDICTS]]
    )
    # every 1h universe bar of the null holds: AAA idx 5, 6, 7 and BBB idx 5, 6, 7
    assert shuf.loc[("1h", "SHUF", "hold"), ["n", "mean"]].tolist() == [6, 1.0]
    assert shuf.loc[("1h", "SHUF_RANGE_OK", "hold"), ["n", "mean"]].tolist() == [4, 1.0]
    assert shuf.loc[("1h", "SHUF", "hold"), "diff_vs_all"] == pytest.approx(1.0 - 3 / 6)
    assert shuf[["diff_ci_low", "diff_ci_high"]].isna().all().all()
    missing = go.not_built_row(plain)
    assert missing[["group_kind", "group", "n"]].values.tolist() == [["shuffled_null", "NOT_BUILT", 0]]
    assert list(missing.columns) == list(go.OUTCOME_COLUMNS)


def test_series_bootstrap_resamples_whole_series():
    from market_regimes.research.grid_outcomes import series_bootstrap_ci

    # ten series with one event each: the within-series block bootstrap has nothing to draw
    # from (a zero-width interval); the series bootstrap does
    values, groups = np.arange(10, dtype=float), np.array([f"s{i}" for i in range(10)], dtype=object)
    assert block_bootstrap_ci(values, groups, 1, n_boot=200)[1:] == (4.5, 4.5)
    mean, lo, hi = series_bootstrap_ci(values, groups, n_boot=2000, seed=1)
    assert mean == 4.5 and 2.4 < lo < 3.6 and 5.4 < hi < 6.6  # sd of a mean of 10 ~ 2.87 / sqrt(10)
    med, lo, hi = series_bootstrap_ci(values, groups, n_boot=500, seed=1, statistic="median")
    assert med == 4.5 and lo < 4.5 < hi
    # a series is drawn with all of its events: two series of constant values 0 and 1, three
    # and one events: every resample mean is 0, 1, 1/4 or 3/4 ... in steps of whole series
    m, lo, hi = series_bootstrap_ci(
        np.array([0.0, 0.0, 0.0, 1.0]), np.array(["a", "a", "a", "b"], dtype=object), n_boot=400, seed=0
    )
    assert m == 0.25 and lo == 0.0 and hi == 1.0
    assert all(np.isnan(series_bootstrap_ci(np.array([np.nan]), np.array(["a"], dtype=object))))
    with pytest.raises(ValueError, match="statistic"):
        series_bootstrap_ci(values, groups, statistic="mode")


def test_average_ranks_are_the_mid_ranks_of_ties():
    rng = np.random.default_rng(4)
    values = rng.integers(0, 12, size=400).astype(float) / 4  # many ties
    # mid-rank: the values below, plus the mean of 1..(number of equal values)
    expected = np.array([(values < v).sum() + ((values == v).sum() + 1) / 2 for v in values])
    assert np.array_equal(go._average_ranks(values), expected)
    assert go._average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert go._average_ranks(np.zeros(0)).tolist() == []


def test_outcome_report_tables_are_the_same_whatever_else_is_asked_for():
    bars = report_frame()
    full = outcome_report(bars, CFG)
    only_outcomes = outcome_report(bars, CFG, tables=("outcomes",))
    calibration = outcome_report(bars, CFG, tables=("auc", "reliability"))
    assert list(only_outcomes) == ["outcomes"] and list(calibration) == ["auc", "reliability"]
    pd.testing.assert_frame_equal(only_outcomes["outcomes"], full["outcomes"], check_exact=True)
    pd.testing.assert_frame_equal(calibration["auc"], full["auc"], check_exact=True)
    pd.testing.assert_frame_equal(calibration["reliability"], full["reliability"], check_exact=True)
    with pytest.raises(ValueError, match="unknown tables"):
        outcome_report(bars, CFG, tables=("outcome",))


def test_block_bootstrap_cis_equal_one_call_per_array():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.array(["a", "b", "c"], dtype=object), [40, 25, 31])
    arrays = [rng.normal(size=96), rng.normal(size=96) * 3 + 1, np.full(96, 0.25)]
    shared = go.block_bootstrap_cis(arrays, groups, 7, n_boot=300, seed=5)
    apart = [block_bootstrap_ci(a, groups, 7, n_boot=300, seed=5) for a in arrays]
    assert shared == apart  # exactly the same numbers
    assert shared[2] == (0.25, 0.25, 0.25)
    assert go.block_bootstrap_cis([], groups, 7) == []


def test_evaluation_split_same_rows_whether_or_not_the_input_is_time_ordered():
    # 3 series x 5 bars; the split of a shuffled frame (sorted by the function) equals the
    # split of the frame read already in (series_key, bar_start) order (kept as it is)
    times = pd.date_range("2025-01-01", periods=5, freq="h")
    ordered = pd.DataFrame(
        {
            "series_key": pd.array(np.repeat(["a|X", "b|X", "b|Y"], 5), dtype="string"),
            "bar_start": np.tile(times, 3),
            "value": np.arange(15.0),
        }
    )
    shuffled = ordered.sample(frac=1.0, random_state=2)
    rows_a, eval_a = evaluation_split(ordered, 0.6, ("value",))
    rows_b, eval_b = evaluation_split(shuffled, 0.6, ("value",))
    pd.testing.assert_frame_equal(rows_a, rows_b)
    assert rows_a["value"].tolist() == list(np.arange(15.0))
    assert eval_a.tolist() == eval_b.tolist() == ([False] * 3 + [True] * 2) * 3
