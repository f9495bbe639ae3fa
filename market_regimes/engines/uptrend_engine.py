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

import json
from dataclasses import dataclass

import numpy as np

from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_levels import Pivots, SupportResistance, atr_zigzag
from market_regimes.engines.uptrend_scores import (
    OLS_BARS,
    PREFIX_NAMES,
    discount,
    edx_prefixes,
    overextension,
    overextension_s3,
    trend_decay,
    trend_strength,
)
from market_regimes.engines.uptrend_states import STATES, walk_states

# engine inputs per bar (docs/uptrend-engine.md "Inputs per bar"); volume is optional (NaN = none)
INPUTS = (
    "ema_20",
    "ema_30",
    "ema_60",
    "ema_144",
    "ema_250",
    "ema_333",
    "ema_20_slope",
    "ema_60_slope",
    "ema_144_slope",
    "ema_250_slope",
    "ema_333_slope",
    "d_ema_144_slope",
    "atr_14",
    "atr_mean_20",
    "rsi_14",
    "rsi_slope_10",
    "adx_14",
    "adx_slope_10",
    "sep_fast",
    "sep_mid",
    "d_sep_fast_5",
    "d_sep_mid_5",
    "volume_z",
)
FLAGS = ("buy_flag", "first_dip_buy_flag", "rebuy_flag", "trim_flag")
SCORES = ("ts_score", "sr_boost", "ox", "dx", "edx")


