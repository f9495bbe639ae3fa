"""Uptrend Engine over one segment: states, scores, S/R levels and flags
(docs/uptrend-engine.md). Pure Python + numpy, no dbt.

:func:`run_segment` takes one segment's final bars in time order as arrays and returns
per bar, from the first bar with every input non-NULL, the columns of docs/uptrend-engine.md. Rules not
spelled out by the engine's definition, decided here:
- The flag tests and scores of a bar are those of its state after the transition (the
  doc's "S0 -> S1: the S1 buy test runs on this bar" and "S2 -> S3: S3 scoring runs",
  applied to every transition).
- ts_score on every bar; ox on S2/S3 bars; dx and edx on S3 bars; sr_boost on bars where
  a gate was evaluated (its anchor: E60 in S1, E333 in S2/S3), else NULL. A gate is
  evaluated only when the flag's other conditions hold (TS + SR boost is the last test).
- Flags are False (not NULL) on bars where their state does not test them.
"""

from __future__ import annotations

import numpy as np

from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_levels import SupportResistance, zigzag_pivots
from market_regimes.engines.uptrend_scores import (discount, overextension, overextension_s3, trend_decay,
                                                   trend_strength)
from market_regimes.engines.uptrend_states import walk_states

# engine inputs per bar (docs/uptrend-engine.md "Inputs per bar"); volume is optional (NaN = none)
INPUTS = ("ema_20", "ema_30", "ema_60", "ema_144", "ema_250", "ema_333", "ema_20_slope", "ema_60_slope",
          "ema_144_slope", "ema_250_slope", "ema_333_slope", "d_ema_144_slope", "atr_14", "atr_mean_20",
          "rsi_14", "rsi_slope_10", "adx_14", "adx_slope_10", "sep_fast", "sep_mid", "d_sep_fast_5",
          "d_sep_mid_5", "volume_z")
FLAGS = ("buy_flag", "first_dip_buy_flag", "rebuy_flag", "trim_flag")
SCORES = ("ts_score", "sr_boost", "ox", "dx", "edx")


