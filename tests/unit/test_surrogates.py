"""market_regimes.research.surrogates: shuffled-return surrogates keep the return and shape
distributions, destroy the order, and are reproducible."""

import numpy as np
import pandas as pd
import pytest

from market_regimes.research.surrogates import shuffled_return_surrogate


def _bars(n=200, seed=1):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.001, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.001, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return pd.DataFrame(
        {
            "bar_start": pd.date_range("2024-01-01", periods=n, freq="h"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.uniform(1, 2, n),
        }
    )


def test_the_surrogate_permutes_the_returns_and_keeps_the_calendar():
    bars = _bars()
    sur = shuffled_return_surrogate(bars, seed=7)
    r, rs = np.diff(np.log(bars.close)), np.diff(np.log(sur.close))
    np.testing.assert_allclose(np.sort(rs), np.sort(r), rtol=0, atol=1e-12)  # same returns
    assert not np.allclose(rs, r)  # another order
    assert sur.close.iloc[-1] == pytest.approx(bars.close.iloc[-1], rel=1e-12)  # same total return
    assert sur.bar_start.equals(bars.bar_start) and sur.close.iloc[0] == bars.close.iloc[0]
    np.testing.assert_array_equal(sur.open.to_numpy()[1:], sur.close.to_numpy()[:-1])
    assert (sur.high >= np.maximum(sur.open, sur.close)).all() and (sur.low <= np.minimum(sur.open, sur.close)).all()
    assert sorted(sur.volume) == sorted(bars.volume)


def test_the_intrabar_shape_travels_with_the_return():
    bars = pd.DataFrame(
        {
            "open": [10.0, 10.0, 11.0],
            "high": [10.5, 11.5, 11.0],
            "low": [9.5, 10.0, 9.9],
            "close": [10.0, 11.0, 9.9],
            "volume": [1.0, 2.0, 3.0],
        }
    )
    for seed in range(20):
        sur = shuffled_return_surrogate(bars, seed)
        if sur.volume.iloc[1] == 3.0:  # bar 1 took bar 2's return (-10%) and shape
            assert sur.close.tolist() == pytest.approx([10.0, 9.0, 9.9])
            # bar 2 of the original: high = max(o, c) x 1, low = min(o, c) x 1
            assert (sur.high.iloc[1], sur.low.iloc[1]) == pytest.approx((10.0, 9.0))
            # bar 2 now carries bar 1's shape: high 11.5 / max(10, 11), low 10 / min(10, 11)
            assert (sur.high.iloc[2], sur.low.iloc[2]) == pytest.approx((9.9 * 11.5 / 11, 9.0 * 1.0))
            break
    else:
        pytest.fail("no seed of 20 swapped the two returns")


def test_same_seed_same_surrogate_and_bad_input_is_refused():
    bars = _bars()
    pd.testing.assert_frame_equal(shuffled_return_surrogate(bars, 3), shuffled_return_surrogate(bars, 3))
    with pytest.raises(ValueError, match="missing columns"):
        shuffled_return_surrogate(bars.drop(columns="volume"), 0)
    with pytest.raises(ValueError, match="positive"):
        shuffled_return_surrogate(bars.assign(low=0.0), 0)
