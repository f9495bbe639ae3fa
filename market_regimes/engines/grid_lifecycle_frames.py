"""The grid lifecycle over many grids: the table adapter of :mod:`grid_lifecycle`.

:func:`lifecycle_rows` walks, for the bars of many 1h grid series (the columns of
fct_grid_lifecycle_bars), every grid the warehouse follows:

* a **virtual grid** per series (exchange, symbol): the policy grid that follows the
  recommendations on its own (grid_id ``virtual|<exchange>|<symbol>``, grid_kind
  ``virtual``), one walk per segment (a gap restarts it, as every per-segment model);
* every **configured grid** version (rows of int_grid_configs_validated: grid_id,
  exchange, symbol, lower, upper, levels, allocation_frac, enabled, valid_from, valid_to):
  one walk per version and segment over the bars with valid_from <= bar_start < valid_to
  (a new version is a new placement by a human: it starts afresh, in PROBATION when
  enabled; project definition).

Each walk has a ``walk_id`` (``<grid_id>|<segment_id>|<valid_from>``); its rows carry the
lifecycle columns of :func:`grid_lifecycle.walk_grid`, the state changes of the bar as a
JSON list (``state_changes``: {from_state, to_state, reason, triggers}), the bar's
notification (``notified_state``, ``is_sent``, ``suppressed_reason``; NULL when none), and
on the walk's last row only ``engine_state``: the :class:`LifecycleState` JSON an
incremental run continues from (:func:`lifecycle_rows` with ``states``).

Pure Python + pandas: no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import (
    INPUT_COLUMNS,
    LIFECYCLE_COLUMNS,
    GridSpec,
    LifecycleConfig,
    LifecycleState,
    gc_paused,
    walk_grid,
)
from market_regimes.frames import is_sorted_by

KEY_COLUMNS = ("exchange", "symbol", "segment_id")
CONFIG_COLUMNS = (
    "grid_id",
    "exchange",
    "symbol",
    "lower",
    "upper",
    "levels",
    "allocation_frac",
    "enabled",
    "valid_from",
    "valid_to",
)
OUTPUT_COLUMNS = (
    "grid_id",
    "grid_kind",
    "walk_id",
    "exchange",
    "symbol",
    "segment_id",
    "valid_from",
    *LIFECYCLE_COLUMNS[1:],
    "state_changes",
    "notified_state",
    "is_sent",
    "suppressed_reason",
    "engine_state",
)


def virtual_grid_id(exchange: str, symbol: str) -> str:
    """The grid_id of a series' virtual grid: ``virtual|<exchange>|<symbol>``."""
    return f"virtual|{exchange}|{symbol}"


def walk_id(grid_id: str, segment_id: object, valid_from: object) -> str:
    """The key of one walk: ``<grid_id>|<segment_id>|<valid_from ISO or ''>``."""
    stamp = "" if valid_from is None or pd.isna(valid_from) else pd.Timestamp(valid_from).isoformat()
    return f"{grid_id}|{int(segment_id)}|{stamp}"


def _walks(bars: pd.DataFrame, configs: pd.DataFrame) -> list[tuple[str, GridSpec, str, object, pd.DataFrame]]:
    """(walk_id, grid, grid_kind, valid_from, bars of the walk) for every walk."""
    walks = []
    # the segments in key order, each by bar_start (stable): one sort and slices, the same
    # frames as groupby(KEY_COLUMNS, sort=True) (rows with a missing key dropped) and a stable
    # sort of each group
    order = [*KEY_COLUMNS, "bar_start"]
    if is_sorted_by(bars, order):  # read with ORDER BY (the adapter): the sort would move no row
        ordered = bars
    else:
        ordered = bars.dropna(subset=list(KEY_COLUMNS)).sort_values(order, kind="stable")
    keys = [ordered[c].to_numpy(dtype=object) for c in KEY_COLUMNS]
    new = np.zeros(len(ordered), dtype=bool)  # the first row of each segment
    new[:1] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    bounds = [*np.flatnonzero(new).tolist(), len(ordered)] if len(ordered) else [0]
    for a, b in zip(bounds[:-1], bounds[1:]):
        exchange, symbol, segment = (k[a] for k in keys)
        seg = ordered.iloc[a:b]
        gid = virtual_grid_id(exchange, symbol)
        walks.append((walk_id(gid, segment, None), GridSpec.virtual_grid(gid), "virtual", None, seg))
        mine = configs[(configs["exchange"] == exchange) & (configs["symbol"] == symbol)]
        for row in mine.itertuples(index=False):
            start = pd.Timestamp(row.valid_from)
            end = pd.Timestamp(row.valid_to) if pd.notna(row.valid_to) else None
            sel = seg["bar_start"] >= start
            if end is not None:
                sel &= seg["bar_start"] < end
            if not sel.any():
                continue
            spec = GridSpec(
                grid_id=str(row.grid_id),
                lower=float(row.lower),
                upper=float(row.upper),
                levels=int(row.levels),
                allocation_frac=float(row.allocation_frac),
                enabled=bool(row.enabled),
            )
            walks.append((walk_id(spec.grid_id, segment, start), spec, "configured", start, seg[sel]))
    return walks


