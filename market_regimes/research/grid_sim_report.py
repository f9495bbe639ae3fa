"""Research report: a simulated grid by verdict and exit policy (rpt_grid_sim_by_verdict).

What would a grid placed on the current range have earned, by the verdict of the bar it was
placed on, and does leaving it on the lifecycle's exit states cut the losses? Looks ahead BY
DESIGN (an evaluation, never an input of the regimes or the lifecycle). Only placements in
the out-of-sample part of each series count (the last 1 - train_frac of its bars: nothing
was tuned there).

Placements (project definitions)
--------------------------------
* Every ``step`` bars (72) of each series segment, from the first out-of-sample bar: the bar
  t is a placement when it has a verdict and a primary range with 0 < support < resistance.
  Placing on a fixed clock, whatever the verdict, is what makes the verdicts comparable (a
  placement only at RANGE_OK would say nothing about the others).
* The grid: [support_t, resistance_t] with the lifecycle's probation parameters (levels 5,
  allocation 0.55 of seed grid_lifecycle_config: the grid the virtual policy places), placed
  at the open of bar t + 1 and simulated by :func:`grid_simulator.simulate_grid` (fees of
  :class:`GridSimConfig`; the conservative intrabar path on 1h bars, or per finer bar where
  the series has landed finer bars (1m, else 5m) covering every hour of the window
  completely: the ambiguity of the order of the extremes then shrinks to one finer bar).
* Its lifecycle states: :func:`grid_lifecycle.placement_states` (the placed grid walked
  from bar t with the market buffers of a grid followed since the segment began: PROBATION,
  quick stop, NORMAL, WARNING, LATEST, MANDATORY, EXITED, exactly as a configured grid of
  these bounds placed at t would be walked).
* Horizons H (24, 72, 168 bars): a placement counts for H when its H bars lie in its segment
  (no outcome crosses a segment).

Exit policies (:func:`grid_simulator.exit_index`): hold to H; seed_rules (MANDATORY_EXIT,
EXITED, or a TREND / TRANSITION verdict); mandatory (the first MANDATORY_EXIT or EXITED: the
lifecycle's own end of the grid, which includes the probation's quick stop and failure);
first_latest (the first LATEST_ACCEPTABLE_EXIT or worse); and shuffled_exit, the null of the
exit timing: the mandatory policy's exit bars of horizon H permuted across the placements
of the same verdict (numpy default_rng(cfg.seed)): the same holding times, placed without information (an exit
policy that beats hold only by leaving early ties with it; one whose timing carries
information beats it). An exit at bar k sells the inventory at its close (taker fee +
slippage).

Reported per (H, verdict at placement or ALL, policy): the mean total return on the
allocated capital with a 95% block-bootstrap interval (blocks of ceil(H / step) placements,
resampled within each series), median, hit rate, CVaR5, the CVaR5 difference against hold to
H on the same placements with its paired bootstrap interval (positive: the policy's worst 5%
are less bad) and the same against shuffled_exit (positive: the exit timing itself cuts the
tail, beyond leaving early), mean grid_pnl and inventory_pnl apart, mean max drawdown, round trips per day,
mean bars held and the placements simulated on finer bars.

Pure Python (numpy, pandas): no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import INPUT_COLUMNS as LIFECYCLE_INPUTS
from market_regimes.engines.grid_lifecycle import STATES, LifecycleConfig, gc_paused, placement_states
from market_regimes.research.grid_outcomes import GridOutcomeConfig, block_bootstrap_rows, evaluation_split
from market_regimes.research.grid_simulator import (
    _EXIT_LEVEL,
    _STOP_VERDICTS,
    CVAR_TAIL,
    EXIT_POLICIES,
    GridSimConfig,
    _simulate_arrays,
    cvar,
    cvar_difference_ci,
    policy_summary,
    simulate_grid,
)

INPUT_COLUMNS = ("series_key", "segment_id", "open", *LIFECYCLE_INPUTS)
FINE_COLUMNS = ("series_key", "bar_start", "interval_minutes", "open", "high", "low", "close")
PLACEMENT_COLUMNS = (
    "series_key",
    "bar_start",
    "verdict",
    "horizon_bars",
    "policy",
    "exit_bar",
    "bars_held",
    "grid_pnl",
    "inventory_pnl",
    "total",
    "max_drawdown",
    "round_trips",
    "fill_minutes",
)
REPORT_COLUMNS = (
    "horizon_bars",
    "verdict",
    "policy",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "median",
    "hit_rate",
    "cvar_5",
    "cvar_5_vs_hold",
    "cvar_diff_ci_low",
    "cvar_diff_ci_high",
    "cvar_5_vs_shuffled",
    "cvar_null_ci_low",
    "cvar_null_ci_high",
    "mean_grid_pnl",
    "mean_inventory_pnl",
    "mean_max_drawdown",
    "round_trips_per_day",
    "mean_bars_held",
    "fine_bar_placements",
)
_NS_PER_MINUTE = 60_000_000_000
SHUFFLED_POLICY = "shuffled_exit"
POLICIES = (*EXIT_POLICIES, SHUFFLED_POLICY)


def _ohlc_arrays(rows: pd.DataFrame) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The open / high / low / close columns as float arrays (as grid_simulator reads them)
    and the running count of the bars grid_simulator rejects (a missing or non-finite price,
    0 < low <= open, close <= high violated): a window [a, b) is valid when
    bad_cum[b] == bad_cum[a]."""
    o, h, low, c = (rows[name].to_numpy(dtype=float, na_value=np.nan) for name in ("open", "high", "low", "close"))
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)
    with np.errstate(invalid="ignore"):
        bad = ~finite | (low > np.minimum(o, c)) | (h < np.maximum(o, c)) | (low <= 0)
    return (o, h, low, c), np.r_[0, np.cumsum(bad)]


