"""Simulated grid (market_regimes/research/grid_simulator.py).

Every expected number is worked out by hand from the module docstring's definitions on a
4-level grid on [90, 120] (levels 90, 100, 110, 120) and short hand-made bar paths; the
arithmetic is written out in the test so each step can be checked. The vectorised skipping
of quiet bars is checked against a plain per-bar reference on random walks."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from market_regimes.research.grid_outcomes import GridOutcomeConfig, block_bootstrap_ci
from market_regimes.research.grid_simulator import (
    EXIT_POLICIES,
    SUMMARY_COLUMNS,
    GridSimConfig,
    cvar,
    exit_index,
    policy_summary,
    simulate_grid,
)

FEE = 0.001  # default maker fee
EXIT = 1 - 0.001 - 0.0005  # default taker + slippage: a market sell gets 0.9985 x close


def bars(*rows: tuple[float, float, float, float]) -> pd.DataFrame:
    """(open, high, low, close) rows -> a bars frame with hourly bar_start."""
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], dtype=float)
    frame.insert(0, "bar_start", pd.date_range("2024-01-01", periods=len(rows), freq="h"))
    return frame


# --------------------------------------------------------------------------- config
def test_config_defaults_and_from_mapping():
    cfg = GridSimConfig()
    assert (cfg.maker_fee, cfg.taker_fee, cfg.slippage) == (0.001, 0.001, 0.0005)
    assert cfg.exit_factor == pytest.approx(0.9985, abs=1e-15)
    built = GridSimConfig.from_mapping({"maker_fee": "0.0002", "slippage": 0})
    assert built == GridSimConfig(maker_fee=0.0002, taker_fee=0.001, slippage=0.0)
    assert isinstance(built.slippage, float)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"maker": 0.1}, r"grid sim config: unknown keys \['maker'\]"),
        ({"maker_fee": "x"}, r"grid sim config: maker_fee = 'x' is not a valid float"),
        ({"maker_fee": True}, r"grid sim config: maker_fee = True is not a valid float"),
        ({"taker_fee": "nan"}, r"grid sim config: taker_fee = 'nan' is not a valid float"),
        ({"slippage": "-0.1"}, r"grid sim config: slippage = -0.1 must be >= 0 and < 1"),
        ({"maker_fee": 1}, r"grid sim config: maker_fee = 1.0 must be >= 0 and < 1"),
        ({"taker_fee": 0.6, "slippage": 0.4}, r"grid sim config: taker_fee \+ slippage = 1.0 must be < 1"),
    ],
)
def test_config_rejects_bad_values(values, message):
    with pytest.raises(ValueError, match=message):
        GridSimConfig.from_mapping(values)


def test_config_direct_construction_is_validated():
    with pytest.raises(ValueError, match=r"grid sim config: taker_fee = -0.001 must be >= 0 and < 1"):
        GridSimConfig(taker_fee=-0.001)
    with pytest.raises(ValueError, match=r"grid sim config: slippage = None is not a finite number"):
        GridSimConfig(slippage=None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- hand paths
def test_hand_path_fills_round_trips_fees_inventory_and_drawdown():
    # open 115: buy levels below it are 90, 100, 110 (120 is the top: no buy), so each slot
    # gets w = 1/3 of the capital; slot i buys q_i = w / L_i and sells at L_{i+1}
    path = bars(
        (115, 116, 108, 112),  # falls to 108: buy 110
        (112, 121, 111, 119),  # rises to 121: sell 110 -> 120 (round trip), buy 110 again
        (119, 119, 95, 97),  # falls to 95: buy 110 and buy 100
        (97, 105, 96, 104),
    )  # 96..105: nothing (100's sell is at 110); exit at 104
    r = simulate_grid(path, 90, 120, 4, 0.5)
    w = 1 / 3
    assert r.buy_levels == 3
    assert r.fills == 4 and r.round_trips == 1
    fees = FEE * w * 3 + FEE * (w / 110) * 120  # three buys of notional w, one sell of q 120
    trip = (w / 110) * (120 - 110)
    assert r.maker_fees == pytest.approx(fees, abs=1e-15)
    assert r.grid_pnl == pytest.approx(trip - fees, abs=1e-15)  # 0.0289393...
    inventory = (w / 110) * (104 * EXIT - 110) + (w / 100) * (104 * EXIT - 100)
    assert r.inventory_pnl == pytest.approx(inventory, abs=1e-15)  # -0.0058412...
    assert r.total == pytest.approx(trip - fees + inventory, abs=1e-15)
    assert r.inventory_levels == (1, 2)
    assert r.exit_bar == 3 and r.bars_held == 4
    assert len(r.olhc_bars) == 0  # both paths fill the same on every bar: a tie keeps O-H-L-C
    # equity at each close: grid pnl so far + the inventory's liquidation mark
    e0 = -FEE * w + (w / 110) * (112 * EXIT - 110)
    e1 = trip - FEE * w - FEE * (w / 110) * 120
    e2 = e1 - 2 * FEE * w + (w / 110) * (97 * EXIT - 110) + (w / 100) * (97 * EXIT - 100)
    e3 = r.total
    np.testing.assert_allclose(r.equity, [e0, e1, e2, e3], rtol=0, atol=1e-15)
    assert e1 > e0 and e1 > e3 > e2
    assert r.max_drawdown == pytest.approx(e1 - e2, abs=1e-15)  # peak at bar 1, trough at bar 2: 0.0509865


def test_results_are_returns_on_the_allocation():
    path = bars((115, 116, 108, 112), (112, 121, 111, 119), (119, 119, 95, 97))
    small, full = simulate_grid(path, 90, 120, 4, 0.1), simulate_grid(path, 90, 120, 4, 1.0)
    assert small.as_row() == full.as_row()


def test_both_intrabar_paths_by_hand_and_the_conservative_choice_ohlc():
    # open 105: buy levels 90 and 100 (w = 1/2); 110 and 120 are above the open
    path = bars((105, 111, 99, 105))
    w = 1 / 2
    ohlc = simulate_grid(path, 90, 120, 4, 1.0, intrabar="ohlc")
    # 105 -> 111 (no inventory: nothing to sell) -> 99 (buy 100) -> 105
    assert (ohlc.fills, ohlc.round_trips) == (1, 0)
    assert ohlc.grid_pnl == pytest.approx(-FEE * w, abs=1e-15)
    assert ohlc.total == pytest.approx(-FEE * w + (w / 100) * (105 * EXIT - 100), abs=1e-15)  # 0.0237125
    olhc = simulate_grid(path, 90, 120, 4, 1.0, intrabar="olhc")
    # 105 -> 99 (buy 100) -> 111 (sell it at 110: a round trip; buy 100 again) -> 105
    assert (olhc.fills, olhc.round_trips) == (2, 1)
    assert olhc.total == pytest.approx((w / 100) * 10 - FEE * w - FEE * (w / 100) * 110, abs=1e-15)  # 0.04895
    assert olhc.inventory_pnl == 0.0 and list(olhc.olhc_bars) == [0]
    kept = simulate_grid(path, 90, 120, 4, 1.0)
    assert ohlc.total < olhc.total
    assert kept.total == ohlc.total and (kept.fills, kept.round_trips) == (1, 0)
    assert len(kept.olhc_bars) == 0


def test_conservative_choice_keeps_olhc_when_it_is_lower():
    path = bars(
        (105, 105, 99, 102),  # buy 100 (both paths)
        (102, 111, 99, 106),
    )
    w = 1 / 2
    buy, sell, trip = FEE * w, FEE * (w / 100) * 110, (w / 100) * 10
    ohlc = simulate_grid(path, 90, 120, 4, 1.0, intrabar="ohlc")
    # bar 1: 102 -> 111 (sell 110: round trip, buy 100 again) -> 99 (buy 100) -> 106: holds 100
    ohlc_total = -buy + trip - sell - buy + (w / 100) * (106 * EXIT - 100)  # 0.077655
    assert ohlc.total == pytest.approx(ohlc_total, abs=1e-15)
    assert (ohlc.fills, ohlc.round_trips, ohlc.inventory_levels) == (3, 1, (1,))
    # bar 1 along O-L-H-C: 102 -> 99 (100 is already held) -> 111 (sell: round trip) -> 106: flat
    olhc_total = -buy + trip - sell  # 0.04895
    kept = simulate_grid(path, 90, 120, 4, 1.0)
    assert kept.total == pytest.approx(olhc_total, abs=1e-15)
    assert kept.total < ohlc.total
    assert (kept.fills, kept.round_trips, kept.inventory_levels) == (2, 1, ())
    assert list(kept.olhc_bars) == [1]
    e0 = -buy + (w / 100) * (102 * EXIT - 100)
    np.testing.assert_allclose(kept.equity, [e0, olhc_total], rtol=0, atol=1e-15)
    assert kept.max_drawdown == 0.0


def test_exit_sells_inventory_at_close_less_taker_and_slippage():
    cfg = GridSimConfig(maker_fee=0.0, taker_fee=0.002, slippage=0.003)
    path = bars((115, 116, 108, 112), (112, 113, 104, 105), (105, 106, 60, 61))
    w = 1 / 3
    r = simulate_grid(path, 90, 120, 4, 1.0, cfg, exit_at=1)  # bar 2's crash is after the exit
    assert r.exit_bar == 1 and r.bars_held == 2 and len(r.equity) == 2
    assert r.fills == 1 and r.grid_pnl == 0.0
    assert r.inventory_pnl == pytest.approx((w / 110) * (105 * (1 - 0.002 - 0.003) - 110), abs=1e-15)
    assert r.total == r.inventory_pnl
    held = simulate_grid(path, 90, 120, 4, 1.0, cfg)  # hold to the last bar: all three filled, exit at 61
    sold = 61 * 0.995
    assert held.inventory_pnl == pytest.approx(
        w / 110 * (sold - 110) + w / 100 * (sold - 100) + w / 90 * (sold - 90), abs=1e-15
    )


def test_gap_through_a_level_fills_at_the_level():
    # close 112, next open 108: the gap crosses 110; the bar itself (107..109) never reaches it
    path = bars((115, 116, 112, 112), (108, 109, 107, 108.5))
    w = 1 / 3
    r = simulate_grid(path, 90, 120, 4, 1.0)
    assert r.fills == 1 and r.inventory_levels == (2,)
    assert r.grid_pnl == pytest.approx(-FEE * w, abs=1e-15)
    assert r.inventory_pnl == pytest.approx((w / 110) * (108.5 * EXIT - 110), abs=1e-15)  # bought at 110, not 108


def test_touching_a_level_fills():
    path = bars((115, 116, 110, 114), (114, 120, 113, 119))  # low == 110: buy; high == 120: sell
    r = simulate_grid(path, 90, 120, 4, 1.0)
    assert (r.fills, r.round_trips) == (2, 1)
    untouched = simulate_grid(bars((115, 116, 110.01, 114), (114, 119.99, 113, 119)), 90, 120, 4, 1.0)
    assert (untouched.fills, untouched.round_trips) == (0, 0)


def test_buy_levels_depend_on_the_open():
    def n_buy(open_: float) -> int:
        return simulate_grid(bars((open_, open_, open_, open_)), 90, 120, 4, 1.0).buy_levels

    assert n_buy(125) == 3  # above the grid: 90, 100, 110 (never the top level)
    assert n_buy(110) == 2  # a level at the open gets no order
    assert n_buy(110.5) == 3
    assert n_buy(90) == 0 and n_buy(85) == 0


def test_no_buy_level_gives_zeros():
    r = simulate_grid(bars((88, 95, 80, 92), (92, 125, 91, 100)), 90, 120, 4, 1.0)
    assert r.as_row() == {
        "grid_pnl": 0.0,
        "inventory_pnl": 0.0,
        "total": 0.0,
        "maker_fees": 0.0,
        "round_trips": 0,
        "fills": 0,
        "max_drawdown": 0.0,
        "exit_bar": 1,
        "bars_held": 2,
        "buy_levels": 0,
    }
    assert list(r.equity) == [0.0, 0.0]


def test_max_drawdown_from_zero_when_equity_never_rises():
    path = bars((115, 115, 105, 105), (105, 106, 101, 102))
    w = 1 / 3
    r = simulate_grid(path, 90, 120, 4, 1.0)
    e0 = -FEE * w + (w / 110) * (105 * EXIT - 110)
    e1 = -FEE * w + (w / 110) * (102 * EXIT - 110)
    np.testing.assert_allclose(r.equity, [e0, e1], rtol=0, atol=1e-15)
    assert r.max_drawdown == pytest.approx(-e1, abs=1e-15)  # the peak is the 0 before placement


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"levels": 1}, r"levels = 1 must be a whole number >= 2"),
        ({"levels": 4.0}, r"levels = 4.0 must be a whole number >= 2"),
        ({"allocation": 0.0}, r"allocation = 0.0 must be in \(0, 1\]"),
        ({"allocation": 1.5}, r"allocation = 1.5 must be in \(0, 1\]"),
        ({"lower": 120.0}, r"lower = 120.0, upper = 120 must have lower < upper"),
        ({"lower": float("nan")}, r"lower = nan must be a finite price > 0"),
        ({"exit_at": 2}, r"exit_at = 2 must be a bar index in 0..1"),
        ({"exit_at": -1}, r"exit_at = -1 must be a bar index in 0..1"),
        ({"intrabar": "best"}, r"intrabar = 'best' must be one of"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, message):
    args = {"lower": 90, "upper": 120, "levels": 4, "allocation": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate_grid(bars((115, 116, 108, 112), (112, 113, 110, 111)), **args)


def test_simulate_rejects_bad_bars():
    with pytest.raises(ValueError, match=r"missing input columns \['low'\]"):
        simulate_grid(bars((115, 116, 108, 112)).drop(columns="low"), 90, 120, 4, 1.0)
    with pytest.raises(ValueError, match=r"bar 1 is inconsistent"):
        simulate_grid(bars((115, 116, 108, 112), (112, 111, 108, 110)), 90, 120, 4, 1.0)  # high < open
    with pytest.raises(ValueError, match=r"bar 0 has a missing or non-finite price"):
        simulate_grid(bars((115, np.nan, 108, 112)), 90, 120, 4, 1.0)
    with pytest.raises(ValueError, match=r"bars is empty"):
        simulate_grid(bars(), 90, 120, 4, 1.0)


# --------------------------------------------------------------------------- reference
def reference(
    frame: pd.DataFrame, lower: float, upper: float, levels: int, cfg: GridSimConfig, mode: str
) -> tuple[float, float, int, int, list[float]]:
    """A plain re-statement of the docstring: every slot checked on every segment of every bar."""
    lv = [lower + i * (upper - lower) / (levels - 1) for i in range(levels)]
    o, h, low, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    slots = [i for i in range(levels - 1) if lv[i] < o[0]]
    qty = {i: 1 / len(slots) / lv[i] for i in slots}
    held = {i: False for i in slots}
    pnl, trips, fills, equity = 0.0, 0, 0, []
    factor = 1 - cfg.taker_fee - cfg.slippage

    def run(points, held):
        d_pnl, d_trips, d_fills = 0.0, 0, 0
        held = dict(held)
        for a, b in zip(points[:-1], points[1:]):
            for i in slots:
                if b < a and not held[i] and b <= lv[i] < a:
                    held[i], d_pnl, d_fills = True, d_pnl - cfg.maker_fee * qty[i] * lv[i], d_fills + 1
                elif b > a and held[i] and a < lv[i + 1] <= b:
                    held[i] = False
                    d_pnl += qty[i] * (lv[i + 1] - lv[i]) - cfg.maker_fee * qty[i] * lv[i + 1]
                    d_trips, d_fills = d_trips + 1, d_fills + 1
        return d_pnl, d_trips, d_fills, held

    def mark(p, held, close):
        return p + sum(qty[i] * (close * factor - lv[i]) for i in slots if held[i])

    for t in range(len(c)):
        start = o[0] if t == 0 else c[t - 1]
        a = run([start, o[t], h[t], low[t], c[t]], held)
        b = run([start, o[t], low[t], h[t], c[t]], held)
        if mode == "ohlc":
            pick = a
        elif mode == "olhc":
            pick = b
        else:
            pick = b if mark(pnl + b[0], b[3], c[t]) < mark(pnl + a[0], a[3], c[t]) - 1e-12 else a
        pnl, trips, fills, held = pnl + pick[0], trips + pick[1], fills + pick[2], pick[3]
        equity.append(mark(pnl, held, c[t]))
    return pnl, equity[-1] - pnl, trips, fills, equity


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["conservative", "ohlc", "olhc"])
def test_matches_a_plain_reference_on_random_walks(seed, mode):
    rng = np.random.default_rng(seed)
    n = 120
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, n + 1)))
    o, c = closes[:-1], closes[1:]
    o = o * (1 + rng.normal(0, 0.002, n))  # gaps between the previous close and the open
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.006, n))
    low = np.minimum(o, c) * (1 - rng.uniform(0, 0.006, n))
    frame = pd.DataFrame({"open": o, "high": h, "low": low, "close": c})
    cfg = GridSimConfig(maker_fee=0.0007)
    lower, upper, levels = 94.0, 106.0, 13
    got = simulate_grid(frame, lower, upper, levels, 0.7, cfg, intrabar=mode)
    grid_pnl, inventory_pnl, trips, fills, equity = reference(frame, lower, upper, levels, cfg, mode)
    assert got.fills > 10  # the walk actually trades
    if mode == "conservative":
        assert 0 < len(got.olhc_bars) < 40  # both paths are kept on some bars
    assert (got.round_trips, got.fills) == (trips, fills)
    assert got.grid_pnl == pytest.approx(grid_pnl, abs=1e-12)
    assert got.inventory_pnl == pytest.approx(inventory_pnl, abs=1e-12)
    np.testing.assert_allclose(got.equity, equity, rtol=0, atol=1e-12)
    peak = np.maximum.accumulate(np.maximum(np.asarray(equity), 0))
    assert got.max_drawdown == pytest.approx(float(np.max(peak - equity)), abs=1e-12)


@pytest.mark.parametrize("seed", [4, 8])
def test_exited_at_equals_a_simulation_exited_at_that_bar(seed):
    rng = np.random.default_rng(seed)
    n = 96
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.008, n + 1)))
    o, c = closes[:-1], closes[1:]
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.006, n))
    low = np.minimum(o, c) * (1 - rng.uniform(0, 0.006, n))
    frame = pd.DataFrame({"open": o, "high": h, "low": low, "close": c})
    full = simulate_grid(frame, 93.0, 107.0, 8, 0.55)
    assert full.round_trips_path[-1] == full.round_trips > 3  # the walk trades
    assert full.grid_pnl_path[-1] == pytest.approx(full.grid_pnl, abs=1e-15)
    for k in (0, 1, 17, 48, 80, n - 1):
        got, want = full.exited_at(k), simulate_grid(frame, 93.0, 107.0, 8, 0.55, exit_at=k)
        for name in ("grid_pnl", "inventory_pnl", "total", "max_drawdown"):
            assert got[name] == pytest.approx(getattr(want, name), abs=1e-12), (k, name)
        assert (got["round_trips"], got["bars_held"]) == (want.round_trips, want.bars_held)
    with pytest.raises(ValueError, match="bar index in 0..95"):
        full.exited_at(n)


def test_conservative_one_bar_result_is_never_above_either_forced_path():
    rng = np.random.default_rng(7)
    for _ in range(50):
        o = 100.0
        c = o * (1 + rng.normal(0, 0.01))
        h, low = max(o, c) * (1 + rng.uniform(0, 0.01)), min(o, c) * (1 - rng.uniform(0, 0.01))
        frame = bars((o, h, low, c))
        kept = simulate_grid(frame, 95, 105, 11, 1.0).total
        assert kept <= simulate_grid(frame, 95, 105, 11, 1.0, intrabar="ohlc").total + 1e-15
        assert kept <= simulate_grid(frame, 95, 105, 11, 1.0, intrabar="olhc").total + 1e-15


def test_a_week_of_hourly_bars_is_fast():
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 169)))
    o, c = closes[:-1], closes[1:]
    frame = pd.DataFrame({"open": o, "high": np.maximum(o, c) * 1.003, "low": np.minimum(o, c) * 0.997, "close": c})
    simulate_grid(frame, 90, 110, 30, 1.0)
    start = time.perf_counter()
    for _ in range(20):
        simulate_grid(frame, 90, 110, 30, 1.0)
    per_run = (time.perf_counter() - start) / 20
    assert per_run < 0.02  # ~0.5 ms measured; generous for a shared machine


# --------------------------------------------------------------------------- exit policies
N, P, W, L, M, E = "NORMAL", "PROBATION", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT", "EXITED"


def test_exit_index_per_policy_by_hand():
    states = [P, N, W, N, L, W, M, E, E, E]
    verdicts = ["RANGE_OK", "RANGE_OK", "RANGE_WEAK", "TRANSITION", None, "RANGE_OK", "TREND", None, None, None]
    assert exit_index(states, "hold", 10) == 9
    assert exit_index(states, "mandatory", 10) == 6
    assert exit_index(states, "first_latest", 10) == 4
    assert exit_index(states, "seed_rules", 10, verdicts) == 3  # the TRANSITION verdict at bar 3
    # only the first H bars are read: with H = 6 the MANDATORY_EXIT at bar 6 is never seen
    assert exit_index(states, "mandatory", 6) == 5
    assert exit_index(states, "first_latest", 4) == 3
    assert exit_index(states[:4] + [N] * 6, "seed_rules", 10, ["RANGE_OK"] * 10) == 9


def test_exit_index_exited_counts_as_a_stop_and_none_never_fires():
    assert exit_index([P, P, E, E], "mandatory", 4) == 2  # a probation quick stop
    assert exit_index([P, P, E, E], "first_latest", 4) == 2
    assert exit_index([N, None, float("nan"), W], "first_latest", 4) == 3
    assert exit_index([N, N, N, M], "seed_rules", 4, [None, "TREND", None, None]) == 1
    assert exit_index([N, N, N, M], "seed_rules", 4, [None, None, None, None]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (([N], "stop", 1), r"policy = 'stop' must be one of"),
        (([N], "hold", 0), r"horizon = 0 must be a whole number >= 1"),
        (([N, N], "hold", 3), r"2 states for horizon 3"),
        (([N, "RUNNING"], "mandatory", 2), r"unknown states \['RUNNING'\]"),
        (([N, N], "seed_rules", 2), r"policy 'seed_rules' needs verdicts"),
        (([N, N], "seed_rules", 2, ["TREND"]), r"1 verdicts for horizon 2"),
    ],
)
def test_exit_index_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        exit_index(*args)


def test_exit_policies_listed():
    assert EXIT_POLICIES == ("hold", "mandatory", "first_latest", "seed_rules")


# --------------------------------------------------------------------------- summary
def test_cvar_tail_count_by_hand():
    twenty = np.arange(20, dtype=float)  # ceil(0.05 x 20) = 1: the worst
    assert cvar(twenty) == 0.0
    assert cvar(np.r_[twenty, 100.0]) == 0.5  # 21 values: ceil(1.05) = 2: mean(0, 1)
    assert cvar(np.arange(100, dtype=float)) == 2.0  # ceil(5) = 5: mean(0..4)
    assert cvar(np.arange(100, dtype=float), tail=0.07) == 3.0  # 0.07 x 100 = 7.000000000000001 counts as 7
    assert cvar(np.array([0.3, -0.2, np.nan, 0.1])) == -0.2  # NaN dropped; 3 values -> 1
    assert cvar(np.array([4.0, 1.0, 3.0, 2.0]), tail=0.5) == 1.5
    assert math.isnan(cvar(np.array([np.nan])))
    with pytest.raises(ValueError, match=r"cvar: tail = 0 must be > 0 and <= 1"):
        cvar(twenty, tail=0)


def test_policy_summary_by_hand():
    pnls = np.array([0.02, -0.01, 0.03, -0.05, 0.01, 0.04, np.nan, 0.0, 0.01, 0.01])
    groups = np.array(["A", "A", "A", "B", "B", "A", "A", "B", "B", "B"])
    policies = np.array(["hold"] * 5 + ["mandatory"] * 5)
    mdd = np.array([0.01, 0.02, 0.0, 0.06, 0.01, 0.0, 0.5, 0.01, 0.02, 0.03])
    trips = np.array([4, 2, 6, 1, 3, 5, 9, 0, 1, 2])
    days = np.array([1.0, 1.0, 1.0, 0.5, 0.5, 3.0, 1.0, 1.0, 1.0, 2.0])
    cfg = GridOutcomeConfig(n_boot=200, seed=3)
    out = policy_summary(pnls, groups, 2, policies=policies, max_drawdowns=mdd, round_trips=trips, days=days, cfg=cfg)
    assert list(out.columns) == list(SUMMARY_COLUMNS)
    assert list(out["policy"]) == ["hold", "mandatory"]
    hold, mand = out.iloc[0], out.iloc[1]
    assert hold["n"] == 5
    assert hold["mean"] == pytest.approx(0.0, abs=1e-15)  # (0.02 - 0.01 + 0.03 - 0.05 + 0.01) / 5
    assert hold["median"] == 0.01
    assert hold["hit_rate"] == pytest.approx(3 / 5)
    assert hold["cvar_5"] == -0.05  # ceil(0.25) = 1: the worst
    assert hold["mean_max_drawdown"] == pytest.approx(0.1 / 5)
    assert hold["round_trips_per_day"] == pytest.approx(16 / 4.0)
    # mandatory: the NaN row is out of everything
    assert mand["n"] == 4
    assert mand["mean"] == pytest.approx(0.06 / 4)
    assert mand["median"] == pytest.approx(0.01)
    assert mand["hit_rate"] == pytest.approx(3 / 4)  # 0.0 is not a hit
    assert mand["cvar_5"] == 0.0
    assert mand["mean_max_drawdown"] == pytest.approx(0.06 / 4)
    assert mand["round_trips_per_day"] == pytest.approx(8 / 7.0)
    # the interval is grid_outcomes.block_bootstrap_ci over the policy's own rows
    sel = policies == "hold"
    assert (hold["mean"], hold["ci_low"], hold["ci_high"]) == pytest.approx(
        block_bootstrap_ci(pnls[sel], groups[sel], 2, n_boot=200, seed=3, level=0.95), abs=1e-15
    )
    assert hold["ci_low"] < hold["mean"] < hold["ci_high"]


def test_policy_summary_constant_pnl_has_a_zero_width_interval():
    n = 12
    out = policy_summary(
        np.full(n, 0.02),
        np.repeat(["A", "B"], 6),
        3,
        policies=np.array(["hold"] * n),
        max_drawdowns=np.zeros(n),
        round_trips=np.ones(n),
        days=np.full(n, 0.5),
        cfg=GridOutcomeConfig(n_boot=50),
    )
    row = out.iloc[0]
    assert row["ci_low"] == row["mean"] == row["ci_high"] == 0.02
    assert row["round_trips_per_day"] == 2.0 and row["hit_rate"] == 1.0


def test_policy_summary_rejects_bad_input():
    one = np.ones(3)
    kw = {"policies": np.array(["a"] * 3), "max_drawdowns": one, "round_trips": one, "days": one}
    with pytest.raises(ValueError, match=r"pnls has 3 rows but \{'days': 2\}"):
        policy_summary(one, np.array(["A"] * 3), 1, **{**kw, "days": np.ones(2)})
    with pytest.raises(ValueError, match=r"block = 0 must be a whole number >= 1"):
        policy_summary(one, np.array(["A"] * 3), 0, **kw)
    with pytest.raises(ValueError, match=r"days must be finite and > 0"):
        policy_summary(one, np.array(["A"] * 3), 1, **{**kw, "days": np.array([1.0, 0.0, 1.0])})
