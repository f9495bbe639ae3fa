"""Grid-verdict outcomes: do the verdicts predict whether the grid range holds?

Research report on the grid regimes (``fct_grid_regimes``). At every bar t of a grid
series the warehouse gives a range [S, R] = [support, resistance], atr_14 and a verdict
(RANGE_OK / RANGE_WEAK / TREND / TRANSITION) with its ``confidence``. This module scores the
verdict against the H bars AFTER t, so it looks ahead BY DESIGN: it is an evaluation, never
an input of the regimes.

Pieces (each usable alone):

* :func:`forward_outcomes` — per bar t and horizon H: hold_H, containment_H,
  realized_range_ratio_H, traversals_H over the bars t+1..t+H of the same series segment;
* :func:`block_bootstrap_ci` / :func:`block_bootstrap_diff_ci` — percentile confidence
  intervals of a mean (or of a difference of two subset means, paired) by a block
  bootstrap stratified by series;
* :func:`auc` — ROC AUC via the Mann-Whitney U statistic; :func:`reliability_table` —
  binned confidence vs outcome rate;
* :func:`evaluation_mask` — the out-of-sample part (last 40 %) of every series;
* :func:`outcome_report` — all of it per bar interval and horizon, as data frames.

Input frame (one row per bar; extra columns are kept / ignored):

    series_key    any hashable, one value per series segment (bars of a segment are
                  consecutive; outcomes never cross a segment)
    idx           int, 0..n-1 in bar order within the segment (consecutive)
    close, high, low, atr_14, support, resistance   float, price units
    bar_interval, exchange, symbol                  (outcome_report only)
    verdict, confidence (0-1), range_ok_support (0-100)   (outcome_report only)
    baseline_* boolean columns named in GridOutcomeConfig.baselines (outcome_report only)

Pure Python + numpy + pandas: no dbt, no Dagster, no SQL.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields, replace
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from market_regimes.frames import is_sorted_by
from market_regimes.parallel import ordered_map
from market_regimes.seed_config import convert_value

VERDICTS = ("RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION")
METRICS = ("hold", "containment", "realized_range_ratio", "traversals")
DEFAULT_HORIZONS = (24, 72, 168)
DEFAULT_BASELINES = (
    "baseline_adx_below_20",
    "baseline_chop_above_61_8",
    "baseline_er_below_0_3",
    "baseline_vr_below_1",
)
OUTCOME_INPUT_COLUMNS = ("series_key", "idx", "close", "high", "low", "atr_14", "support", "resistance")
REPORT_INPUT_COLUMNS = (
    *OUTCOME_INPUT_COLUMNS,
    "bar_interval",
    "exchange",
    "symbol",
    "verdict",
    "confidence",
    "range_ok_support",
)
OUTCOME_COLUMNS = (
    "bar_interval",
    "horizon",
    "group_kind",
    "group",
    "metric",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "diff_vs_all",
    "diff_ci_low",
    "diff_ci_high",
)

# rows of a forward-outcome chunk: ~20 per-row work vectors of 1-8 bytes (~100 bytes a row,
# ~1.6 MB per chunk whatever H; small enough to stay in cache while the H lags are walked)
_CHUNK_ROWS = 1 << 14
# block draws (resamples x blocks) at once in the bootstrap (~8 MB of int64 indices, 8 MB of
# float64 draw counts)
_BOOT_ELEMENTS = 1 << 20
# up to this many distinct statistic columns the bootstrap gathers the drawn blocks' sums
# (np.take); above it, it counts the draws per block and multiplies (BLAS): ~10x faster for
# the report's ~70 columns, ~1.5x slower for 2 (the two agree to rounding)
_TAKE_MAX_COLUMNS = 4


def outcome_columns(horizon: int) -> tuple[str, str, str, str]:
    """Names of the four outcome columns of horizon H: hold_H, containment_H, ..."""
    return tuple(f"{metric}_{horizon}" for metric in METRICS)  # type: ignore[return-value]


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class GridOutcomeConfig:
    """Typed constants of the outcome report.

    horizons: H, look-ahead horizons in bars of the series' interval (default 24, 72, 168:
        one day / three days / one week of 1h bars); distinct whole numbers >= 1.
    hold_atr_buffer: b, the hold band is [S - b atr_14, R + b atr_14] of bar t (0.1); >= 0.
    traversal_zone_frac: z, the lower / upper zone is this fraction of R - S at each end of
        [S, R] (0.25, as the grid-range engine's traversal count); 0 < z < 0.5.
    train_frac: the first floor(train_frac x n) bars of every series are the training part,
        the rest the evaluation part (0.6); 0 <= train_frac < 1.
    n_boot: bootstrap resamples (1000); >= 1.
    seed: seed of numpy's default_rng for the bootstrap and the shuffled-label AUC (0); >= 0.
    ci_level: level of the percentile intervals (0.95); 0 < level < 1.
    reliability_bins: equal-width confidence bins on [0, 1] (5: edges 0, 0.2, ..., 1); >= 1.
    baselines: names of boolean input columns, each a simple "range" rule to compare the
        verdicts with (default baseline_adx_below_20, baseline_chop_above_61_8,
        baseline_er_below_0_3, baseline_vr_below_1); the report's group is the name
        without the ``baseline_`` prefix.

    Direct construction is validated too (ValueError "grid outcome config: <key> = ...").
    Sequences given as lists are stored as tuples.
    """

    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    hold_atr_buffer: float = 0.1
    traversal_zone_frac: float = 0.25
    train_frac: float = 0.6
    n_boot: int = 1000
    seed: int = 0
    ci_level: float = 0.95
    reliability_bins: int = 5
    baselines: tuple[str, ...] = DEFAULT_BASELINES

    def __post_init__(self) -> None:
        def bad(key: str, rule: str) -> ValueError:
            return ValueError(f"grid outcome config: {key} = {getattr(self, key)!r} {rule}")

        def whole(value: object) -> bool:
            return not isinstance(value, bool) and isinstance(value, (int, np.integer))

        def number(value: object) -> bool:
            return (
                not isinstance(value, bool)
                and isinstance(value, (int, float, np.integer, np.floating))
                and math.isfinite(value)
            )

        for key in ("horizons", "baselines"):
            value = getattr(self, key)
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise bad(key, "is not a sequence")
            object.__setattr__(self, key, tuple(value))
        if not self.horizons or not all(whole(h) and h >= 1 for h in self.horizons):
            raise bad("horizons", "must be a non-empty sequence of whole numbers >= 1")
        if len(set(self.horizons)) != len(self.horizons):
            raise bad("horizons", "has duplicates")
        object.__setattr__(self, "horizons", tuple(int(h) for h in self.horizons))
        if not all(isinstance(name, str) and name for name in self.baselines):
            raise bad("baselines", "must be a sequence of non-empty column names")
        if len(set(self.baselines)) != len(self.baselines):
            raise bad("baselines", "has duplicates")
        for key in ("n_boot", "seed", "reliability_bins"):
            if not whole(getattr(self, key)):
                raise bad(key, "is not a whole number")
        for key in ("hold_atr_buffer", "traversal_zone_frac", "train_frac", "ci_level"):
            if not number(getattr(self, key)):
                raise bad(key, "is not a finite number")
        if not self.hold_atr_buffer >= 0:
            raise bad("hold_atr_buffer", "must be >= 0")
        if not 0 < self.traversal_zone_frac < 0.5:
            raise bad("traversal_zone_frac", "must be > 0 and < 0.5")
        if not 0 <= self.train_frac < 1:
            raise bad("train_frac", "must be >= 0 and < 1")
        if self.n_boot < 1:
            raise bad("n_boot", "must be >= 1")
        if self.seed < 0:
            raise bad("seed", "must be >= 0")
        if not 0 < self.ci_level < 1:
            raise bad("ci_level", "must be > 0 and < 1")
        if self.reliability_bins < 1:
            raise bad("reliability_bins", "must be >= 1")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "GridOutcomeConfig":
        """Build from key -> value; keys left out keep their defaults.

        Values may be numbers or numeric strings; ``horizons`` / ``baselines`` a sequence or
        a comma-separated string ("24,72,168").

        Raises:
            ValueError: an unknown key ("grid outcome config: unknown keys [...]"), a value of
                the wrong type ("grid outcome config: <key> = <value> is not a valid int"), or
                out of range ("grid outcome config: <key> = <value> must be ...").
        """
        kinds = {f.name: str(f.type) for f in fields(cls)}
        unknown = sorted(set(values) - set(kinds))
        if unknown:
            raise ValueError(f"grid outcome config: unknown keys {unknown}")
        out: dict[str, object] = {}
        for key, raw in values.items():
            kind = kinds[key]
            try:
                if kind.startswith("tuple"):
                    items = [part.strip() for part in raw.split(",")] if isinstance(raw, str) else list(raw)
                    out[key] = tuple(convert_value("int" if "int" in kind else "str", item) for item in items)
                else:
                    if isinstance(raw, bool):  # True would pass as 1.0
                        raise ValueError(raw)
                    out[key] = convert_value(kind, raw)
            except (TypeError, ValueError):
                raise ValueError(f"grid outcome config: {key} = {raw!r} is not a valid {kind}") from None
        return cls(**out)


# --------------------------------------------------------------------------- helpers
def _require(bars: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in bars.columns]
    if missing:
        raise ValueError(f"{what}: missing input columns {missing}")


def _series_order(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row order sorting by (series, idx), and the series code (0..) of every row.

    Codes follow the sorted series keys, not their first appearance: the rows' order, and
    so the shuffled AUC and the bootstrap draws, must not depend on the order the warehouse
    returned the rows in (it is not fixed)."""
    codes, _ = pd.factorize(bars["series_key"], sort=True, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError("series_key must not be missing")
    idx = bars["idx"].to_numpy()
    order = np.lexsort((idx, codes))
    return order, codes


def _segment_ends(sorted_codes: np.ndarray) -> np.ndarray:
    """For every row of a (series-sorted) code array: the position of its series' last row."""
    n = len(sorted_codes)
    last = np.flatnonzero(np.r_[sorted_codes[1:] != sorted_codes[:-1], True])
    first = np.r_[0, last[:-1] + 1]
    return np.repeat(last, last - first + 1) if n else np.zeros(0, dtype=np.int64)


# --------------------------------------------------------------------------- forward outcomes
def forward_outcomes(
    bars: pd.DataFrame,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    cfg: GridOutcomeConfig | None = None,
    hold_only: bool = False,
    *,
    series_order: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Forward outcomes of every bar's grid range over the next H bars (looks ahead by design).

    Project definitions, for bar t of a series segment with S = support[t], R =
    resistance[t], a = atr_14[t] and the closes / highs / lows of the bars t+1..t+H (bar t
    itself is not part of its outcome):

    * ``hold_H`` = 1 if every close of t+1..t+H is inside [S - b a, R + b a], else 0
      (b = cfg.hold_atr_buffer, 0.1; bounds inclusive). Did the grid survive H bars?
    * ``containment_H`` = the share (0-1) of the H closes inside [S, R] (inclusive).
    * ``realized_range_ratio_H`` = (max high - min low over t+1..t+H) / (R - S): the range
      price actually used relative to the grid's width (< 1: part of the grid idle; > 1:
      price went past the grid).
    * ``traversals_H`` = the number of completed moves of the close from the lower zone
      (close <= S + z (R - S)) to the upper zone (close >= R - z (R - S)) or back, z =
      cfg.traversal_zone_frac (0.25), zones of bar t's [S, R]: the zone changes in the
      sequence of the H closes that are not in the middle (lower, middle, upper, upper,
      lower = 2), as the grid-range engine counts traversals over its window.

    All four are NaN when t + H is past the last bar of t's segment (an outcome never
    crosses a segment), when S, R or a is NaN, when R <= S, or when a close / high / low of
    t+1..t+H is NaN.

    Vectorised: the rows (sorted by series_key, idx) are processed in chunks of 16,384; the
    window maxima / minima of each horizon come from a sparse table of the chunk's closes /
    highs / lows (~log2 max(H) passes; exact), the counts from one walk over the lags
    1..max(H), every horizon read off at its lag (memory per chunk a few MB; time ~ n x
    max(H): 1M bars x H = 24, 72, 168 took ~1-1.5 s on one shared core; hold_only: no walk).

    Args:
        bars: one row per bar with the columns series_key, idx (consecutive within a
            series: 0..n-1), close, high, low, atr_14, support, resistance (price units);
            any row order; extra columns are kept.
        horizons: H values in bars (whole numbers >= 1).
        cfg: hold_atr_buffer and traversal_zone_frac (default: GridOutcomeConfig()).
        hold_only: compute only hold_H (the other three columns are left out; about a
            third of the work), for callers that read nothing else.
        series_order: ``_series_order(bars)`` when the caller has it already (the same
            result; None: computed here).

    Returns:
        A copy of ``bars`` (same index and row order) plus, per H, the float64 columns
        hold_H (0/1), containment_H (0-1), realized_range_ratio_H (>= 0),
        traversals_H (whole numbers), NaN as above (hold_only: hold_H only, the same
        values).

    Raises:
        ValueError: a missing column, a missing series_key, or idx not consecutive within a
            series (a duplicate or a gap).
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    horizons = tuple(GridOutcomeConfig(horizons=tuple(horizons)).horizons)  # validated
    _require(bars, OUTCOME_INPUT_COLUMNS, "forward_outcomes")
    out = bars.copy()
    n = len(bars)
    wanted = 1 if hold_only else len(METRICS)
    if n == 0:
        for h in horizons:
            for col in outcome_columns(h)[:wanted]:
                out[col] = np.zeros(0)
        return out
    order, codes = series_order if series_order is not None else _series_order(bars)
    sorted_codes = codes[order]
    idx = bars["idx"].to_numpy()[order]
    same = sorted_codes[1:] == sorted_codes[:-1]
    if np.any(same & (np.diff(idx) != 1)):
        raise ValueError("forward_outcomes: idx must be consecutive (step 1) within every series_key")

    def col(name: str) -> np.ndarray:
        return np.asarray(bars[name].to_numpy(dtype=float, na_value=np.nan), dtype=float)[order]

    close, high, low = col("close"), col("high"), col("low")
    atr, support, resistance = col("atr_14"), col("support"), col("resistance")
    values = _forward_arrays(close, high, low, atr, support, resistance, horizons, cfg, hold_only)

    ends = _segment_ends(sorted_codes)
    pos = np.arange(n)
    bad = ~(np.isfinite(close) & np.isfinite(high) & np.isfinite(low))
    bad_cum = np.r_[0, np.cumsum(bad)]
    base_ok = np.isfinite(support) & np.isfinite(resistance) & np.isfinite(atr) & (resistance > support)
    for h in horizons:
        inside = pos + h <= ends
        last = np.minimum(pos + h, n - 1)
        no_nan = (bad_cum[last + 1] - bad_cum[pos + 1]) == 0
        ok = base_ok & inside & no_nan
        for name, arr in zip(outcome_columns(h)[:wanted], values[h]):
            result = np.full(n, np.nan)
            result[order] = np.where(ok, arr, np.nan)
            out[name] = result
    return out


def _forward_arrays(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    atr: np.ndarray,
    support: np.ndarray,
    resistance: np.ndarray,
    horizons: tuple[int, ...],
    cfg: GridOutcomeConfig,
    hold_only: bool = False,
) -> dict[int, np.ndarray]:
    """The four outcomes per horizon, shape (4, n) (hold_only: hold alone, shape (1, n)),
    before any validity masking.

    Arrays are one or more series concatenated in bar order; values of rows whose window
    runs past their series are garbage (the caller blanks them).
    """
    n = len(close)
    hmax = max(horizons)
    pad = np.full(hmax, np.nan)
    cp, hp, lp = (np.concatenate([x, pad]) for x in (close, high, low))
    out = {h: np.empty((1 if hold_only else 4, n)) for h in horizons}
    b_atr, z = cfg.hold_atr_buffer, cfg.traversal_zone_frac
    count_type = np.int16 if hmax < np.iinfo(np.int16).max else np.int32

    def chunk(a: int) -> None:  # rows a..a + _CHUNK_ROWS: each chunk writes its own columns of `out`
        with np.errstate(invalid="ignore", divide="ignore"):
            b = min(n, a + _CHUNK_ROWS)
            m = b - a
            s, r = support[a:b], resistance[a:b]
            # the window maxima / minima of every horizon (exact, whatever the order: the
            # same numbers as the running ones over the lags)
            max_c, min_c = (
                _window_extrema(cp, a, m, horizons, np.maximum),
                _window_extrema(cp, a, m, horizons, np.minimum),
            )
            if hold_only:
                for h in horizons:
                    out[h][0, a:b] = (max_c[h] <= r + b_atr * atr[a:b]) & (min_c[h] >= s - b_atr * atr[a:b])
                return
            max_h, min_l = (
                _window_extrema(hp, a, m, horizons, np.maximum),
                _window_extrema(lp, a, m, horizons, np.minimum),
            )
            width = r - s
            lower_edge, upper_edge = s + z * width, r - z * width
            n_inside = np.zeros(m, dtype=count_type)
            n_trav = np.zeros(m, dtype=count_type)
            state = np.zeros(m, dtype=np.int8)  # last non-middle zone: -1 lower, +1 upper, 0 none yet
            zone, prod = np.empty(m, dtype=np.int8), np.empty(m, dtype=np.int8)
            t1, t2 = np.empty(m, dtype=bool), np.empty(m, dtype=bool)
            up, lo = np.empty(m, dtype=bool), np.empty(m, dtype=bool)
            for lag in range(1, hmax + 1):
                c = cp[a + lag : b + lag]
                # containment: S <= c <= R
                np.greater_equal(c, s, out=t1)
                np.less_equal(c, r, out=t2)
                np.logical_and(t1, t2, out=t1)
                n_inside += t1
                # traversals: a non-middle close in the zone opposite to the last one
                np.greater_equal(c, upper_edge, out=up)
                np.less_equal(c, lower_edge, out=lo)
                np.subtract(up.view(np.int8), lo.view(np.int8), out=zone)
                np.multiply(zone, state, out=prod)
                np.less(prod, 0, out=t1)
                n_trav += t1
                np.logical_or(up, lo, out=t2)
                np.copyto(state, zone, where=t2)
                if lag in out:
                    res = out[lag]
                    res[0, a:b] = (max_c[lag] <= r + b_atr * atr[a:b]) & (min_c[lag] >= s - b_atr * atr[a:b])
                    res[1, a:b] = n_inside / lag
                    res[2, a:b] = (max_h[lag] - min_l[lag]) / width
                    res[3, a:b] = n_trav

    # the chunks share nothing (numpy releases the GIL on these whole-chunk operations)
    ordered_map(chunk, range(0, n, _CHUNK_ROWS))
    return out


def _window_extrema(padded: np.ndarray, a: int, m: int, horizons: Iterable[int], fn: np.ufunc) -> dict[int, np.ndarray]:
    """Per horizon h: ``fn`` (np.maximum / np.minimum) over padded[t + 1 .. t + h] for the m
    rows t = a..a + m - 1, from a sparse table (level j: the extremum of 2^j consecutive
    values; a window is the extremum of two overlapping power-of-two spans). A maximum or
    minimum is exact, so this gives the bits of the running extremum over the lags 1..h
    (NaN inside a window: NaN either way). ``padded`` holds at least a + m + max(h) - 1
    values."""
    hmax = max(horizons)
    levels = [padded[a + 1 : a + m + hmax]]
    while 2 ** len(levels) <= hmax:
        prev, step = levels[-1], 2 ** (len(levels) - 1)
        levels.append(fn(prev[:-step], prev[step:]))
    out = {}
    for h in horizons:
        j = h.bit_length() - 1
        level, span = levels[j], 2**j
        out[h] = fn(level[:m], level[h - span : h - span + m])
    return out


# --------------------------------------------------------------------------- block bootstrap
def _block_layout(groups: pd.Series, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut every group into consecutive blocks of ``block`` rows (in the given row order).

    Returns (order, block_starts, slot_first, slot_count): ``order`` sorts the rows by group
    (stable); ``block_starts`` are the first sorted rows of the K blocks (for reduceat);
    for each block slot k, its group's blocks are ``slot_first[k] .. slot_first[k] +
    slot_count[k] - 1``.
    """
    codes, _ = pd.factorize(groups, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError("block bootstrap: groups must not be missing")
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    n = len(sc)
    group_first = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    pos_in_group = np.arange(n) - np.repeat(group_first, np.diff(np.r_[group_first, n]))
    block_starts = np.flatnonzero(pos_in_group % block == 0)
    block_codes = sc[block_starts]
    first_block = np.flatnonzero(np.r_[True, block_codes[1:] != block_codes[:-1]])
    n_blocks = np.diff(np.r_[first_block, len(block_starts)])
    slot_first = np.repeat(first_block, n_blocks)
    slot_count = np.repeat(n_blocks, n_blocks)
    return order, block_starts, slot_first, slot_count


def block_draws(
    groups: pd.Series, block: int, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The block layout of ``groups`` (:func:`_block_layout`) and the drawn block indices of
    the n_boot resamples: (order, block_starts, chunks), each chunk an int array (c, K) of
    block indices, c resamples of K block slots (default_rng(seed); the draws do not depend on
    the chunking). Shared by every statistic resampled with the same (groups, block, n_boot,
    seed), so those are paired and the draws are made once."""
    order, starts, slot_first, slot_count = _block_layout(groups, block)
    k = len(starts)
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_ELEMENTS // k)
    chunks = []
    for a in range(0, n_boot, chunk):
        c = min(chunk, n_boot - a)
        # block slot s of a resample: a uniform draw among the blocks of the slot's group
        chunks.append(slot_first + rng.integers(0, slot_count, size=(c, k)))
    return order, starts, chunks


def bootstrap_means(
    values: np.ndarray,
    groups: np.ndarray,
    block: int,
    masks: np.ndarray,
    n_boot: int,
    seed: int,
    draws: tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subset means and their block-bootstrap replicates, for several value columns and subsets.

    values: (n, p) float; a NaN value is out of every subset. masks: (n, q) bool. Rows in
    time order within each group. Statistic (p, q): mean of values[:, i] over the rows of
    subset j (a ratio estimator: sum over the resampled blocks / count over them).

    Returns (point, counts, boot): point (p, q) means, counts (p, q) rows, boot
    (n_boot, p, q) resampled means (NaN where a resample holds no row of the subset).
    The resampled block indices depend only on (groups, block, n_boot, seed), not on the
    values or subsets: statistics of one call (or of calls with the same groups) are paired.
    draws: :func:`block_draws` of the same (groups, block, n_boot, seed), made once for
    several calls (None: made here); the result is the same either way.
    """
    values = np.asarray(values, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    n, p = values.shape
    q = masks.shape[1]
    if block < 1:
        raise ValueError(f"block bootstrap: block = {block!r} must be >= 1")
    if n_boot < 1:
        raise ValueError(f"block bootstrap: n_boot = {n_boot!r} must be >= 1")
    if n == 0:
        nan = np.full((p, q), np.nan)
        return nan, np.zeros((p, q), dtype=np.int64), np.full((n_boot, p, q), np.nan)
    if not isinstance(groups, pd.Series):  # a Series is used as it is (its labels, not its index)
        groups = pd.Series(groups if isinstance(groups, np.ndarray) else list(groups))  # tuples stay labels
    if len(groups) != n or len(masks) != n:
        raise ValueError(
            f"block bootstrap: values ({n} rows), groups ({len(groups)}) and masks ({len(masks)}) "
            "must have the same length"
        )
    order, starts, chunks = draws if draws is not None else block_draws(groups, block, n_boot, seed)
    values, masks = values[order], masks[order]
    finite = np.isfinite(values)
    # centre each column on one of its values: constant data then resamples to exactly that
    # value, and the sums stay well conditioned
    ref = np.array([values[finite[:, i], i][0] if finite[:, i].any() else 0.0 for i in range(p)])
    k = len(starts)
    m = p * q
    sums = np.empty((2 * m, k))  # per block: sums of (v - ref), then row counts, per (i, j)
    for i in range(p):
        centred = np.where(finite[:, i], values[:, i] - ref[i], 0.0)
        for j in range(q):
            use = finite[:, i] & masks[:, j]
            sums[i * q + j] = np.add.reduceat(np.where(use, centred, 0.0), starts)
            sums[m + i * q + j] = np.add.reduceat(use.astype(float), starts)
    total = sums.sum(axis=1)
    counts = total[m:].reshape(p, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = ref[:, None] + total[:m].reshape(p, q) / counts
    # identical statistic columns (e.g. two equal subsets) are resampled once: equal columns
    # then give bit-identical replicates (a paired difference of equal subsets is exactly 0)
    first_of: dict[bytes, int] = {}
    col_of = np.array([first_of.setdefault(sums[col].tobytes(), len(first_of)) for col in range(2 * m)])
    unique_cols = np.empty((len(first_of), k))
    unique_cols[col_of] = sums
    unique_cols = unique_cols.T.copy() if len(first_of) > _TAKE_MAX_COLUMNS else unique_cols.T
    boot = np.empty((n_boot, m))
    a = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        for drawn in chunks:
            c = len(drawn)
            if unique_cols.shape[1] <= _TAKE_MAX_COLUMNS:  # few statistics: gather the drawn blocks
                picked = np.column_stack(
                    [np.take(unique_cols[:, u], drawn).sum(axis=1) for u in range(unique_cols.shape[1])]
                )
            else:  # many: times each block is drawn (c, k) @ block sums (k, u)
                flat = drawn + (np.arange(c) * k)[:, None]
                times = np.bincount(flat.ravel(), minlength=c * k).reshape(c, k).astype(float)
                picked = times @ unique_cols
            picked = picked[:, col_of]  # (c, 2m): resampled sums and counts
            boot[a : a + c] = picked[:, :m] / picked[:, m:]
            a += c
    boot = ref[None, :, None] + boot.reshape(n_boot, p, q)
    return point, counts.astype(np.int64), boot


def series_bootstrap_ci(
    values: np.ndarray,
    groups: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    statistic: str = "mean",
) -> tuple[float, float, float]:
    """A statistic of events with a series (cluster) bootstrap interval.

    For event-level metrics (detections, stops, restarts: a few events per series) the
    within-series block bootstrap has no variance to draw from (a series with one event
    always resamples that event), so its interval is too narrow. Here a resample draws as
    many whole series as there are, uniformly with replacement, and pools their events
    (the cluster bootstrap, Davison & Hinkley 1997 "Bootstrap Methods and their
    Application", section 3.8: resampling the independent units). Percentile interval.

    Args:
        values: shape (n,), the events' values; NaNs are dropped first.
        groups: shape (n,), the series of each event (not missing).
        n_boot, seed: resamples and the seed of numpy's default_rng. level: 0 < level < 1.
        statistic: "mean" or "median".

    Returns:
        (estimate, lo, hi); NaNs for no finite value; one series gives lo == hi == estimate
        only when its events are constant.

    Raises:
        ValueError: a bad level / n_boot / statistic, lengths that differ.
    """
    _check_level(level)
    if n_boot < 1 or statistic not in ("mean", "median"):
        raise ValueError(
            f"series bootstrap: n_boot = {n_boot!r} must be >= 1 and statistic = {statistic!r} 'mean' or 'median'"
        )
    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups if isinstance(groups, np.ndarray) else list(groups), dtype=object)
    if len(values) != len(groups):
        raise ValueError(f"series bootstrap: {len(values)} values but {len(groups)} groups")
    keep = np.isfinite(values)
    values, groups = values[keep], groups[keep]
    if not len(values):
        return float("nan"), float("nan"), float("nan")
    codes, _ = pd.factorize(pd.Series(groups))
    order = np.argsort(codes, kind="stable")
    values, codes = values[order], codes[order]
    n_groups = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_groups, size=(n_boot, n_groups))
    if statistic == "mean":
        sums = np.bincount(codes, weights=values, minlength=n_groups)
        counts = np.bincount(codes, minlength=n_groups).astype(float)
        boot = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
        estimate = float(values.mean())
    else:
        starts = np.searchsorted(codes, np.arange(n_groups), side="left")
        ends = np.searchsorted(codes, np.arange(n_groups), side="right")
        boot = np.array([np.median(np.concatenate([values[starts[g] : ends[g]] for g in row])) for row in drawn])
        estimate = float(np.median(values))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return estimate, float(lo), float(hi)


def block_bootstrap_rows(groups: np.ndarray, block: int, n_boot: int = 1000, seed: int = 0) -> Iterator[np.ndarray]:
    """The row indices of each block-bootstrap resample, for statistics other than a mean.

    The same scheme and the same random draws as :func:`block_bootstrap_ci` (rows of each
    group cut into consecutive blocks of ``block`` rows in the given order; per resample,
    every group draws as many of its blocks as it has, uniformly with replacement; numpy
    default_rng(seed)), so a statistic computed on these rows (e.g. a CVaR) is resampled
    exactly as the means of the same groups are.

    Args:
        groups: shape (n,), hashable labels (one per series), not missing. block: >= 1.
        n_boot: number of resamples (>= 1). seed: the generator's seed.

    Yields:
        n_boot int arrays of row indices into the input (repeats allowed; to be read, not
        written: they may be views of one array); nothing for n = 0.

    Raises:
        ValueError: block or n_boot < 1, missing groups.
    """
    if block < 1 or n_boot < 1:
        raise ValueError(f"block bootstrap: block = {block!r} and n_boot = {n_boot!r} must be >= 1")
    groups = pd.Series(groups if isinstance(groups, np.ndarray) else list(groups))
    n = len(groups)
    if n == 0:
        return
    order, starts, slot_first, slot_count = _block_layout(groups, block)
    lengths = np.diff(np.r_[starts, n])
    uniform, within = bool((lengths == block).all()), np.arange(block)
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_ELEMENTS // len(starts))
    for a in range(0, n_boot, chunk):
        c = min(chunk, n_boot - a)
        drawn = slot_first + rng.integers(0, slot_count, size=(c, len(starts)))
        if uniform:  # every block has `block` rows (e.g. block 1): the same rows, the chunk's at once
            yield from order[(starts[drawn][:, :, None] + within).reshape(c, -1)]
            continue
        for d in drawn:
            lens = lengths[d]
            offsets = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
            yield order[np.repeat(starts[d], lens) + offsets]


def percentile_interval(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, resamples with a NaN statistic dropped.

    The numbers of ``np.nanquantile(boot, [alpha, 1 - alpha], axis=0)``: the statistics
    without a NaN resample (the usual case) go through one ``np.quantile`` call over all of
    them (nanquantile runs a Python-level quantile per column: ~1 ms each), the others through
    nanquantile; the same order statistics and interpolation, so the same bits (tested)."""
    alpha = (1 - level) / 2
    probs = [alpha, 1 - alpha]
    boot = np.asarray(boot)
    with warnings.catch_warnings():  # all-NaN slices (an empty subset): NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        if boot.ndim == 1 and boot.dtype == np.float64 and boot.size and not np.isnan(boot).any():
            lo, hi = np.quantile(boot, probs)  # nanquantile's own path when nothing is dropped
            return lo, hi
        if boot.ndim < 2 or boot.dtype != np.float64 or not boot.size:
            lo, hi = np.nanquantile(boot, probs, axis=0)
            return lo, hi
        columns = np.ascontiguousarray(boot.reshape(boot.shape[0], -1).T)  # one row per statistic
        has_nan = np.isnan(columns).any(axis=1)
        if not has_nan.any():
            out = np.quantile(columns, probs, axis=1)
        else:
            out = np.empty((2, len(columns)))
            if not has_nan.all():
                out[:, ~has_nan] = np.quantile(columns[~has_nan], probs, axis=1)
            out[:, has_nan] = np.nanquantile(columns[has_nan], probs, axis=1)
    lo, hi = out.reshape((2, *boot.shape[1:]))
    return lo, hi


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"block bootstrap: level = {level!r} must be > 0 and < 1")


def block_bootstrap_ci(
    values: np.ndarray,
    groups: np.ndarray,
    block: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    mask: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Mean of ``values`` with a stratified block-bootstrap percentile interval.

    Scheme (block bootstrap for dependent data, Kunsch 1989 "The jackknife and the bootstrap
    for general stationary observations", Ann. Statist. 17; here with non-overlapping
    blocks, Carlstein 1986): the rows of each group (a series), in the given order, are cut
    into consecutive blocks of ``block`` rows (the last block of a group may be shorter);
    a resample draws, within every group, as many blocks as the group has, uniformly with
    replacement ("resampled by series": every series keeps its number of blocks), and
    computes the mean over the drawn rows (sum of the drawn blocks' sums / sum of their row
    counts). The interval is the (1-level)/2 and (1+level)/2 quantiles of the n_boot
    resampled means (percentile method, linear interpolation).

    Args:
        values: shape (n,), any units; NaN rows count in the blocks but not in the mean.
        groups: shape (n,), any hashable labels (one per series); a group's rows need not be
            adjacent, their order in ``values`` is taken as time order.
        block: rows per block (>= 1; the outcome report uses H for horizon-H outcomes,
            whose windows overlap for H bars).
        n_boot, seed: resamples and the seed of numpy's default_rng (deterministic output).
        level: interval level, 0 < level < 1.
        mask: optional bool (n,): the mean of this subset only; blocks are still cut over
            all rows of each group (a subset's rows keep their time structure).

    Returns:
        (mean, lo, hi): the sample mean of the (subset's finite) values and the interval;
        NaNs if there is no such value. Constant data give lo == hi == mean exactly.

    Cost ~ n_boot x (number of blocks) random draws: 1M rows, block 24, 1000 resamples
    ~0.6 s; block 1 (1e9 draws) ~15 s.
    """
    _check_level(level)
    values = np.asarray(values, dtype=float).reshape(-1, 1)
    use = np.ones((len(values), 1), dtype=bool) if mask is None else np.asarray(mask, dtype=bool).reshape(-1, 1)
    point, _, boot = bootstrap_means(values, groups, block, use, n_boot, seed)
    lo, hi = percentile_interval(boot[:, 0, 0], level)
    return float(point[0, 0]), float(lo), float(hi)


def block_bootstrap_cis(
    values: Sequence[np.ndarray], groups: np.ndarray, block: int, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> list[tuple[float, float, float]]:
    """:func:`block_bootstrap_ci` of several value arrays over the same ``groups`` (e.g. the
    same placements under several policies): the same numbers as one call per array, with
    the blocks drawn once (the resamples are the same for all: paired).

    Args:
        values: arrays of shape (n,) each. groups, block, n_boot, seed, level: as
            :func:`block_bootstrap_ci`.

    Returns:
        one (mean, lo, hi) per array, in order.
    """
    _check_level(level)
    arrays = [np.asarray(v, dtype=float).reshape(-1, 1) for v in values]
    n = len(np.asarray(groups)) if isinstance(groups, np.ndarray) else len(list(groups))
    if not arrays:
        return []
    if n == 0 or block < 1 or n_boot < 1 or any(len(v) != n for v in arrays):
        return [block_bootstrap_ci(v[:, 0], groups, block, n_boot, seed, level) for v in arrays]
    series = pd.Series(groups if isinstance(groups, np.ndarray) else list(groups))
    draws = block_draws(series, block, n_boot, seed)
    use = np.ones((n, 1), dtype=bool)
    out = []
    for v in arrays:
        point, _, boot = bootstrap_means(v, series, block, use, n_boot, seed, draws=draws)
        lo, hi = percentile_interval(boot[:, 0, 0], level)
        out.append((float(point[0, 0]), float(lo), float(hi)))
    return out


def block_bootstrap_diff_ci(
    values: np.ndarray,
    groups: np.ndarray,
    mask_a: np.ndarray,
    mask_b: np.ndarray,
    block: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Difference mean(values[mask_a]) - mean(values[mask_b]) with a paired block-bootstrap interval.

    Both means are computed on the SAME resampled blocks (blocks cut over all rows, as
    :func:`block_bootstrap_ci`), so the interval accounts for the overlap and dependence
    of the two subsets (e.g. RANGE_OK bars minus ALL bars). Percentile interval of the
    n_boot resampled differences (resamples where a subset is empty are dropped).

    Args:
        values, groups, block, n_boot, seed, level: as :func:`block_bootstrap_ci`.
        mask_a, mask_b: bool (n,), the two subsets (they may overlap).

    Returns:
        (diff, lo, hi); identical subsets give (0.0, 0.0, 0.0).
    """
    _check_level(level)
    values = np.asarray(values, dtype=float).reshape(-1, 1)
    masks = np.column_stack([np.asarray(mask_a, dtype=bool), np.asarray(mask_b, dtype=bool)])
    point, _, boot = bootstrap_means(values, groups, block, masks, n_boot, seed)
    lo, hi = percentile_interval(boot[:, 0, 0] - boot[:, 0, 1], level)
    return float(point[0, 0] - point[0, 1]), float(lo), float(hi)


# --------------------------------------------------------------------------- AUC / reliability
def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` (finite floats), ties sharing the mean of their ranks
    (scipy.stats.rankdata's "average" method, the same numbers: a tie group starting at
    sorted position f with c members gets f + (c + 1) / 2, exact in float64)."""
    n = len(values)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[first, n])
    ranks = np.empty(n)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return ranks


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of ``scores`` for the binary ``labels`` (ties count one half).

    AUC = U / (n1 n0), U = the Mann-Whitney statistic of the positives = (sum of the
    positives' mid-ranks among all scores) - n1 (n1 + 1) / 2 (Mann & Whitney 1947; Hanley &
    McNeil 1982): the probability that a random positive scores above a random negative.

    Args:
        scores: shape (n,), any real scale. labels: shape (n,), 1/0 or True/False.
            Pairs with a NaN score or label are dropped.

    Returns:
        AUC in [0, 1]; NaN when there are no positives or no negatives.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=float)
    keep = np.isfinite(scores) & np.isfinite(labels)
    scores, labels = scores[keep], labels[keep] != 0
    n1 = int(labels.sum())
    n0 = len(labels) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = _average_ranks(scores)  # average ranks for ties
    u = ranks[labels].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))


def reliability_table(confidence: np.ndarray, outcome: np.ndarray, bins: int = 5) -> pd.DataFrame:
    """Binned confidence vs outcome rate (a reliability diagram as a table).

    Bins: equal width on [0, 1], edges i / bins (bins = 5: 0, 0.2, ..., 1); bin i holds
    i <= bins x confidence < i + 1 (bin_low <= confidence < bin_high), the last bin also
    confidence = 1. Pairs with a NaN are dropped.

    Args:
        confidence: shape (n,), 0-1. outcome: shape (n,), 1/0 (or a rate).
        bins: number of bins (>= 1).

    Returns:
        One row per bin: bin_low, bin_high, n (rows), mean_confidence, outcome_rate (the
        mean outcome); the means NaN for an empty bin.

    Raises:
        ValueError: bins < 1, or a confidence outside [0, 1].
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"reliability_table: bins = {bins!r} must be a whole number >= 1")
    confidence = np.asarray(confidence, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    keep = np.isfinite(confidence) & np.isfinite(outcome)
    confidence, outcome = confidence[keep], outcome[keep]
    if ((confidence < 0) | (confidence > 1)).any():
        raise ValueError("reliability_table: confidence must be within [0, 1]")
    edges = np.arange(bins + 1) / bins
    which = np.minimum(np.floor(confidence * bins).astype(np.int64), bins - 1)  # bin i: i/bins <= c < (i+1)/bins
    n = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=bins) / n
        rate = np.bincount(which, weights=outcome, minlength=bins) / n
    return pd.DataFrame(
        {
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "n": n.astype(np.int64),
            "mean_confidence": mean_conf,
            "outcome_rate": rate,
        }
    )


# --------------------------------------------------------------------------- walk-forward split
def evaluation_mask(
    bars: pd.DataFrame, train_frac: float = 0.6, *, series_order: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """The out-of-sample part of every series: its last bars by idx.

    A series (series_key) of n bars is split by idx order into the first
    n_train = floor(train_frac x n) bars (training part, where thresholds may be tuned) and
    the remaining n - n_train = ceil((1 - train_frac) x n) bars (evaluation part): with
    0.6, 10 bars -> 4 evaluated, 7 -> 3, 1 -> 1. (train_frac x n is rounded to 9 decimals
    first, so that 0.6 x 5 = 3.0000000000000004 counts as 3.)

    Args:
        bars: columns series_key, idx (any row order).
        train_frac: 0 <= train_frac < 1.
        series_order: ``_series_order(bars)`` when the caller has it already (the same
            result; None: computed here).

    Returns:
        bool array (len(bars),) in the row order of ``bars``: True in the evaluation part.
    """
    if not 0 <= train_frac < 1:
        raise ValueError(f"evaluation_mask: train_frac = {train_frac!r} must be >= 0 and < 1")
    _require(bars, ("series_key", "idx"), "evaluation_mask")
    n = len(bars)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    order, codes = series_order if series_order is not None else _series_order(bars)
    out[order] = _evaluated_runs(codes[order], train_frac)
    return out


def _evaluated_runs(sorted_codes: np.ndarray, train_frac: float) -> np.ndarray:
    """:func:`evaluation_mask` of rows whose series (codes) come in runs of adjacent rows,
    each run in idx order (non-empty input): True from the n_train-th row of each run on."""
    n = len(sorted_codes)
    ends = _segment_ends(sorted_codes)
    first = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    size = ends - starts + 1
    n_train = np.floor(np.round(train_frac * size, 9)).astype(np.int64)
    return (np.arange(n) - starts) >= n_train


# --------------------------------------------------------------------------- report
def evaluation_split(
    bars: pd.DataFrame, train_frac: float, columns: Iterable[str] = (), what: str = "evaluation_split"
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``bars`` in time order per series, with the :func:`evaluation_mask` of
    that order (for inputs keyed by time rather than by idx: the lifecycle reports).

    Args:
        bars: columns series_key, bar_start and ``columns`` (any order).
        train_frac: as :func:`evaluation_mask`. what: the caller's name for errors.

    Returns:
        (the rows sorted by series_key, bar_start with a RangeIndex; bool array, True in the
        evaluation part of each series).

    Raises:
        ValueError: missing columns ("<what>: missing input columns [...]").
    """
    _require(bars, ("series_key", "bar_start", *columns), what)
    stamps, keys = bars["bar_start"].to_numpy(), bars["series_key"]
    plain_keys = pd.api.types.is_string_dtype(keys) or pd.api.types.is_integer_dtype(keys)
    if not plain_keys or keys.isna().any() or stamps.dtype.kind != "M" or np.isnat(stamps).any():
        # the general path (missing keys raise in evaluation_mask, as they always did)
        if is_sorted_by(bars, ["series_key", "bar_start"]):
            ordered = bars.reset_index(drop=True)
        else:
            ordered = bars.sort_values(["series_key", "bar_start"], kind="stable").reset_index(drop=True)
        idx = ordered.groupby("series_key", sort=False).cumcount()
        return ordered, evaluation_mask(pd.DataFrame({"series_key": ordered["series_key"], "idx": idx}), train_frac)
    # the same rows, order and mask as the general path, through the keys' sorted codes: the
    # order check and, if needed, a stable lexsort of (codes, times); the mask without a
    # second sort (1M rows read with ORDER BY, text keys: ~0.08 s against ~0.5 s)
    codes, _ = pd.factorize(keys, sort=True)
    times = stamps.view(np.int64)
    same = codes[1:] == codes[:-1]
    if ((codes[1:] > codes[:-1]) | (same & (times[1:] >= times[:-1]))).all():  # = is_sorted_by
        ordered = bars.reset_index(drop=True)
    else:
        order = np.lexsort((times, codes))
        ordered, codes = bars.take(order).reset_index(drop=True), codes[order]
    # each series' rows are adjacent and in time order now: the mask of evaluation_mask with
    # idx = the position within the series (= the cumcount above), run by run
    if not 0 <= train_frac < 1:
        raise ValueError(f"evaluation_mask: train_frac = {train_frac!r} must be >= 0 and < 1")
    return ordered, _evaluated_runs(codes, train_frac) if len(codes) else np.zeros(0, dtype=bool)


def _bool_column(bars: pd.DataFrame, name: str) -> np.ndarray:
    """A boolean column as bool (missing values: False)."""
    return bars[name].eq(True).to_numpy(dtype=bool, na_value=False)


def _outcome_rows(
    values: np.ndarray,
    series: np.ndarray,
    h: int,
    masks: np.ndarray,
    groups: list,
    bar_interval: object,
    cfg: GridOutcomeConfig,
) -> list[dict[str, object]]:
    """The "outcomes" rows of one (bar_interval, horizon): block-bootstrap means and the
    paired differences to ALL (see :func:`outcome_report`)."""
    outcome_rows: list[dict[str, object]] = []
    point, counts, boot = bootstrap_means(values, series, h, masks, cfg.n_boot, cfg.seed)
    lo, hi = percentile_interval(boot, cfg.ci_level)
    diff_boot = boot - boot[:, :, :1]
    dlo, dhi = percentile_interval(diff_boot, cfg.ci_level)
    for j, (kind, name, _) in enumerate(groups):
        for i, metric in enumerate(METRICS):
            is_all = j == 0
            outcome_rows.append(
                {
                    "bar_interval": bar_interval,
                    "horizon": h,
                    "group_kind": kind,
                    "group": name,
                    "metric": metric,
                    "n": int(counts[i, j]),
                    "mean": point[i, j],
                    "ci_low": lo[i, j],
                    "ci_high": hi[i, j],
                    "diff_vs_all": 0.0 if is_all else point[i, j] - point[i, 0],
                    "diff_ci_low": 0.0 if is_all else dlo[i, j],
                    "diff_ci_high": 0.0 if is_all else dhi[i, j],
                }
            )
    return outcome_rows


def outcome_report(
    bars: pd.DataFrame,
    cfg: GridOutcomeConfig | None = None,
    with_outcomes: bool = True,
    null_bars: pd.DataFrame | None = None,
    tables: Sequence[str] = ("outcomes", "auc", "reliability", "shares"),
) -> dict[str, pd.DataFrame]:
    """Do the verdicts predict whether the grid range holds? Four tables.

    Universe of "outcomes", "auc" and "reliability": the evaluation part
    (:func:`evaluation_mask` with cfg.train_frac, per series_key) of the bars that have a
    verdict, split by bar_interval; the outcomes are :func:`forward_outcomes` of all bars
    (a bar late in the training part may look into the evaluation part; its own row is not
    evaluated).

    Args:
        bars: one row per bar with the columns series_key, idx, close, high, low, atr_14,
            support, resistance (see :func:`forward_outcomes`), bar_interval, exchange,
            symbol, verdict (RANGE_OK / RANGE_WEAK / TREND / TRANSITION or missing),
            confidence (0-1), range_ok_support (0-100, the RANGE_OK support min(RQS,
            MeanRevScore)) and the boolean cfg.baselines columns (missing = False).
        cfg: GridOutcomeConfig (default: the defaults).
        with_outcomes: False skips the block bootstrap of "outcomes" (the costly part; the
            table is then empty) for a caller that needs only "auc", "reliability", "shares".
        null_bars: the same columns from the same pipeline run over shuffled-return
            surrogates of the series (the random-walk null; ``market-regimes null-build``),
            or None. When given, "outcomes" also has group_kind "shuffled_null" rows: group
            "SHUF" (every evaluated surrogate bar) and "SHUF_<verdict>" (the surrogate bars
            with that verdict), evaluated exactly as the real bars (same universe rule,
            horizons, bootstrap); their diff_vs_all = mean - mean(ALL of the real bars) with
            no interval (diff_ci_low / diff_ci_high NaN: independent samples, not paired).
        tables: the tables to compute and return (any of "outcomes", "auc",
            "reliability", "shares"; the default all four): a caller that reads only some
            skips the others' work (each table is the same whatever else is asked for).

    Returns:
        dict of DataFrames (those named in ``tables``, in this order):

        * "outcomes": one row per (bar_interval, horizon, group_kind, group, metric):
          group_kind "all" (group "ALL": every bar of the universe), "verdict" (each of the
          four verdicts), "baseline" (each cfg.baselines column, group = its name without
          ``baseline_``; the universe's bars where it is true); metric hold / containment /
          realized_range_ratio / traversals (the horizon's outcome column). n = rows with a
          finite outcome, mean, [ci_low, ci_high] = :func:`block_bootstrap_ci` with block =
          H bars, groups = series_key (blocks cut over the universe's rows of each series,
          in idx order); diff_vs_all = mean - mean(ALL) with the paired interval
          [diff_ci_low, diff_ci_high] (:func:`block_bootstrap_diff_ci`; 0 for ALL). All
          intervals of one (bar_interval, horizon) use the same resampled blocks.
        * "auc": per (bar_interval, horizon): n (rows with a finite range_ok_support and
          hold_H), n_hold (rows with hold_H = 1), auc = :func:`auc` of range_ok_support for
          hold_H, auc_shuffled = the same with hold_H randomly permuted (default_rng(seed)):
          a null reference around 0.5.
        * "reliability": per (bar_interval, horizon, verdict): :func:`reliability_table` of
          confidence vs hold_H (cfg.reliability_bins bins). The confidence is that of the
          verdict given; a higher confidence should mean a higher hold rate for RANGE_OK, a
          lower one for TREND / TRANSITION.
        * "shares": per series (exchange, symbol, bar_interval): n_bars (bars with a
          verdict), share_range_ok, share_range_weak, share_trend, share_transition (share
          of those bars), verdict_changes_per_100 = 100 x (changes of verdict between
          consecutive bars with a verdict within a segment) / n_bars. Computed on ALL bars
          with a verdict (training and evaluation parts), not only the evaluation part.

    Raises:
        ValueError: a missing column, a verdict value not among the four verdicts, or an
            unknown table name.
    """
    cfg = cfg if cfg is not None else GridOutcomeConfig()
    tables = tuple(tables)
    unknown_tables = sorted(set(tables) - {"outcomes", "auc", "reliability", "shares"})
    if unknown_tables:
        raise ValueError(f"outcome_report: unknown tables {unknown_tables}")
    with_outcomes = with_outcomes and "outcomes" in tables
    with_auc, with_reliability = "auc" in tables, "reliability" in tables
    _require(bars, (*REPORT_INPUT_COLUMNS, *cfg.baselines), "outcome_report")
    verdict = bars["verdict"].astype(object).where(bars["verdict"].notna(), None).to_numpy()
    has_verdict = bars["verdict"].notna().to_numpy(dtype=bool)  # = verdict is not None
    unknown = sorted({str(v) for v in pd.unique(verdict[has_verdict])} - set(VERDICTS))  # distinct first: 1M rows
    if unknown:
        raise ValueError(f"outcome_report: unknown verdicts {unknown} (expected {list(VERDICTS)})")

    # only the outcome inputs are copied; without the outcomes table only hold_H is read
    series_order = _series_order(bars)  # (time order within every series, series codes): made once
    outcomes = forward_outcomes(
        bars[list(OUTCOME_INPUT_COLUMNS)], cfg.horizons, cfg, hold_only=not with_outcomes, series_order=series_order
    )
    in_eval = evaluation_mask(bars, cfg.train_frac, series_order=series_order) & has_verdict
    order, _ = series_order
    interval = bars["bar_interval"].to_numpy()
    confidence = bars["confidence"].to_numpy(dtype=float, na_value=np.nan)
    support_score = bars["range_ok_support"].to_numpy(dtype=float, na_value=np.nan)
    series = bars["series_key"].to_numpy()
    baseline_flags = {name: _bool_column(bars, name) for name in cfg.baselines}

    outcome_rows: list[dict[str, object]] = []
    auc_rows: list[dict[str, object]] = []
    reliability_parts: list[pd.DataFrame] = []
    for bar_interval in sorted(pd.unique(interval[in_eval]), key=str):
        rows = order[in_eval[order] & (interval[order] == bar_interval)]  # universe, series/idx order
        groups = [("all", "ALL", np.ones(len(rows), dtype=bool))]
        groups += [("verdict", v, verdict[rows] == v) for v in VERDICTS]
        groups += [("baseline", name.removeprefix("baseline_"), flags[rows]) for name, flags in baseline_flags.items()]
        masks = np.column_stack([g[2] for g in groups])
        for h in cfg.horizons:
            values = outcomes[list(outcome_columns(h)[: 4 if with_outcomes else 1])].to_numpy(dtype=float)[rows]
            if with_outcomes:
                outcome_rows += _outcome_rows(values, series[rows], h, masks, groups, bar_interval, cfg)
            hold = values[:, 0]
            if with_auc:
                score = support_score[rows]
                keep = np.isfinite(hold) & np.isfinite(score)
                shuffled = np.random.default_rng(cfg.seed).permutation(hold[keep])
                auc_rows.append(
                    {
                        "bar_interval": bar_interval,
                        "horizon": h,
                        "n": int(keep.sum()),
                        "n_hold": int((hold[keep] == 1).sum()),
                        "auc": auc(score[keep], hold[keep]),
                        "auc_shuffled": auc(score[keep], shuffled),
                    }
                )
            for v in VERDICTS if with_reliability else ():
                sel = verdict[rows] == v
                table = reliability_table(confidence[rows][sel], hold[sel], cfg.reliability_bins)
                table.insert(0, "verdict", v)
                table.insert(0, "horizon", h)
                table.insert(0, "bar_interval", bar_interval)
                reliability_parts.append(table)

    outcome_table = pd.DataFrame(outcome_rows, columns=list(OUTCOME_COLUMNS))
    if null_bars is not None and with_outcomes:
        outcome_table = pd.concat([outcome_table, _null_rows(null_bars, outcome_table, cfg)], ignore_index=True)
    outcome_table["n"] = outcome_table["n"].astype(np.int64)
    auc_table = pd.DataFrame(auc_rows, columns=["bar_interval", "horizon", "n", "n_hold", "auc", "auc_shuffled"])
    reliability = (
        pd.concat(reliability_parts, ignore_index=True)
        if reliability_parts
        else pd.DataFrame(
            columns=[
                "bar_interval",
                "horizon",
                "verdict",
                "bin_low",
                "bin_high",
                "n",
                "mean_confidence",
                "outcome_rate",
            ]
        )
    )
    report = {"outcomes": outcome_table, "auc": auc_table, "reliability": reliability}
    if "shares" in tables:
        report["shares"] = verdict_shares(bars)
    return {name: report[name] for name in ("outcomes", "auc", "reliability", "shares") if name in tables}


def _null_rows(null_bars: pd.DataFrame, real: pd.DataFrame, cfg: GridOutcomeConfig) -> pd.DataFrame:
    """The "shuffled_null" rows of :func:`outcome_report` from the surrogate bars."""
    null = outcome_report(null_bars, replace(cfg, baselines=()), with_outcomes=True, tables=("outcomes",))["outcomes"]
    null = null[null["group_kind"].isin(["all", "verdict"])].copy()
    null["group"] = np.where(null["group_kind"] == "all", "SHUF", "SHUF_" + null["group"].astype(str))
    null["group_kind"] = "shuffled_null"
    keys = ["bar_interval", "horizon", "metric"]
    all_mean = real.loc[real["group_kind"] == "all", [*keys, "mean"]].rename(columns={"mean": "all_mean"})
    null = null.merge(all_mean, on=keys, how="left")
    null["diff_vs_all"] = null["mean"] - null["all_mean"]
    null["diff_ci_low"] = np.nan
    null["diff_ci_high"] = np.nan
    return null[list(OUTCOME_COLUMNS)]


def not_built_row(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The one "outcomes" row that says the SHUF null has not been built: group_kind
    shuffled_null, group NOT_BUILT, n 0, every number NaN (same columns and dtypes)."""
    row = {c: np.nan for c in OUTCOME_COLUMNS}
    row.update(
        {
            "bar_interval": None,
            "horizon": 0,
            "group_kind": "shuffled_null",
            "group": "NOT_BUILT",
            "metric": "hold",
            "n": 0,
        }
    )
    return pd.DataFrame([row], columns=list(OUTCOME_COLUMNS)).astype(
        {c: outcomes[c].dtype for c in ("horizon", "n") if c in outcomes.columns}
    )


def verdict_shares(bars: pd.DataFrame) -> pd.DataFrame:
    """Per series (exchange, symbol, bar_interval): verdict shares and verdict changes per 100 bars.

    Uses every bar with a verdict (training and evaluation parts). A change is a bar whose
    verdict differs from that of the previous bar with a verdict of the same series_key
    (segment), in idx order; verdict_changes_per_100 = 100 x changes / n_bars.

    Args:
        bars: columns exchange, symbol, bar_interval, series_key, idx, verdict.

    Returns:
        Columns exchange, symbol, bar_interval, n_bars, share_range_ok, share_range_weak,
        share_trend, share_transition, verdict_changes_per_100; sorted by the three keys.
    """
    keys = ["exchange", "symbol", "bar_interval"]
    _require(bars, (*keys, "series_key", "idx", "verdict"), "verdict_shares")
    share_cols = [f"share_{v.lower()}" for v in VERDICTS]
    columns = [*keys, "n_bars", *share_cols, "verdict_changes_per_100"]
    frame = bars.loc[bars["verdict"].notna(), [*keys, "series_key", "idx", "verdict"]]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    order, codes = _series_order(frame)
    frame = frame.iloc[order]
    codes = codes[order]
    v = frame["verdict"].astype(str).to_numpy()
    changed = np.r_[False, (codes[1:] == codes[:-1]) & (v[1:] != v[:-1])]
    work = frame[keys].copy()
    for name, verdict_name in zip(share_cols, VERDICTS):
        work[name] = (v == verdict_name).astype(float)
    work["changes"] = changed.astype(float)
    work["n_bars"] = 1
    agg = work.groupby(keys, sort=True, dropna=False).agg(
        n_bars=("n_bars", "sum"), changes=("changes", "sum"), **{c: (c, "mean") for c in share_cols}
    )
    agg = agg.reset_index()
    agg["verdict_changes_per_100"] = 100 * agg["changes"] / agg["n_bars"]
    agg["n_bars"] = agg["n_bars"].astype(np.int64)
    return agg[columns]


def calibration_rows(report: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The "auc" and "reliability" tables of :func:`outcome_report` as one long table.

    Returns:
        DataFrame with columns bar_interval, horizon, kind ("auc" or "reliability"),
        verdict (None on auc rows), bin_low, bin_high, n, n_hold, auc, auc_shuffled,
        mean_confidence, outcome_rate (the columns a kind does not have are NaN / None);
        auc rows first, then reliability rows, each in the report's order.
    """
    columns = [
        "bar_interval",
        "horizon",
        "kind",
        "verdict",
        "bin_low",
        "bin_high",
        "n",
        "n_hold",
        "auc",
        "auc_shuffled",
        "mean_confidence",
        "outcome_rate",
    ]
    auc_rows = report["auc"].assign(kind="auc", verdict=None)
    reliability = report["reliability"].assign(kind="reliability")
    out = pd.concat([auc_rows, reliability], ignore_index=True)
    for column in columns:
        if column not in out.columns:
            out[column] = np.nan
    out["verdict"] = out["verdict"].astype(object).where(out["verdict"].notna(), None)
    return out[columns]
