"""Table-shaped adapter of the Uptrend Engine state machine (pandas in, pandas out; no dbt).

uptrend_state_rows(bars, bootstrap_to_s3): `bars` has one row per final bar of every
driver x timeframe x segment with columns driver, timeframe, segment_id, bar_start, close,
the six EMAs (ema_20 .. ema_333) and every engine input of UPTREND_ENGINE.md "Inputs per
bar" (ENGINE_INPUTS). Returns the SPEC §6 columns of marts.fct_uptrend_states for the bars
from each segment's first bar with every input non-NULL, in (driver, timeframe, bar_start)
order. Flags and scores are not computed yet (NULL): the state machine is complete.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from market_regimes.engines.uptrend_states import walk_states

EMAS = ("ema_20", "ema_30", "ema_60", "ema_144", "ema_250", "ema_333")
ENGINE_INPUTS = EMAS + ("ema_20_slope", "ema_60_slope", "ema_144_slope", "ema_250_slope", "ema_333_slope",
                        "d_ema_144_slope", "atr_14", "atr_mean_20", "rsi_14", "rsi_slope_10", "adx_14",
                        "adx_slope_10", "sep_fast", "sep_mid", "d_sep_fast_5", "d_sep_mid_5", "volume_z")
FLAG_COLUMNS = ("buy_flag", "first_dip_buy_flag", "rebuy_flag", "trim_flag")
SCORE_COLUMNS = ("ts_score", "sr_boost", "ox", "dx", "edx")
COLUMNS = ("driver", "timeframe", "bar_start", "state", "prev_state", *FLAG_COLUMNS, "emergency_exit",
           "exit_position", "exit_reason", *SCORE_COLUMNS, "s3_start_ts")


def uptrend_state_rows(bars: pd.DataFrame, bootstrap_to_s3: bool) -> pd.DataFrame:
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
    for (driver, timeframe, _), seg in ordered.groupby(["driver", "timeframe", "segment_id"], sort=False):
        ready = seg[list(ENGINE_INPUTS)].notna().all(axis=1).to_numpy()
        path = walk_states(seg["close"].to_numpy(float),
                           {"e" + c.split("_")[1]: seg[c].to_numpy(float) for c in EMAS}, ready, bootstrap_to_s3)
        if not path.state:
            continue
        starts = seg["bar_start"].to_numpy()
        out = pd.DataFrame({
            "driver": driver, "timeframe": timeframe, "bar_start": starts[path.first_bar:],
            "state": path.state, "prev_state": path.prev_state,
            "emergency_exit": path.emergency_exit, "exit_position": path.exit_position,
            "exit_reason": path.exit_reason,
            "s3_start_ts": [starts[i] if i is not None else pd.NaT for i in path.s3_start],
        })
        parts.append(out)
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["driver", "timeframe", "bar_start"])
    for col in FLAG_COLUMNS:
        result[col] = pd.Series([None] * len(result), dtype="boolean")
    for col in SCORE_COLUMNS:
        result[col] = np.nan
    for col in ("state", "prev_state", "emergency_exit", "exit_position", "exit_reason", "s3_start_ts"):
        if col not in result:
            result[col] = None
    # explicit dtypes, so an empty result still has the SPEC column types
    dtypes = {"driver": "string", "timeframe": "string", "state": "string", "prev_state": "string",
              "exit_reason": "string", "emergency_exit": "boolean", "exit_position": "boolean",
              "bar_start": "datetime64[us]", "s3_start_ts": "datetime64[us]"}
    return result[list(COLUMNS)].astype(dtypes)
