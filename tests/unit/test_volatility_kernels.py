"""The faster spellings of the volatility engine's loops (docs/volatility-regimes.md): each
must give the bits of the plain version it replaces (numpy's quantile, the per-window
filter and turbulence loops, the text label columns, pandas' merge)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_regimes.engines import volatility as vol
from market_regimes.engines.hmm_kernels import forward_high, window_order_stats
from market_regimes.engines.volatility_frames import _looked_up, volatility_regime_rows
from tests.unit.test_volatility import SMALL, bars_frame, regime_switching_returns


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------- quantiles
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf, as in np.quantile
def test_row_quantiles_are_numpys_quantiles_bit_for_bit():
    rng = np.random.default_rng(11)
    for trial in range(600):
        n, m = int(rng.integers(1, 300)), int(rng.integers(1, 12))
        rows = rng.normal(size=(m, n))
        if trial % 3 == 0:
            rows = np.round(rows, 1)  # ties, and -0.0 (numpy's own path)
        if trial % 7 == 0:
            rows[rng.integers(0, m), rng.integers(0, n)] = np.nan
        if trial % 13 == 0:
            rows[rng.integers(0, m), rng.integers(0, n)] = np.inf
        if trial % 11 == 0:
            rows[:] = 1.5
        qs = np.array([0.8, 0.5, 0.0, 1.0, 0.9, 0.3]) if trial % 5 == 0 else rng.uniform(0, 1, 2)
        assert _same_bits(vol.row_quantiles(rows, qs), np.quantile(rows, qs, axis=1))


def test_window_order_stats_are_the_sorted_windows():
    rng = np.random.default_rng(12)
    score = np.round(rng.normal(size=600), 1) + 0.0  # ties, no -0.0
    highs = np.sort(rng.integers(0, 600, 80))
    lows = np.maximum.accumulate(np.maximum(highs - rng.integers(0, 200, 80), 0))
    positions = np.stack([rng.integers(0, h - lo + 1, 3) for lo, h in zip(lows, highs)])
    got = window_order_stats(score, lows, highs, positions)
    want = np.stack([np.sort(score[lo : h + 1])[p] for lo, h, p in zip(lows, highs, positions)])
    assert _same_bits(got, want)


@pytest.mark.parametrize("every, window", [(1, 40), (3, 40), (24, 300), (50, 30), (7, 1)])
def test_compiled_scheduled_quantiles_are_the_numpy_ones(every, window):
    rng = np.random.default_rng(every * 1000 + window)
    score = vol.log_realized_vol(rng.normal(0, 0.02, 1500), 7)
    score[::97] = np.round(score[::97], 0)  # ties
    for offset, first in [(0, None), (400, 700), (300, 1499)]:
        args = (score[offset:], 60, every, window, [0.9, 0.3])
        try:
            want = vol.scheduled_quantiles(*args, offset=offset, first=first)
        except ValueError:
            with pytest.raises(ValueError):
                vol.scheduled_quantiles(*args, offset=offset, first=first, compiled=True)
            continue
        assert _same_bits(vol.scheduled_quantiles(*args, offset=offset, first=first, compiled=True), want)
    with_nan = score.copy()
    with_nan[500] = np.nan  # numpy's NaN windows: the numpy path
    want = vol.scheduled_quantiles(with_nan, 60, every, window, [0.5])
    assert _same_bits(vol.scheduled_quantiles(with_nan, 60, every, window, [0.5], compiled=True), want)


# --------------------------------------------------------------------------- filter
def test_forward_high_on_consecutive_windows_is_the_numpy_filter():
    """Blocks of 32 equal-length windows that start at consecutive ratios (hmm_filter's refit
    blocks) take the sliced path; the others the general one: the same bits as numpy."""
    rng = np.random.default_rng(13)
    lam = np.exp(rng.normal(0, 2, 3000))
    idx0 = np.r_[np.arange(100), 500 + np.arange(70), rng.integers(0, 2000, 30)].astype(np.int64)
    length = np.r_[np.full(100, 60), np.full(70, 45), rng.integers(1, 60, 30)].astype(np.int64)
    start, a_lh = rng.uniform(0, 1, len(idx0)), rng.uniform(0, 0.3, len(idx0))
    slope = rng.uniform(0.2, 0.9, len(idx0))
    want = vol.forward_high_numpy(lam, idx0, length, start, a_lh, slope)
    assert _same_bits(forward_high(lam, idx0, length, start, a_lh, slope), want)
    for compiled in (True, False):
        assert _same_bits(vol.filtered_high(lam, idx0, length, start, a_lh, slope, compiled), want)


def test_compiled_run_equals_numpy_run(monkeypatch):
    """volatility_regime_rows compiles the filter and the quantiles for a large run only; a
    small run forced through the compiled path returns the same frame."""
    r, _ = regime_switching_returns(900)
    frame = pd.concat([bars_frame(r), bars_frame(r[::-1], 60, "ALT|meso")], ignore_index=True)
    plain = volatility_regime_rows(frame, SMALL, turbulence_drivers=["BTC", "ALT"])
    monkeypatch.setattr(vol, "COMPILED_FILTER_MIN_WINDOWS", 1)
    pd.testing.assert_frame_equal(volatility_regime_rows(frame, SMALL, turbulence_drivers=["BTC", "ALT"]), plain)


# --------------------------------------------------------------------------- labels
def test_direction_and_quadrant_codes_are_the_text_labels():
    rng = np.random.default_rng(14)
    windows = rng.normal(0, 0.01, (400, 20))
    windows[:5] = 0.0
    ret, er, direction = vol.direction_inputs(windows, 0.3)
    ret2, er2, codes = vol.direction_codes(windows, 0.3)
    assert _same_bits(ret, ret2) and _same_bits(er, er2)
    assert list(np.array(vol.DIRECTIONS, dtype=object)[codes]) == list(direction)
    regime = rng.integers(-1, 2, 400)
    regime_text = np.array([None if c < 0 else vol.VOL_REGIMES[c] for c in regime], dtype=object)
    quads = vol.quadrant_codes(regime, codes)
    want = vol.quadrants(regime_text, direction)
    assert [None if c < 0 else vol.QUADRANTS[c] for c in quads] == list(want)


# --------------------------------------------------------------------------- turbulence
def test_turbulence_is_the_window_by_window_loop():
    rng = np.random.default_rng(15)
    y = rng.normal(0, 0.02, (2500, 4))
    window = 250
    want = np.full(len(y), np.nan)
    for t in range(window, len(y)):  # the loop the stacked version replaced
        past = y[t - window : t]
        mu = vol._lastsum(past.T) / window
        dev = past - mu
        inv = np.linalg.pinv(((dev.T @ dev) / (window - 1))[None])[0]
        d = y[t] - mu
        want[t] = vol._lastsum(d * vol._lastsum(inv * d[None, :]))
    assert np.allclose(vol.turbulence(y, window), want, rtol=1e-12, atol=0, equal_nan=True)
    got = vol.turbulence(y, window)
    assert _same_bits(vol.turbulence(y[1000:], window)[window:], got[1000 + window :])  # prefix invariance


# --------------------------------------------------------------------------- lookups
def _merged(rows, table, on, columns):
    joined = rows[on].merge(table[[*on, *columns]], how="left", on=on, validate="many_to_one")
    return joined[columns].set_axis(rows.index)


def test_looked_up_is_the_left_merge():
    rng = np.random.default_rng(16)
    times = pd.date_range("2024-01-01", periods=50, freq="h").astype("datetime64[us]")
    table = pd.DataFrame(
        {
            "kind": pd.array(["symbol"] * 60, dtype="string"),
            "exchange": pd.array(["a"] * 30 + ["b"] * 30, dtype="string"),
            "bar_start": np.r_[times[:30], times[10:40]],
            "value": rng.normal(size=60),
            "members": np.arange(60, dtype=np.int64),
            "nullable": pd.array(np.arange(60), dtype="Int64"),
        }
    )
    rows = pd.DataFrame(
        {
            "kind": pd.array(rng.choice(["symbol", "driver"], 300), dtype="string"),
            "exchange": pd.array(rng.choice(["a", "b", "c", None], 300), dtype="string"),
            "bar_start": times[rng.integers(0, 50, 300)],
        },
        index=np.arange(300) * 2,
    )
    on, columns = ["kind", "exchange", "bar_start"], ["value", "members", "nullable"]
    got = _looked_up(rows, table, on, columns)
    pd.testing.assert_frame_equal(got, _merged(rows, table, on, columns))
    assert got["value"].notna().any() and got["value"].isna().any()
    matched = rows[rows.merge(table[on], on=on, how="left", indicator=True)["_merge"].eq("both").to_numpy()]
    pd.testing.assert_frame_equal(_looked_up(matched, table, on, columns), _merged(matched, table, on, columns))
    with pytest.raises(pd.errors.MergeError):
        _looked_up(rows, pd.concat([table, table.iloc[:1]]), on, columns)
