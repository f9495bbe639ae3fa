"""Grid-trading range regimes: the per-bar pieces of a grid range [S, R] that are awkward in SQL.

For each series segment (``series_part``; bars ordered by ``idx`` = 0, 1, 2, ...) the
warehouse computes, at every bar t, a price range [S, R] a grid trader could run a grid on,
and its quality. The SQL side computes the ``quantile`` range (S = 5th percentile of the
lows, R = 95th percentile of the highs) over the whole window [t-W+1, t] (``support``,
``resistance``) and over its fit part [t-W+1, t-K] (``support_fit``, ``resistance_fit``);
this engine adds, from the same bars:

* :func:`swing_levels` — the ``swing`` range: medians of the latest confirmed ATR-zigzag
  swing lows / highs in the window (and in the fit part);
* :func:`traversal_counts` — how often the closes of the window went from the lower zone
  of [S, R] to the upper zone or back (a grid earns on such round trips);
* :func:`containment` — the share of the K holdout closes that stayed inside the range
  fitted on the bars before them (out-of-sample check of the fit range);
* :func:`grid_range_rows` — the table adapter (pandas in, pandas out) over many series.

Point-in-time: every value at bar t uses bars <= t only, so the rows computed on a prefix
``bars[:n]`` of a segment equal the first n rows computed on the whole segment (prefix
invariance). Rows before the window is full (idx < W - 1) are NaN.

Pure Python + numpy + pandas: no dbt, no Dagster, no SQL. The constants are a
:class:`GridRangeConfig`: four rows of the key/value seed ``seeds/grid_config.csv``
(SEED_KEYS; the seed's other rows serve the SQL models) plus W and K in bars, which the
caller derives from the dbt vars grid_window_hours / grid_holdout_hours for the series'
bar interval (int_grid_bars_prepared has them as columns window_bars / holdout_bars):
one config per bar interval, one :func:`grid_range_rows` call per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from numba import njit

from market_regimes.engines.uptrend_levels import Pivots, atr_zigzag
from market_regimes.seed_config import read_key_values, typed_values
from market_regimes.settings import seed_path

DEFAULT_CONFIG_CSV = seed_path("grid_config")

INPUT_COLUMNS = (
    "series_part",
    "idx",
    "bar_start",
    "high",
    "low",
    "close",
    "atr_14",
    "support",
    "resistance",
    "support_fit",
    "resistance_fit",
)
SWING_COLUMNS = ("swing_support", "swing_resistance", "swing_support_fit", "swing_resistance_fit")
PIVOT_COLUMNS = ("pivot_idx", "pivot_kind")
OUTPUT_COLUMNS = ("series_part", "idx", *SWING_COLUMNS, "traversals", "containment_k", *PIVOT_COLUMNS)

# rows of a traversal / containment chunk: its working arrays (about a dozen per-row vectors
# of 1-8 bytes: ~60 bytes a row) take ~4 MB for 65,536 rows, whatever the window, far
# below a 50 MB bound
_CHUNK_ROWS = 1 << 16


# --------------------------------------------------------------------------- config
# the engine's rows of the shared seed grid_config (its other rows belong to the SQL models);
# window_bars and holdout_bars are not seed rows: the dbt vars grid_window_hours /
# grid_holdout_hours in bars of each interval (the window_bars / holdout_bars columns of
# int_grid_bars_prepared), supplied by the caller
SEED_KEYS = ("swing_prominence_atr", "swing_pivots", "containment_atr_buffer", "traversal_zone_frac")


@dataclass(frozen=True)
class GridRangeConfig:
    """Typed grid-range constants.

    window_bars: W, bars of the range window [t-W+1, t] (168 on 1h bars = one week); >= 2.
    holdout_bars: K, the last K bars of the window held out of the fit part
        [t-W+1, t-K] (24 on 1h bars); 0 < K < W.
    swing_prominence_atr: a swing pivot is confirmed when the close has moved this many
        atr_14 (of the confirming bar) away from it (seed 1.5); > 0.
    swing_pivots: the swing level is the median of this many latest confirmed pivots
        (seed 3); >= 1.
    containment_atr_buffer: the containment bounds are widened by this many atr_14 on
        each side (seed 0.25); >= 0.
    traversal_zone_frac: the lower / upper zone is this fraction of R - S at each end of
        [S, R] (seed 0.25 = the lower / upper quarter); 0 < frac < 0.5.

    Direct construction is validated too (ValueError "grid config: <key> = <value> ...").
    """

    window_bars: int
    holdout_bars: int
    swing_prominence_atr: float
    swing_pivots: int
    containment_atr_buffer: float
    traversal_zone_frac: float

    def __post_init__(self) -> None:
        def bad(key: str, rule: str) -> ValueError:
            return ValueError(f"grid config: {key} = {getattr(self, key)!r} {rule}")

        for key in ("window_bars", "holdout_bars", "swing_pivots"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise bad(key, "is not a whole number")
        for key in ("swing_prominence_atr", "containment_atr_buffer", "traversal_zone_frac"):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or not np.isfinite(value)
            ):
                raise bad(key, "is not a finite number")
        if self.window_bars < 2:
            raise bad("window_bars", "must be >= 2")
        if not 0 < self.holdout_bars < self.window_bars:
            raise bad("holdout_bars", f"must be > 0 and < window_bars = {self.window_bars}")
        if self.swing_pivots < 1:
            raise bad("swing_pivots", "must be >= 1")
        if not self.swing_prominence_atr > 0:
            raise bad("swing_prominence_atr", "must be > 0")
        if not self.containment_atr_buffer >= 0:
            raise bad("containment_atr_buffer", "must be >= 0")
        if not 0 < self.traversal_zone_frac < 0.5:
            raise bad("traversal_zone_frac", "must be > 0 and < 0.5")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "GridRangeConfig":
        """Build from key -> value, exactly the six fields (numbers or numeric strings).

        Raises:
            ValueError: a key is missing or unknown ("grid config: missing keys [...],
                unknown keys [...]"), a value has the wrong type ("grid config: <key> =
                <value> is not a valid int"), or a value is out of range ("grid config:
                <key> = <value> must be ...").
        """
        return cls(**typed_values(cls, values, "grid config"))

    @classmethod
    def from_seed(cls, seed: Mapping[str, object], *, window_bars: object, holdout_bars: object) -> "GridRangeConfig":
        """Build from the rows of the shared seed grid_config (key -> value) plus the window.

        seed: must hold the SEED_KEYS; its other rows (the SQL models' thresholds and
            weights) are ignored. window_bars, holdout_bars: W and K in bars of the series'
            interval (the dbt vars in hours converted, as int_grid_bars_prepared does).

        Raises:
            ValueError: as :meth:`from_mapping` (a SEED_KEYS row missing: "missing keys").
        """
        values = {k: seed[k] for k in SEED_KEYS if k in seed}
        return cls.from_mapping({**values, "window_bars": window_bars, "holdout_bars": holdout_bars})


def load_config_csv(
    path: Path | str = DEFAULT_CONFIG_CSV, *, window_bars: object, holdout_bars: object, **overrides: object
) -> GridRangeConfig:
    """Read the seed CSV (key, value, description) into a :class:`GridRangeConfig`.

    window_bars, holdout_bars: W and K in bars (not seed rows). overrides: key=value pairs
    replacing seed values (tests). Raises ValueError as :meth:`GridRangeConfig.from_seed`.
    """
    values: dict[str, object] = dict(read_key_values(path))
    values.update(overrides)
    return GridRangeConfig.from_seed(values, window_bars=window_bars, holdout_bars=holdout_bars)


# --------------------------------------------------------------------------- swing levels
def grid_swing_pivots(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray, cfg: GridRangeConfig
) -> Pivots:
    """Swing pivots of one series: an ATR zigzag on the bar extremes, confirmed on closes.

    Project definition: a swing low at bar j is the lowest low since the last swing high
    (from the bar after that pivot; ties: the earlier bar); it is confirmed at the first bar
    c > j with close[c] - low[j] >= swing_prominence_atr x atr_14[c]. Swing highs mirror it
    (highest high since the last swing low, confirmed when high[j] - close[c] >=
    swing_prominence_atr x atr_14[c]). Lows and highs alternate; before the first pivot both
    are tracked and the first confirmation decides. Confirmed pivots never move, so a pivot
    is known from its confirming bar on (no look-ahead). Bars with a NaN atr_14 (warm-up)
    confirm nothing but still extend the extremes. No minimum leg length.

    Why these choices: the pivot prices are the bar extremes because a grid's range is
    bounded by where price actually traded (wicks included); the confirmation uses the
    close, not the opposite extreme, so a single wick does not confirm a pivot; the walk is
    the Uptrend Engine's ATR zigzag (``uptrend_levels.atr_zigzag``, shared with its
    close-only ``zigzag_pivots``) with the extremes read from highs and lows; the threshold
    scales with ATR so that one setting fits every symbol and bar interval.

    Args:
        high, low, close: prices of one series segment in bar order, shape (n,).
        atr: atr_14 (Wilder ATR(14), price units) of the same bars, shape (n,), NaN while warming.
        cfg: the swing_prominence_atr of the config is used.

    Returns:
        :class:`~market_regimes.engines.uptrend_levels.Pivots` (idx: pivot bar, price:
        low or high of that bar, kind: -1 low / +1 high, confirm: confirming bar), in bar order.
    """
    return atr_zigzag(high, low, close, atr, cfg.swing_prominence_atr, 1)


def _median_of_last(prices: np.ndarray, lo: np.ndarray, hi: np.ndarray, m: int) -> np.ndarray:
    """Per row r: median of prices[max(lo[r], hi[r] - m) : hi[r]] (NaN when empty).

    prices: (p,) float; lo, hi: (n,) int positions into prices; returns (n,) float64.
    """
    n = len(lo)
    out = np.full(n, np.nan)
    count = np.clip(hi - lo, 0, m)
    rows = np.flatnonzero(count > 0)
    if len(rows) == 0:
        return out
    cnt = count[rows]
    take = hi[rows, None] - 1 - np.arange(m)[None, :]  # newest first
    vals = np.where(np.arange(m)[None, :] < cnt[:, None], prices[np.maximum(take, 0)], np.inf)
    vals.sort(axis=1)  # the cnt valid values first, padding (inf) last
    a = np.take_along_axis(vals, ((cnt - 1) // 2)[:, None], axis=1)[:, 0]
    b = np.take_along_axis(vals, (cnt // 2)[:, None], axis=1)[:, 0]
    out[rows] = (a + b) / 2.0
    return out


def swing_levels(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray, cfg: GridRangeConfig
) -> pd.DataFrame:
    """Swing support / resistance of one series at every bar, whole window and fit part.

    Project definition (the ``swing`` range method): with the pivots of
    :func:`grid_swing_pivots`, W = window_bars, K = holdout_bars, m = swing_pivots,
    * swing_support[t] = median price of the latest m swing lows that are confirmed by t
      (confirm <= t) and whose pivot bar lies in the window [t-W+1, t];
      swing_resistance[t] = the same over swing highs;
    * swing_support_fit[t], swing_resistance_fit[t] = the same on the fit part: pivot bar in
      [t-W+1, t-K] and confirmed by t-K (as the range was known at the end of the fit part,
      so a holdout test of it is out of sample).
    "Latest" = latest pivot bar (= latest confirmation: the zigzag confirms in bar order).
    Fewer than m such pivots: the median of those there are; none: NaN. The median of a few
    pivots rather than the extreme one, so that one spike does not set the level.

    Args:
        high, low, close, atr: one series segment in bar order, shape (n,) each (prices and
            atr_14 in price units; atr NaN while warming).
        cfg: window_bars, holdout_bars, swing_prominence_atr, swing_pivots.

    Returns:
        DataFrame of n rows (RangeIndex = bar position) with float64 columns swing_support,
        swing_resistance, swing_support_fit, swing_resistance_fit (price units); NaN before
        the window is full (t < W - 1) and where there is no pivot.
    """
    piv = grid_swing_pivots(high, low, close, atr, cfg)
    return pd.DataFrame(swing_levels_at(piv, np.arange(len(close)), cfg))


def swing_levels_at(piv: Pivots, t: np.ndarray, cfg: GridRangeConfig) -> dict[str, np.ndarray]:
    """The :func:`swing_levels` values at bar positions ``t`` from a series' pivots.

    piv: the series' confirmed pivots in bar order (at least every pivot with
    idx >= min(t) - W + 1 that is confirmed by max(t); positions in the same numbering as
    t). t: int array (m,) of bar positions (0 = the segment's first bar). Returns
    swing_column -> float64 array (m,), NaN where t < W - 1 or no pivot qualifies.
    """
    t = np.asarray(t, dtype=np.int64)
    start = t - cfg.window_bars + 1
    fit_end = t - cfg.holdout_bars
    out: dict[str, np.ndarray] = {}
    for kind, name in ((-1, "support"), (1, "resistance")):
        sel = piv.kind == kind
        idx, price, confirm = piv.idx[sel], piv.price[sel], piv.confirm[sel]
        lo = np.searchsorted(idx, start, side="left")
        out[f"swing_{name}"] = _median_of_last(price, lo, np.searchsorted(confirm, t, side="right"), cfg.swing_pivots)
        out[f"swing_{name}_fit"] = _median_of_last(
            price, lo, np.searchsorted(confirm, fit_end, side="right"), cfg.swing_pivots
        )
    warm = t < cfg.window_bars - 1
    for values in out.values():
        values[warm] = np.nan
    return {c: out[c] for c in SWING_COLUMNS}


# --------------------------------------------------------------------------- traversals
def traversal_counts(
    close: np.ndarray, support: np.ndarray, resistance: np.ndarray, cfg: GridRangeConfig
) -> np.ndarray:
    """Zone-to-zone traversals of the window's closes across [S, R] at every bar.

    Project definition: at bar t, with S = support[t], R = resistance[t] (the whole-window
    range of bar t) and f = traversal_zone_frac, each close c of the window [t-W+1, t] is in
    the lower zone if c <= S + f (R - S), in the upper zone if c >= R - f (R - S), else in
    the middle (a NaN close: middle). traversals[t] = the number of zone changes in the
    window's sequence of non-middle closes, i.e. completed moves from one zone to the other
    (lower, middle, upper, upper, lower = 2). Why: a grid earns when price crosses its range
    end to end; moves inside the middle, or that return to the zone they left, fill few
    levels.

    Compiled (numba, :func:`_traversal_counts_kernel`): per bar one pass over its window's
    closes, oldest first, with a running "last zone"; whole-number counts, so the same as
    the vectorised numpy form it replaced (a pass per lag over every bar: 1.7 s of the
    sample's 6 s of range walks; this loop 0.1 s).

    Args:
        close, support, resistance: shape (n,), price units, one series in bar order (or
            several series concatenated, if the caller blanks the rows whose window would
            cross a series boundary).
        cfg: window_bars, traversal_zone_frac.

    Returns:
        float64 array (n,): whole numbers; NaN for t < W - 1, where S or R is NaN, or R <= S.
    """
    close = np.ascontiguousarray(close, dtype=float)
    support = np.ascontiguousarray(support, dtype=float)
    resistance = np.ascontiguousarray(resistance, dtype=float)
    return _traversal_counts_kernel(close, support, resistance, int(cfg.window_bars), float(cfg.traversal_zone_frac))


@njit(cache=True, nogil=True)
def _traversal_counts_kernel(close, support, resistance, w, frac):
    """:func:`traversal_counts` for arrays of float64 (n,): the zones of a bar's window
    against its own edges s + f (r - s) / r - f (r - s) (the same float operations as the
    numpy form), NaN close / edge -> middle."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(w - 1, n):
        s, r = support[t], resistance[t]
        if not (r > s and np.isfinite(s) and np.isfinite(r)):
            continue
        band = frac * (r - s)
        lower_edge, upper_edge = s + band, r - band
        state = 0
        count = 0
        for i in range(t - w + 1, t + 1):
            c = close[i]
            zone = (1 if c >= upper_edge else 0) - (1 if c <= lower_edge else 0)
            if zone != 0:
                if zone * state < 0:
                    count += 1
                state = zone
        out[t] = count
    return out


# --------------------------------------------------------------------------- containment
def containment(
    close: np.ndarray, support_fit: np.ndarray, resistance_fit: np.ndarray, atr: np.ndarray, cfg: GridRangeConfig
) -> np.ndarray:
    """Share of the holdout closes inside the fit range widened by an ATR buffer.

    Project definition: containment_k[t] = (number of closes c of bars t-K+1..t with
    S_fit[t] - b x atr[t] <= c <= R_fit[t] + b x atr[t]) / K, with K = holdout_bars,
    b = containment_atr_buffer and the bounds of bar t (S_fit, R_fit fitted on
    [t-W+1, t-K], so the K closes are out of sample). Why: a range that held its holdout
    closes is one a grid could have run on; the buffer forgives closes just outside it
    (less than b ATR), which a grid's outer levels absorb. A NaN close counts as outside.

    Args:
        close, support_fit, resistance_fit, atr: shape (n,), price units (atr = atr_14),
            one series in bar order.
        cfg: window_bars, holdout_bars, containment_atr_buffer.

    Returns:
        float64 array (n,) in [0, 1] (multiples of 1/K); NaN for t < W - 1 or where
        support_fit, resistance_fit or atr is NaN at t.
    """
    close = np.asarray(close, dtype=float)
    s = np.asarray(support_fit, dtype=float)
    r = np.asarray(resistance_fit, dtype=float)
    atr = np.asarray(atr, dtype=float)
    n, w, k = len(close), cfg.window_bars, cfg.holdout_bars
    out = np.full(n, np.nan)
    for a in range(w - 1, n, _CHUNK_ROWS):
        b = min(n, a + _CHUNK_ROWS)
        buffer = cfg.containment_atr_buffer * atr[a:b]
        lo, hi = s[a:b] - buffer, r[a:b] + buffer
        inside = np.zeros(b - a, dtype=np.int32)
        for lag in range(k):
            c = close[a - lag : b - lag]
            inside += (c >= lo) & (c <= hi)
        valid = np.isfinite(lo) & np.isfinite(hi)
        out[a:b] = np.where(valid, inside / k, np.nan)
    return out


# --------------------------------------------------------------------------- table adapter
def grid_range_rows(bars: pd.DataFrame, cfg: GridRangeConfig, pivots: pd.DataFrame | None = None) -> pd.DataFrame:
    """The engine over many series: one output row per input row (per new row when continuing).

    A full walk reads every bar of a series from the segment's first one. A continued walk
    (incremental runs) writes only the bars after the last stored one: the series' rows carry
    that bar in ``carry_idx``, and the swing pivots go on from the last stored pivot
    (``uptrend_levels.atr_zigzag``'s ``resume``), so the rows equal a full walk's.

    Args:
        bars: columns series_part, idx, bar_start, high, low, close, atr_14 (price units),
            support, resistance (the whole-window quantile range of the bar), support_fit,
            resistance_fit (its fit-part range; int_grid_bars_prepared's quantile_support,
            quantile_resistance, quantile_support_fit, quantile_resistance_fit renamed, or
            another method's range), in any column and row order, any number
            of series (extra columns ignored); optional carry_idx (the series' last stored
            bar; NaN or absent: none). Within a series_part idx must be consecutive, each bar
            once, from s: s = 0 (the segment's first bar: the swing pivots depend on every
            earlier bar) without a carry_idx; with one, s <= carry_idx + 2 - W (the window of
            the first new bar) and s <= the pivot bar of the series' last stored pivot (0
            when it has none). high, low, close must be finite.
        cfg: the grid config (W, K in bars of these series' interval: call once per interval).
        pivots: the stored pivots of the series with a carry_idx (rows of this function's
            earlier output with a pivot): columns series_part, idx (the confirming bar),
            pivot_idx, pivot_kind. Rows of other series are ignored.

    Returns:
        DataFrame with columns series_part, idx, swing_support, swing_resistance,
        swing_support_fit, swing_resistance_fit, traversals, containment_k, pivot_idx,
        pivot_kind (series_part as given, idx int64, pivot_idx / pivot_kind Int64: the swing
        pivot confirmed at this bar, its bar and kind -1 low / +1 high, NULL on the other
        bars; the others float64 with NaN = unknown), one row per input row (of a continued
        series: per row after carry_idx), ordered by (series_part, idx), RangeIndex.
        Values: :func:`swing_levels`, :func:`traversal_counts` (on support / resistance),
        :func:`containment` (on support_fit / resistance_fit / atr_14), each per series_part.

    Raises:
        ValueError: missing input columns (named), idx not consecutive from a valid start in
            a series_part (named), or a non-finite high / low / close.
    """
    missing = [c for c in INPUT_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"grid_range_rows: missing input columns {missing}")
    ordered = bars.sort_values(["series_part", "idx"], kind="stable").reset_index(drop=True)
    n = len(ordered)
    try:
        idx = ordered["idx"].to_numpy(dtype=float)
        carry = ordered["carry_idx"].to_numpy(dtype=float) if "carry_idx" in ordered.columns else np.full(n, np.nan)
    except (TypeError, ValueError):
        raise ValueError("grid_range_rows: idx and carry_idx must be whole numbers") from None
    parts = ordered["series_part"].to_numpy()
    # series boundaries: positions where series_part changes
    new_part = np.ones(n, dtype=bool)
    if n > 1:
        new_part[1:] = parts[1:] != parts[:-1]
    starts = np.flatnonzero(new_part)
    ends = np.append(starts[1:], n)
    arrays = {c: ordered[c].to_numpy(dtype=float) for c in INPUT_COLUMNS[3:]}
    for c in ("high", "low", "close"):
        if not np.isfinite(arrays[c]).all():
            raise ValueError(f"grid_range_rows: {c} has non-finite values")
    stored = _stored_pivots(pivots)

    first = np.repeat(np.nan_to_num(idx[starts], nan=-1.0), ends - starts)
    pos = first + np.arange(n) - np.repeat(starts, ends - starts)  # idx each row must have
    bad = idx != pos  # also NaN, fractions, gaps and duplicates
    if bad.any():
        raise ValueError(
            f"grid_range_rows: series_part {parts[np.argmax(bad)]!r} does not have consecutive idx (each bar once)"
        )
    pos = pos.astype(np.int64)
    keep = np.ones(n, dtype=bool)
    swing = {c: np.full(n, np.nan) for c in SWING_COLUMNS}
    pivot_idx = np.full(n, -1, dtype=np.int64)
    pivot_kind = np.zeros(n, dtype=np.int64)
    for a, b in zip(starts, ends):
        s, part, carried = int(pos[a]), parts[a], carry[a]
        last = stored.get(part) if np.isfinite(carried) else None
        if not np.isfinite(carried):
            if s != 0:
                raise ValueError(
                    f"grid_range_rows: series_part {part!r} starts at idx {s}, not 0, and has no carry_idx"
                )
            known, resume = _no_pivots(), None
        else:
            keep[a:b] = pos[a:b] > carried
            if pos[b - 1] <= carried:
                continue  # no new bar
            known = last if last is not None else _no_pivots()
            bound = min(int(carried) + 2 - cfg.window_bars, int(known.idx[-1]) if len(known.idx) else 0)
            if s > max(bound, 0):
                raise ValueError(
                    f"grid_range_rows: series_part {part!r} starts at idx {s}; continuing after "
                    f"carry_idx {int(carried)} needs bars from idx {max(bound, 0)}"
                )
            resume = (
                (int(known.idx[-1]) - s, int(known.kind[-1]), int(known.confirm[-1]) - s) if len(known.idx) else None
            )
        walked = atr_zigzag(
            arrays["high"][a:b],
            arrays["low"][a:b],
            arrays["close"][a:b],
            arrays["atr_14"][a:b],
            cfg.swing_prominence_atr,
            1,
            resume=resume,
        )
        new = Pivots(walked.idx + s, walked.price, walked.kind, walked.confirm + s)
        at = new.confirm - s + a
        pivot_idx[at], pivot_kind[at] = new.idx, new.kind
        if pos[b - 1] < cfg.window_bars - 1:
            continue  # never warm yet: all NaN
        # the stored pivots of the look-back (their prices from these bars) and the new ones
        old = known.idx >= s
        old_price = np.where(
            known.kind[old] > 0, arrays["high"][a + known.idx[old] - s], arrays["low"][a + known.idx[old] - s]
        )
        piv = Pivots(
            np.concatenate([known.idx[old], new.idx]),
            np.concatenate([old_price, new.price]),
            np.concatenate([known.kind[old], new.kind]),
            np.concatenate([known.confirm[old], new.confirm]),
        )
        for c, values in swing_levels_at(piv, pos[a:b], cfg).items():
            swing[c][a:b] = values
    # the window functions run on the concatenated series; a row whose window would reach
    # into the previous series (fewer than W - 1 bars of its series before it) is blanked:
    # a continued series' new rows have their window inside the given bars
    warm = (pos < cfg.window_bars - 1) | (np.arange(n) - np.repeat(starts, ends - starts) < cfg.window_bars - 1)
    traversals = traversal_counts(arrays["close"], arrays["support"], arrays["resistance"], cfg)
    contained = containment(arrays["close"], arrays["support_fit"], arrays["resistance_fit"], arrays["atr_14"], cfg)
    traversals[warm] = np.nan
    contained[warm] = np.nan
    result = pd.DataFrame(
        {
            "series_part": ordered["series_part"],
            "idx": pos,
            **swing,
            "traversals": traversals,
            "containment_k": contained,
            "pivot_idx": pd.array(np.where(pivot_idx >= 0, pivot_idx, 0), dtype="Int64"),
            "pivot_kind": pd.array(pivot_kind, dtype="Int64"),
        },
        copy=False,  # no consolidation of the float columns into one block (~0.4 s per 1M rows)
    )
    no_pivot = pivot_idx < 0
    result["pivot_idx"] = result["pivot_idx"].mask(no_pivot)
    result["pivot_kind"] = result["pivot_kind"].mask(no_pivot)
    return result.loc[keep, list(OUTPUT_COLUMNS)].reset_index(drop=True)


def _no_pivots() -> Pivots:
    empty = np.zeros(0, dtype=np.int64)
    return Pivots(empty, np.zeros(0), empty, empty)


def _stored_pivots(pivots: pd.DataFrame | None) -> dict[object, Pivots]:
    """series_part -> its stored pivots in bar order (price not stored: NaN, read from the bars)."""
    if pivots is None or len(pivots) == 0:
        return {}
    missing = [c for c in ("series_part", "idx", "pivot_idx", "pivot_kind") if c not in pivots.columns]
    if missing:
        raise ValueError(f"grid_range_rows: pivots miss columns {missing}")
    out: dict[object, Pivots] = {}
    for part, rows in pivots.sort_values(["series_part", "idx"], kind="stable").groupby("series_part", sort=False):
        out[part] = Pivots(
            rows["pivot_idx"].to_numpy(dtype=np.int64),
            np.full(len(rows), np.nan),
            rows["pivot_kind"].to_numpy(dtype=np.int64),
            rows["idx"].to_numpy(dtype=np.int64),
        )
    return out


# the quantile (primary) range columns of int_grid_bars_prepared -> the engine's inputs
QUANTILE_INPUTS = {
    "quantile_support": "support",
    "quantile_resistance": "resistance",
    "quantile_support_fit": "support_fit",
    "quantile_resistance_fit": "resistance_fit",
}


def grid_range_rows_by_window(
    bars: pd.DataFrame, seed: Mapping[str, object], pivots: pd.DataFrame | None = None
) -> pd.DataFrame:
    """:func:`grid_range_rows` on the primary (quantile) range of series of several bar
    intervals: one config per (window_bars, holdout_bars) group.

    Args:
        bars: int_grid_bars_prepared's columns series_part, idx, bar_start, high, low,
            close, atr_14, window_bars, holdout_bars (W, K in bars of the row's interval)
            and quantile_support, quantile_resistance, quantile_support_fit,
            quantile_resistance_fit (:data:`QUANTILE_INPUTS`).
            Optional carry_idx: continue those series (:func:`grid_range_rows`).
        seed: the rows of seed grid_config (key -> value; :data:`SEED_KEYS` are read).
        pivots: the stored pivots of the continued series (:func:`grid_range_rows`).

    Returns:
        As :func:`grid_range_rows` (all groups, ordered by series_part, idx); an empty
        frame with :data:`OUTPUT_COLUMNS` when ``bars`` is empty.

    Raises:
        ValueError: as :func:`grid_range_rows` and :meth:`GridRangeConfig.from_seed`.
    """
    missing = [c for c in ("window_bars", "holdout_bars", *QUANTILE_INPUTS) if c not in bars.columns]
    if missing:
        raise ValueError(f"grid_range_rows_by_window: missing input columns {missing}")
    frames = [
        grid_range_rows(
            group.rename(columns=QUANTILE_INPUTS),
            GridRangeConfig.from_seed(seed, window_bars=int(w), holdout_bars=int(k)),
            pivots,
        )
        for (w, k), group in bars.groupby(["window_bars", "holdout_bars"], sort=True)
    ]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c in PIVOT_COLUMNS else "float64") for c in OUTPUT_COLUMNS})
    return pd.concat(frames, ignore_index=True).sort_values(["series_part", "idx"], kind="stable", ignore_index=True)
