"""Simulated grid: what would a long grid placed on [lower, upper] have earned?

Research report on the grid regimes and the grid lifecycle: one grid is placed at the open
of the first bar given and run bar by bar until an exit bar (a policy's stop, or the last bar
= hold to the horizon H). The bars come from AFTER the decision, so this module looks ahead
BY DESIGN: it is an evaluation, never an input of the regimes or the lifecycle.

Pieces (each usable alone):

* :class:`GridSimConfig` — fees and slippage (typed, validated, ``from_mapping``);
* :func:`simulate_grid` — one simulated grid over a bar path -> :class:`SimResult`
  (grid_pnl, inventory_pnl, total, round trips, fills, max drawdown, the equity path);
* :func:`exit_index` — the exit bar of an exit policy (hold / mandatory / first_latest /
  seed_rules) from the lifecycle states (and verdicts) of the bars after placement;
* :func:`policy_summary` — per policy: n, mean with a block-bootstrap 95 % interval
  (:func:`market_regimes.research.grid_outcomes.block_bootstrap_ci`), median, hit rate,
  CVaR5, mean max drawdown, round trips per day.

The grid (project definition: a classic long grid without initial inventory)
---------------------------------------------------------------------------------
* Levels: ``levels`` arithmetic levels on [lower, upper], both bounds are levels:
  L_i = lower + i (upper - lower) / (levels - 1), i = 0..levels-1 (the lifecycle engine's
  :func:`~market_regimes.engines.grid_lifecycle.grid_levels`, so the simulated grid is the
  grid the lifecycle watches).
* Placement at P0 = open of bar 0: a buy order at every level L_i < P0 (strictly below) with
  i <= levels - 2 (a buy needs a level above it to sell at); these n_buy levels are the
  "buy levels". A level equal to P0, or above it, gets no order: there is no inventory to
  sell there. n_buy = 0 (P0 at or below ``lower``): no order, every result 0.
* Capital: the allocation (a fraction of one unit of quote capital) is split equally over
  the buy levels: each buy spends c = allocation / n_buy of quote, i.e. buys
  q_i = c / L_i base units. Each buy level is one "slot" that is either waiting to buy
  at L_i or holding q_i and waiting to sell it at L_{i+1}.
* Fills: a buy at L_i fills when the price path reaches L_i (touch counts, as the lifecycle
  engine's round-trip count: low <= level); the slot then places a sell of q_i at L_{i+1}.
  That sell fills when the path reaches L_{i+1} (touch counts): a completed round trip;
  the slot places its buy at L_i again. Every fill is at its limit price (a gap through a
  level fills at the level, never at the better open: conservative). Maker fee on every
  fill: cfg.maker_fee x notional (buy: c; sell: q_i L_{i+1}).
* Price path of a bar: the previous close (bar 0: its open, the placement) -> open, then
  either open -> high -> low -> close (O-H-L-C) or open -> low -> high -> close (O-L-H-C),
  straight segments. Along a falling segment the open buys at or above its end fill; along
  a rising one the open sells at or below its end. An order placed during a segment cannot
  fill in the same segment (it lies behind the price). The gap segment (previous close ->
  open) is the same in both paths.
* Intrabar path (project definition): a 1h bar does not say whether its high or its low
  came first, so every bar is simulated along BOTH paths from the same state and the
  conservative one is kept: the path giving the LOWER equity at the bar's close (equity
  below; ties within 1e-12, e.g. the many bars whose paths fill nothing or the same, keep
  O-H-L-C). The choice is greedy, bar by bar (the kept path's state continues). With finer
  bars (1m, when the caller has them) the same rule is applied per 1m bar: the ambiguity
  shrinks to within a minute. (Why the lower: an evaluation that credits the lucky order
  of extremes would overstate what a grid earns.)
* Exit at the close of bar ``exit_at`` (default: the last bar, hold to H): the open orders
  are cancelled (no cost) and the inventory still held is sold at the taker price
  close x (1 - cfg.taker_fee - cfg.slippage).

Results (returns: every amount divided by the allocation, so they are independent of it)
-----------------------------------------------------------------------------------------
* ``grid_pnl`` = sum over completed round trips of q_i (L_{i+1} - L_i) - all maker fees
  paid (also the buy fees of the inventory still held at the exit): what the grid's
  trading itself earned.
* ``inventory_pnl`` = sum over the slots holding at the exit of
  q_i (close_exit (1 - taker_fee - slippage) - L_i): the liquidation result of the
  inventory against its entry cost (the buy price, fees excluded: they are in grid_pnl).
* ``total`` = grid_pnl + inventory_pnl.
* Equity at the close of bar t (t <= exit): grid_pnl so far + the liquidation mark of the
  inventory held (the inventory_pnl formula at close_t): the value if the grid were
  exited at that close. Equity before placement is 0; the equity at the exit bar is total.
* ``max_drawdown`` = max over t of (max(0, E_0..E_t) - E_t) >= 0, in return points of the
  allocated capital (a difference of equities, not divided by the peak: with returns of a
  few percent the two differ by the factor 1 + peak).
* ``round_trips`` (completed sells), ``fills`` (buys + sells, the liquidation not counted).

Pure Python + numpy + pandas: no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, fields
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import EXITED, LATEST, MANDATORY, STATES, TRANSITION, TREND, grid_levels
from market_regimes.research.grid_outcomes import (
    GridOutcomeConfig,
    block_bootstrap_ci,
    block_bootstrap_cis,
    block_bootstrap_rows,
)
from market_regimes.seed_config import convert_value

__all__ = [
    "GridSimConfig",
    "SimResult",
    "simulate_grid",
    "exit_index",
    "policy_summary",
    "cvar",
    "cvar_difference_ci",
    "EXIT_POLICIES",
    "INTRABAR_MODES",
    "SIM_INPUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "CVAR_TAIL",
    "TIE_TOLERANCE",
]

SIM_INPUT_COLUMNS = ("open", "high", "low", "close")
INTRABAR_MODES = ("conservative", "ohlc", "olhc")
EXIT_POLICIES = ("hold", "mandatory", "first_latest", "seed_rules")
SUMMARY_COLUMNS = (
    "policy",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "median",
    "hit_rate",
    "cvar_5",
    "mean_max_drawdown",
    "round_trips_per_day",
)
CVAR_TAIL = 0.05
# two paths whose close equities differ by at most this (returns) are a tie (O-H-L-C kept):
# the same fills summed in another order may differ in the last bits
TIE_TOLERANCE = 1e-12

# exit-state levels of the lifecycle states for the exit policies: EXITED (the engine ended
# the grid: the bar after a MANDATORY_EXIT, a quick stop, a failed probation) counts as an
# exit as MANDATORY_EXIT does; the running states and DISABLED do not
_EXIT_LEVEL = {MANDATORY: 3, EXITED: 3, LATEST: 2}
_STOP_VERDICTS = frozenset((TREND, TRANSITION))


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class GridSimConfig:
    """Costs of the simulated grid (fractions of the notional of a fill).

    maker_fee: fee of every limit fill, buys and sells (0.001 = 0.1 %); 0 <= fee < 1.
    taker_fee: fee of the market sell of the inventory at the exit (0.001); 0 <= fee < 1.
    slippage: price concession of that market sell below the close (0.0005 = 5 bp);
        0 <= slippage < 1; taker_fee + slippage < 1.

    Direct construction is validated too (ValueError "grid sim config: <key> = ...").
    """

    maker_fee: float = 0.001
    taker_fee: float = 0.001
    slippage: float = 0.0005

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or not math.isfinite(value)
            ):
                raise ValueError(f"grid sim config: {f.name} = {value!r} is not a finite number")
            if not 0 <= value < 1:
                raise ValueError(f"grid sim config: {f.name} = {value!r} must be >= 0 and < 1")
            object.__setattr__(self, f.name, float(value))
        if not self.taker_fee + self.slippage < 1:
            raise ValueError(f"grid sim config: taker_fee + slippage = {self.taker_fee + self.slippage!r} must be < 1")

    @property
    def exit_factor(self) -> float:
        """1 - taker_fee - slippage: the share of the close a market sell at the exit receives."""
        return 1.0 - self.taker_fee - self.slippage

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "GridSimConfig":
        """Build from key -> value (numbers or numeric strings); keys left out keep their defaults.

        Raises:
            ValueError: an unknown key ("grid sim config: unknown keys [...]"), a value that is
                not a finite number ("grid sim config: <key> = <value> is not a valid float"),
                or out of range ("grid sim config: <key> = <value> must be ...").
        """
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"grid sim config: unknown keys {unknown}")
        out: dict[str, float] = {}
        for key, raw in values.items():
            try:
                if isinstance(raw, bool):  # True would pass as 1.0
                    raise ValueError(raw)
                out[key] = float(convert_value("float", raw))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"grid sim config: {key} = {raw!r} is not a valid float") from None
        return cls(**out)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class SimResult:
    """One simulated grid (see the module docstring for every definition).

    grid_pnl, inventory_pnl, total: returns on the allocated capital (total = the sum).
    maker_fees: the maker fees inside grid_pnl (return, >= 0).
    round_trips: completed buy -> sell pairs; fills: limit fills (buys + sells).
    max_drawdown: of the equity path (return points, >= 0).
    exit_bar: index of the bar whose close is the exit; bars_held = exit_bar + 1.
    buy_levels: n_buy, the levels that got a buy order at placement (0: nothing traded).
    inventory_levels: indices i of the slots still holding at the exit (sold there).
    equity: float array (bars_held,), the equity at each close up to the exit (last = total).
    olhc_bars: int array, the bars where the O-L-H-C path was kept (all others: O-H-L-C).
    grid_pnl_path: float array (bars_held,), grid_pnl so far at each close (round trips
        completed minus every maker fee paid up to that close).
    round_trips_path: int array (bars_held,), round trips completed up to each close.
    """

    grid_pnl: float
    inventory_pnl: float
    total: float
    maker_fees: float
    round_trips: int
    fills: int
    max_drawdown: float
    exit_bar: int
    bars_held: int
    buy_levels: int
    inventory_levels: tuple[int, ...]
    equity: np.ndarray
    olhc_bars: np.ndarray
    grid_pnl_path: np.ndarray
    round_trips_path: np.ndarray

    def as_row(self) -> dict[str, float | int]:
        """The scalar fields as a dict (one row of a results frame)."""
        return {
            "grid_pnl": self.grid_pnl,
            "inventory_pnl": self.inventory_pnl,
            "total": self.total,
            "maker_fees": self.maker_fees,
            "round_trips": self.round_trips,
            "fills": self.fills,
            "max_drawdown": self.max_drawdown,
            "exit_bar": self.exit_bar,
            "bars_held": self.bars_held,
            "buy_levels": self.buy_levels,
        }

    def exited_at(self, k: int) -> dict[str, float | int]:
        """The result had the grid been exited at the close of bar k (0 <= k < bars_held).

        The simulation is path-by-path greedy (each bar's kept path depends only on the bars
        before it), so a grid exited at k is the prefix of this one: grid_pnl =
        grid_pnl_path[k], total = equity[k] (the liquidation value at close k),
        inventory_pnl = total - grid_pnl, round_trips = round_trips_path[k],
        max_drawdown over equity[0..k]. Equal to ``simulate_grid(..., exit_at=k)`` up to the
        summation order (tested to 1e-12).

        Returns:
            dict: grid_pnl, inventory_pnl, total, max_drawdown (returns), round_trips,
            bars_held (k + 1).

        Raises:
            ValueError: k out of range.
        """
        if not _whole(k) or not 0 <= k < self.bars_held:
            raise ValueError(f"SimResult.exited_at: k = {k!r} must be a bar index in 0..{self.bars_held - 1}")
        k = int(k)
        eq = self.equity[: k + 1]
        peak = np.maximum.accumulate(np.maximum(eq, 0.0))
        total = float(eq[-1])
        grid_pnl = float(self.grid_pnl_path[k])
        return {
            "grid_pnl": grid_pnl,
            "inventory_pnl": total - grid_pnl,
            "total": total,
            "max_drawdown": float(np.max(peak - eq)),
            "round_trips": int(self.round_trips_path[k]),
            "bars_held": k + 1,
        }


# --------------------------------------------------------------------------- simulation
def _whole(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _bar_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(bars, pd.DataFrame):
        raise ValueError(f"simulate_grid: bars must be a DataFrame, not {type(bars).__name__}")
    missing = [c for c in SIM_INPUT_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"simulate_grid: missing input columns {missing}")
    if len(bars) == 0:
        raise ValueError("simulate_grid: bars is empty")
    o, h, low, c = (bars[name].to_numpy(dtype=float, na_value=np.nan) for name in SIM_INPUT_COLUMNS)
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)
    if not finite.all():
        raise ValueError(f"simulate_grid: bar {int(np.flatnonzero(~finite)[0])} has a missing or non-finite price")
    bad = (low > np.minimum(o, c)) | (h < np.maximum(o, c)) | (low <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"simulate_grid: bar {i} is inconsistent (open {o[i]}, high {h[i]}, low {low[i]}, "
            f"close {c[i]}: need 0 < low <= open, close <= high)"
        )
    return o, h, low, c


def _run_path(
    points: Sequence[float], levels: list[float], n_buy: int, holding: list[bool], qty: list[float], fee: float
) -> tuple[float, float, int, int]:
    """Fills of one bar along the straight segments between `points` (mutates `holding`).

    Returns (grid_pnl change incl. maker fees, maker fees, round trips, fills)."""
    pnl = fees = 0.0
    trips = fills = 0
    a = points[0]
    for b in points[1:]:
        if b < a:  # falling: open buys at L_i >= b fill (they lie below a by construction)
            for i in range(bisect_left(levels, b), min(n_buy, bisect_left(levels, a))):
                if not holding[i]:
                    holding[i] = True
                    f = fee * qty[i] * levels[i]
                    pnl -= f
                    fees += f
                    fills += 1
        elif b > a:  # rising: open sells at L_{i+1} <= b fill (they lie above a)
            for j in range(bisect_right(levels, a), min(n_buy, bisect_right(levels, b) - 1) + 1):
                i = j - 1
                if i >= 0 and holding[i]:
                    holding[i] = False
                    f = fee * qty[i] * levels[j]
                    pnl += qty[i] * (levels[j] - levels[i]) - f
                    fees += f
                    trips += 1
                    fills += 1
        a = b
    return pnl, fees, trips, fills


def simulate_grid(
    bars: pd.DataFrame,
    lower: float,
    upper: float,
    levels: int,
    allocation: float,
    cfg: GridSimConfig | None = None,
    exit_at: int | None = None,
    intrabar: str = "conservative",
) -> SimResult:
    """Simulate one long grid placed at the open of ``bars[0]`` and exited at a bar's close.

    Every definition (levels, buy levels, capital per slot, fills, the two intrabar paths
    and the conservative choice, fees, exit, grid_pnl / inventory_pnl / total, equity,
    max_drawdown) is in the module docstring; all of them are project definitions.

    Args:
        bars: the bars from the placement on, in time order (1h bars, or finer bars such
            as 1m when the caller has them: the intrabar ambiguity is then per 1m bar), with
            the columns open, high, low, close (price units, finite, 0 < low <= open, close
            <= high); other columns (bar_start, ...) are ignored. Row order = time order.
        lower, upper: the grid bounds (price units, finite, 0 < lower < upper).
        levels: number of levels (whole number >= 2; both bounds are levels).
        allocation: the grid's capital, a fraction of one unit of quote capital, in (0, 1].
            The results are returns on it, so it scales nothing but is validated.
        cfg: :class:`GridSimConfig` (default: its defaults).
        exit_at: index (0-based, into ``bars``) of the bar at whose close the grid is
            exited; None: the last bar (hold to the horizon). Bars after it are ignored.
        intrabar: "conservative" (the evaluation's rule: per bar the path with the lower
            close equity), or "ohlc" / "olhc" to force one path on every bar (to measure how
            much the unknown order of the extremes matters; olhc_bars then lists every bar
            simulated along O-L-H-C that could fill something).

    Returns:
        :class:`SimResult`.

    Raises:
        ValueError: missing columns, an empty frame, a non-finite or inconsistent bar
            (named by its index), bad bounds / levels / allocation, exit_at out of range, an
            unknown intrabar mode.

    Cost: bars whose extended range [min(previous close, low), max(previous close, high)]
    holds no level cannot fill anything and are skipped in one vectorised test; the others
    run both paths in Python over the levels crossed (168 1h bars: well under a millisecond
    on a quiet range, a few milliseconds when every bar crosses levels).
    """
    cfg = cfg if cfg is not None else GridSimConfig()
    if not isinstance(cfg, GridSimConfig):
        raise ValueError(f"simulate_grid: cfg must be a GridSimConfig, not {type(cfg).__name__}")
    if intrabar not in INTRABAR_MODES:
        raise ValueError(f"simulate_grid: intrabar = {intrabar!r} must be one of {list(INTRABAR_MODES)}")
    o, h, low, c = _bar_arrays(bars)
    return _simulate_arrays(o, h, low, c, lower, upper, levels, allocation, cfg, exit_at, intrabar)


def _simulate_arrays(
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    lower: float,
    upper: float,
    levels: int,
    allocation: float,
    cfg: GridSimConfig,
    exit_at: int | None,
    intrabar: str,
) -> SimResult:
    """:func:`simulate_grid` on the bars' open / high / low / close as float arrays (non-empty,
    already validated as :func:`_bar_arrays` does; cfg a GridSimConfig, intrabar a mode):
    for a caller that simulates many windows of one series."""
    n = len(c)
    for name, value in (("lower", lower), ("upper", upper)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"simulate_grid: {name} = {value!r} must be a finite price > 0")
    if not lower < upper:
        raise ValueError(f"simulate_grid: lower = {lower!r}, upper = {upper!r} must have lower < upper")
    if not _whole(levels) or levels < 2:
        raise ValueError(f"simulate_grid: levels = {levels!r} must be a whole number >= 2")
    if (
        isinstance(allocation, bool)
        or not isinstance(allocation, (int, float, np.integer, np.floating))
        or not 0 < allocation <= 1
    ):
        raise ValueError(f"simulate_grid: allocation = {allocation!r} must be in (0, 1]")
    if exit_at is None:
        exit_at = n - 1
    elif not _whole(exit_at) or not 0 <= exit_at < n:
        raise ValueError(f"simulate_grid: exit_at = {exit_at!r} must be a bar index in 0..{n - 1}")
    exit_at = int(exit_at)
    t_end = exit_at + 1
    o, h, low, c = o[:t_end], h[:t_end], low[:t_end], c[:t_end]

    lv = grid_levels(float(lower), float(upper), int(levels))
    p0 = float(o[0])
    n_buy = min(bisect_left(lv, p0), int(levels) - 1)  # L_i < P0 and i <= levels - 2
    factor = cfg.exit_factor
    if n_buy == 0:
        zeros = np.zeros(t_end)
        return SimResult(
            0.0,
            0.0,
            0.0,
            0.0,
            0,
            0,
            0.0,
            exit_at,
            t_end,
            0,
            (),
            zeros,
            np.zeros(0, dtype=np.int64),
            zeros.copy(),
            np.zeros(t_end, dtype=np.int64),
        )
    # per unit of allocated capital: each slot spends 1 / n_buy of quote at its level
    qty = [1.0 / n_buy / lv[i] for i in range(n_buy)]
    fee = cfg.maker_fee

    # bars that can fill something: a level inside [min(prev close, low), max(prev close, high)]
    prev = np.r_[o[0], c[:-1]]
    lo_ext, hi_ext = np.minimum(prev, low), np.maximum(prev, h)
    active = np.asarray(lv[: n_buy + 1])
    crossed = np.searchsorted(active, hi_ext, side="right") > np.searchsorted(active, lo_ext, side="left")
    events = np.flatnonzero(crossed)

    holding = [False] * n_buy
    pnl = fees = 0.0
    trips = fills = 0
    inv_qty = inv_cost = 0.0  # held base units and their entry cost (sum q_i L_i)
    # state after every event bar (forward-filled over the quiet bars afterwards)
    ev_pnl: list[float] = []
    ev_qty: list[float] = []
    ev_cost: list[float] = []
    ev_trips: list[int] = []
    olhc: list[int] = []
    conservative = intrabar == "conservative"
    first_olhc = intrabar == "olhc"  # the one path of "olhc"; "ohlc" and "conservative" start with O-H-L-C
    event_list = events.tolist()
    # the event bars' prices as Python floats (the same numbers as float(x[t]))
    bar_prices = zip(event_list, *(x[events].tolist() for x in (prev, o, h, low, c)))
    for t, start, ot, ht, lt, ct in bar_prices:
        results = []
        paths = ((start, ot, lt, ht, ct),) if first_olhc else ((start, ot, ht, lt, ct),)
        if conservative:
            paths += ((start, ot, lt, ht, ct),)
        for path in paths:
            hold = holding.copy()
            d_pnl, d_fees, d_trips, d_fills = _run_path(path, lv, n_buy, hold, qty, fee)
            if d_fills:
                q = sum([qty[i] for i in range(n_buy) if hold[i]])
                cost = sum([qty[i] * lv[i] for i in range(n_buy) if hold[i]])
            else:  # nothing filled: the same holdings, so the same sums as after the last event bar
                q, cost = inv_qty, inv_cost
            equity = pnl + d_pnl + q * ct * factor - cost
            results.append((equity, hold, d_pnl, d_fees, d_trips, d_fills, q, cost))
        if conservative:
            keep = results[1] if results[1][0] < results[0][0] - TIE_TOLERANCE else results[0]
            if keep is results[1]:
                olhc.append(t)
        else:
            keep = results[0]
            if first_olhc:
                olhc.append(t)
        _, holding, d_pnl, d_fees, d_trips, d_fills, inv_qty, inv_cost = keep
        pnl += d_pnl
        fees += d_fees
        trips += d_trips
        fills += d_fills
        ev_pnl.append(pnl)
        ev_qty.append(inv_qty)
        ev_cost.append(inv_cost)
        ev_trips.append(trips)

    # equity at every close: the state of the last event bar at or before t
    if len(events):
        last = np.searchsorted(events, np.arange(t_end), side="right") - 1
        has, at = last >= 0, np.maximum(last, 0)
        pnl_t, qty_t, cost_t = (np.where(has, np.array(ev, dtype=float)[at], 0.0) for ev in (ev_pnl, ev_qty, ev_cost))
        trips_t = np.where(has, np.array(ev_trips, dtype=np.int64)[at], 0)
        equity = pnl_t + qty_t * c * factor - cost_t
    else:
        equity, pnl_t = np.zeros(t_end), np.zeros(t_end)
        trips_t = np.zeros(t_end, dtype=np.int64)

    held = tuple(i for i in range(n_buy) if holding[i])
    inventory_pnl = sum(qty[i] * (float(c[-1]) * factor - lv[i]) for i in held)
    total = pnl + inventory_pnl
    equity[-1] = total  # the same number; exact, whatever the summation order
    peak = np.maximum.accumulate(np.maximum(equity, 0.0))
    max_dd = float(np.max(peak - equity))
    return SimResult(
        grid_pnl=float(pnl),
        inventory_pnl=float(inventory_pnl),
        total=float(total),
        maker_fees=float(fees),
        round_trips=int(trips),
        fills=int(fills),
        max_drawdown=max_dd,
        exit_bar=exit_at,
        bars_held=t_end,
        buy_levels=int(n_buy),
        inventory_levels=held,
        equity=equity,
        olhc_bars=np.asarray(olhc, dtype=np.int64),
        grid_pnl_path=np.asarray(pnl_t, dtype=float).copy(),
        round_trips_path=trips_t.astype(np.int64),
    )


# --------------------------------------------------------------------------- exit policies
def exit_index(
    states: Sequence[str | None], policy: str, horizon: int, verdicts: Sequence[str | None] | None = None
) -> int:
    """The bar at whose close an exit policy leaves the grid (an index for ``simulate_grid``'s exit_at).

    ``states[k]`` is the lifecycle state (``fct_grid_lifecycle.state``, the engine's
    ``STATES``) at the close of the k-th bar after placement (k = 0 is the first bar of the
    simulated grid, the bar whose open is the placement); ``verdicts[k]`` the 1h verdict of
    that bar. Only the first ``horizon`` entries are read.

    Policies (project definitions of the evaluation's exit policies):

    * "hold": never exits early: H - 1, the last of the H bars (hold to the horizon).
    * "mandatory": the first k with state MANDATORY_EXIT (or EXITED: the engine ended the
      grid, e.g. a quick stop in probation; after a MANDATORY_EXIT bar the next one is
      EXITED, so the first index is the MANDATORY_EXIT bar).
    * "first_latest": the first k with state LATEST_ACCEPTABLE_EXIT or worse
      (MANDATORY_EXIT, EXITED).
    * "seed_rules": the trading team's stop rules: the first k with state MANDATORY_EXIT (or
      EXITED) or a TREND / TRANSITION verdict (the recommendations' ``stop``); needs
      ``verdicts``.

    Each returns H - 1 when its rule never fires within the H bars.

    Args:
        states: per-bar states after placement (str; None / NaN = no state, never an exit);
            at least ``horizon`` of them.
        policy: one of EXIT_POLICIES.
        horizon: H, bars (whole number >= 1).
        verdicts: per-bar 1h verdicts (str or None), at least ``horizon``; "seed_rules" only.

    Returns:
        int in 0..H-1.

    Raises:
        ValueError: an unknown policy or state, horizon < 1, too few states / verdicts,
            "seed_rules" without verdicts.
    """
    if policy not in EXIT_POLICIES:
        raise ValueError(f"exit_index: policy = {policy!r} must be one of {list(EXIT_POLICIES)}")
    if not _whole(horizon) or horizon < 1:
        raise ValueError(f"exit_index: horizon = {horizon!r} must be a whole number >= 1")
    horizon = int(horizon)
    states = list(states)
    if len(states) < horizon:
        raise ValueError(f"exit_index: {len(states)} states for horizon {horizon} (need at least {horizon})")
    window = [s if isinstance(s, str) else None for s in states[:horizon]]
    unknown = sorted({s for s in window if s is not None} - set(STATES))
    if unknown:
        raise ValueError(f"exit_index: unknown states {unknown} (expected {list(STATES)})")
    if policy == "hold":
        return horizon - 1
    need = 2 if policy == "first_latest" else 3
    stop_on_verdict = policy == "seed_rules"
    if stop_on_verdict:
        if verdicts is None:
            raise ValueError("exit_index: policy 'seed_rules' needs verdicts")
        verdicts = list(verdicts)
        if len(verdicts) < horizon:
            raise ValueError(f"exit_index: {len(verdicts)} verdicts for horizon {horizon} (need at least {horizon})")
    for k, state in enumerate(window):
        if _EXIT_LEVEL.get(state, 0) >= need:  # type: ignore[arg-type]
            return k
        if stop_on_verdict and verdicts[k] in _STOP_VERDICTS:  # type: ignore[index]
            return k
    return horizon - 1


# --------------------------------------------------------------------------- summary
def cvar(values: np.ndarray, tail: float = CVAR_TAIL) -> float:
    """Conditional value at risk: the mean of the worst ceil(tail x n) outcomes.

    Project definition of the tail count: k = ceil(tail x n), at least 1 (tail x n is
    rounded to 9 decimals first, so that 0.07 x 100 = 7.000000000000001 counts as 7, not 8);
    the k smallest finite values are averaged. CVaR5 = cvar(values, 0.05): with 20 outcomes
    the worst one, with 21 to 40 the mean of the worst two.

    Args:
        values: shape (n,), returns; NaNs are dropped. tail: 0 < tail <= 1.

    Returns:
        float (same units as values, usually negative); NaN for no finite value.
    """
    if not 0 < tail <= 1:
        raise ValueError(f"cvar: tail = {tail!r} must be > 0 and <= 1")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    k = max(1, math.ceil(round(tail * len(x), 9)))
    return float(np.mean(np.partition(x, k - 1)[:k]))


def cvar_difference_ci(
    reference: np.ndarray,
    others: np.ndarray,
    groups: np.ndarray,
    block: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    tail: float = CVAR_TAIL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CVaR(others[:, j]) - CVaR(reference) for paired outcomes, with a block-bootstrap interval.

    Row i of ``reference`` and ``others`` are the same placement under different policies
    (e.g. hold to H and MANDATORY), so one resample of rows serves all of them (paired):
    the resamples of :func:`~market_regimes.research.grid_outcomes.block_bootstrap_rows`
    (blocks of ``block`` rows, resampled within each group), the difference of :func:`cvar`
    (tail 0.05) on each, the percentile interval at ``level``. A positive difference: the
    other policy's worst outcomes are less bad (its CVaR5 is better).

    Args:
        reference: shape (n,), returns. others: shape (n, m), returns. groups: shape (n,),
            series labels (rows in time order within each). block, n_boot, seed, level: as
            :func:`~market_regimes.research.grid_outcomes.block_bootstrap_ci`.

    Returns:
        (diff, lo, hi): float arrays of shape (m,); NaN for n = 0.

    Raises:
        ValueError: shapes that do not match, a bad tail / block / n_boot / level.
    """
    ref = np.asarray(reference, dtype=float)
    oth = np.asarray(others, dtype=float).reshape(len(ref), -1)
    if len(np.asarray(groups)) != len(ref):
        raise ValueError(f"cvar_difference_ci: {len(ref)} reference rows but {len(np.asarray(groups))} groups")
    if not 0 < level < 1:
        raise ValueError(f"cvar_difference_ci: level = {level!r} must be in (0, 1)")
    m = oth.shape[1]
    if len(ref) == 0:
        nan = np.full(m, np.nan)
        return nan, nan.copy(), nan.copy()
    point = np.array([cvar(oth[:, j], tail) - cvar(ref, tail) for j in range(m)])
    both = np.column_stack([ref, oth])
    if np.isfinite(both).all():  # the common case: every column's CVaR of a resample at once

        def tails(rows: np.ndarray) -> np.ndarray:
            k = max(1, math.ceil(round(tail * len(rows), 9)))
            worst = np.partition(both[rows], k - 1, axis=0)[:k].mean(axis=0)
            return worst[1:] - worst[0]
    else:

        def tails(rows: np.ndarray) -> np.ndarray:
            return np.array([cvar(oth[rows, j], tail) - cvar(ref[rows], tail) for j in range(m)])

    boot = np.array([tails(rows) for rows in block_bootstrap_rows(groups, block, n_boot, seed)])
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    return point, lo, hi


def policy_summary(
    pnls: np.ndarray,
    groups: np.ndarray,
    block: int,
    *,
    policies: np.ndarray,
    max_drawdowns: np.ndarray,
    round_trips: np.ndarray,
    days: np.ndarray,
    cfg: GridOutcomeConfig | None = None,
) -> pd.DataFrame:
    """Per exit policy: n, mean (block-bootstrap interval), median, hit rate, CVaR5, drawdown, round trips/day.

    One input row per simulated grid (a placement x a policy); rows must be in time order
    within each (policy, group): the bootstrap cuts blocks along that order.

    Per policy p (its rows with a finite pnl; project definitions):

    * n: number of rows; mean, [ci_low, ci_high]: the mean pnl and the percentile interval of
      :func:`~market_regimes.research.grid_outcomes.block_bootstrap_ci` over p's rows only
      (groups = series, blocks of ``block`` rows, cfg.n_boot / cfg.seed / cfg.ci_level);
    * median: of the pnls; hit_rate: share with pnl > 0 (0 is not a hit);
    * cvar_5: :func:`cvar` with tail 0.05 (mean of the worst ceil(0.05 n));
    * mean_max_drawdown: mean of the rows' max_drawdown;
    * round_trips_per_day: sum of round trips / sum of days held (a pooled rate: a per-row
      rate of a grid exited after one bar would be mostly noise).

    Args:
        pnls: shape (n,), the simulated result (e.g. SimResult.total, or grid_pnl), returns.
        groups: shape (n,), the series label of each row (bootstrap strata).
        block: rows per bootstrap block (>= 1; placements every bar with horizon H overlap
            for H bars: use H).
        policies: shape (n,), the policy label of each row (any hashable).
        max_drawdowns: shape (n,), SimResult.max_drawdown. round_trips: shape (n,).
        days: shape (n,), days held (bars_held x bar hours / 24), > 0.
        cfg: GridOutcomeConfig for n_boot, seed, ci_level (default: its defaults).

    Returns:
        DataFrame with SUMMARY_COLUMNS, one row per policy in order of first appearance.

    Raises:
        ValueError: arrays of different lengths, block < 1, days <= 0 or NaN.
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    pnls = np.asarray(pnls, dtype=float)
    n = len(pnls)
    arrays = {
        "groups": np.asarray(groups),
        "policies": np.asarray(policies),
        "max_drawdowns": np.asarray(max_drawdowns, dtype=float),
        "round_trips": np.asarray(round_trips, dtype=float),
        "days": np.asarray(days, dtype=float),
    }
    wrong = {k: len(v) for k, v in arrays.items() if len(v) != n}
    if wrong:
        raise ValueError(f"policy_summary: pnls has {n} rows but {wrong}")
    if not _whole(block) or block < 1:
        raise ValueError(f"policy_summary: block = {block!r} must be a whole number >= 1")
    days_arr = arrays["days"]
    if n and not (np.isfinite(days_arr) & (days_arr > 0)).all():
        raise ValueError("policy_summary: days must be finite and > 0")
    rows = []
    labels = pd.unique(pd.Series(arrays["policies"], dtype=object))
    selections = [(arrays["policies"] == policy) & np.isfinite(pnls) for policy in labels]
    # the policies' bootstraps: one draw of the blocks serves every policy whose rows have the
    # same series sequence (the same placements: the usual case), the same numbers as apart
    group_seqs = [arrays["groups"][sel] for sel in selections]
    if len(group_seqs) > 1 and all(len(g) == len(group_seqs[0]) and (g == group_seqs[0]).all() for g in group_seqs):
        intervals = block_bootstrap_cis(
            [pnls[sel] for sel in selections],
            group_seqs[0],
            int(block),
            n_boot=cfg.n_boot,
            seed=cfg.seed,
            level=cfg.ci_level,
        )
    else:
        intervals = [
            block_bootstrap_ci(pnls[sel], g, int(block), n_boot=cfg.n_boot, seed=cfg.seed, level=cfg.ci_level)
            for sel, g in zip(selections, group_seqs)
        ]
    for policy, sel, (mean, lo, hi) in zip(labels, selections, intervals):
        x = pnls[sel]
        rows.append(
            {
                "policy": policy,
                "n": int(sel.sum()),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "median": float(np.median(x)) if len(x) else float("nan"),
                "hit_rate": float(np.mean(x > 0)) if len(x) else float("nan"),
                "cvar_5": cvar(x, CVAR_TAIL),
                "mean_max_drawdown": float(np.nanmean(arrays["max_drawdowns"][sel])) if len(x) else float("nan"),
                "round_trips_per_day": (
                    float(arrays["round_trips"][sel].sum() / days_arr[sel].sum()) if len(x) else float("nan")
                ),
            }
        )
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    out["n"] = out["n"].astype(np.int64)
    return out
