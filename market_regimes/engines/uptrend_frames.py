"""Table-shaped adapter of the Uptrend Engine (pandas in, pandas out; no dbt).

uptrend_state_rows(bars, cfg): `bars` has one row per final bar of every driver x
timeframe x segment with columns driver, timeframe, segment_id, bar_start, close, every
engine input of docs/uptrend-engine.md "Inputs per bar" (ENGINE_INPUTS) and optionally volume
(base units; NULL for dominance). Returns the columns (docs/uptrend-engine.md) of marts.fct_uptrend_states
(COLUMNS) for the bars from each segment's first bar with every input non-NULL, in
(driver, timeframe, segment, bar_start) order; engine: uptrend_engine.run_segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_engine import FLAGS as FLAG_COLUMNS
from market_regimes.engines.uptrend_engine import INPUTS as ENGINE_INPUTS
from market_regimes.engines.uptrend_engine import SCORES as SCORE_COLUMNS
from market_regimes.engines.uptrend_engine import run_segment
COLUMNS = ("driver", "timeframe", "bar_start", "state", "prev_state", *FLAG_COLUMNS, "emergency_exit",
           "exit_position", "exit_reason", *SCORE_COLUMNS, "s3_start_ts")


def uptrend_state_rows(bars: pd.DataFrame, cfg: UptrendConfig) -> pd.DataFrame:
    """Walk every driver x timeframe x segment; see the module docstring for shapes.

    Raises:
        KeyError: a required column is missing from `bars`.
    """
    needed = ["driver", "timeframe", "segment_id", "bar_start", "close", *ENGINE_INPUTS]
    missing = [c for c in needed if c not in bars.columns]
    if missing:
        raise KeyError(f"uptrend_state_rows: missing input columns {missing}")
    parts = []
    ordered = bars.sort_values(["driver", "timeframe", "segment_id", "bar_start"], kind="stable")
    has_volume = "volume" in ordered.columns
    for (driver, timeframe, _), seg in ordered.groupby(["driver", "timeframe", "segment_id"], sort=False):
        res = run_segment(seg["close"].to_numpy(float), {c: seg[c].to_numpy(float) for c in ENGINE_INPUTS}, cfg,
                          volume=seg["volume"].to_numpy(float) if has_volume else None)
        f = res["first_bar"]
        if f == len(seg):
            continue
        starts = seg["bar_start"].to_numpy()
        s3 = res["s3_start"]
        s3_ts = starts[np.maximum(s3, 0)].copy()
        s3_ts[s3 < 0] = np.datetime64("NaT")
        parts.append(pd.DataFrame({
            "driver": driver, "timeframe": timeframe, "bar_start": starts[f:],
            **{c: res[c] for c in COLUMNS[3:] if c != "s3_start_ts"}, "s3_start_ts": s3_ts,
        }))
    result = (pd.concat(parts, ignore_index=True) if parts
              else pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS}))
    # explicit dtypes, so an empty result still has the documented column types
    dtypes = {"driver": "string", "timeframe": "string", "state": "string", "prev_state": "string",
              "exit_reason": "string", "bar_start": "datetime64[us]", "s3_start_ts": "datetime64[us]",
              **{c: "boolean" for c in (*FLAG_COLUMNS, "emergency_exit", "exit_position")},
              **{c: "float64" for c in SCORE_COLUMNS}}
    return result[list(COLUMNS)].astype(dtypes)
