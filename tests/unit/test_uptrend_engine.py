"""Uptrend Engine flags, scores and levels (docs/uptrend-engine.md) on hand-made
inputs: every expected number below is computed by hand from the doc's formulas with the
seed's constants (seeds/uptrend_config.csv)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market_regimes.engines.uptrend_config import UptrendConfig, load_config_csv
from market_regimes.engines.uptrend_engine import INPUTS, SegmentResume, lookback_bars, run_segment
from market_regimes.engines.uptrend_frames import (
    engine_state_json,
    states_losing_last_row,
    stored_states,
    uptrend_state_rows,
)
from market_regimes.engines.uptrend_levels import SupportResistance, cluster_levels, swing_pivots, zigzag_pivots
from market_regimes.engines.uptrend_scores import (
    PREFIX_NAMES,
    discount,
    ols10_slope,
    overextension,
    trend_decay,
    trend_strength,
)

CFG = load_config_csv()
BULL = dict(ema_20=110, ema_30=109, ema_60=105, ema_144=100, ema_250=95, ema_333=90)
BEAR = dict(ema_20=80, ema_30=81, ema_60=85, ema_144=90, ema_250=95, ema_333=100)
MIXED = dict(ema_20=101, ema_30=102, ema_60=100, ema_144=103, ema_250=99, ema_333=98)  # fast above 60, no stack
NEUTRAL = dict(
    ema_20_slope=0.001,
    ema_60_slope=0.001,
    ema_144_slope=0.001,
    ema_250_slope=0.001,
    ema_333_slope=0.001,
    d_ema_144_slope=0.0,
    atr_14=2.0,
    atr_mean_20=2.0,
    rsi_14=50.0,
    rsi_slope_10=0.0,
    adx_14=20.0,
    adx_slope_10=0.0,
    sep_fast=0.0,
    sep_mid=0.0,
    d_sep_fast_5=0.0,
    d_sep_mid_5=0.0,
    volume_z=0.0,
)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def segment(rows):
    """rows: list of (close, dict of inputs overriding NEUTRAL) -> (close array, inputs dict)."""
    close = np.array([r[0] for r in rows], dtype=float)
    inputs = {k: np.array([{**NEUTRAL, **r[1]}[k] for r in rows], dtype=float) for k in INPUTS}
    return close, inputs


def run(rows, cfg=CFG, volume=None):
    close, inputs = segment(rows)
    return run_segment(close, inputs, cfg, volume)


# --- config -----------------------------------------------------------------------------


def test_config_rejects_missing_unknown_and_bad_values():
    values = {f: 1 for f in UptrendConfig.__dataclass_fields__}
    UptrendConfig.from_mapping(values)
    with pytest.raises(ValueError, match=r"missing keys \['trim_ox'\]"):
        UptrendConfig.from_mapping({k: v for k, v in values.items() if k != "trim_ox"})
    with pytest.raises(ValueError, match=r"unknown keys \['nope'\]"):
        UptrendConfig.from_mapping({**values, "nope": 1})
    with pytest.raises(ValueError, match="max_levels = 2.5 is not a valid int"):
        UptrendConfig.from_mapping({**values, "max_levels": 2.5})
    with pytest.raises(ValueError, match="first_dip_enabled = 'maybe' is not a valid bool"):
        UptrendConfig.from_mapping({**values, "first_dip_enabled": "maybe"})


# --- scores -----------------------------------------------------------------------------


def test_trend_strength_by_hand():
    assert trend_strength(np.array([0.0]), np.array([0.0]), CFG)[0] == 0.5
    # rsi part clamp((10 + 5)/10) = 1, adx part clamp((-3 + 2)/4) = 0
    assert trend_strength(np.array([10.0]), np.array([-3.0]), CFG)[0] == 0.5
    # (1 + 5)/10 = .6, (1 + 2)/4 = .75 -> .675
    assert trend_strength(np.array([1.0]), np.array([1.0]), CFG)[0] == pytest.approx(0.675, abs=1e-15)


def test_overextension_by_hand():
    a = np.array
    ox = overextension(
        a([104.0]),
        a([101.0]),
        a([100.0]),
        a([98.0]),
        a([96.0]),
        a([2.0]),
        a([1.6]),
        a([0.0015]),
        a([-0.001]),
        a([0.0008]),
        CFG,
    )[0]
    expected = (
        0.35 * sig(3 / 3)
        + 0.20 * sig(4 / 4)
        + 0.10 * sig(6 / 3)
        + 0.10 * sig(8 / 4)
        + 0.10 * sig(1)
        + 0.05 * sig(-1)
        + 0.05 * sig(2 / 1.6 - 1)
        + 0.05 * sig(-1)
    )
    assert ox == pytest.approx(expected, rel=1e-14)


def test_discount_by_hand():
    a = np.array
    dx = discount(
        a([95.0]),
        a([100.0]),
        a([90.0]),
        a([2.0]),
        a([2.0]),
        a([0.0]),
        a([0.0]),
        a([20.0]),
        a([0.0]),
        a([0.001]),
        a([0.8]),
        CFG,
    )[0]
    loc = math.exp(-3 * 0.5) * (1 + 0.3 * sig((0.03 - 10 / 95) / 0.02))
    relief = 0.5 * sig((1 - 0.9) / 0.05) + 0.5 * (0.5 * 0.5 + 0.5 * 0.5)
    expected = (0.45 * loc + 0.25 * 0.5 + 0.25 * relief + 0.05) * (1 - 0.5 * 0.2)
    assert dx == pytest.approx(expected, rel=1e-14)
    # ADX below 18: adx_rel = 0; E144 <= E333: hallway x = 1 when P <= E144
    dx2 = discount(
        a([95.0]),
        a([96.0]),
        a([96.0]),
        a([2.0]),
        a([2.0]),
        a([0.0]),
        a([0.0]),
        a([17.9]),
        a([0.0]),
        a([0.0]),
        a([0.5]),
        CFG,
    )[0]
    loc2 = math.exp(-3) * (1 + 0.3 * sig(0.03 / 0.02))
    relief2 = 0.5 * sig(2) + 0.5 * (0.5 * 0.5)
    assert dx2 == pytest.approx(0.45 * loc2 + 0.25 * 0.5 + 0.25 * relief2, rel=1e-14)


def test_ols10_slope_of_a_line_and_nan_warmup():
    y = 3.0 + 0.25 * np.arange(12)
    slope = ols10_slope(y)
    assert np.isnan(slope[:9]).all()
    assert slope[9:] == pytest.approx([0.25] * 3, rel=1e-14)


def test_trend_decay_blends_three_rising_windows():
    n = 40
    close = np.full(n, 120.0)
    rsi_slope = -0.1 * np.arange(n)
    zero = np.zeros(n)
    emas = np.full(n, 100.0)
    zig = zigzag_pivots(close, np.full(n, 2.0), CFG.zigzag_atr_mult, CFG.zigzag_min_leg_bars)
    edx = trend_decay(
        np.array([9, 30]),
        np.array([9, 30]),
        close=close,
        volume=None,
        ema_144=emas,
        ema_250=emas,
        ema_333=emas * 0.9,
        ema_250_slope=zero,
        ema_333_slope=zero,
        rsi_slope_10=rsi_slope,
        adx_slope_10=zero,
        zigzag=zig,
        cfg=CFG,
    )
    assert edx[0] == 0.5  # n < 10
    # windows at bar 30: last 30 (1..30), 20 (11..30), 10 (21..30) bars; mean rsi slope -0.1 x mean index
    slow = [(0.5 + sig(0.1 * np.mean(np.arange(30 - w + 1, 31)) / 5) + 0.5) / 3 for w in (30, 20, 10)]
    assert slow[2] > slow[1] > slow[0]
    blended_slow = 0.2 * slow[0] + 0.3 * slow[1] + 0.5 * slow[2]
    # struct: no zigzag pivot (0.5); part: flat AVWAP (sig(0)); comp: windows < 144 bars (0.5)
    assert edx[1] == pytest.approx((0.30 * blended_slow + 0.25 * 0.5 + 0.20 * 0.5 + 0.10 * 0.5) / 0.85, rel=1e-14)


# --- levels -----------------------------------------------------------------------------


def test_cluster_levels_joins_the_first_cluster_within_6_percent():
    prices, strengths = cluster_levels([100, 103, 110, 105, 90], 0.06, 9)
    assert prices == pytest.approx([308 / 3, 90, 110])  # ties: the most recent cluster first
    assert strengths == [3, 1, 1]
    assert cluster_levels([100, 103, 110, 105, 90], 0.06, 2)[1] == [3, 1]


def test_swing_pivots_need_five_bars_each_side_and_half_a_percent():
    close = np.array([100, 101, 102, 103, 104, 110, 104, 103, 102, 101, 100, 100.3, 100, 99.9, 99.8, 99.7, 99.6])
    piv = swing_pivots(close, 5, 0.005)
    assert piv.idx.tolist() == [5] and piv.kind.tolist() == [1] and piv.confirm.tolist() == [10]
    # 104.5 is above its neighbours but 104.5 / 104.0 = 1.0048: less than 0.5% above the lowest
    flat = np.array([104.0, 104.1, 104.2, 104.3, 104.4, 104.5, 104.4, 104.3, 104.2, 104.1, 104.05])
    assert len(swing_pivots(flat, 5, 0.005).idx) == 0
    flat[5] = 104.6  # 104.6 / 104.0 = 1.0058
    assert swing_pivots(flat, 5, 0.005).idx.tolist() == [5]
    low = swing_pivots(200 - flat, 5, 0.005)  # mirrored: a swing low
    assert low.idx.tolist() == [5] and low.kind.tolist() == [-1]


def test_support_resistance_point_in_time_and_boost():
    close = np.array([100, 101, 102, 103, 104, 110, 104, 103, 102, 101, 100, 100, 100], dtype=float)
    sr = SupportResistance(close, window=500, swing_bars=5, min_prominence=0.005, cluster_pct=0.06, max_levels=9)
    assert sr.levels(9) == ([], [])  # the high at bar 5 is usable from bar 10
    prices, strengths = sr.levels(10)
    assert prices == [110.0, 110.0, 100.0] and strengths == [1, 1, 1]  # level, running max, running min
    # anchor 109, ATR 2: d = 1 -> 0.25 x 1 x (1 - 1/2)
    assert sr.boost(10, 109.0, 2.0, 0.25, 1.0) == pytest.approx(0.125)
    assert sr.boost(10, 105.0, 2.0, 0.25, 1.0) == 0.0
    assert sr.near(10, 108.0, 2.0) and not sr.near(10, 107.9, 2.0)
    short = SupportResistance(close, window=5, swing_bars=5, min_prominence=0.005, cluster_pct=0.06, max_levels=9)
    assert short.levels(10) == ([], [])  # bar 5 is outside the trailing 5 bars (6..10)


def test_zigzag_confirms_after_an_atr_reversal_and_keeps_legs_of_four_bars():
    close = np.array([10, 12, 14, 16, 15, 13, 12, 11, 10, 12, 14, 15], dtype=float)
    piv = zigzag_pivots(close, np.full(len(close), 1.0), 1.2, 4)
    # first reversal: 12 - 10 >= 1.2 at bar 1 -> low at 0; high 16 (bar 3) is only 3 bars
    # after it: confirmed once it is 4 bars... never (a leg needs 4 bars), so the walk goes on
    assert piv.idx.tolist()[:1] == [0] and piv.kind.tolist()[:1] == [-1] and piv.confirm.tolist()[:1] == [1]
    close2 = np.array([10, 11, 12, 13, 14, 16, 15, 14.7, 13, 12, 11, 13, 14], dtype=float)
    piv2 = zigzag_pivots(close2, np.full(len(close2), 1.0), 1.2, 4)
    # low 10 at 0 (confirmed bar 2: 12 - 10 >= 1.2); high 16 at 5 confirmed at bar 7 (16 - 14.7 = 1.3);
    # low 11 at 10 (5 bars after the high) confirmed at bar 11 (13 - 11 = 2)
    assert piv2.idx.tolist() == [0, 5, 10]
    assert piv2.kind.tolist() == [-1, 1, -1]
    assert piv2.confirm.tolist() == [2, 7, 11]


# --- flags through the engine ----------------------------------------------------------------


def buy_rows(price, **over):
    return [(70, BEAR), (price, {**MIXED, **over})]


def test_s1_buy_on_the_s0_to_s1_bar_with_gate_and_distance_edges():
    # |P - E60| = 2 = 1 ATR (edge, <=), E60 slope up, TS = mean(1, .5) = .75 >= .6
    res = run(buy_rows(102.0, rsi_slope_10=5.0))
    assert res["state"] == ["S0", "S1"] and res["buy_flag"].tolist() == [False, True]
    assert res["sr_boost"][1] == 0.0 and res["ts_score"][1] == 0.75
    # TS = mean(.6, .5) = .55 and no S/R level: gate .55 < .6
    assert not run(buy_rows(102.0, rsi_slope_10=1.0))["buy_flag"][1]
    # |P - E60| just over 1 ATR: no gate evaluated (sr_boost NULL)
    res = run(buy_rows(102.01, rsi_slope_10=5.0))
    assert not res["buy_flag"][1] and np.isnan(res["sr_boost"][1])
    # E60 slope down and E144 slope down: no buy; E144 slope == 0 is enough
    assert not run(buy_rows(101.0, rsi_slope_10=5.0, ema_60_slope=-1e-4, ema_144_slope=-1e-9))["buy_flag"][1]
    assert run(buy_rows(101.0, rsi_slope_10=5.0, ema_60_slope=-1e-4, ema_144_slope=0.0))["buy_flag"][1]


def test_s2_retest_rebuy():
    rows = [(70, BEAR), (100.5, MIXED), (98.5, MIXED)]  # S0, S1, S2 (P > E333 = 98)
    res = run(rows + [(99.0, {**MIXED, "rsi_slope_10": 5.0})])  # |99 - 98| = 1 <= 0.5 x 2
    assert res["state"][-1] == "S2" and res["rebuy_flag"][-1]
    assert not run(rows + [(99.01, {**MIXED, "rsi_slope_10": 5.0})])["rebuy_flag"][-1]
    # slope test: E250 slope <= 0 and E333 slope < 0 -> no rebuy
    assert not run(rows + [(99.0, {**MIXED, "rsi_slope_10": 5.0, "ema_250_slope": 0.0, "ema_333_slope": -1e-6})])[
        "rebuy_flag"
    ][-1]


def test_s3_reclaim_after_emergency_exit():
    res = run([(120, BULL), (89, BULL), (90, BULL)])  # bootstrap S3; P < E333 = 90; P >= E333
    assert res["state"] == ["S3"] * 3
    assert res["emergency_exit"] == [False, True, False]
    assert res["rebuy_flag"].tolist() == [False, False, True]
    assert not run([(120, BULL), (89, BULL), (89.99, BULL)])["rebuy_flag"][2]


def test_s3_discount_rebuy_needs_dx_above_threshold():
    # P between E333 and E144, ATR expanding, strong RSI/ADX slopes: high DX
    strong = {
        **BULL,
        "rsi_slope_10": 5.0,
        "adx_slope_10": 2.0,
        "atr_14": 2.0,
        "atr_mean_20": 1.0,
        "d_ema_144_slope": 0.001,
        "volume_z": -3.0,
    }
    res = run([(120, BULL), (91.0, strong)])
    dx = res["dx"][1]
    assert res["edx"][1] == 0.5 and dx >= 0.6 and res["rebuy_flag"][1]
    weak = {**strong, "volume_z": 3.0, "atr_mean_20": 4.0, "rsi_slope_10": -5.0}
    res = run([(120, BULL), (91.0, weak)])
    assert res["dx"][1] < 0.6 and not res["rebuy_flag"][1]


def test_first_dip_once_per_s3_episode_only_when_enabled():
    dip = {**BULL, "rsi_slope_10": 5.0}
    rows = [(120, BULL), (111, dip), (110.5, dip)]  # n = 1, 2: |P - E20| <= 1 (0.5 ATR)
    assert not run(rows)["first_dip_buy_flag"].any()
    res = run(rows, cfg=load_config_csv(first_dip_enabled=1))
    assert res["first_dip_buy_flag"].tolist() == [False, True, False]
    assert res["buy_flag"].tolist() == [False, True, False]


def test_trim_needs_ox_and_a_level_within_one_atr():
    closes = [100, 101, 102, 103, 104, 110, 104, 103, 102, 101, 100]
    rows = [(c, {**BULL, "ema_20": 100, "ema_30": 99}) for c in closes]  # EMA mix -> S4 (no stack)
    hot = {
        **MIXED,
        "ema_20": 99,
        "ema_30": 99.5,
        "ema_60": 98.5,
        "ema_144": 97,
        "ema_250": 96,
        "ema_333": 95,
        "d_sep_fast_5": 0.01,
        "d_sep_mid_5": 0.01,
    }
    s0 = [(70, BEAR), (110.5, hot), (109.0, hot)]  # S0, S1, S2 at 109 (level 110 within 2)
    res = run(rows + s0)
    assert res["state"][-3:] == ["S0", "S1", "S2"]
    assert res["ox"][-1] >= 0.65 and res["trim_flag"][-1]
    assert not run(rows + s0[:-1] + [(107.9, hot)])["trim_flag"][-1]  # 110 - 107.9 > 1 ATR; min 100 far


def test_segment_restart_has_no_prev_state():
    close, inputs = segment([(120, BULL), (120, BULL), (70, BEAR)])
    frame = pd.DataFrame({"close": close, **inputs})
    frame["driver"], frame["timeframe"] = "BTC", "meso"
    frame["segment_id"] = [0, 0, 1]
    frame["bar_start"] = pd.date_range("2024-01-01", periods=3, freq="h")
    out = uptrend_state_rows(frame, CFG)
    assert out["state"].tolist() == ["S3", "S3", "S0"]
    assert out["prev_state"].isna().tolist() == [True, False, True]
    assert out["s3_start_ts"].tolist()[:2] == [pd.Timestamp("2024-01-01 00:00")] * 2


# --- prefix invariance -------------------------------------------------------------------------


def random_segment(seed: int, n: int):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    s = pd.Series(close)
    inputs = {f"ema_{k}": s.ewm(span=k, adjust=False).mean().to_numpy().copy() for k in (20, 30, 60, 144, 250, 333)}
    for k in (
        "ema_20_slope",
        "ema_60_slope",
        "ema_144_slope",
        "ema_250_slope",
        "ema_333_slope",
        "d_ema_144_slope",
        "d_sep_fast_5",
        "d_sep_mid_5",
        "sep_fast",
        "sep_mid",
        "volume_z",
    ):
        inputs[k] = rng.normal(0, 0.002, n)
    atr = s.diff().abs().rolling(14).mean().to_numpy()
    inputs.update(
        atr_14=atr,
        atr_mean_20=pd.Series(atr).rolling(20).mean().to_numpy(),
        rsi_14=rng.uniform(20, 80, n),
        rsi_slope_10=rng.normal(0, 3, n),
        adx_14=rng.uniform(10, 40, n),
        adx_slope_10=rng.normal(0, 1, n),
    )
    inputs["ema_20"][:5] = np.nan  # warm-up
    return close, inputs, rng.uniform(0, 10, n)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(50, 1_500))
def test_prefix_invariance(seed, cut):
    close, inputs, volume = random_segment(seed, 1_600)
    cfg = load_config_csv(first_dip_enabled=1)
    full = run_segment(close, inputs, cfg, volume)
    part = run_segment(close[:cut], {k: v[:cut] for k, v in inputs.items()}, cfg, volume[:cut])
    m = cut - part["first_bar"]
    assert part["first_bar"] == full["first_bar"]
    for key, value in part.items():
        if key in ("first_bar", "resume", "checkpoints"):
            continue
        np.testing.assert_array_equal(np.asarray(value)[:m], np.asarray(full[key])[:m], err_msg=key)


ROW_KEYS = (
    "state",
    "prev_state",
    "emergency_exit",
    "exit_position",
    "exit_reason",
    "buy_flag",
    "first_dip_buy_flag",
    "rebuy_flag",
    "trim_flag",
    "ts_score",
    "sr_boost",
    "ox",
    "dx",
    "edx",
)


def walk_in_parts(seed: int, cuts: list[int]):
    """One random segment walked whole and in parts ending at `cuts`, each part continuing
    from the previous part's state (through its JSON text): (rows of the parts, rows of the
    whole walk, number of continued parts)."""
    close, inputs, volume = random_segment(seed, 2_400)
    cfg = load_config_csv(first_dip_enabled=1)
    full = run_segment(close, inputs, cfg, volume)
    f = full["first_bar"]
    got = {k: [] for k in (*ROW_KEYS, "s3_start")}
    resume, done, continued = None, 0, 0
    for cut in [*sorted(cuts), len(close)]:
        lo = 0 if resume is None else resume.offset
        res = run_segment(close[lo:cut], {k: v[lo:cut] for k, v in inputs.items()}, cfg, volume[lo:cut], resume=resume)
        skip = max(done, f) - lo - res["first_bar"]  # rows an earlier part produced
        for k in ROW_KEYS:
            got[k].extend(np.asarray(res[k], dtype=object)[skip:].tolist())
        s3 = np.asarray(res["s3_start"])[skip:]
        got["s3_start"].extend(np.where(s3 < 0, -1, s3 + lo).tolist())
        continued += resume is not None
        resume = None if res["resume"] is None else SegmentResume.from_json(res["resume"].to_json())
        if resume is not None:
            assert resume.last_idx == cut - 1 and resume.offset <= cut - lookback_bars(cfg)
        done = cut
    want = {k: np.asarray(full[k], dtype=object).tolist() for k in ROW_KEYS}
    want["s3_start"] = np.asarray(full["s3_start"]).tolist()
    return got, want, continued


def assert_same_rows(got, want):
    for k, values in want.items():
        assert len(got[k]) == len(values), k
        # NaN == NaN (scores not computed on a bar); everything else bit for bit
        assert [g == w or (g != g and w != w) for g, w in zip(got[k], values)] == [True] * len(values), k


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(700, 2_399), min_size=1, max_size=3, unique=True))
def test_a_walk_continued_from_its_stored_state_equals_one_walk(seed, cuts):
    """docs/uptrend-engine.md, "Incremental runs": bit for bit the rows of one walk."""
    got, want, _ = walk_in_parts(seed, cuts)
    assert_same_rows(got, want)


@pytest.mark.parametrize("seed", [2, 3])  # seed 3 ends its first part inside an S3 episode (EDX windows)
def test_a_walk_continued_three_times_equals_one_walk(seed):
    got, want, continued = walk_in_parts(seed, [700, 1_300, 1_301, 2_000])
    assert continued == 4  # every part after the first continued from a state
    assert_same_rows(got, want)
    s3_rows = sum(s == "S3" for s in want["state"][1_300:])
    assert (s3_rows > 100) == (seed == 3), s3_rows


@pytest.mark.parametrize("seed", [2, 3])
def test_a_walk_continued_from_a_checkpoint_equals_one_walk(seed):
    """A checkpoint state (after bar c, as a revision rewind leaves it) continues the walk
    exactly; it only knows bars <= c (the same state as a walk that ended at c)."""
    close, inputs, volume = random_segment(seed, 2_400)
    cfg = load_config_csv(first_dip_enabled=1)
    full = run_segment(close, inputs, cfg, volume, checkpoints=[1_039, 1_559, 2_079])
    f = full["first_bar"]
    assert set(full["checkpoints"]) == {1_039, 1_559, 2_079}
    for c, state in full["checkpoints"].items():
        prefix = run_segment(close[: c + 1], {k: v[: c + 1] for k, v in inputs.items()}, cfg, volume[: c + 1])
        assert state == prefix["resume"] and state.last_idx == c
        lo = state.offset
        res = run_segment(close[lo:], {k: v[lo:] for k, v in inputs.items()}, cfg, volume[lo:], resume=state)
        skip = c + 1 - lo - res["first_bar"]
        got = {k: np.asarray(res[k], dtype=object)[skip:].tolist() for k in ROW_KEYS}
        s3 = np.asarray(res["s3_start"])[skip:]
        got["s3_start"] = np.where(s3 < 0, -1, s3 + lo).tolist()
        want = {k: np.asarray(full[k], dtype=object)[c + 1 - f :].tolist() for k in ROW_KEYS}
        want["s3_start"] = np.asarray(full["s3_start"])[c + 1 - f :].tolist()
        assert_same_rows(got, want)


def test_the_resumed_last_row_loses_its_state_unless_a_checkpoint():
    """Segments 1 (last row 799), 2 (checkpoint 519 and last row 699) and 3 (last row
    1,039, a checkpoint: (1,039 + 1) % 520 == 0) are stored; segments 1 and 3 continue,
    2 does not: only segment 1's last row is written again without its state."""
    cfg = load_config_csv()
    assert lookback_bars(cfg) == 520
    prefix = {k: 0.0 for k in PREFIX_NAMES}
    texts = [
        engine_state_json(1, SegmentResume(300, 799, "S0", prefix, (310, -1, 320))),
        engine_state_json(2, SegmentResume(10, 519, "S0", prefix, (20, 1, 30))),
        engine_state_json(2, SegmentResume(200, 699, "S1", prefix, (210, 1, 230))),
        engine_state_json(3, SegmentResume(600, 1_039, "S0", prefix, (610, -1, 620))),
    ]
    states = stored_states(texts)
    assert {p: s.last_idx for p, s in states.items()} == {1: 799, 2: 699, 3: 1_039}
    assert states_losing_last_row(texts, {1, 3}, states, cfg) == [(1, 799), None, None, None]
    assert states_losing_last_row(texts, {2}, states, cfg) == [None, None, (2, 699), None]


def test_a_state_that_is_not_an_uptrend_state_is_refused():
    with pytest.raises(ValueError, match="not a version-1 uptrend engine state"):
        SegmentResume.from_json('{"version": 2}')
    with pytest.raises(ValueError, match="cannot continue from previous state 'S3'"):
        close, inputs, volume = random_segment(1, 800)
        state = SegmentResume(0, 0, "S3", {k: 0.0 for k in PREFIX_NAMES}, (0, 1, 1))
        run_segment(close[100:], {k: v[100:] for k, v in inputs.items()}, CFG, volume[100:], resume=state)
