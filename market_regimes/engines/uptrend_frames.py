"""Table-shaped adapter of the Uptrend Engine (pandas in, pandas out; no dbt).

uptrend_state_rows(bars, cfg, states): `bars` has one row per final bar of every driver x
timeframe x segment with columns driver, timeframe, segment_id, bar_start, close, every
engine input of docs/uptrend-engine.md "Inputs per bar" (ENGINE_INPUTS) and optionally volume
(base units; NULL for dominance); with `states`, also series_part and idx (the segment's
bar index, 0 = its first final bar). Returns the columns (docs/uptrend-engine.md) of
marts.fct_uptrend_states (COLUMNS) for the bars from each segment's first bar with every
input non-NULL, in (driver, timeframe, segment, bar_start) order; engine:
uptrend_engine.run_segment. engine_state (JSON text, :func:`engine_state_json`) is set on
the last row of each segment whose walk can be continued and on its checkpoint rows (bar
index idx with (idx + 1) divisible by the look-back, uptrend_engine.lookback_bars: a run
after a revision continues from the last one that is left), else NULL.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_engine import FLAGS as FLAG_COLUMNS
from market_regimes.engines.uptrend_engine import INPUTS as ENGINE_INPUTS
from market_regimes.engines.uptrend_engine import SCORES as SCORE_COLUMNS
from market_regimes.engines.uptrend_engine import SegmentResume, lookback_bars, run_segment

COLUMNS = (
    "driver",
    "timeframe",
    "bar_start",
    "state",
    "prev_state",
    *FLAG_COLUMNS,
    "emergency_exit",
    "exit_position",
    "exit_reason",
    *SCORE_COLUMNS,
    "s3_start_ts",
    "engine_state",
)


def engine_state_json(series_part: int, resume: SegmentResume) -> str:
    """The engine_state text of a segment's last row: its series_part and the engine state."""
    return json.dumps(
        {"series_part": int(series_part), "engine": json.loads(resume.to_json())},
        allow_nan=False,
        separators=(",", ":"),
    )


def is_checkpoint(idx: int, cfg: UptrendConfig) -> bool:
    """Bar idx of a segment keeps its engine state when it is no longer the last row."""
    return (idx + 1) % lookback_bars(cfg) == 0


def stored_states(texts) -> dict[int, SegmentResume]:
    """series_part -> the latest SegmentResume (largest last_idx) among engine_state texts
    (inverse of engine_state_json).

    Raises:
        ValueError: a text is not an uptrend engine state of this version."""
    out: dict[int, SegmentResume] = {}
    for text in texts:
        data = json.loads(text)
        part, state = int(data["series_part"]), SegmentResume.from_json(json.dumps(data["engine"]))
        if part not in out or state.last_idx > out[part].last_idx:
            out[part] = state
    return out


def states_losing_last_row(
    texts, continued, states: dict[int, SegmentResume], cfg: UptrendConfig
) -> list[tuple[int, int] | None]:
    """Which stored engine_state texts stop being a segment's last row when a run continues
    the segments in `continued` (series_part values): (series_part, last_idx) for the text
    of the state a continued segment resumed from (its last_idx equals
    states[part].last_idx), unless that bar is a checkpoint (:func:`is_checkpoint`), which
    keeps its state; None for every other text. One item per text, in order; the DuckDB model
    and the Spark job write those rows again without their engine state (project definition:
    a state on each segment's last row and on its checkpoints).

    Raises:
        ValueError / KeyError: a text is not an uptrend engine state of this version."""
    continued = set(continued)
    out = []
    for text in texts:
        data = json.loads(text)
        part, last_idx = int(data["series_part"]), int(data["engine"]["last_idx"])
        lost = part in continued and states[part].last_idx == last_idx and not is_checkpoint(last_idx, cfg)
        out.append((part, last_idx) if lost else None)
    return out


def uptrend_state_rows(
    bars: pd.DataFrame, cfg: UptrendConfig, states: dict[int, SegmentResume] | None = None
) -> pd.DataFrame:
    """Walk every driver x timeframe x segment, or continue the walks; see the module
    docstring for shapes.

    Args:
        states: series_part -> the state stored on its last row (:func:`stored_states`):
            `bars` of such a segment are its bars from state.offset on (idx), and only the
            rows after state.last_idx are returned. Segments without a state are walked
            from their first bar (their bars must then start at idx 0).

    Raises:
        KeyError: a required column is missing from `bars`.
        ValueError: a continued segment's bars do not start at its state's offset or are
            not consecutive.
    """
    needed = ["driver", "timeframe", "segment_id", "bar_start", "close", *ENGINE_INPUTS]
    if states is not None or "series_part" in bars.columns:
        needed += ["series_part", "idx"]
    missing = [c for c in needed if c not in bars.columns]
    if missing:
        raise KeyError(f"uptrend_state_rows: missing input columns {missing}")
    states = states or {}
    keyed = "series_part" in bars.columns
    parts = []
    ordered = bars.sort_values(["driver", "timeframe", "segment_id", "bar_start"], kind="stable")
    has_volume = "volume" in ordered.columns
    for (driver, timeframe, _), seg in ordered.groupby(["driver", "timeframe", "segment_id"], sort=False):
        part = int(seg["series_part"].iloc[0]) if keyed else None
        resume = states.get(part) if keyed else None
        offset = 0 if resume is None else resume.offset
        if keyed:
            idx = seg["idx"].to_numpy()
            if len(idx) and (idx[0] != offset or (np.diff(idx) != 1).any()):
                raise ValueError(f"uptrend_state_rows: series_part {part}: bars must be idx {offset}.. consecutive")
        first_new = 0 if resume is None else resume.last_idx + 1 - offset
        marks = [i for i in range(first_new, len(seg) - 1) if keyed and is_checkpoint(i + offset, cfg)]
        res = run_segment(
            seg["close"].to_numpy(float),
            {c: seg[c].to_numpy(float) for c in ENGINE_INPUTS},
            cfg,
            volume=seg["volume"].to_numpy(float) if has_volume else None,
            resume=resume,
            checkpoints=marks,
        )
        f = res["first_bar"]  # continued: the first bar after the last one walked before
        if f >= len(seg):
            continue
        starts = seg["bar_start"].to_numpy()
        s3 = np.asarray(res["s3_start"])
        s3_ts = starts[np.maximum(s3, 0)].copy()
        s3_ts[s3 < 0] = np.datetime64("NaT")
        engine_state = np.full(len(starts) - f, None, dtype=object)
        for i, state in res["checkpoints"].items():
            if state is not None:
                engine_state[i - f] = engine_state_json(part, state)
        if keyed and res["resume"] is not None:
            engine_state[-1] = engine_state_json(part, res["resume"])
        parts.append(
            pd.DataFrame(
                {
                    "driver": driver,
                    "timeframe": timeframe,
                    "bar_start": starts[f:],
                    **{c: res[c] for c in COLUMNS[3:-2]},
                    "s3_start_ts": s3_ts,
                    "engine_state": engine_state,
                }
            )
        )
    result = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    )
    # explicit dtypes, so an empty result still has the documented column types
    dtypes = {
        "driver": "string",
        "timeframe": "string",
        "state": "string",
        "prev_state": "string",
        "exit_reason": "string",
        "engine_state": "string",
        "bar_start": "datetime64[us]",
        "s3_start_ts": "datetime64[us]",
        **{c: "boolean" for c in (*FLAG_COLUMNS, "emergency_exit", "exit_position")},
        **{c: "float64" for c in SCORE_COLUMNS},
    }
    return result[list(COLUMNS)].astype(dtypes)
