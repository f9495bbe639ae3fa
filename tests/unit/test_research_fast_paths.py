"""The research reports' faster paths give the same bits as the plain formulations they
replace (rpt_* outputs must not change by a bit): percentile_interval vs np.nanquantile,
block_bootstrap_rows' full-block path vs the general one, evaluation_split vs a stable
sort_values, the grid sim report's exit paths vs SimResult.exited_at, the regime findings'
prepared columns and shared forward paths, the lever rotation null with a shared cache."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from market_regimes.research import grid_outcomes
from market_regimes.research.grid_outcomes import (
    block_bootstrap_rows,
    evaluation_mask,
    evaluation_split,
    percentile_interval,
)
from market_regimes.research.grid_sim_report import _exit_paths, _row
from market_regimes.research.grid_simulator import simulate_grid
from market_regimes.research.lever_outcomes import rotation_null_spreads
from market_regimes.research.regime_findings import (
    BAR_INPUT_COLUMNS,
    RegimeFindingsConfig,
    _value_columns,
    _value_rows,
    grouped_sums,
    regime_findings,
)


def bits(x) -> np.ndarray:
    """The float64 bit patterns (NaN payloads aside: NaN -> a fixed pattern)."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), np.nan, x).view(np.int64)


def test_percentile_interval_is_nanquantile_bit_for_bit():
    rng = np.random.default_rng(3)
    for trial in range(120):
        shape = (int(rng.integers(1, 400)), *[int(s) for s in rng.integers(1, 5, size=trial % 3)])
        boot = rng.normal(size=shape) * 10.0 ** int(rng.integers(-6, 3))
        if trial % 2:
            boot[rng.random(shape) < 0.1] = np.nan
        if trial % 5 == 0 and boot.ndim > 1:
            boot[:, 0] = np.nan  # an all-NaN statistic
        if trial % 7 == 0:
            boot = np.round(boot, 1)  # ties
        for level in (0.95, 0.8):
            alpha = (1 - level) / 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                want_lo, want_hi = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
            lo, hi = percentile_interval(boot, level)
            assert np.shape(lo) == np.shape(want_lo) and np.shape(hi) == np.shape(want_hi)
            assert (bits(lo) == bits(want_lo)).all() and (bits(hi) == bits(want_hi)).all()


def _general_rows(groups: np.ndarray, block: int, n_boot: int, seed: int) -> list[np.ndarray]:
    """block_bootstrap_rows written out with the general (repeat) formula only."""
    order, starts, slot_first, slot_count = grid_outcomes._block_layout(pd.Series(groups), block)
    lengths = np.diff(np.r_[starts, len(groups)])
    rng = np.random.default_rng(seed)
    chunk = max(1, grid_outcomes._BOOT_ELEMENTS // len(starts))
    out = []
    for a in range(0, n_boot, chunk):
        drawn = slot_first + rng.integers(0, slot_count, size=(min(chunk, n_boot - a), len(starts)))
        for d in drawn:
            lens = lengths[d]
            offsets = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
            out.append(order[np.repeat(starts[d], lens) + offsets])
    return out


@pytest.mark.parametrize("block", [1, 3, 4])
def test_block_bootstrap_rows_full_blocks_equal_the_general_formula(block, monkeypatch):
    monkeypatch.setattr(grid_outcomes, "_BOOT_ELEMENTS", 64)  # several chunks
    rng = np.random.default_rng(block)
    full = np.repeat(np.array(["b", "a", "c"]), [4 * block, 2 * block, 7 * block])  # every block full
    ragged = rng.choice(["x", "y"], size=53)  # short last blocks when block > 1
    for groups in (full, rng.permutation(full), ragged):
        got = list(block_bootstrap_rows(groups, block, 70, 5))
        want = _general_rows(groups, block, 70, 5)
        assert len(got) == len(want) == 70
        assert all(g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want))


