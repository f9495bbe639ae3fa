"""Uptrend Engine scores (docs/uptrend-engine.md "Scores"): TS, OX, DX and EDX.

Vectorized numpy over one segment's bars (arrays of shape (n,), index 0 = the segment's
first final bar); every constant comes from :class:`UptrendConfig` (seed
uptrend_config.csv). A value at bar t uses bars <= t only. Formulas and their source:
docs/uptrend-engine.md, which follows the public Lotus_Trader Uptrend Engine v4.
"""

from __future__ import annotations

import numpy as np

from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_levels import Pivots

OLS_BARS = 10
# OLS slope of y over x = 0..9: sum((x - 4.5) y) / sum((x - 4.5)^2), sum((x - 4.5)^2) = 82.5
_OLS_WEIGHTS = (np.arange(OLS_BARS) - (OLS_BARS - 1) / 2) / 82.5


def sig(x):
    """Logistic 1 / (1 + e^-x), overflow-free (tanh form); NaN stays NaN."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def clamp01(x):
    """Clip to [0, 1]."""
    return np.clip(x, 0.0, 1.0)


def ols10_slope(y: np.ndarray) -> np.ndarray:
    """OLS slope of the last 10 values (x = 0..9) at every bar, units of y per bar; NaN for
    the first 9 bars (and wherever the window holds a NaN)."""
    y = np.asarray(y, dtype=float)
    out = np.full(len(y), np.nan)
    n = len(y)
    if n >= OLS_BARS:
        # elementwise accumulation in a fixed order (not BLAS/convolve, whose rounding can
        # depend on the array length): a bar's value is bit-identical in a prefix run
        acc = np.zeros(n - OLS_BARS + 1)
        for k, w in enumerate(_OLS_WEIGHTS):
            acc += w * y[k : n - OLS_BARS + 1 + k]
        out[OLS_BARS - 1 :] = acc
    return out


def trend_strength(rsi_slope_10, adx_slope_10, cfg: UptrendConfig):
    """TS = mean(clamp((rsi_slope_10 + 5)/10), clamp((adx_slope_10 + 2)/4)), in [0, 1]."""
    rsi_part = clamp01((np.asarray(rsi_slope_10) + cfg.ts_rsi_offset) / cfg.ts_rsi_scale)
    adx_part = clamp01((np.asarray(adx_slope_10) + cfg.ts_adx_offset) / cfg.ts_adx_scale)
    return 0.5 * (rsi_part + adx_part)


def overextension(
    p, e20, e60, e144, e250, atr, atr_mean_20, d_sep_fast_5, d_sep_mid_5, ema_20_slope, cfg: UptrendConfig
):
    """OX before the S3 EDX amplification: weighted sigmoids of the price's distance above
    E20/E60/E144/E250 in ATR, the 5-bar change of the EMA separations, ATR expansion and a
    falling E20 slope (weights sum to 1, so OX is in [0, 1]). ATR = 0 saturates the
    distance terms (division by zero gives +-inf -> sigmoid 0 or 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            cfg.ox_w_e20 * sig((p - e20) / (cfg.ox_k_e20 * atr))
            + cfg.ox_w_e60 * sig((p - e60) / (cfg.ox_k_e60 * atr))
            + cfg.ox_w_e144 * sig((p - e144) / (cfg.ox_k_e144 * atr))
            + cfg.ox_w_e250 * sig((p - e250) / (cfg.ox_k_e250 * atr))
            + cfg.ox_w_dsep_fast * sig(d_sep_fast_5 / cfg.ox_s_dsep_fast)
            + cfg.ox_w_dsep_mid * sig(d_sep_mid_5 / cfg.ox_s_dsep_mid)
            + cfg.ox_w_atr * sig(atr / atr_mean_20 - 1.0)
            + cfg.ox_w_slope * sig(-ema_20_slope / cfg.ox_s_slope)
        )