@dataclass(frozen=True)
class SegmentResume:
    """The engine state that continues a segment's walk (docs/uptrend-engine.md,
    "Incremental runs"): the walk restarts at bar `offset` (absolute bar index in the
    segment, index 0 = its first final bar) with what the bars before it left behind, and
    run_segment over bars offset.. gives exactly the rows of one walk from the segment's
    first bar for every bar after `last_idx`.

    offset: the first bar to read again (> the engine's first bar; at most the lookback
        before last_idx, at or before the current S3 episode's entry and the zigzag pivot
        below);
    last_idx: the last bar walked (the new bars start at last_idx + 1);
    prev_state: the state after bar offset - 1 (never S3: offset is at or before the
        entry of an S3 episode running at offset - 1);
    prefix: the EDX prefix sums (uptrend_scores.PREFIX_NAMES) of bars < offset;
    zigzag: (pivot bar, kind -1 low / +1 high, confirming bar) of the last ATR-zigzag
        pivot before any EDX window of a later bar (absolute indices, offset <= pivot bar).
    """

    offset: int
    last_idx: int
    prev_state: str | None
    prefix: dict[str, float]
    zigzag: tuple[int, int, int]

    def to_json(self) -> str:
        """Exact JSON text (floats as their shortest round-trip repr)."""
        return json.dumps(
            {
                "version": 1,
                "offset": self.offset,
                "last_idx": self.last_idx,
                "prev_state": self.prev_state,
                "prefix": [self.prefix[k] for k in PREFIX_NAMES],
                "zigzag": list(self.zigzag),
            },
            allow_nan=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> "SegmentResume":
        """Inverse of :meth:`to_json`. Raises ValueError: not a version-1 uptrend state."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1 or len(data.get("prefix", ())) != len(PREFIX_NAMES):
            raise ValueError("SegmentResume.from_json: not a version-1 uptrend engine state")
        return cls(
            int(data["offset"]),
            int(data["last_idx"]),
            data["prev_state"],
            {k: float(v) for k, v in zip(PREFIX_NAMES, data["prefix"])},
            tuple(int(v) for v in data["zigzag"]),
        )


def lookback_bars(cfg: UptrendConfig) -> int:
    """Bars a continued walk reads again before its new bars besides the S3 episode and
    the zigzag: the S/R window with the swing bars on both sides of its oldest pivot, and
    the OLS window of EDX comp (derived from the seed constants)."""
    return cfg.sr_window_bars + 2 * cfg.swing_bars + OLS_BARS


def run_segment(
    close,
    inputs: dict[str, np.ndarray],
    cfg: UptrendConfig,
    volume=None,
    resume: SegmentResume | None = None,
    checkpoints=(),
) -> dict[str, object]:
    """Walk one segment, or continue a walk.

    Args:
        close: closes, shape (n,), time order, no NaN.
        inputs: every name of INPUTS -> array (n,) (NaN while an indicator warms up).
        cfg: the engine constants (seed uptrend_config.csv).
        volume: base volume (n,) for the AVWAP of EDX, or None / NaN (equal weights).
        resume: None: the arrays are the segment from its first final bar. Else the arrays
            are the segment's bars resume.offset.. (every input non-NaN) and the walk
            continues from the state; the rows of bars after resume.last_idx equal those
            of one walk over the whole segment (bit for bit); only those rows are
            returned (first_bar = resume.last_idx + 1 - resume.offset).
        checkpoints: indices into the arrays (>= first_bar) at which the state is also
            wanted (a later run may continue from any of them, e.g. after a revision
            removed the rows after it).

    Returns:
        dict with "first_bar" (index into the arrays of the first bar with a state; n when
        none), "resume" (the :class:`SegmentResume` after these bars, in absolute indices;
        None when a later run must walk the segment from its first bar: no state yet, or
        the look-back reaches the engine's first bar), "checkpoints" (index -> the
        SegmentResume after that bar, or None) and, for bars first_bar..n-1 (arrays
        of that length): state, prev_state, emergency_exit, exit_position, exit_reason,
        s3_start (index into the arrays or -1), the FLAGS (bool arrays) and SCORES (float
        arrays, NaN = not computed on that bar).

    Raises:
        KeyError: an input is missing. ValueError: lengths differ, or an input turns NaN
        after the engine started (see walk_states), or a continued walk's bar has a NaN
        input.
    """
    close = np.asarray(close, dtype=float)
    n = len(close)
    x = {k: np.asarray(inputs[k], dtype=float) for k in INPUTS}
    if any(len(v) != n for v in x.values()):
        raise ValueError("run_segment: close and every input must have the same length")
    ready = ~np.isnan(np.column_stack([x[k] for k in INPUTS])).any(axis=1) if n else np.zeros(0, bool)
    offset = 0
    if resume is not None:
        offset = resume.offset
        if not ready.all():
            raise ValueError(f"run_segment: a continued walk (from bar {offset}) has a bar with a NaN input")
    path = walk_states(
        close,
        {"e" + k.split("_")[1]: x[k] for k in INPUTS[:6]},
        ready,
        cfg.bootstrap_to_s3,
        prev_state=None if resume is None else resume.prev_state,
    )
    f = path.first_bar
    m = n - f
    state = np.asarray(path.state, dtype=object)
    s3_start = np.asarray([-1 if s is None else s for s in path.s3_start], dtype=np.int64)
    out: dict[str, object] = {
        "first_bar": f,
        "state": path.state,
        "prev_state": path.prev_state,
        "emergency_exit": path.emergency_exit,
        "exit_position": path.exit_position,
        "exit_reason": path.exit_reason,
        "s3_start": s3_start,
        "resume": None,
        "checkpoints": {},
    }
    if m == 0:
        for k in FLAGS:
            out[k] = np.zeros(0, bool)
        for k in SCORES:
            out[k] = np.zeros(0)
        return out
    prefixes = edx_prefixes(
        close,
        volume,
        x["ema_250_slope"],
        x["ema_333_slope"],
        x["rsi_slope_10"],
        x["adx_slope_10"],
        start=None if resume is None else resume.prefix,
    )
    zigzag = _zigzag(close, x["atr_14"], cfg, resume)
    prev_before = None if resume is None else resume.prev_state
    out["resume"] = _next_resume(path, s3_start, prefixes, zigzag, cfg, offset, n, prev_before)
    out["checkpoints"] = {
        int(i): _next_resume(path, s3_start, prefixes, zigzag, cfg, offset, int(i) + 1, prev_before)
        for i in checkpoints
        if f <= i < n
    }

    v = {k: a[f:] for k, a in x.items()}  # the engine's bars
    p = close[f:]
    atr = v["atr_14"]
    in1, in2, in3 = state == "S1", state == "S2", state == "S3"
    bars = np.arange(f, n)
    n_since = np.where(in3, bars - s3_start, -1)

    ts = trend_strength(v["rsi_slope_10"], v["adx_slope_10"], cfg)
    ox = overextension(
        p,
        v["ema_20"],
        v["ema_60"],
        v["ema_144"],
        v["ema_250"],
        atr,
        v["atr_mean_20"],
        v["d_sep_fast_5"],
        v["d_sep_mid_5"],
        v["ema_20_slope"],
        cfg,
    )
    edx = np.full(m, np.nan)
    dx = np.full(m, np.nan)
    s3_rows = np.flatnonzero(in3)
    if len(s3_rows):
        edx[s3_rows] = trend_decay(
            s3_rows + f,
            n_since[s3_rows],
            close=close,
            volume=volume,
            ema_144=x["ema_144"],
            ema_250=x["ema_250"],
            ema_333=x["ema_333"],
            ema_250_slope=x["ema_250_slope"],
            ema_333_slope=x["ema_333_slope"],
            rsi_slope_10=x["rsi_slope_10"],
            adx_slope_10=x["adx_slope_10"],
            zigzag=zigzag,
            cfg=cfg,
            prefixes=prefixes,
        )
        ox = np.where(in3, overextension_s3(ox, edx, cfg), ox)
        dx[s3_rows] = discount(
            p[s3_rows],
            v["ema_144"][s3_rows],
            v["ema_333"][s3_rows],
            atr[s3_rows],
            v["atr_mean_20"][s3_rows],
            v["volume_z"][s3_rows],
            v["rsi_slope_10"][s3_rows],
            v["adx_14"][s3_rows],
            v["adx_slope_10"][s3_rows],
            v["d_ema_144_slope"][s3_rows],
            edx[s3_rows],
            cfg,
        )
    ox = np.where(in2 | in3, ox, np.nan)

    # flag conditions before the gate (cheap, vectorized)
    e20, e30, e60, e144, e333 = v["ema_20"], v["ema_30"], v["ema_60"], v["ema_144"], v["ema_333"]
    slope_333_ok = (v["ema_250_slope"] > 0) | (v["ema_333_slope"] >= 0)
    buy_pre = in1 & (np.abs(p - e60) <= cfg.buy_atr * atr) & ((v["ema_60_slope"] > 0) | (v["ema_144_slope"] >= 0))
    retest_pre = in2 & (np.abs(p - e333) <= cfg.rebuy_retest_atr * atr) & slope_333_ok
    edx_supp = np.where(
        edx >= cfg.edx_supp_high_edx,
        cfg.edx_supp_high,
        np.where(edx >= cfg.edx_supp_mid_edx, (edx - cfg.edx_supp_mid_edx) * cfg.edx_supp_mid_gain, 0.0),
    )
    discount_pre = in3 & (e333 <= p) & (p <= e144) & slope_333_ok & (dx >= cfg.rebuy_dx_min + edx_supp)
    near = cfg.first_dip_atr * atr
    dip_pre = (
        in3
        & (p >= e333)
        & ((v["ema_144_slope"] > 0) | (v["ema_250_slope"] >= 0))
        & (
            ((n_since <= cfg.first_dip_fast_bars) & ((np.abs(p - e20) <= near) | (np.abs(p - e30) <= near)))
            | ((n_since <= cfg.first_dip_mid_bars) & (np.abs(p - e60) <= near))
        )
    )
    if not cfg.first_dip_enabled:
        dip_pre[:] = False
    trim_pre = (in2 | in3) & (ox >= cfg.trim_ox)
    emergency = np.asarray(path.emergency_exit, dtype=bool)
    reclaim = np.zeros(m, bool)
    reclaim[1:] = in3[1:] & in3[:-1] & emergency[:-1] & (p[1:] >= e333[1:])

    # gates and S/R levels, only where a flag's other conditions hold
    levels = SupportResistance(
        close,
        window=cfg.sr_window_bars,
        swing_bars=cfg.swing_bars,
        min_prominence=cfg.swing_min_prominence,
        cluster_pct=cfg.level_cluster_pct,
        max_levels=cfg.max_levels,
    )
    sr_boost = np.full(m, np.nan)
    # a continued walk returns the bars after resume.last_idx only (`new` = the first of
    # them): earlier bars need their gate only where the once-per-episode first dip may be
    new = 0 if resume is None else max(resume.last_idx + 1 - offset - f, 0)
    need = buy_pre | retest_pre | discount_pre | dip_pre
    need[:new] = dip_pre[:new]
    gated = np.flatnonzero(need)
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
    for r in (np.flatnonzero(trim_pre[new:]) + new).tolist():
        trim[r] = levels.near(r + f, float(p[r]), float(reach[r]))

    out.update(
        buy_flag=buy | first_dip,
        first_dip_buy_flag=first_dip,
        rebuy_flag=rebuy,
        trim_flag=trim,
        ts_score=ts,
        sr_boost=sr_boost,
        ox=ox,
        dx=dx,
        edx=edx,
    )
    if new:  # the bars walked again: not returned
        for k in ("state", "prev_state", "emergency_exit", "exit_position", "exit_reason", "s3_start", *FLAGS, *SCORES):
            out[k] = out[k][new:]
        out["first_bar"] = f + new
    return out


def _zigzag(close: np.ndarray, atr: np.ndarray, cfg: UptrendConfig, resume: SegmentResume | None) -> Pivots:
    """The ATR zigzag of the closes (EDX struct): from the segment's first bar, or continued
    from resume.zigzag (that pivot first, then the later ones), in indices into the arrays."""
    if resume is None:
        return atr_zigzag(close, close, close, atr, cfg.zigzag_atr_mult, cfg.zigzag_min_leg_bars)
    bar, kind, confirm = (v - resume.offset if i != 1 else v for i, v in enumerate(resume.zigzag))
    later = atr_zigzag(
        close, close, close, atr, cfg.zigzag_atr_mult, cfg.zigzag_min_leg_bars, resume=(bar, kind, confirm)
    )
    return Pivots(
        np.concatenate([[bar], later.idx]).astype(np.int64),
        np.concatenate([[close[bar]], later.price]),
        np.concatenate([[kind], later.kind]).astype(np.int64),
        np.concatenate([[confirm], later.confirm]).astype(np.int64),
    )


def _next_resume(
    path,
    s3_start: np.ndarray,
    prefixes: dict[str, np.ndarray],
    zigzag: Pivots,
    cfg: UptrendConfig,
    offset: int,
    n: int,
    prev_before: str | None,
) -> SegmentResume | None:
    """The state a later run continues from after the first n bars of the arrays (see
    SegmentResume; only what bars < n determine), or None when it must walk the segment
    from its first bar. Indices: into the arrays (+ offset = absolute; prev_before: the
    state before the arrays' first bar)."""
    f = path.first_bar
    last_state = path.state[n - 1 - f]
    # bars before `window` never enter a later bar's EDX window: the running S3 episode's
    # entry + 1, else the next bar
    window = int(s3_start[n - 1 - f]) + 1 if last_state == "S3" else n
    start = min(n - lookback_bars(cfg), window - 1)
    before = np.flatnonzero((zigzag.idx < window) & (zigzag.confirm < n))  # pivots known by bar n - 1
    if len(before) == 0:
        return None
    pivot = int(before[-1])
    start = min(start, int(zigzag.idx[pivot]))
    if start - 1 >= f and path.state[start - 1 - f] == "S3":  # an S3 episode runs at start - 1: from its entry
        start = int(s3_start[start - 1 - f])
    if start < 0 or (offset == 0 and start <= f):
        return None
    prev = path.state[start - 1 - f] if start > f else prev_before
    assert prev is None or (prev in STATES and prev != "S3")
    return SegmentResume(
        offset + start,
        offset + n - 1,
        prev,
        {k: float(prefixes[k][start]) for k in PREFIX_NAMES},
        (offset + int(zigzag.idx[pivot]), int(zigzag.kind[pivot]), offset + int(zigzag.confirm[pivot])),
    )