def test_evaluation_split_equals_a_stable_sort_and_the_mask_by_idx():
    rng = np.random.default_rng(0)
    n = 500
    bars = pd.DataFrame(
        {
            "series_key": rng.choice(["b|X", "a|Y", "a", "c|Z"], size=n),
            "bar_start": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(n), unit="h"),
            "value": np.arange(n, dtype=float),
        }
    )
    for frame in (bars, bars.sort_values(["series_key", "bar_start"]), bars.astype({"series_key": object})):
        ordered, mask = evaluation_split(frame, 0.6)
        want = frame.sort_values(["series_key", "bar_start"], kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(ordered, want)
        idx = want.groupby("series_key", sort=False).cumcount()
        want_mask = evaluation_mask(pd.DataFrame({"series_key": want["series_key"], "idx": idx}), 0.6)
        assert np.array_equal(mask, want_mask)
    with pytest.raises(ValueError, match="train_frac"):
        evaluation_split(bars, 1.0)


def test_exit_paths_rows_equal_exited_at():
    rng = np.random.default_rng(1)
    close = 100 + np.cumsum(rng.normal(0, 1.5, size=40))
    open_ = np.r_[100.0, close[:-1]]
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.7,
            "low": np.minimum(open_, close) - 0.7,
            "close": close,
        }
    )
    result = simulate_grid(bars, 95.0, 105.0, 5, 0.55)
    bar_end = np.arange(len(bars))
    paths = _exit_paths(result, bar_end)
    assert result.round_trips > 0
    for k in range(len(bars)):
        row = _row("x", pd.Timestamp("2024-01-01"), "RANGE_OK", 24, "hold", k, paths, 60)
        want = result.exited_at(k)
        got = dict(zip(("grid_pnl", "inventory_pnl", "total", "max_drawdown", "round_trips"), row[7:12]))
        assert got == {name: want[name] for name in got}
        assert type(got["round_trips"]) is int


def test_grouped_sums_of_prepared_columns_equal_the_array():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(300, 6))
    values[rng.random(300) < 0.2, :3] = np.nan  # columns 0-2 share a finite pattern
    values[rng.random(300) < 0.1, 4] = np.nan
    key = rng.integers(0, 17, size=300)
    want = grouped_sums(key, 17, values)
    got = grouped_sums(key, 17, _value_columns(values))
    use = rng.random(300) < 0.5
    sub_want = grouped_sums(key[use], 17, values[use])
    sub_got = grouped_sums(key[use], 17, _value_rows(_value_columns(values), use))
    for a, b in ((want, got), (sub_want, sub_got)):
        assert all((bits(x) == bits(y)).all() for x, y in zip(a, b))


def test_detectors_over_the_same_bars_equal_each_alone():
    rng = np.random.default_rng(4)
    n = 400
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, size=n)))
    base = pd.DataFrame(
        {
            "bar_interval": "1h",
            "series_id": np.repeat(["A", "B"], n // 2),
            "part": np.repeat([1, 2], n // 2),
            "seq": np.tile(np.arange(n // 2), 2),
            "bar_start": np.tile(pd.date_range("2024-01-01", periods=n // 2, freq="h").to_numpy(), 2),
            "close": close,
        }
    )
    labels = {"d1": rng.choice(["low", "high"], size=n), "d2": rng.choice(["x", "y", "z"], size=n)}
    cfg = RegimeFindingsConfig(horizons=(2, 5), n_boot=50, block_bars=5, min_regime_bars=5)
    both = pd.concat([base.assign(detector=d, regime=r) for d, r in labels.items()], ignore_index=True)
    together = regime_findings(both[list(BAR_INPUT_COLUMNS)], (), cfg)
    alone = pd.concat(
        [
            regime_findings(base.assign(detector=d, regime=r)[list(BAR_INPUT_COLUMNS)], (), cfg)
            for d, r in labels.items()
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(together, alone)


def test_rotation_null_with_a_shared_cache_equals_without():
    rng = np.random.default_rng(5)
    n = 120
    values = rng.normal(size=(n, 4))
    values[-3:, :2] = np.nan
    rows = {"in_sample": np.arange(70), "out_of_sample": np.arange(70, n)}
    shifts = np.arange(10, n - 10)
    cache: dict = {}
    for _ in range(3):  # several lever columns of one series
        groups = rng.integers(0, 6, size=n)
        want = rotation_null_spreads(groups, shifts, rows, values, 5)
        got = rotation_null_spreads(groups, shifts, rows, values, 5, cache)
        assert want.keys() == got.keys()
        assert all((bits(want[k]) == bits(got[k])).all() for k in want)
    assert cache
