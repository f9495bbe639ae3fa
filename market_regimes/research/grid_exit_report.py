"""Research report: the grid exit states as detectors of confirmed range breaks.

:func:`exit_event_report` evaluates the virtual grids' lifecycles (fct_grid_lifecycle,
one walk per series segment) on the out-of-sample part of every series (the last
1 - train_frac of its bars; nothing was tuned there):

* **confirmed breaks** of the grid in place (:func:`grid_exits.confirmed_breaks` on the
  closes against the walk's current or last placement [lower, upper]: first close outside,
  no close back inside within 24 bars, an excursion of >= 1 atr_14). Only breaks of a
  placement that was live in the detection window count: the grid ran on at least one of
  the ``lookback`` bars before the break, or stopped within them (a break of a placement
  abandoned long ago says nothing about the detector);
* per detector (WARNING, LATEST_ACCEPTABLE_EXIT, MANDATORY_EXIT: the state or a higher
  one entered within ``lookback`` bars before the break; ANY_STOP: any stop, EXITED
  counted as MANDATORY_EXIT, which covers the probation quick stops and the verdict stops
  of the virtual policy): recall, mean and median lead time (bars), precision and, for MANDATORY_EXIT
  and ANY_STOP, the false-stop rate (a stop with no confirmed break within ``lookback``
  bars after it), each with a 95% bootstrap interval (:func:`grid_outcomes.series_bootstrap_ci`: whole
  series resampled with replacement, since most series have only a few events);
* state changes and sent notifications per symbol-week (:func:`grid_exits.symbol_weeks`);
* the base rate of each WARNING condition inside RANGE_OK hours (share of those bars on
  which the condition fired; the lifecycle evaluates the market conditions on every bar).

Pure Python (numpy, pandas): no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from market_regimes.research.grid_exits import confirmed_breaks, detector_metrics
from market_regimes.research.grid_outcomes import GridOutcomeConfig, evaluation_split, series_bootstrap_ci

INPUT_COLUMNS = (
    "walk_id",
    "series_key",
    "bar_start",
    "state",
    "lower",
    "upper",
    "close",
    "atr_14",
    "verdict",
    "fired_triggers",
    "is_sent",
    "from_state_changes",
)
DETECTORS = ("WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT", "ANY_STOP")
WARNING_CONDITIONS = ("high_vol_prob", "support_falling", "er_short", "half_life_warning", "atr_ratio_warning")
RUNNING = frozenset(("PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT"))
REPORT_COLUMNS = ("kind", "detector", "metric", "n", "value", "ci_low", "ci_high")


def _walk_events(
    walk: pd.DataFrame, lookback: int, confirm_bars: int, excursion_atr: float, evaluated: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """Per detector: per-event arrays (detected, lead, followed, false_stop) of one walk,
    restricted to the events in its evaluated bars."""
    close = walk["close"].to_numpy(dtype=float)
    running = walk["state"].isin(RUNNING).to_numpy()
    breaks = confirmed_breaks(
        close,
        walk["atr_14"].to_numpy(dtype=float),
        walk["lower"].to_numpy(dtype=float),
        walk["upper"].to_numpy(dtype=float),
        confirm_bars,
        excursion_atr,
    )
    # a placement live in the window: running on a bar of [b - lookback, b - 1]
    live_before = np.convolve(running.astype(int), np.ones(lookback, dtype=int))[: len(running)]
    live = np.r_[0, live_before[:-1]] > 0
    breaks = breaks[live[breaks] & evaluated[breaks]] if len(breaks) else breaks
    states = walk["state"].tolist()
    out = {}
    for detector in DETECTORS:
        m = detector_metrics(
            states,
            breaks,
            lookback,
            "MANDATORY_EXIT" if detector == "ANY_STOP" else detector,
            exited_counts_as_mandatory=detector == "ANY_STOP",
        )
        keep_entry = evaluated[m.entry_bars]
        keep_stop = evaluated[m.mandatory_entry_bars]
        out[detector] = {
            "detected": m.detected.astype(float),
            "lead": m.lead_times,
            "followed": m.entry_followed[keep_entry].astype(float),
            "false_stop": m.false_stop[keep_stop].astype(float),
        }
    return out


def exit_event_report(
    bars: pd.DataFrame,
    cfg: GridOutcomeConfig | None = None,
    lookback: int = 24,
    confirm_bars: int = 24,
    excursion_atr: float = 1.0,
) -> pd.DataFrame:
    """The exit-state detector report (see the module docstring).

    Args:
        bars: one row per virtual-grid bar: INPUT_COLUMNS: walk_id (one walk = one series
            segment), series_key (the series), bar_start (UTC), state, lower / upper (the
            placement in force or the last one; NaN before the first), close, atr_14
            (price units), verdict (the bar's 1h verdict), fired_triggers (comma-separated
            names), is_sent (a notification sent at the bar: True / False / missing),
            from_state_changes (number of state changes at the bar, the walk's start not
            counted).
        cfg: walk-forward split (train_frac), bootstrap (n_boot, seed, ci_level).
        lookback: detection window w in bars (24). confirm_bars, excursion_atr: the
            confirmed-break rule (24 bars, 1 ATR).

    Returns:
        DataFrame with REPORT_COLUMNS: kind "detector" (detector = WARNING,
        LATEST_ACCEPTABLE_EXIT, MANDATORY_EXIT, ANY_STOP; metric recall, lead_time_bars (mean),
        median_lead_time_bars, precision, false_stop_rate; n = events behind the value:
        breaks, detected breaks, entries, stops), kind "activity" (metric state_changes_per_symbol_week,
        notifications_sent_per_symbol_week; n = symbol-weeks, no interval), kind
        "warning_base_rate" (detector = the condition, metric share_of_range_ok_hours, n =
        RANGE_OK hours). value NaN where n = 0.

    Raises:
        ValueError: missing columns (named).
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    bars, evaluated = evaluation_split(bars, cfg.train_frac, INPUT_COLUMNS, "exit_event_report")
    rows: list[dict[str, object]] = []
    events: dict[str, dict[str, list]] = {
        d: {k: [] for k in ("detected", "lead", "followed", "false_stop")} for d in DETECTORS
    }
    groups: dict[str, dict[str, list]] = {d: {k: [] for k in events[d]} for d in DETECTORS}
    for _, walk in bars.groupby("walk_id", sort=True):
        pos = walk.index.to_numpy()
        per = _walk_events(walk.reset_index(drop=True), lookback, confirm_bars, excursion_atr, evaluated[pos])
        key = walk["series_key"].iloc[0]
        for d, arrays in per.items():
            for k, values in arrays.items():
                events[d][k].append(values)
                groups[d][k].append(np.full(len(values), key, dtype=object))
    for d in DETECTORS:
        for metric, k in (
            ("recall", "detected"),
            ("lead_time_bars", "lead"),
            ("precision", "followed"),
            ("false_stop_rate", "false_stop"),
        ):
            if k == "false_stop" and d not in ("MANDATORY_EXIT", "ANY_STOP"):
                continue
            values = np.concatenate(events[d][k]) if events[d][k] else np.zeros(0)
            keys = np.concatenate(groups[d][k]) if groups[d][k] else np.zeros(0, dtype=object)
            ok = np.isfinite(values)
            values, keys = values[ok], keys[ok]
            mean, lo, hi = series_bootstrap_ci(values, keys, cfg.n_boot, cfg.seed, cfg.ci_level)
            rows.append(
                {
                    "kind": "detector",
                    "detector": d,
                    "metric": metric,
                    "n": int(len(values)),
                    "value": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
            if k == "lead":  # the median too
                med, lo, hi = series_bootstrap_ci(values, keys, cfg.n_boot, cfg.seed, cfg.ci_level, "median")
                rows.append(
                    {
                        "kind": "detector",
                        "detector": d,
                        "metric": "median_lead_time_bars",
                        "n": int(len(values)),
                        "value": med,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    ev = bars[evaluated]
    weeks = len(ev) / 168.0
    rows.append(
        {
            "kind": "activity",
            "detector": "ALL",
            "metric": "state_changes_per_symbol_week",
            "n": int(round(weeks)),
            "value": ev["from_state_changes"].sum() / weeks if weeks else np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
        }
    )
    rows.append(
        {
            "kind": "activity",
            "detector": "ALL",
            "metric": "notifications_sent_per_symbol_week",
            "n": int(round(weeks)),
            "value": ev["is_sent"].eq(True).sum() / weeks if weeks else np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
        }
    )
    range_ok = ev[ev["verdict"] == "RANGE_OK"]
    names = (
        range_ok["fired_triggers"]
        .astype(object)
        .where(range_ok["fired_triggers"].notna(), "")
        .astype(str)
        .str.split(",")
    )
    for condition in WARNING_CONDITIONS:
        share = names.map(lambda fired: condition in fired).mean() if len(range_ok) else np.nan
        rows.append(
            {
                "kind": "warning_base_rate",
                "detector": condition,
                "metric": "share_of_range_ok_hours",
                "n": int(len(range_ok)),
                "value": float(share),
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        )
    out = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    out["n"] = out["n"].astype(np.int64)
    return out