def overextension_s3(ox, edx, cfg: UptrendConfig):
    """In S3: OX = clamp(OX x (1 + 0.33 x clip(EDX - 0.5, 0, 0.5)))."""
    return clamp01(ox * (1.0 + cfg.ox_edx_gain * np.clip(edx - cfg.ox_edx_floor, 0.0, cfg.ox_edx_cap)))


def discount(
    p,
    e144,
    e333,
    atr,
    atr_mean_20,
    volume_z,
    rsi_slope_10,
    adx_14,
    adx_slope_10,
    d_ema_144_slope,
    edx,
    cfg: UptrendConfig,
):
    """DX (S3 discount score, high = a good place to add), in [0, 1].

    hallway x = clip((P-E333)/(E144-E333), 0, 1) when E144 > E333, else 1 if P <= E144 else 0;
    loc = e^(-3x) (1 + 0.3 sig((0.03 - (E144-E333)/P)/0.02)); exh = sig(-volume_z);
    relief = .5 sig((ATR/atr_mean_20 - 0.9)/0.05) + .5(.5 sig(rsi_slope_10/0.5) + .5 adx_rel),
    adx_rel = sig(adx_slope_10/0.3) if ADX >= 18 else 0; curl = 1 if d_ema_144_slope > 0;
    DX = clamp((.45 loc + .25 exh + .25 relief + .05 curl) x (1 - 0.5 clip(EDX - 0.6, 0, 0.4))).
    """
    hall = e144 - e333
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(
            hall > 0, np.clip((p - e333) / np.where(hall > 0, hall, 1.0), 0.0, 1.0), np.where(p <= e144, 1.0, 0.0)
        )
        loc = np.exp(-cfg.dx_hallway_decay * x) * (
            1.0 + cfg.dx_narrow_gain * sig((cfg.dx_narrow_width - hall / p) / cfg.dx_narrow_scale)
        )
        relief_atr = sig((atr / atr_mean_20 - cfg.dx_atr_ratio_center) / cfg.dx_atr_ratio_scale)
    exh = sig(-volume_z)
    adx_rel = np.where(adx_14 >= cfg.dx_adx_min, sig(adx_slope_10 / cfg.dx_adx_slope_scale), 0.0)
    relief = 0.5 * relief_atr + 0.5 * (0.5 * sig(rsi_slope_10 / cfg.dx_rsi_slope_scale) + 0.5 * adx_rel)
    curl = (d_ema_144_slope > 0).astype(float)
    raw = cfg.dx_w_loc * loc + cfg.dx_w_exh * exh + cfg.dx_w_relief * relief + cfg.dx_w_curl * curl
    return clamp01(raw * (1.0 - cfg.dx_edx_gain * np.clip(edx - cfg.dx_edx_floor, 0.0, cfg.dx_edx_cap)))


def _combine_windows(s1, s2, s3, has2, has3):
    """EDX window blend per component: all three windows and s3 > s2 > s1 -> .2 s1 + .3 s2 +
    .5 s3; else (window 2 present and) s2 > s1 -> .3 s1 + .7 s2; else the mean of the
    windows present."""
    mean = np.where(has3, (s1 + s2 + s3) / 3.0, np.where(has2, (s1 + s2) / 2.0, s1))
    rising2 = has2 & (s2 > s1)
    out = np.where(rising2, 0.3 * s1 + 0.7 * s2, mean)
    return np.where(has3 & (s3 > s2) & rising2, 0.2 * s1 + 0.3 * s2 + 0.5 * s3, out)


def _prefix(x, start: float = 0.0):
    """Prefix sums with a leading `start` (the sum of the bars before x; NaN read as 0:
    callers only sum ready bars). Sequential (np.cumsum), so the prefix sums of a tail
    x[L:] started at the full run's prefix value at L are bit-identical to the full run's."""
    return np.cumsum(np.concatenate([[float(start)], np.nan_to_num(np.asarray(x, dtype=float))]))