def _exit_indices(
    states: np.ndarray, verdicts: list, ok: list[int], horizons: list[int]
) -> dict[tuple[int, int, str], int]:
    """:func:`grid_simulator.exit_index` of every (placement j, horizon h, policy) at once:
    the first bar of each rule is found once per placement, then capped at h - 1.

    Returns {(j, h, policy): k} for the horizons whose bars lie in the segment; a state
    outside STATES raises as exit_index does."""
    n_pos, width = states.shape
    # through the distinct states (a Python lookup per cell costs ~0.1 s per 100k cells)
    codes, distinct = pd.factorize(np.asarray(states, dtype=object).ravel())  # -1: None / NaN (no state)
    unknown = sorted({s for s in distinct if isinstance(s, str)} - set(STATES))
    if unknown:
        raise ValueError(f"exit_index: unknown states {unknown} (expected {list(STATES)})")
    lookup = np.array([_EXIT_LEVEL.get(s, 0) if isinstance(s, str) else 0 for s in distinct] + [0], dtype=np.int8)
    level = lookup[codes].reshape(n_pos, width)
    big = np.iinfo(np.int64).max

    def first(mask: np.ndarray) -> np.ndarray:
        return np.where(mask.any(axis=1), mask.argmax(axis=1), big) if width else np.full(n_pos, big)

    first_mandatory, first_latest = first(level >= 3), first(level >= 2)
    out: dict[tuple[int, int, str], int] = {}
    for j, t in enumerate(ok):
        stop_at = next((k for k, v in enumerate(verdicts[t + 1 : t + 1 + width]) if v in _STOP_VERDICTS), big)
        seed_first = min(int(first_mandatory[j]), stop_at)
        for h in horizons:
            last = h - 1
            out[(j, h, "hold")] = last
            out[(j, h, "mandatory")] = min(int(first_mandatory[j]), last)
            out[(j, h, "first_latest")] = min(int(first_latest[j]), last)
            out[(j, h, "seed_rules")] = min(seed_first, last)
    return out


