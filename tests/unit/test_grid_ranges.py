"""Grid-range engine (market_regimes/engines/grid_ranges.py) on hand-made series: every
expected number below is worked out by hand from the docstring definitions with a small
window (W = 10, K = 3) so the series stay short; property tests check prefix invariance
(point-in-time), the pivot definition and agreement with plain loop implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market_regimes.engines import grid_ranges as gr
from market_regimes.engines.grid_ranges import (
    OUTPUT_COLUMNS,
    GridRangeConfig,
    containment,
    grid_range_rows,
    grid_swing_pivots,
    load_config_csv,
    swing_levels,
    traversal_counts,
)

VALUES = {
    "window_bars": "10",
    "holdout_bars": "3",
    "swing_prominence_atr": "1.0",
    "swing_pivots": "3",
    "containment_atr_buffer": "0.5",
    "traversal_zone_frac": "0.25",
}
CFG = GridRangeConfig.from_mapping(VALUES)
NAN = np.nan


def config(**changes) -> GridRangeConfig:
    return GridRangeConfig.from_mapping({**VALUES, **changes})


# --------------------------------------------------------------------------- config
def test_config_from_mapping_converts_the_seed_text():
    assert CFG == GridRangeConfig(
        window_bars=10,
        holdout_bars=3,
        swing_prominence_atr=1.0,
        swing_pivots=3,
        containment_atr_buffer=0.5,
        traversal_zone_frac=0.25,
    )
    assert isinstance(CFG.window_bars, int) and isinstance(CFG.traversal_zone_frac, float)
    assert config(containment_atr_buffer="0").containment_atr_buffer == 0.0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"holdout_bars": "10"}, r"grid config: holdout_bars = 10 must be > 0 and < window_bars = 10"),
        ({"holdout_bars": "0"}, r"grid config: holdout_bars = 0 must be > 0"),
        ({"window_bars": "1", "holdout_bars": "1"}, r"grid config: window_bars = 1 must be >= 2"),
        ({"window_bars": "12.5"}, r"grid config: window_bars = '12.5' is not a valid int"),
        ({"swing_pivots": "0"}, r"grid config: swing_pivots = 0 must be >= 1"),
        ({"swing_pivots": "three"}, r"grid config: swing_pivots = 'three' is not a valid int"),
        ({"swing_prominence_atr": "0"}, r"grid config: swing_prominence_atr = 0.0 must be > 0"),
        ({"swing_prominence_atr": "nan"}, r"grid config: swing_prominence_atr = 'nan' is not a valid float"),
        ({"containment_atr_buffer": "-0.1"}, r"grid config: containment_atr_buffer = -0.1 must be >= 0"),
        ({"traversal_zone_frac": "0.5"}, r"grid config: traversal_zone_frac = 0.5 must be > 0 and < 0.5"),
        ({"traversal_zone_frac": "0"}, r"grid config: traversal_zone_frac = 0.0 must be > 0 and < 0.5"),
    ],
)
def test_config_rejects_bad_values_naming_key_and_value(changes, message):
    with pytest.raises(ValueError, match=message):
        config(**changes)


def test_config_rejects_missing_and_unknown_keys():
    values = {k: v for k, v in VALUES.items() if k != "swing_pivots"}
    with pytest.raises(ValueError, match=r"grid config: missing keys \['swing_pivots'\], unknown keys \[\]"):
        GridRangeConfig.from_mapping(values)
    with pytest.raises(ValueError, match=r"unknown keys \['window'\]"):
        GridRangeConfig.from_mapping({**VALUES, "window": "5"})
    with pytest.raises(ValueError, match="holdout_bars = 12"):  # direct construction is validated too
        GridRangeConfig(10, 12, 1.0, 3, 0.5, 0.25)


def test_config_from_the_shared_seed_rows():
    seed = {k: VALUES[k] for k in gr.SEED_KEYS} | {"fee_rate": "0.001", "rqs_ok_min": "50"}  # SQL-side rows
    assert GridRangeConfig.from_seed(seed, window_bars=10, holdout_bars=3) == CFG
    del seed["swing_pivots"]
    with pytest.raises(ValueError, match=r"missing keys \['swing_pivots'\]"):
        GridRangeConfig.from_seed(seed, window_bars=10, holdout_bars=3)
    with pytest.raises(ValueError, match="holdout_bars = 42 must be > 0 and < window_bars = 42"):
        GridRangeConfig.from_seed(seed | {"swing_pivots": "3"}, window_bars=42, holdout_bars=42)


def test_seed_holds_the_engine_keys():
    cfg = load_config_csv(window_bars=168, holdout_bars=24)
    assert (cfg.window_bars, cfg.holdout_bars) == (168, 24)
    assert cfg.swing_pivots >= 1 and 0 < cfg.traversal_zone_frac < 0.5
    assert load_config_csv(window_bars=10, holdout_bars=3, swing_pivots=2).swing_pivots == 2


# --------------------------------------------------------------------------- swing pivots and levels
# 24 bars; high = close + 0.25, low = close - 0.25 except the wicks high[4] = high[14] = 14.0; ATR 1, 1.0 ATR
CLOSE = np.array(
    [
        10,
        11,
        12,
        13,
        12.5,
        12,
        11.5,
        11,
        12.5,
        13,
        13.5,
        14,
        12.8,
        12.5,
        13,
        13.4,
        12.8,
        12.0,
        11.6,
        12.5,
        13,
        12.4,
        12.2,
        12.0,
    ]
)
HIGH = CLOSE + 0.25
HIGH[[4, 14]] = 14.0
LOW = CLOSE - 0.25
ATR = np.ones(len(CLOSE))


def test_swing_pivots_on_a_hand_made_zigzag():
    piv = grid_swing_pivots(HIGH, LOW, CLOSE, ATR, CFG)
    # bar 1: close 11 - low[0] 9.75 = 1.25 >= 1 -> low 0 confirmed at 1 (the first reversal)
    # bar 4: the wick high 14.0 cannot confirm itself (c > j); bar 5: 14.0 - close 12 = 2 -> high 4 at 5
    # bar 8: 12.5 - low[7] 10.75 = 1.75 -> low 7 at 8;  bar 12: 14.25 - 12.8 = 1.45 -> high 11 at 12
    # bar 14: the wick high 14.0 is 1.75 above low[13] = 12.25 but the close 13 only 0.75: no confirmation
    # bar 15: 13.4 - 12.25 = 1.15 -> low 13 at 15; the high search restarts at bar 14: its wick 14.0
    # bar 16: 14.0 - 12.8 = 1.2 -> high 14 at 16;  bar 19: 12.5 - low[18] 11.35 = 1.15 -> low 18 at 19
    # bar 21: 13.25 - 12.4 = 0.85 < 1; bar 22: 13.25 - 12.2 = 1.05 -> high 20 at 22
    assert piv.idx.tolist() == [0, 4, 7, 11, 13, 14, 18, 20]
    assert piv.kind.tolist() == [-1, 1, -1, 1, -1, 1, -1, 1]
    assert piv.price.tolist() == pytest.approx([9.75, 14.0, 10.75, 14.25, 12.25, 14.0, 11.35, 13.25])
    assert piv.confirm.tolist() == [1, 5, 8, 12, 15, 16, 19, 22]
    # a larger prominence confirms fewer pivots: 2 ATR
    wide = grid_swing_pivots(HIGH, LOW, CLOSE, ATR, config(swing_prominence_atr="2"))
    # low 0 at bar 2 (12 - 9.75 = 2.25); high 4 (14.0) at bar 5 (14 - 12 = 2); low 7 (10.75) at
    # bar 9 (13 - 10.75 = 2.25, bar 8 only 1.75); high 11 (14.25) at 17 (14.25 - 12 = 2.25)
    assert wide.idx.tolist() == [0, 4, 7, 11] and wide.confirm.tolist() == [2, 5, 9, 17]


def test_swing_pivots_wait_for_the_atr_and_scale_with_it():
    atr = ATR.copy()
    atr[:3] = NAN  # warming ATR: bars 1, 2 confirm nothing
    piv = grid_swing_pivots(HIGH, LOW, CLOSE, atr, CFG)
    # bar 3: close 13 - low 9.75 = 3.25 -> low 0 at 3; the rest as before
    assert piv.idx.tolist()[:2] == [0, 4] and piv.confirm.tolist()[:2] == [3, 5]
    double = grid_swing_pivots(HIGH, LOW, CLOSE, 2 * ATR, CFG)  # 1 x (2 ATR) = 2 ATR
    assert double.confirm.tolist() == [2, 5, 9, 17]


def test_swing_levels_window_fit_part_and_warm_up():
    levels = swing_levels(HIGH, LOW, CLOSE, ATR, CFG)
    assert list(levels.columns) == ["swing_support", "swing_resistance", "swing_support_fit", "swing_resistance_fit"]
    assert levels.dtypes.eq("float64").all() and len(levels) == len(CLOSE)
    assert levels.iloc[:9].isna().all().all()  # t < W - 1 = 9
    got = levels.loc[[9, 16, 19, 23]].to_numpy()
    expected = [
        # t=9, window 0..9: lows 0, 7 -> median(9.75, 10.75); high 4. Fit (by bar 6): low 0, high 4 (conf 5)
        [10.25, 14.0, 9.75, 14.0],
        # t=16, window 7..16: lows 7, 13; highs 11, 14 (conf 16). Fit (by 13): low 7, high 11 (conf 12)
        [11.5, 14.125, 10.75, 14.25],
        # t=19, window 10..19: lows 13, 18 (conf 19); highs 11, 14. Fit (by 16): low 13; highs 11, 14
        [11.8, 14.125, 12.25, 14.125],
        # t=23, window 14..23: low 18; highs 14, 20 (conf 22). Fit (by 20): low 18; high 14 (20 confirms at 22)
        [11.35, 13.625, 11.35, 14.0],
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_swing_levels_take_the_median_of_the_latest_pivots():
    # W = 20 at t = 23: window 4..23 holds lows 7, 13, 18 and highs 4, 11, 14, 20
    wide = swing_levels(HIGH, LOW, CLOSE, ATR, config(window_bars="20"))
    # last 3 lows 10.75, 12.25, 11.35 -> 11.35; last 3 highs 14.25, 14.0, 13.25 -> 14.0
    assert wide.loc[23, "swing_support"] == pytest.approx(11.35)
    assert wide.loc[23, "swing_resistance"] == pytest.approx(14.0)
    two = swing_levels(HIGH, LOW, CLOSE, ATR, config(window_bars="20", swing_pivots="2"))
    assert two.loc[23, "swing_support"] == pytest.approx((12.25 + 11.35) / 2)
    assert two.loc[23, "swing_resistance"] == pytest.approx((14.0 + 13.25) / 2)


def test_swing_levels_nan_without_pivots():
    flat = np.full(30, 5.0)
    levels = swing_levels(flat + 0.1, flat - 0.1, flat, np.ones(30), CFG)
    assert levels.isna().all().all()
    # a single pivot, the low 4.0 at bar 5 (4.5 -> 4 is only 0.5 ATR: no high before it; 6 - 4 = 2 ATR
    # confirms it at bar 6; the flat 6s never reverse): the support is known, the resistance is not
    close = np.concatenate([np.full(5, 4.5), [4.0], np.full(24, 6.0)])
    levels = swing_levels(close, close, close, np.ones(30), CFG)
    # in the window (and the fit part, known by t - 3 >= 6) while t - 9 <= 5
    assert levels.loc[9:14, "swing_support"].tolist() == [4.0] * 6
    assert levels.loc[9:14, "swing_support_fit"].tolist() == [4.0] * 6
    assert levels.loc[15:, "swing_support"].isna().all() and levels["swing_resistance"].isna().all()
    assert levels["swing_resistance_fit"].isna().all()
    # and a drop of a full ATR does confirm a high: 5 -> 4 makes bar 0 a swing high at bar 5
    close[:5] = 5.0
    levels = swing_levels(close, close, close, np.ones(30), CFG)
    assert levels.loc[9, "swing_resistance"] == 5.0 and levels.loc[10:, "swing_resistance"].isna().all()


# --------------------------------------------------------------------------- traversals
def test_traversal_counts_on_a_hand_made_path():
    # S = 0, R = 4, frac 0.25: lower zone close <= 1, upper zone close >= 3 (both inclusive)
    close = np.array([0.5, 2, 3.5, 2, 3.2, 0.8, 1.0, 2.9, 3.0, 0.0, 0.2, 3.9, 2, 2, 2])
    support = np.zeros(len(close))
    resistance = np.full(len(close), 4.0)
    support[12], resistance[13] = NAN, 0.0  # bar 12: unknown range; bar 13: R <= S
    support[14], resistance[14] = 10.0, 14.0  # bar 14: every close of its window is in its lower zone
    got = traversal_counts(close, support, resistance, CFG)
    assert np.isnan(got[:9]).all()
    # t=9: L M U M U L L M U L -> L U U L L U L: 4 changes; t=10 (bars 1-10): U U L L U L L: 3;
    # t=11 (bars 2-11): U U L L U L L U: 4
    assert got[9:12].tolist() == [4.0, 3.0, 4.0]
    assert np.isnan(got[12]) and np.isnan(got[13]) and got[14] == 0.0


def loop_traversals(close, support, resistance, cfg):
    """Plain per-bar loop of the definition (reference for the vectorised version)."""
    out = np.full(len(close), np.nan)
    for t in range(cfg.window_bars - 1, len(close)):
        s, r = support[t], resistance[t]
        if not (np.isfinite(s) and np.isfinite(r) and r > s):
            continue
        band = cfg.traversal_zone_frac * (r - s)
        zones = [
            (-1 if c <= s + band else 1)
            for c in close[t - cfg.window_bars + 1 : t + 1]
            if c <= s + band or c >= r - band
        ]
        out[t] = sum(a != b for a, b in zip(zones, zones[1:]))
    return out


def rolling_ranges(high, low, cfg):
    """Whole-window / fit-part quantile ranges as the SQL side defines them (5% lows, 95% highs)."""
    w, k = cfg.window_bars, cfg.holdout_bars
    lows, highs = pd.Series(low), pd.Series(high)
    return (
        lows.rolling(w).quantile(0.05).to_numpy(),
        highs.rolling(w).quantile(0.95).to_numpy(),
        lows.rolling(w - k).quantile(0.05).shift(k).to_numpy(),
        highs.rolling(w - k).quantile(0.95).shift(k).to_numpy(),
    )


def random_walk(seed: int, n: int, cfg: GridRangeConfig | None = None, series_part: str = "s") -> pd.DataFrame:
    """A random-walk series in the input shape of grid_range_rows (ATR: mean true range of 14)."""
    cfg = cfg or CFG
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    high = close + np.abs(rng.normal(0, 0.5, n))
    low = close - np.abs(rng.normal(0, 0.5, n))
    atr = pd.Series(high - low).rolling(14, min_periods=1).mean().to_numpy(copy=True)
    atr[:3] = np.nan
    support, resistance, support_fit, resistance_fit = rolling_ranges(high, low, cfg)
    return pd.DataFrame(
        {
            "series_part": series_part,
            "idx": np.arange(n),
            "bar_start": pd.date_range("2024-01-01", periods=n, freq="h"),
            "high": high,
            "low": low,
            "close": close,
            "atr_14": atr,
            "support": support,
            "resistance": resistance,
            "support_fit": support_fit,
            "resistance_fit": resistance_fit,
        }
    )


def test_traversal_counts_match_the_loop():
    """The compiled kernel against the definition's plain loop, with NaN closes (middle zone)
    and NaN / inverted ranges (NaN counts) among the bars."""
    bars = random_walk(3, 400)
    close, s, r = bars["close"].to_numpy(), bars["support"].to_numpy(), bars["resistance"].to_numpy()
    expected = loop_traversals(close, s, r, CFG)
    assert np.nanmax(expected) >= 3  # the walk does cross its ranges
    np.testing.assert_array_equal(traversal_counts(close, s, r, CFG), expected)
    close, s, r = close.copy(), s.copy(), r.copy()
    close[::17] = np.nan
    s[250:260] = np.nan
    r[300:305] = s[300:305] - 1.0
    expected = loop_traversals(close, s, r, CFG)
    assert np.isnan(expected[250:260]).all() and np.isnan(expected[300:305]).all()
    np.testing.assert_array_equal(traversal_counts(close, s, r, CFG), expected)


# --------------------------------------------------------------------------- containment
def test_containment_share_of_the_holdout_closes():
    n = 13
    close = np.full(n, 11.0)
    close[7:11] = [10.0, 11.4, 12.6, 12.5]
    s_fit, r_fit, atr = np.full(n, 10.2), np.full(n, 12.0), np.ones(n)
    atr[11], s_fit[12] = NAN, NAN
    got = containment(close, s_fit, r_fit, atr, CFG)
    assert np.isnan(got[:9]).all()
    # bounds [10.2 - 0.5, 12 + 0.5] = [9.7, 12.5]: t=9 closes 10, 11.4 in, 12.6 out -> 2/3;
    # t=10: 11.4 in, 12.6 out, 12.5 in (bound inclusive) -> 2/3; t=11: ATR NaN; t=12: S_fit NaN
    assert got[9] == pytest.approx(2 / 3) and got[10] == pytest.approx(2 / 3)
    assert np.isnan(got[11]) and np.isnan(got[12])
    no_buffer = containment(close, s_fit, r_fit, atr, config(containment_atr_buffer="0"))
    assert no_buffer[9] == pytest.approx(1 / 3)  # only 11.4 is inside [10.2, 12]
    assert containment(close, np.full(n, 9.0), np.full(n, 13.0), np.ones(n), CFG)[9:].tolist() == [1.0] * 4


# --------------------------------------------------------------------------- table adapter
def test_grid_range_rows_validates_its_input():
    bars = random_walk(1, 30)
    with pytest.raises(ValueError, match=r"missing input columns \['atr_14', 'support_fit'\]"):
        grid_range_rows(bars.drop(columns=["support_fit", "atr_14"]), CFG)
    with pytest.raises(ValueError, match=r"series_part 's' does not have consecutive idx"):
        grid_range_rows(bars.drop(index=5), CFG)
    with pytest.raises(ValueError, match=r"series_part 's' starts at idx 3, not 0, and has no carry_idx"):
        grid_range_rows(bars.iloc[3:], CFG)
    carried = bars.assign(carry_idx=20.0)
    with pytest.raises(
        ValueError, match=r"series_part 's' starts at idx 12; continuing after carry_idx 20 needs bars from idx 0"
    ):
        grid_range_rows(carried.iloc[12:], CFG)
    broken = bars.copy()
    broken.loc[4, "close"] = NAN
    with pytest.raises(ValueError, match="close has non-finite values"):
        grid_range_rows(broken, CFG)


def test_grid_range_rows_match_the_functions_and_warm_up():
    bars = random_walk(5, 60)
    rows = grid_range_rows(bars, CFG)
    assert list(rows.columns) == list(OUTPUT_COLUMNS) and len(rows) == 60
    assert rows["idx"].tolist() == list(range(60))
    assert all(rows[c].dtype == "float64" for c in OUTPUT_COLUMNS[2:-2])
    assert all(rows[c].dtype == "Int64" for c in OUTPUT_COLUMNS[-2:])
    assert rows.iloc[:9, 2:-2].isna().all().all()
    piv = grid_swing_pivots(bars["high"], bars["low"], bars["close"], bars["atr_14"], CFG)
    marked = rows.dropna(subset=["pivot_idx"])
    assert marked["idx"].tolist() == piv.confirm.tolist() and len(piv.idx) > 3
    assert marked["pivot_idx"].tolist() == piv.idx.tolist() and marked["pivot_kind"].tolist() == piv.kind.tolist()
    levels = swing_levels(bars["high"], bars["low"], bars["close"], bars["atr_14"], CFG)
    pd.testing.assert_frame_equal(rows[list(levels.columns)], levels)
    np.testing.assert_array_equal(
        rows["traversals"], traversal_counts(bars["close"], bars["support"], bars["resistance"], CFG)
    )
    np.testing.assert_array_equal(
        rows["containment_k"],
        containment(bars["close"], bars["support_fit"], bars["resistance_fit"], bars["atr_14"], CFG),
    )
    assert rows.loc[9:, "traversals"].notna().all() and rows.loc[9:, "containment_k"].notna().all()
    assert rows.loc[9:, "swing_support"].notna().any()


def test_multi_series_input_equals_per_series_runs():
    series = [
        random_walk(11, 80, series_part="b"),
        random_walk(12, 6, series_part="a"),  # never warm
        random_walk(13, 45, series_part="c"),
    ]
    mixed = pd.concat(series, ignore_index=True).sample(frac=1.0, random_state=2)
    mixed = mixed[list(reversed(mixed.columns))]  # column order does not matter either
    rows = grid_range_rows(mixed, CFG)
    expected = pd.concat(
        [grid_range_rows(s, CFG) for s in sorted(series, key=lambda s: s["series_part"][0])], ignore_index=True
    )
    pd.testing.assert_frame_equal(rows, expected)
    assert rows["series_part"].tolist() == ["a"] * 6 + ["b"] * 80 + ["c"] * 45
    assert rows[rows["series_part"] == "a"].iloc[:, 2:-2].isna().all().all()
    # the first W - 1 rows of every series are NaN, also where the window would reach the previous series
    assert rows[rows["idx"] < 9].iloc[:, 2:-2].isna().all().all()
    assert grid_range_rows(mixed.iloc[:0], CFG).columns.tolist() == list(OUTPUT_COLUMNS)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 90),
    cut=st.integers(0, 90),
    window=st.sampled_from([(10, 3), (6, 1), (15, 5)]),
)
def test_prefix_invariance(seed, n, cut, window):
    """Rows computed on bars[:m] equal the first m rows computed on the whole series."""
    cfg = config(window_bars=str(window[0]), holdout_bars=str(window[1]), swing_prominence_atr="0.8")
    bars = random_walk(seed, n, cfg)
    m = min(cut, n)
    full = grid_range_rows(bars, cfg)
    prefix = grid_range_rows(bars.iloc[:m], cfg)
    pd.testing.assert_frame_equal(prefix, full.iloc[:m].reset_index(drop=True))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 150),
    cut=st.integers(1, 149),
    window=st.sampled_from([(10, 3), (6, 1), (15, 5)]),
    extra=st.integers(0, 5),
)
def test_continued_walk_equals_the_full_walk(seed, n, cut, window, extra):
    """Incremental runs: the rows after a stored prefix bars[:m], computed from the stored pivots and
    only the bars the continuation needs (from min(last stored pivot, m + 1 - W) minus `extra`),
    equal the full walk's rows; a series with no new bar gives no row; a start too late is refused."""
    cfg = config(window_bars=str(window[0]), holdout_bars=str(window[1]), swing_prominence_atr="0.8")
    bars = random_walk(seed, n, cfg)
    m = min(cut, n - 1)
    full = grid_range_rows(bars, cfg)
    stored = full.iloc[:m]
    pivots = stored.dropna(subset=["pivot_idx"])
    carry = m - 1
    bound = carry + 2 - cfg.window_bars
    if len(pivots):
        bound = min(bound, int(pivots["pivot_idx"].iloc[-1]))
    else:
        bound = 0
    start = max(bound - extra, 0)
    tail = bars.iloc[start:].assign(carry_idx=float(carry))
    got = grid_range_rows(tail, cfg, pivots)
    pd.testing.assert_frame_equal(got, full.iloc[m:].reset_index(drop=True))
    assert grid_range_rows(bars.iloc[start:m].assign(carry_idx=float(carry)), cfg, pivots).empty
    if bound > 0:
        with pytest.raises(ValueError, match=f"needs bars from idx {bound}"):
            grid_range_rows(bars.iloc[bound + 1 :].assign(carry_idx=float(carry)), cfg, pivots)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 200), mult=st.sampled_from([0.5, 1.0, 1.5, 3.0]))