def run_segment(close, inputs: dict[str, np.ndarray], cfg: UptrendConfig, volume=None) -> dict[str, object]:
    """Walk one segment.

    Args:
        close: closes, shape (n,), time order, no NaN.
        inputs: every name of INPUTS -> array (n,) (NaN while an indicator warms up).
        cfg: the engine constants (seed uptrend_config.csv).
        volume: base volume (n,) for the AVWAP of EDX, or None / NaN (equal weights).

    Returns:
        dict with "first_bar" (index of the first bar with a state; n when none) and, for
        bars first_bar..n-1 (arrays of that length): state, prev_state, emergency_exit,
        exit_position, exit_reason, s3_start (bar index or -1), the FLAGS (bool arrays)
        and SCORES (float arrays, NaN = not computed on that bar).

    Raises:
        KeyError: an input is missing. ValueError: lengths differ, or an input turns NaN
        after the engine started (see walk_states).
    """
    close = np.asarray(close, dtype=float)
    n = len(close)
    x = {k: np.asarray(inputs[k], dtype=float) for k in INPUTS}
    if any(len(v) != n for v in x.values()):
        raise ValueError("run_segment: close and every input must have the same length")
    ready = ~np.isnan(np.column_stack([x[k] for k in INPUTS])).any(axis=1) if n else np.zeros(0, bool)
    path = walk_states(close, {"e" + k.split("_")[1]: x[k] for k in INPUTS[:6]}, ready, cfg.bootstrap_to_s3)
    f = path.first_bar
    m = n - f
    state = np.asarray(path.state, dtype=object)
    s3_start = np.asarray([-1 if s is None else s for s in path.s3_start], dtype=np.int64)
    out: dict[str, object] = {"first_bar": f, "state": path.state, "prev_state": path.prev_state,
                              "emergency_exit": path.emergency_exit, "exit_position": path.exit_position,
                              "exit_reason": path.exit_reason, "s3_start": s3_start}
    if m == 0:
        for k in FLAGS:
            out[k] = np.zeros(0, bool)
        for k in SCORES:
            out[k] = np.zeros(0)
        return out

    v = {k: a[f:] for k, a in x.items()}  # the engine's bars
    p = close[f:]
    atr = v["atr_14"]
    in1, in2, in3 = state == "S1", state == "S2", state == "S3"
    bars = np.arange(f, n)
    n_since = np.where(in3, bars - s3_start, -1)

    ts = trend_strength(v["rsi_slope_10"], v["adx_slope_10"], cfg)
    ox = overextension(p, v["ema_20"], v["ema_60"], v["ema_144"], v["ema_250"], atr, v["atr_mean_20"],
                       v["d_sep_fast_5"], v["d_sep_mid_5"], v["ema_20_slope"], cfg)
    edx = np.full(m, np.nan)
    dx = np.full(m, np.nan)
    s3_rows = np.flatnonzero(in3)
    if len(s3_rows):
        zigzag = zigzag_pivots(close, x["atr_14"], cfg.zigzag_atr_mult, cfg.zigzag_min_leg_bars)
        edx[s3_rows] = trend_decay(s3_rows + f, n_since[s3_rows], close=close,
                                   volume=volume,
                                   ema_144=x["ema_144"], ema_250=x["ema_250"], ema_333=x["ema_333"],
                                   ema_250_slope=x["ema_250_slope"], ema_333_slope=x["ema_333_slope"],
                                   rsi_slope_10=x["rsi_slope_10"], adx_slope_10=x["adx_slope_10"],
                                   zigzag=zigzag, cfg=cfg)
        ox = np.where(in3, overextension_s3(ox, edx, cfg), ox)
        dx[s3_rows] = discount(p[s3_rows], v["ema_144"][s3_rows], v["ema_333"][s3_rows], atr[s3_rows],
                               v["atr_mean_20"][s3_rows], v["volume_z"][s3_rows], v["rsi_slope_10"][s3_rows],
                               v["adx_14"][s3_rows], v["adx_slope_10"][s3_rows], v["d_ema_144_slope"][s3_rows],
                               edx[s3_rows], cfg)
    ox = np.where(in2 | in3, ox, np.nan)

    # flag conditions before the gate (cheap, vectorized)
    e20, e30, e60, e144, e333 = v["ema_20"], v["ema_30"], v["ema_60"], v["ema_144"], v["ema_333"]
    slope_333_ok = (v["ema_250_slope"] > 0) | (v["ema_333_slope"] >= 0)
    buy_pre = in1 & (np.abs(p - e60) <= cfg.buy_atr * atr) & ((v["ema_60_slope"] > 0) | (v["ema_144_slope"] >= 0))
    retest_pre = in2 & (np.abs(p - e333) <= cfg.rebuy_retest_atr * atr) & slope_333_ok
    edx_supp = np.where(edx >= cfg.edx_supp_high_edx, cfg.edx_supp_high,
                        np.where(edx >= cfg.edx_supp_mid_edx, (edx - cfg.edx_supp_mid_edx) * cfg.edx_supp_mid_gain,
                                 0.0))
    discount_pre = in3 & (e333 <= p) & (p <= e144) & slope_333_ok & (dx >= cfg.rebuy_dx_min + edx_supp)
    near = cfg.first_dip_atr * atr
    dip_pre = (in3 & (p >= e333) & ((v["ema_144_slope"] > 0) | (v["ema_250_slope"] >= 0))
               & (((n_since <= cfg.first_dip_fast_bars) & ((np.abs(p - e20) <= near) | (np.abs(p - e30) <= near)))
                  | ((n_since <= cfg.first_dip_mid_bars) & (np.abs(p - e60) <= near))))
    if not cfg.first_dip_enabled:
        dip_pre[:] = False
    trim_pre = (in2 | in3) & (ox >= cfg.trim_ox)
    emergency = np.asarray(path.emergency_exit, dtype=bool)
    reclaim = np.zeros(m, bool)
    reclaim[1:] = in3[1:] & in3[:-1] & emergency[:-1] & (p[1:] >= e333[1:])

    # gates and S/R levels, only where a flag's other conditions hold
    levels = SupportResistance(close, window=cfg.sr_window_bars, swing_bars=cfg.swing_bars,
                               min_prominence=cfg.swing_min_prominence, cluster_pct=cfg.level_cluster_pct,
                               max_levels=cfg.max_levels)
    sr_boost = np.full(m, np.nan)
    gated = np.flatnonzero(buy_pre | retest_pre | discount_pre | dip_pre)
    anchor = np.where(in1, e60, e333)
    for r in gated.tolist():
        sr_boost[r] = levels.boost(r + f, float(anchor[r]), float(atr[r]), cfg.sr_boost_weight, cfg.sr_boost_atr)
    gate = ts + sr_boost  # NaN (False below) where no gate was evaluated
    buy = buy_pre & (gate >= cfg.buy_gate)
    rebuy = (retest_pre | discount_pre) & (gate >= cfg.rebuy_gate) | reclaim
    dip_ok = dip_pre & (gate >= cfg.first_dip_gate)
    first_dip = np.zeros(m, bool)
    if dip_ok.any():  # once per S3 episode: its first qualifying bar
        episodes = s3_start[dip_ok]
        rows = np.flatnonzero(dip_ok)
        _, first_rows = np.unique(episodes, return_index=True)
        first_dip[rows[first_rows]] = True
    trim = np.zeros(m, bool)
    reach = cfg.trim_level_atr * atr
    for r in np.flatnonzero(trim_pre).tolist():
        trim[r] = levels.near(r + f, float(p[r]), float(reach[r]))

    out.update(buy_flag=buy | first_dip, first_dip_buy_flag=first_dip, rebuy_flag=rebuy, trim_flag=trim,
               ts_score=ts, sr_boost=sr_boost, ox=ox, dx=dx, edx=edx)
    return out