# the running sums EDX differences over its windows (prefix arrays, n + 1 values each)
PREFIX_NAMES = ("slow_ema", "slow_rsi", "slow_adx", "close_volume", "volume", "close")


def edx_prefixes(
    close, volume, ema_250_slope, ema_333_slope, rsi_slope_10, adx_slope_10, start=None
) -> dict[str, np.ndarray]:
    """The prefix sums of :func:`trend_decay` (PREFIX_NAMES -> array (n + 1,), entry k = the
    sum over bars < k). `start`: the sums of the bars before these (the same names; a
    continued walk, uptrend_engine.SegmentResume), else 0. Volume None / NaN counts 0."""
    close = np.asarray(close, dtype=float)
    vol = np.zeros(len(close)) if volume is None else np.nan_to_num(np.asarray(volume, dtype=float))
    start = start or {}
    terms = {
        "slow_ema": (np.asarray(ema_250_slope) + np.asarray(ema_333_slope)) / 2.0,
        "slow_rsi": rsi_slope_10,
        "slow_adx": adx_slope_10,
        "close_volume": close * vol,
        "volume": vol,
        "close": close,
    }
    return {k: _prefix(terms[k], start.get(k, 0.0)) for k in PREFIX_NAMES}


def trend_decay(
    bars: np.ndarray,
    n_since: np.ndarray,
    *,
    close,
    volume,
    ema_144,
    ema_250,
    ema_333,
    ema_250_slope,
    ema_333_slope,
    rsi_slope_10,
    adx_slope_10,
    zigzag: Pivots,
    cfg: UptrendConfig,
    prefixes: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """EDX (trend decay in S3, high = late and tired) at the given bars.

    Args:
        bars: int array of bar indices (S3 bars) into the segment arrays.
        n_since: bars since the S3 entry at each of `bars` (0 on the entry bar).
        close, volume, ema_*, *_slope*: the segment's arrays, shape (n,) (volume may be
            None or NaN/0: equal weights then).
        zigzag: the segment's :func:`zigzag_pivots` (struct component): at least every
            pivot whose bar lies in a window, in order.
        prefixes: :func:`edx_prefixes` of these arrays (computed when None); a continued
            walk passes them with the sums of the bars before its first bar.

    Returns:
        EDX per entry of `bars` in [0, 1]: 0.5 while n < edx_min_bars; else, over the
        windows of the last n, floor(2n/3) and floor(n/3) bars (shorter than edx_min_bars:
        skipped), the components
          slow   = mean(sig(-1000 m(ema_250_slope, ema_333_slope)), sig(-m(rsi_slope_10)/5),
                   sig(-m(adx_slope_10)/2)), m = the mean over the window;
          struct = 1 - (HH + HL)/(HH + LH + HL + LL) over the zigzag pivots whose bar lies
                   in the window and that are confirmed by now (each compared with the
                   previous pivot of its kind, also in the window); 0.5 with < 4 pivots;
          part   = sig(-1000 x OLS10 slope of the AVWAP anchored at the window start /
                   AVWAP now), AVWAP = sum(close x volume)/sum(volume) (equal weights when
                   the window has no volume);
          comp   = sig(-100 x mean OLS10 slope of (E144-E333)/E333 and (E250-E333)/E333),
                   0.5 in a window shorter than 144 bars;
        blended per component by :func:`_combine_windows`, then
        EDX = (.30 slow + .25 struct + .20 part + .10 comp) / (.30 + .25 + .20 + .10).
    """
    bars = np.asarray(bars, dtype=np.int64)
    n_since = np.asarray(n_since, dtype=np.int64)
    out = np.full(len(bars), 0.5)
    live = n_since >= cfg.edx_min_bars
    if not live.any():
        return out
    t = bars[live]
    lengths = [n_since[live], (2 * n_since[live]) // 3, n_since[live] // 3]
    present = [np.ones(len(t), bool)] + [length >= cfg.edx_min_bars for length in lengths[1:]]

    if prefixes is None:
        prefixes = edx_prefixes(close, volume, ema_250_slope, ema_333_slope, rsi_slope_10, adx_slope_10)
    slow_ema, slow_rsi, slow_adx = prefixes["slow_ema"], prefixes["slow_rsi"], prefixes["slow_adx"]
    cum_qv, cum_v, cum_c = prefixes["close_volume"], prefixes["volume"], prefixes["close"]
    comp_slope = (
        0.5
        * (
            ols10_slope((np.asarray(ema_144) - ema_333) / ema_333)
            + ols10_slope((np.asarray(ema_250) - ema_333) / ema_333)
        )[t]
    )
    comp_value = sig(-cfg.edx_comp_scale * comp_slope)
    # zigzag pivots: classification against the previous pivot of the same kind (2 back)
    zk, zp = zigzag.kind, zigzag.price
    classified = np.zeros(len(zk), bool)
    up = np.zeros(len(zk), bool)
    if len(zk) > 2:
        same = zk[2:] == zk[:-2]
        classified[2:] = same
        up[2:] = same & (zp[2:] > zp[:-2])  # HH (highs) or HL (lows)
    cum_cls, cum_up = _prefix(classified), _prefix(up)
    confirmed = np.searchsorted(zigzag.confirm, t, side="right")
    offsets = np.arange(OLS_BARS) - (OLS_BARS - 1)

    components = {"slow": [], "struct": [], "part": [], "comp": []}
    for length, has in zip(lengths, present):
        length = np.where(has, length, cfg.edx_min_bars)  # placeholder for absent windows
        start = t - length + 1
        end = t + 1
        m_ema = (slow_ema[end] - slow_ema[start]) / length
        m_rsi = (slow_rsi[end] - slow_rsi[start]) / length
        m_adx = (slow_adx[end] - slow_adx[start]) / length
        components["slow"].append(
            (
                sig(-cfg.edx_slow_ema_scale * m_ema)
                + sig(-m_rsi / cfg.edx_slow_rsi_scale)
                + sig(-m_adx / cfg.edx_slow_adx_scale)
            )
            / 3.0
        )
        first = np.searchsorted(zigzag.idx, start, side="left")
        in_window = confirmed - first
        lo = np.minimum(first + 2, confirmed)
        total = cum_cls[confirmed] - cum_cls[lo]
        rising = cum_up[confirmed] - cum_up[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            struct = np.where((in_window >= cfg.edx_struct_min_pivots) & (total > 0), 1.0 - rising / total, 0.5)
        components["struct"].append(struct)
        j = t[:, None] + offsets[None, :] + 1  # prefix index after each of the last 10 bars
        a = start[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            weighted = (cum_qv[j] - cum_qv[a]) / (cum_v[j] - cum_v[a])
            equal = (cum_c[j] - cum_c[a]) / (j - a)
        has_volume = (cum_v[j[:, :1]] - cum_v[a]) > 0
        avwap = np.where(has_volume, weighted, equal)
        slope = np.zeros(len(t))
        for k, w in enumerate(_OLS_WEIGHTS):  # fixed order: bit-identical in a prefix run
            slope += w * avwap[:, k]
        components["part"].append(sig(-cfg.edx_part_scale * slope / avwap[:, -1]))
        components["comp"].append(np.where(length >= cfg.edx_comp_min_bars, comp_value, 0.5))

    blended = {k: _combine_windows(v[0], v[1], v[2], present[1], present[2]) for k, v in components.items()}
    weights = cfg.edx_w_slow + cfg.edx_w_struct + cfg.edx_w_part + cfg.edx_w_comp
    out[live] = (
        cfg.edx_w_slow * blended["slow"]
        + cfg.edx_w_struct * blended["struct"]
        + cfg.edx_w_part * blended["part"]
        + cfg.edx_w_comp * blended["comp"]
    ) / weights
    return out