def test_swing_pivots_follow_their_definition(seed, n, mult):
    """Each pivot after the first is the first extreme of the bars since the previous pivot up to its
    confirming bar, confirmed at the first bar after it (and after the previous confirmation) at which
    the close has moved mult x ATR away from it; pivots alternate; the levels are the medians of the
    pivots a plain loop selects."""
    bars = random_walk(seed, n)
    high, low, close, atr = (bars[c].to_numpy() for c in ("high", "low", "close", "atr_14"))
    cfg = config(swing_prominence_atr=str(mult))
    piv = grid_swing_pivots(high, low, close, atr, cfg)
    assert (piv.confirm > piv.idx).all() and (np.diff(piv.idx) > 0).all() and (np.diff(piv.confirm) > 0).all()
    assert (piv.kind[1:] != piv.kind[:-1]).all()
    for p in range(1, len(piv.idx)):
        j, c, prev, prev_confirm = piv.idx[p], piv.confirm[p], piv.idx[p - 1], piv.confirm[p - 1]
        if piv.kind[p] < 0:
            assert j == prev + 1 + np.argmin(low[prev + 1 : c + 1]) and piv.price[p] == low[j]
            moved = close - low[j]
        else:
            assert j == prev + 1 + np.argmax(high[prev + 1 : c + 1]) and piv.price[p] == high[j]
            moved = high[j] - close
        reached = moved >= mult * atr  # False where the ATR is NaN
        assert reached[c]
        assert not reached[max(j, prev_confirm) + 1 : c].any()
    # levels against a loop over the pivot list
    levels = swing_levels(high, low, close, atr, cfg)
    w, k, m = cfg.window_bars, cfg.holdout_bars, cfg.swing_pivots
    for t in range(w - 1, n):
        for kind, name in ((-1, "support"), (1, "resistance")):
            for suffix, known_by in (("", t), ("_fit", t - k)):
                prices = [
                    pr
                    for i, pr, kd, cf in zip(piv.idx, piv.price, piv.kind, piv.confirm)
                    if kd == kind and i >= t - w + 1 and cf <= known_by
                ][-m:]
                value = levels.loc[t, f"swing_{name}{suffix}"]
                if prices:
                    assert value == pytest.approx(float(np.median(prices)), abs=1e-12)
                else:
                    assert np.isnan(value)