def _fine_index(fine: pd.DataFrame | None) -> dict[object, tuple[np.ndarray, pd.DataFrame, int]]:
    """Per series: (bar_start as int ns, its OHLC rows, interval minutes) of the finest
    landed interval."""
    if fine is None or not len(fine):
        return {}
    missing = [c for c in FINE_COLUMNS if c not in fine.columns]
    if missing:
        raise ValueError(f"grid sim report: fine bars miss columns {missing}")
    out = {}
    for key, rows in fine.groupby("series_key", sort=False):
        minutes = int(rows["interval_minutes"].min())
        rows = rows[rows["interval_minutes"] == minutes].sort_values("bar_start", kind="stable").reset_index(drop=True)
        ts = pd.to_datetime(rows["bar_start"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        out[key] = (ts, rows[["open", "high", "low", "close"]], minutes)
    return out


def _fine_window(
    index: tuple[np.ndarray, pd.DataFrame, int] | None, hour_starts: np.ndarray, bar_minutes: int
) -> tuple[pd.DataFrame, np.ndarray, int] | None:
    """The finer bars of the coarse bars starting at ``hour_starts`` (int ns) when every one
    of them is complete (bar_minutes / interval finer bars): (rows, index of each coarse
    bar's last finer bar, interval minutes); else None."""
    if index is None:
        return None
    ts, rows, minutes = index
    per_bar = bar_minutes // minutes
    if per_bar <= 1 or bar_minutes % minutes:
        return None
    first = np.searchsorted(ts, hour_starts, side="left")
    last = np.searchsorted(ts, hour_starts + bar_minutes * _NS_PER_MINUTE, side="left")
    if not (last - first == per_bar).all() or not (np.diff(first) == per_bar).all():
        return None
    lo = int(first[0])
    return rows.iloc[lo : int(last[-1])].reset_index(drop=True), last - 1 - lo, minutes


def _exit_paths(result, bar_end: np.ndarray) -> tuple[list, list, list, list]:
    """Per coarse bar k of a simulated placement: what ``result.exited_at(bar_end[k])`` reads
    (grid_pnl_path, equity, the running max drawdown, round_trips_path at the bar's last
    simulated bar), as Python numbers, computed once for all its exits. The running max of
    the drawdowns of the running peak is, at every bar, the max over the prefix that
    exited_at takes (max is exact: the same numbers)."""
    eq = result.equity
    drawdown = np.maximum.accumulate(np.maximum.accumulate(np.maximum(eq, 0.0)) - eq)
    at = np.asarray(bar_end, dtype=np.int64)
    return (
        result.grid_pnl_path[at].tolist(),
        eq[at].tolist(),
        drawdown[at].tolist(),
        result.round_trips_path[at].tolist(),
    )


def _row(
    key: object,
    stamp: pd.Timestamp,
    verdict: str,
    h: int,
    policy: str,
    k: int,
    paths: tuple[list, list, list, list],
    fill_minutes: int,
) -> tuple:
    """One PLACEMENT_COLUMNS row: the placement exited at the close of its k-th bar
    (:meth:`grid_simulator.SimResult.exited_at` of its last simulated bar, from
    :func:`_exit_paths`: total = equity, inventory_pnl = total - grid_pnl)."""
    grid_pnl, equity, drawdown, trips = paths
    total = equity[k]
    return (
        key,
        stamp,
        verdict,
        h,
        policy,
        k,
        k + 1,
        grid_pnl[k],
        total - grid_pnl[k],
        total,
        drawdown[k],
        trips[k],
        fill_minutes,
    )


@gc_paused()  # allocation-heavy, no cycles (grid_lifecycle.gc_paused)
def simulate_placements(
    bars: pd.DataFrame,
    lifecycle: LifecycleConfig,
    sim: GridSimConfig | None = None,
    cfg: GridOutcomeConfig | None = None,
    fine: pd.DataFrame | None = None,
    step: int = 72,
    bar_minutes: int = 60,
) -> pd.DataFrame:
    """Every out-of-sample placement under every horizon and exit policy (module docstring).

    Args:
        bars: one row per grid bar (1h): INPUT_COLUMNS = series_key (one series), segment_id,
            open and the lifecycle engine's inputs (bar_start, close, high, low, atr_14, ...,
            verdict, support, resistance; :data:`grid_lifecycle.INPUT_COLUMNS`).
        lifecycle: the lifecycle constants (placed grids' levels and allocation, triggers).
        sim: fees (default :class:`GridSimConfig`). cfg: train_frac, horizons (the rest is
            for :func:`sim_by_verdict_report`).
        fine: optional finer bars: FINE_COLUMNS (series_key, bar_start, interval_minutes,
            OHLC); per series the finest interval is used where it covers a window.
        step: bars between two placements of a segment (>= 1).
        bar_minutes: minutes of one grid bar (60).

    Returns:
        DataFrame with PLACEMENT_COLUMNS, one row per (placement, H, policy) of
        EXIT_POLICIES in series and time order, then the shuffled_exit rows (per H, in the
        same placement order): bar_start is the placement bar t (the decision; the grid opens at t + 1),
        exit_bar the exit's index among the H bars (0 = bar t + 1), returns on the allocated
        capital, fill_minutes the bar length the fills were simulated on (60 or finer).

    Raises:
        ValueError: missing columns (named), step < 1.
    """
    sim = sim if sim is not None else GridSimConfig()
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    if isinstance(step, bool) or int(step) != step or step < 1:
        raise ValueError(f"grid sim report: step = {step!r} must be a whole number >= 1")
    bars, evaluated = evaluation_split(bars, cfg.train_frac, INPUT_COLUMNS, "grid sim report")
    horizons = sorted(int(h) for h in cfg.horizons)
    h_max = horizons[-1]
    fine_by_series = _fine_index(fine)
    levels, allocation = int(lifecycle.probation_levels), float(lifecycle.probation_allocation)
    out: list[tuple] = []
    pending: dict[int, list[tuple]] = {}
    for (key, _), seg in bars.groupby(["series_key", "segment_id"], sort=False):
        rows = seg.index.to_numpy()
        ev = evaluated[rows]
        if not ev.any():
            continue
        seg = seg.reset_index(drop=True)
        n = len(seg)
        first = int(np.argmax(ev))
        support, resistance = seg["support"].to_numpy(dtype=float), seg["resistance"].to_numpy(dtype=float)
        verdicts = seg["verdict"].astype(object).where(seg["verdict"].notna(), None).tolist()
        candidates = np.arange(first, n - 1, int(step))
        ok = [
            t
            for t in candidates.tolist()
            if ev[t]
            and verdicts[t] is not None
            and np.isfinite(support[t])
            and np.isfinite(resistance[t])
            and 0 < support[t] < resistance[t]
            and t + horizons[0] <= n - 1
        ]
        if not ok:
            continue
        states = placement_states(
            seg, ok, support[ok].tolist(), resistance[ok].tolist(), levels, allocation, lifecycle, h_max
        )
        ts = pd.to_datetime(seg["bar_start"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        ohlc = seg[["open", "high", "low", "close"]]
        arrays, bad_cum = _ohlc_arrays(ohlc)
        fine_index = fine_by_series.get(key)
        exits = _exit_indices(states, verdicts, ok, horizons)
        for j, t in enumerate(ok):
            end = min(n - 1, t + h_max)  # last simulated bar
            window = _fine_window(fine_index, ts[t + 1 : end + 1], bar_minutes)
            if window is None:
                a, b = t + 1, end + 1
                if bad_cum[b] == bad_cum[a]:  # valid bars: simulate_grid on the arrays, without a frame
                    result = _simulate_arrays(
                        *(x[a:b] for x in arrays),
                        float(support[t]),
                        float(resistance[t]),
                        levels,
                        allocation,
                        sim,
                        None,
                        "conservative",
                    )
                else:  # raises simulate_grid's error for the bar
                    result = simulate_grid(
                        ohlc.iloc[a:b], float(support[t]), float(resistance[t]), levels, allocation, sim
                    )
                bar_end, fill_minutes = np.arange(end - t), bar_minutes
            else:
                fine_rows, bar_end, fill_minutes = window
                result = simulate_grid(fine_rows, float(support[t]), float(resistance[t]), levels, allocation, sim)
            stamp = pd.Timestamp(ts[t])
            paths = _exit_paths(result, bar_end)
            for h in horizons:
                if t + h > n - 1:
                    continue
                for policy in EXIT_POLICIES:
                    k = exits[(j, h, policy)]
                    out.append(_row(key, stamp, verdicts[t], h, policy, k, paths, fill_minutes))
                    if policy == "mandatory":
                        pending.setdefault(h, []).append((key, stamp, verdicts[t], k, paths, fill_minutes))
    # the null of the exit timing: the mandatory exit bars of horizon h permuted across its
    # placements of the same verdict (the same holding times, no information about the bar
    # they fall on)
    rng = np.random.default_rng(cfg.seed)
    for h in horizons:
        items = pending.get(h, [])
        verdict_of = np.array([item[2] for item in items], dtype=object)
        exits = np.array([item[3] for item in items], dtype=np.int64)
        for verdict in sorted(set(verdict_of.tolist())):
            where = np.flatnonzero(verdict_of == verdict)
            exits[where] = rng.permutation(exits[where])
        for item, k in zip(items, exits.tolist()):
            key, stamp, verdict, _, paths, fill_minutes = item
            out.append(_row(key, stamp, verdict, h, SHUFFLED_POLICY, k, paths, fill_minutes))
    frame = pd.DataFrame(out, columns=list(PLACEMENT_COLUMNS))
    for name in ("horizon_bars", "exit_bar", "bars_held", "round_trips", "fill_minutes"):
        frame[name] = frame[name].astype(np.int64)
    frame["bar_start"] = pd.to_datetime(frame["bar_start"]).astype("datetime64[us]")
    return frame


def _paired_cvar_differences(
    wide: dict[str, pd.DataFrame], block: int, cfg: GridOutcomeConfig
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Both CVaR5 comparisons of :func:`sim_by_verdict_report` (every other policy against
    hold, and against shuffled_exit) from one set of resamples: the numbers of
    :func:`grid_simulator.cvar_difference_ci` called with each reference (the same
    resampled rows, since both calls resample the same placements; each policy's tail
    mean of a resample computed once and differenced).

    Args:
        wide: policy -> its rows (columns total, series_key), the same placements in the
            same order for every policy of POLICIES. block: bootstrap block (placements).
        cfg: n_boot, seed, ci_level.

    Returns:
        {"hold": (diff, lo, hi) over the policies after hold, "shuffled_exit": (diff, lo, hi)
        over the policies before it}, POLICIES order; None when the policies' rows are not
        the same placements or a total is not finite (the caller then calls
        cvar_difference_ci per reference).
    """
    keys = wide["hold"]["series_key"].to_numpy(dtype=object)
    n = len(keys)
    if n == 0 or any(
        len(wide[p]) != n or not (wide[p]["series_key"].to_numpy(dtype=object) == keys).all() for p in POLICIES
    ):
        return None
    totals = np.column_stack([wide[p]["total"].to_numpy(dtype=float) for p in POLICIES])
    if not np.isfinite(totals).all():
        return None
    tail = CVAR_TAIL
    worst_all = np.array([cvar(totals[:, j], tail) for j in range(len(POLICIES))])

    def worst(rows: np.ndarray) -> np.ndarray:
        k = max(1, math.ceil(round(tail * len(rows), 9)))
        return np.partition(totals[rows], k - 1, axis=0)[:k].mean(axis=0)

    boot = np.array([worst(rows) for rows in block_bootstrap_rows(keys, block, cfg.n_boot, cfg.seed)])
    alpha = (1 - cfg.ci_level) / 2
    out = {}
    for reference in ("hold", SHUFFLED_POLICY):
        r = POLICIES.index(reference)
        cols = [j for j in range(len(POLICIES)) if j != r]
        point = np.array([worst_all[j] - worst_all[r] for j in cols])
        lo, hi = np.nanquantile(boot[:, cols] - boot[:, [r]], [alpha, 1 - alpha], axis=0)
        out[reference] = (point, lo, hi)
    return out


def sim_by_verdict_report(
    placements: pd.DataFrame,
    cfg: GridOutcomeConfig | None = None,
    step: int = 72,
    bar_minutes: int = 60,
    verdicts: Sequence[str] = ("RANGE_OK", "RANGE_WEAK", "TRANSITION", "TREND"),
) -> pd.DataFrame:
    """The summary of :func:`simulate_placements`' rows (module docstring).

    Args:
        placements: :func:`simulate_placements`' output.
        cfg: bootstrap (n_boot, seed, ci_level). step: the placements' step (bootstrap
            blocks of ceil(H / step) placements). bar_minutes: minutes of a grid bar (days held).
        verdicts: the verdict groups besides ALL (a verdict without placements gives rows
            with n = 0).

    Returns:
        DataFrame with REPORT_COLUMNS, per horizon_bars, verdict (ALL first) and policy
        (POLICIES order: EXIT_POLICIES, then shuffled_exit); the hold rows have cvar_5_vs_hold 0
    and no interval, the shuffled_exit rows cvar_5_vs_shuffled 0 and no interval.
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    rows: list[pd.DataFrame] = []
    for h, at_h in placements.groupby("horizon_bars", sort=True):
        block = max(1, math.ceil(int(h) / int(step)))
        for verdict in ("ALL", *verdicts):
            part = at_h if verdict == "ALL" else at_h[at_h["verdict"] == verdict]
            # one column per policy, one row per placement (same order for every policy)
            wide = {p: part[part["policy"] == p].reset_index(drop=True) for p in POLICIES}
            hold = wide["hold"]
            summary = policy_summary(
                part["total"].to_numpy(dtype=float),
                part["series_key"].to_numpy(dtype=object),
                block,
                policies=part["policy"].to_numpy(dtype=object),
                max_drawdowns=part["max_drawdown"].to_numpy(dtype=float),
                round_trips=part["round_trips"].to_numpy(dtype=float),
                days=part["bars_held"].to_numpy(dtype=float) * bar_minutes / 1440.0,
                cfg=cfg,
            )
            summary = summary.set_index("policy").reindex(list(POLICIES)).reset_index()
            others = [p for p in POLICIES if p != "hold"]
            timed = [p for p in POLICIES if p != SHUFFLED_POLICY]
            shuffled = wide[SHUFFLED_POLICY]
            paired = _paired_cvar_differences(wide, block, cfg)
            if paired is not None:  # every policy on the same placements: one resampling for both references
                (diff, lo, hi), (sdiff, slo, shi) = paired["hold"], paired[SHUFFLED_POLICY]
            else:
                diff, lo, hi = cvar_difference_ci(
                    hold["total"].to_numpy(dtype=float),
                    np.column_stack([wide[p]["total"].to_numpy(dtype=float) for p in others])
                    if len(hold)
                    else np.zeros((0, len(others))),
                    hold["series_key"].to_numpy(dtype=object),
                    block,
                    cfg.n_boot,
                    cfg.seed,
                    cfg.ci_level,
                )
                # the same against the null of the exit timing (shuffled_exit)
                sdiff, slo, shi = cvar_difference_ci(
                    shuffled["total"].to_numpy(dtype=float),
                    np.column_stack([wide[p]["total"].to_numpy(dtype=float) for p in timed])
                    if len(shuffled)
                    else np.zeros((0, len(timed))),
                    shuffled["series_key"].to_numpy(dtype=object),
                    block,
                    cfg.n_boot,
                    cfg.seed,
                    cfg.ci_level,
                )
            extra = {"hold": (0.0, np.nan, np.nan), **{p: (diff[i], lo[i], hi[i]) for i, p in enumerate(others)}}
            vs_null = {
                SHUFFLED_POLICY: (0.0, np.nan, np.nan),
                **{p: (sdiff[i], slo[i], shi[i]) for i, p in enumerate(timed)},
            }
            summary["cvar_5_vs_shuffled"] = [vs_null[p][0] if len(shuffled) else np.nan for p in POLICIES]
            summary["cvar_null_ci_low"] = [vs_null[p][1] for p in POLICIES]
            summary["cvar_null_ci_high"] = [vs_null[p][2] for p in POLICIES]
            summary["cvar_5_vs_hold"] = [extra[p][0] if len(hold) else np.nan for p in POLICIES]
            summary["cvar_diff_ci_low"] = [extra[p][1] for p in POLICIES]
            summary["cvar_diff_ci_high"] = [extra[p][2] for p in POLICIES]
            for name, column in (
                ("mean_grid_pnl", "grid_pnl"),
                ("mean_inventory_pnl", "inventory_pnl"),
                ("mean_bars_held", "bars_held"),
            ):
                summary[name] = [float(wide[p][column].mean()) if len(wide[p]) else np.nan for p in POLICIES]
            summary["fine_bar_placements"] = [int((wide[p]["fill_minutes"] < bar_minutes).sum()) for p in POLICIES]
            summary["n"] = summary["n"].fillna(0)
            summary.insert(0, "verdict", verdict)
            summary.insert(0, "horizon_bars", int(h))
            rows.append(summary)
    if not rows:
        text, whole = ("verdict", "policy"), ("horizon_bars", "n", "fine_bar_placements")
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c in text else np.int64 if c in whole else float) for c in REPORT_COLUMNS}
        )
    out = pd.concat(rows, ignore_index=True)[list(REPORT_COLUMNS)]
    for name in ("horizon_bars", "n", "fine_bar_placements"):
        out[name] = out[name].astype(np.int64)
    return out