@gc_paused()  # many walks' rows alive at once, no cycles (grid_lifecycle.gc_paused)
def lifecycle_rows(
    bars: pd.DataFrame, configs: pd.DataFrame, config: LifecycleConfig, states: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Walk every virtual and configured grid over the given bars.

    Args:
        bars: one row per 1h bar of any number of series with KEY_COLUMNS and the engine's
            INPUT_COLUMNS (fct_grid_lifecycle_bars); bar_start strictly increasing
            within a (exchange, symbol, segment_id).
        configs: the configured grid versions, CONFIG_COLUMNS (valid_to NULL for the
            current version); may be empty.
        config: the lifecycle constants.
        states: walk_id -> stored ``engine_state`` JSON of a previous run: those walks
            continue after the state's last bar (earlier bars are skipped; a walk given
            only such bars yields no row). Walks without a state start afresh.

    Returns:
        DataFrame with OUTPUT_COLUMNS, one row per walked bar, ordered by (grid_id,
        bar_start): grid_id, grid_kind (virtual / configured), walk_id, exchange, symbol,
        segment_id, valid_from (NaT for virtual grids), the lifecycle columns of
        :func:`grid_lifecycle.walk_grid`, state_changes (JSON list or None), notified_state,
        is_sent, suppressed_reason (None / NA without a notification) and engine_state
        (the walk's LifecycleState JSON on its last row, None elsewhere).

    Raises:
        ValueError: missing columns (named); a stored state made under other constants
            ("... rebuild the lifecycle with --full-refresh"); as
            :func:`grid_lifecycle.walk_grid` (bars not increasing).
    """
    missing = [c for c in (*KEY_COLUMNS, *INPUT_COLUMNS) if c not in bars.columns]
    if missing:
        raise ValueError(f"lifecycle_rows: bars miss columns {missing}")
    missing = [c for c in CONFIG_COLUMNS if c not in configs.columns]
    if missing:
        raise ValueError(f"lifecycle_rows: configs miss columns {missing}")
    states = states or {}
    frames = []
    for wid, grid, kind, valid_from, walk_bars in _walks(bars, configs):
        stored = LifecycleState.from_json(states[wid]) if states.get(wid) else None
        if stored is not None and stored.config_fingerprint != config.fingerprint():
            raise ValueError(
                f"lifecycle_rows: the stored state of walk {wid} was made under other lifecycle "
                "constants (seed grid_lifecycle_config changed): rebuild the lifecycle with "
                "`market-regimes build --full-refresh -s fct_grid_lifecycle+`"
            )
        result = walk_grid(walk_bars, grid, config, stored)
        rows = result.lifecycle
        if rows.empty:
            continue
        rows = rows.copy()
        first = walk_bars.iloc[0]
        rows.insert(1, "grid_kind", kind)
        rows.insert(2, "walk_id", wid)
        rows.insert(3, "exchange", first["exchange"])
        rows.insert(4, "symbol", first["symbol"])
        rows.insert(5, "segment_id", int(first["segment_id"]))
        rows.insert(6, "valid_from", pd.Timestamp(valid_from) if valid_from is not None else pd.NaT)
        # a bar's state changes (consecutive rows of state_changes) and its notification (at
        # most one) placed on its row by position (bar_start strictly increasing in a walk)
        row_ns = _ns(rows["bar_start"])
        changes = result.state_changes
        if len(changes):
            per_bar: dict[int, list] = {}
            for t, f, to, r, x in zip(
                _ns(changes["bar_start"]).tolist(),
                changes["from_state"],
                changes["to_state"],
                changes["reason"],
                changes["triggers"],
            ):
                per_bar.setdefault(t, []).append(
                    {"from_state": f, "to_state": to, "reason": r, "triggers": json.loads(x)}
                )
            rows["state_changes"] = _on_rows(row_ns, list(per_bar), [json.dumps(v) for v in per_bar.values()])
        else:
            rows["state_changes"] = None
        notes = result.notifications
        if len(notes):
            at = _ns(notes["bar_start"])
            rows["notified_state"] = _on_rows(row_ns, at, notes["state"].to_numpy(dtype=object))
            rows["is_sent"] = pd.array(_on_rows(row_ns, at, notes["is_sent"].to_numpy(dtype=object)), dtype="boolean")
            rows["suppressed_reason"] = _on_rows(row_ns, at, notes["suppressed_reason"].to_numpy(dtype=object))
        else:
            rows["notified_state"], rows["is_sent"], rows["suppressed_reason"] = None, pd.NA, None
        rows["engine_state"] = None
        rows.iloc[-1, rows.columns.get_loc("engine_state")] = result.final_state.to_json()
        frames.append(rows)
    if not frames:
        return _empty()
    # the walks in (grid_id, first bar_start) order: their rows are then usually already in
    # (grid_id, bar_start) order (checked below), without sorting a million rows
    frames.sort(key=lambda f: (f["grid_id"].iat[0], f["bar_start"].iat[0]))
    out = pd.concat(frames, ignore_index=True)
    out["is_sent"] = out["is_sent"].astype("boolean")
    # microsecond timestamps: DuckDB's TIMESTAMP, as every other mart (nanoseconds would be TIMESTAMP_NS)
    for c in ("bar_start", "valid_from"):
        out[c] = out[c].astype("datetime64[us]")
    out = out[list(OUTPUT_COLUMNS)]
    if not is_sorted_by(out, ["grid_id", "bar_start"]):  # a stable sort would move no row
        out = out.sort_values(["grid_id", "bar_start"], kind="stable", ignore_index=True)
    for c in ("state_changes", "notified_state", "suppressed_reason", "engine_state", "stop_reason"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _ns(stamps: pd.Series) -> np.ndarray:
    """Timestamps (no NaT) as int64 nanoseconds."""
    return stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _on_rows(row_ns: np.ndarray, at: Sequence[int], values: Sequence[object]) -> np.ndarray:
    """An object column for the rows stamped ``row_ns`` (ascending int ns): ``values[k]`` on
    the row stamped ``at[k]`` (each one a row's stamp), None elsewhere."""
    out = np.full(len(row_ns), None, dtype=object)
    if len(at):
        out[np.searchsorted(row_ns, np.asarray(at, dtype=np.int64))] = values
    return out


def _empty() -> pd.DataFrame:
    """An empty frame with OUTPUT_COLUMNS and usable dtypes (an incremental run without new bars)."""
    dtypes = {
        "bar_start": "datetime64[us]",
        "valid_from": "datetime64[us]",
        "segment_id": "int64",
        "is_sent": "boolean",
        "restart_permitted": "bool",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in OUTPUT_COLUMNS})


def stored_states(last_rows: pd.DataFrame) -> dict[str, str]:
    """walk_id -> engine_state from the stored rows that carry one (the last row of each walk)."""
    if last_rows is None or last_rows.empty:
        return {}
    keep = last_rows["engine_state"].notna().to_numpy()
    return dict(zip(last_rows["walk_id"].to_numpy()[keep], last_rows["engine_state"].to_numpy()[keep]))


__all__ = [
    "lifecycle_rows",
    "stored_states",
    "virtual_grid_id",
    "walk_id",
    "OUTPUT_COLUMNS",
    "CONFIG_COLUMNS",
    "KEY_COLUMNS",
]
