"""Research report: do the restart gates restart grids that then hold?

:func:`restart_outcome_report` compares, on the virtual grids' stops (fct_grid_lifecycle),
the restarts the gates gave (policy ``gates``) with the baselines that restart every stop
after a fixed delay: the time floor alone (``floor_only``, 24 bars) and fixed 48 / 72-bar
delays (:func:`grid_exits.fixed_delay_restarts`). Every restart, whatever its policy, is
placed as the lifecycle places one: at the post-stop range (the ``post_stop_low_quantile``
of the lows and ``post_stop_high_quantile`` of the highs of the bars after the stop, at
most ``post_stop_range_max_bars``, the restart bar included;
:func:`grid_lifecycle.post_stop_range`), and it is **retriggered** when a MANDATORY_EXIT
trigger of that placement (:func:`grid_lifecycle.closes_outside_trigger`,
:func:`stop_buffer_trigger`, :func:`directional_swing_trigger` with the seed's thresholds)
fires on one of the ``window`` (72) bars after the restart. The same rule for every policy
(project definition: the gated restarts' own lifecycles also stop on probation and verdict
rules the baselines do not have, so their MANDATORY_EXIT entries would not compare).
Restarts whose window runs past the walk's last bar are censored; only restarts in the
out-of-sample part of each series count.

Reported per policy: restarts, retrigger rate and mean delay from the stop (bars), each with
a 95% bootstrap interval (whole series resampled with replacement:
:func:`grid_outcomes.series_bootstrap_ci`).

Pure Python (numpy, pandas): no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import (
    LifecycleConfig,
    closes_outside_trigger,
    directional_swing_trigger,
    post_stop_range,
    stop_buffer_trigger,
)
from market_regimes.engines.grid_lifecycle_frames import CONFIG_COLUMNS, lifecycle_rows
from market_regimes.research.grid_exits import fixed_delay_restarts
from market_regimes.research.grid_outcomes import GridOutcomeConfig, evaluation_split, series_bootstrap_ci

INPUT_COLUMNS = (
    "walk_id",
    "series_key",
    "bar_start",
    "close",
    "high",
    "low",
    "atr_14",
    "bars_since_stop",
    "is_restart",
)
POLICIES = {"gates": None, "floor_only": 24, "fixed_48": 48, "fixed_72": 72}
REPORT_COLUMNS = ("policy", "metric", "n", "value", "ci_low", "ci_high")


def retriggered(
    close: Sequence[float],
    atr: Sequence[float],
    restart: int,
    lower: float,
    upper: float,
    cfg: LifecycleConfig,
    window: int,
) -> bool:
    """Does a MANDATORY_EXIT trigger of [lower, upper] fire on bars restart+1..restart+window?

    close, atr: the walk's closes and atr_14 (price units), arrays or lists (a caller that
    checks many restarts of one walk passes lists: the triggers read them element by
    element, the same numbers)."""
    first = restart + 1
    for k in range(first, min(restart + window, len(close) - 1) + 1):
        since = close[first : k + 1]
        if closes_outside_trigger(since, lower, upper, cfg.mandatory_outside_closes)[0]:
            return True
        if stop_buffer_trigger(close[k], lower, upper, atr[k], cfg.mandatory_stop_buffer_atr)[0]:
            return True
        if directional_swing_trigger(
            close[max(0, k - cfg.mandatory_swing_bars) : k + 1],
            atr[k],
            lower,
            upper,
            cfg.mandatory_swing_bars,
            cfg.mandatory_swing_min_atr,
            cfg.mandatory_swing_outer_frac,
        )[0]:
            return True
    return False


def restart_outcome_report(
    bars: pd.DataFrame, lifecycle: LifecycleConfig, cfg: GridOutcomeConfig | None = None, window: int = 72
) -> pd.DataFrame:
    """The restart policies compared (see the module docstring).

    Args:
        bars: one row per virtual-grid bar, INPUT_COLUMNS: walk_id (one series segment),
            series_key, bar_start, close, high, low, atr_14 (price units), bars_since_stop
            (0 on a stop bar, NULL while no stop awaits a restart), is_restart (the gates
            restarted the grid at this bar).
        lifecycle: the lifecycle constants (post-stop range, MANDATORY thresholds).
        cfg: walk-forward split and bootstrap. window: bars after a restart (72).

    Returns:
        DataFrame with REPORT_COLUMNS: per policy (gates, floor_only, fixed_48, fixed_72)
        metric restarts (n, no interval), retrigger_rate (fraction) and delay_bars (bars
        from the stop to the restart), with 95% intervals.

    Raises:
        ValueError: missing columns (named).
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    bars, evaluated = evaluation_split(bars, cfg.train_frac, INPUT_COLUMNS, "restart_outcome_report")
    hits: dict[str, list[float]] = {p: [] for p in POLICIES}
    delays: dict[str, list[float]] = {p: [] for p in POLICIES}
    keys: dict[str, list[object]] = {p: [] for p in POLICIES}
    for _, walk in bars.groupby("walk_id", sort=True):
        pos = walk.index.to_numpy()
        close, atr = walk["close"].to_numpy(dtype=float), walk["atr_14"].to_numpy(dtype=float)
        low, high = walk["low"].to_numpy(dtype=float), walk["high"].to_numpy(dtype=float)
        n = len(walk)
        stops = np.flatnonzero(walk["bars_since_stop"].eq(0).to_numpy(dtype=bool, na_value=False))
        if not len(stops):
            continue
        gated = np.flatnonzero(walk["is_restart"].eq(True).to_numpy(dtype=bool, na_value=False))
        close_list = atr_list = None
        for policy, delay in POLICIES.items():
            restarts = gated if delay is None else fixed_delay_restarts(stops, delay, n)
            for r in restarts:
                if r + window > n - 1 or not evaluated[pos[r]]:
                    continue  # censored, or in the training part
                stop = stops[np.searchsorted(stops, r, side="left") - 1] if (stops < r).any() else None
                if stop is None:
                    continue
                first = max(stop + 1, r - lifecycle.post_stop_range_max_bars + 1)
                lo, hi = post_stop_range(
                    low[first : r + 1],
                    high[first : r + 1],
                    lifecycle.post_stop_low_quantile,
                    lifecycle.post_stop_high_quantile,
                )
                if not (lo < hi):
                    continue
                if close_list is None:  # the walk's prices as Python floats, once
                    close_list, atr_list = close.tolist(), atr.tolist()
                hits[policy].append(float(retriggered(close_list, atr_list, int(r), lo, hi, lifecycle, window)))
                delays[policy].append(float(r - stop))
                keys[policy].append(walk["series_key"].iloc[0])
    rows = []
    for policy in POLICIES:
        group = np.array(keys[policy], dtype=object)
        rows.append(
            {
                "policy": policy,
                "metric": "restarts",
                "n": len(group),
                "value": float(len(group)),
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        )
        for metric, values in (("retrigger_rate", hits[policy]), ("delay_bars", delays[policy])):
            values = np.asarray(values, dtype=float)
            mean, lo, hi = series_bootstrap_ci(values, group, cfg.n_boot, cfg.seed, cfg.ci_level)
            rows.append(
                {"policy": policy, "metric": metric, "n": len(values), "value": mean, "ci_low": lo, "ci_high": hi}
            )
    out = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    out["n"] = out["n"].astype(np.int64)
    return out


def ablation_inputs(bars: pd.DataFrame, lifecycle: LifecycleConfig) -> pd.DataFrame:
    """The virtual grids walked under ``lifecycle`` as :func:`restart_outcome_report` inputs.

    Args:
        bars: fct_grid_lifecycle_bars's rows (the engine's inputs with exchange,
            symbol, segment_id, bar_start).
        lifecycle: the constants to walk with (e.g. one gate dropped: gate_k_bars = 0).

    Returns:
        DataFrame with INPUT_COLUMNS: one row per virtual-grid bar; series_key = the
        virtual grid_id; is_restart where the walk restarted the grid through the gates.
    """
    configs = pd.DataFrame({c: pd.Series(dtype=object) for c in CONFIG_COLUMNS})
    rows = lifecycle_rows(bars, configs, lifecycle)
    changes = rows["state_changes"].astype(object)
    maybe = changes.notna() & changes.astype(str).str.contains("restart", regex=False)
    restart = np.zeros(len(rows), dtype=bool)
    restart[np.flatnonzero(maybe.to_numpy())] = [
        any(c["reason"] == "restart" for c in json.loads(text)) for text in changes[maybe]
    ]
    prices = bars[["exchange", "symbol", "bar_start", "close", "high", "low", "atr_14"]]
    out = rows[["walk_id", "grid_id", "exchange", "symbol", "bar_start", "bars_since_stop"]].assign(is_restart=restart)
    out = out.merge(prices, on=["exchange", "symbol", "bar_start"], how="left", validate="one_to_one")
    return out.rename(columns={"grid_id": "series_key"})[list(INPUT_COLUMNS)]


def gate_ablation_report(
    bars: pd.DataFrame, lifecycle: LifecycleConfig, cfg: GridOutcomeConfig | None = None, window: int = 72
) -> pd.DataFrame:
    """The gated restarts with each gate dropped in turn (gate_k_bars = 0: the gate passes
    when reached), as policies ``without_gate_1`` .. ``without_gate_3`` of
    :func:`restart_outcome_report` (restarts, retrigger_rate, delay_bars with intervals).

    Every variant re-walks all virtual grids from their first bar (about 15 s each on the
    sample), so the dbt report runs it only when var grid_restart_gate_ablation is true.

    Args:
        bars: fct_grid_lifecycle_bars's rows. lifecycle: the shipped constants.
        cfg, window: as :func:`restart_outcome_report`.

    Returns:
        DataFrame with REPORT_COLUMNS (policies without_gate_1, without_gate_2, without_gate_3).
    """
    parts = []
    for gate in (1, 2, 3):
        variant = dataclasses.replace(lifecycle, **{f"gate_{gate}_bars": 0})
        report = restart_outcome_report(ablation_inputs(bars, variant), lifecycle, cfg, window)
        parts.append(report[report["policy"] == "gates"].assign(policy=f"without_gate_{gate}"))
    return pd.concat(parts, ignore_index=True)[list(REPORT_COLUMNS)]
