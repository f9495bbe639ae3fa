"""Pooled regime findings: what each detector's regimes say across all assets at once.

The per-series research report (``rpt_regime_forward_returns``) gives one table per
detector x series. This module pools every series a detector labels, per bar interval:
how much time the regimes take, what followed them (forward return, |return|, realized
vol) with confidence intervals that respect the cross-asset correlation, and whether the
regime contrasts a detector is built for (e.g. uptrend states vs the downtrend state)
separate the outcomes the expected way, pooled and series by series. It looks ahead BY
DESIGN (an evaluation, never an input).

Definitions (project definitions; docs/volatility-regimes.md "Pooled findings"):

* **forward outcomes** of a labelled bar t at horizon h (bars of the series' interval, the
  h-th next final bar of the same segment, as ``rpt_regime_forward_returns``):
  forward_return = ln(close_{t+h} / close_t), forward_abs_return = its absolute value,
  forward_rv = the sample standard deviation (n - 1) of the h one-bar log returns of bars
  t+1..t+h, per bar, not annualised; NaN when bar t+h is not in the segment.
* **samples**: ``all`` labelled bars, and ``out_of_sample``, the last 1 - train_frac of each
  series' labelled bars in time order (``grid_outcomes.evaluation_mask``), the part the
  project's research reports are judged on (nothing is tuned here; the split keeps the
  findings comparable with the other reports).
* **pooled mean**: the mean outcome over every labelled bar of every series in the regime
  (each asset-bar counts once, as in ``rpt_regime_forward_returns`` but over all series).
* **intervals**: block bootstrap over calendar time. The bars are summed per bar start
  (all series at one moment together), the bar starts are cut into blocks of block_bars
  consecutive bar starts and resampled with ``grid_outcomes.block_draws`` (n_boot
  resamples, numpy default_rng(seed); the draws of the grid reports' block bootstrap); a
  resampled mean is the resampled blocks' sum over their count (a ratio estimator), the
  interval the percentile one at ci_level. Resampling whole moments keeps the strong
  correlation between assets at the same time (resampling each series on its own would
  treat 50 co-moving coins as 50 independent samples); all statistics of one detector x
  interval x sample use the same draws (paired differences).
* **contrast** (per detector, configured): the high regime set minus the low regime set,
  separation = pooled mean(high) - pooled mean(low) with its paired interval;
  expected_sign per metric (+1 / -1; 0 = no hypothesis). Per series, the separation is
  mean(high bars) - mean(low bars) over its own bars when both sets have at least
  min_regime_bars finite outcomes; share_series_expected_sign = the share of those series
  whose separation has the expected sign.

Pure Python (numpy, pandas): no dbt, no SQL.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from market_regimes.parallel import ordered_map
from market_regimes.research.config_checks import check_report_config, parse_horizons
from market_regimes.research.grid_outcomes import block_draws, evaluation_mask, percentile_interval
from market_regimes.seed_config import convert_value, typed_values

METRICS = ("forward_return", "forward_abs_return", "forward_rv")
SAMPLES = ("all", "out_of_sample")
BAR_INPUT_COLUMNS = ("detector", "bar_interval", "series_id", "part", "seq", "bar_start", "close", "regime")
REPORT_COLUMNS = (
    "detector",
    "bar_interval",
    "sample",
    "row_kind",
    "regime",
    "metric",
    "horizon_bars",
    "n_series",
    "n_bars",
    "share_of_bars",
    "n_bar_starts",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "high_regimes",
    "low_regimes",
    "expected_sign",
    "is_separated_as_expected",
    "n_series_compared",
    "n_series_expected_sign",
    "share_series_expected_sign",
)
EXPECTED_KEYS = {
    "forward_return": "expected_return",
    "forward_abs_return": "expected_abs_return",
    "forward_rv": "expected_rv",
}


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class RegimeFindingsConfig:
    """Typed constants of the findings report (dbt var regime_findings_config; horizons from
    var regime_report_horizon_bars).

    horizons: forward horizons in bars (5, 10, 20); distinct whole numbers >= 2 (the forward
        realized vol is a sample standard deviation of h returns).
    train_frac: the first train_frac of each series' labelled bars are left out of the
        out_of_sample rows (0.6); 0 < train_frac < 1.
    n_boot: bootstrap resamples (1000); >= 1. block_bars: bar starts per bootstrap block
        (20); >= 1. seed: numpy default_rng seed (0); >= 0. ci_level: interval level (0.95).
    min_regime_bars: a series is compared on a contrast when both regime sets have at least
        this many finite outcomes in the sample (30); >= 1.

    Raises ValueError ("regime findings config: <key> = ...") on a bad value.
    """

    horizons: tuple[int, ...] = (5, 10, 20)
    train_frac: float = 0.6
    n_boot: int = 1000
    block_bars: int = 20
    seed: int = 0
    ci_level: float = 0.95
    min_regime_bars: int = 30

    def __post_init__(self) -> None:
        check_report_config(
            self, "regime findings config", 2, {"n_boot": 1, "block_bars": 1, "seed": 0, "min_regime_bars": 1}
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "RegimeFindingsConfig":
        """Build from key -> value (numbers or their text; horizons a sequence or "5,10,20").

        Raises:
            ValueError: a missing or unknown key, or a value of the wrong type or range.
        """
        values = dict(values)
        if "horizons" not in values:
            raise ValueError("regime findings config: missing keys ['horizons']")
        raw = values.pop("horizons")
        out = typed_values(cls, values, "regime findings config", skip=("horizons",))
        out["horizons"] = parse_horizons(raw, "regime findings config")
        return cls(**out)


@dataclass(frozen=True)
class Contrast:
    """A regime contrast of one detector: the ``high`` regimes minus the ``low`` regimes.

    expected_return / expected_abs_return / expected_rv: the sign (+1, -1) the separation
    of that metric should have if the detector means what it says; 0 = no hypothesis.
    """

    detector: str
    name: str
    high: tuple[str, ...]
    low: tuple[str, ...]
    expected_return: int = 0
    expected_abs_return: int = 0
    expected_rv: int = 0

    def __post_init__(self) -> None:
        for key in ("high", "low"):
            value = getattr(self, key)
            items = tuple([value] if isinstance(value, str) else value)
            if not items or not all(isinstance(v, str) and v for v in items):
                raise ValueError(f"contrast {self.name!r}: {key} must be a non-empty list of regime labels")
            object.__setattr__(self, key, items)
        if set(self.high) & set(self.low):
            raise ValueError(f"contrast {self.name!r}: high and low share {sorted(set(self.high) & set(self.low))}")
        for key in EXPECTED_KEYS.values():
            value = getattr(self, key)
            if value not in (-1, 0, 1) or isinstance(value, bool):
                raise ValueError(f"contrast {self.name!r}: {key} = {value!r} must be -1, 0 or 1")
            object.__setattr__(self, key, int(value))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "Contrast":
        """From a mapping with keys detector, name, high, low and optionally the expected_* signs."""
        known = {"detector", "name", "high", "low", *EXPECTED_KEYS.values()}
        unknown = sorted(set(values) - known)
        missing = sorted({"detector", "name", "high", "low"} - set(values))
        if unknown or missing:
            raise ValueError(f"contrast: missing keys {missing}, unknown keys {unknown}")
        out = dict(values)
        for key in EXPECTED_KEYS.values():
            if key in out:
                out[key] = convert_value("int", out[key])
        return cls(**out)


# --------------------------------------------------------------------------- inputs
# The series each detector is pooled over (project definition): the Uptrend Engine labels the
# regime drivers, pooled over the price drivers (dominance shares are not prices: their
# "returns" are share changes, with an inverted meaning); the volatility detectors label
# drivers and symbols, pooled over the symbols (the assets; the drivers are built from them);
# a trend x vol market on its own price series.
LABEL_SCOPES = {
    "uptrend": "driver",
    "volatility_rv": "symbol",
    "volatility_hmm": "symbol",
    "volatility_quadrant": "symbol",
    "trend_vol": "market",
}
LABEL_INPUT_COLUMNS = (
    "series_type",
    "series_id",
    "bar_interval",
    "series_part",
    "bar_seq",
    "bar_start",
    "close",
    *(f"{d}_regime" for d in LABEL_SCOPES),
)
GRID_INPUT_COLUMNS = ("series_key", "exchange", "symbol", "bar_interval", "idx", "bar_start", "close", "verdict")


def findings_bars(
    labels: pd.DataFrame, grid: pd.DataFrame | None = None, excluded_drivers: Iterable[str] = ()
) -> pd.DataFrame:
    """The long input of :func:`regime_findings` from the research inputs.

    Args:
        labels: reports.rpt_regime_labels_aligned (columns :data:`LABEL_INPUT_COLUMNS`):
            every final bar of every labelled series with each detector's label.
        grid: reports.rpt_grid_outcome_inputs (columns :data:`GRID_INPUT_COLUMNS`) for the
            grid verdicts (detector grid_verdict, pooled over the grid series), or None.
        excluded_drivers: drivers left out of the uptrend pool (the dominance drivers:
            seed drivers kind = dominance).

    Returns:
        Columns :data:`BAR_INPUT_COLUMNS`: per detector the rows of its scope
        (:data:`LABEL_SCOPES`), all bars of each series with the label (NULL when the
        detector does not label the bar).
    """
    missing = [c for c in LABEL_INPUT_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"findings_bars: labels lack columns {missing}")
    # text columns travel as codes into their distinct values (a million rows of Python
    # strings would cost seconds); the result's text columns are categoricals
    excluded = set(excluded_drivers)
    type_codes, type_names = pd.factorize(labels["series_type"], sort=True)  # -1 = missing
    type_of = {str(name): code for code, name in enumerate(type_names)}
    series_codes, series_names = pd.factorize(labels["series_id"], sort=True)
    interval_codes, interval_names = pd.factorize(labels["bar_interval"], sort=True)
    is_excluded = np.array([str(name).split("|")[0] in excluded for name in series_names], dtype=bool)
    part = labels["series_part"].to_numpy()
    seq = labels["bar_seq"].to_numpy()
    bar_start = labels["bar_start"].to_numpy(dtype="datetime64[ns]")
    close = labels["close"].to_numpy(dtype=float)
    pieces: list[dict[str, object]] = []
    for detector, scope in LABEL_SCOPES.items():
        keep = type_codes == type_of.get(scope, -2)
        if scope == "driver":
            keep &= ~is_excluded[series_codes]
        regime_codes, regime_names = pd.factorize(labels[f"{detector}_regime"], sort=True)  # -1 = no label
        # only series the detector labels at all
        labelled_series = np.bincount(series_codes[keep & (regime_codes >= 0)], minlength=len(series_names)) > 0
        rows = np.flatnonzero(keep & labelled_series[series_codes])
        pieces.append(
            {
                "detector": (np.zeros(len(rows), dtype=np.int64), np.array([detector], dtype=object)),
                "bar_interval": (interval_codes[rows], np.asarray(interval_names, dtype=object)),
                "series_id": (series_codes[rows], np.asarray(series_names, dtype=object)),
                "regime": (regime_codes[rows], np.asarray(regime_names, dtype=object)),
                "part": part[rows],
                "seq": seq[rows],
                "bar_start": bar_start[rows],
                "close": close[rows],
            }
        )
    if grid is not None:
        missing = [c for c in GRID_INPUT_COLUMNS if c not in grid.columns]
        if missing:
            raise ValueError(f"findings_bars: grid lacks columns {missing}")
        # the (exchange, symbol, bar_interval) key as one integer from the sorted codes of
        # its parts: its order is the tuples' order (no million-row MultiIndex)
        combined = np.zeros(len(grid), dtype=np.int64)
        parts_names = []
        for column in ("exchange", "symbol", "bar_interval"):
            codes, names = pd.factorize(grid[column].astype(str), sort=True)
            combined = combined * max(len(names), 1) + codes
            parts_names.append(np.asarray(names, dtype=object))
        key_codes, combined_keys = pd.factorize(combined, sort=True)
        key_names = []
        for value in combined_keys.tolist():
            tup = []
            for names in reversed(parts_names):
                value, code = divmod(value, max(len(names), 1))
                tup.append(names[code])
            key_names.append(tuple(reversed(tup)))
        grid_interval_codes, grid_interval_names = pd.factorize(grid["bar_interval"], sort=True)
        verdict_codes, verdict_names = pd.factorize(grid["verdict"], sort=True)
        pieces.append(
            {
                "detector": (np.zeros(len(grid), dtype=np.int64), np.array(["grid_verdict"], dtype=object)),
                "bar_interval": (grid_interval_codes, np.asarray(grid_interval_names, dtype=object)),
                "series_id": (key_codes, np.array(["|".join(k) for k in key_names], dtype=object)),
                "regime": (verdict_codes, np.asarray(verdict_names, dtype=object)),
                "part": grid["series_key"].to_numpy(),
                "seq": grid["idx"].to_numpy(),
                "bar_start": grid["bar_start"].to_numpy(dtype="datetime64[ns]"),
                "close": grid["close"].to_numpy(dtype=float),
            }
        )
    out = {}
    for column in BAR_INPUT_COLUMNS:
        values = [piece[column] for piece in pieces]
        if isinstance(values[0], tuple):
            out[column] = _categorical(values)
        else:
            out[column] = np.concatenate(values)
    return pd.DataFrame(out, copy=False)  # no consolidation of the columns into blocks (frames.py)


def _categorical(pieces: Sequence[tuple[np.ndarray, np.ndarray]]) -> pd.Categorical:
    """One categorical from (codes, names) pieces (code -1 = missing), categories sorted."""
    categories = np.array(sorted({str(n) for _, names in pieces for n in names}), dtype=object)
    position = {c: i for i, c in enumerate(categories)}
    codes = []
    for piece_codes, names in pieces:
        lookup = np.array([position[str(n)] for n in names] + [-1], dtype=np.int64)  # index -1 -> missing
        codes.append(lookup[piece_codes])
    return pd.Categorical.from_codes(np.concatenate(codes) if codes else np.zeros(0, np.int64), categories)


# --------------------------------------------------------------------------- pieces
def forward_values(
    part: np.ndarray, seq: np.ndarray, close: np.ndarray, horizons: Sequence[int]
) -> dict[str, np.ndarray]:
    """Forward outcomes of every bar (see the module docstring).

    Args:
        part: shape (n,), one value per series segment (any hashable). seq: shape (n,), the
            order within the part (consecutive final bars). close: shape (n,), > 0. Any row
            order.
        horizons: h values (>= 2).

    Returns:
        {"forward_return": (n, H), "forward_abs_return": (n, H), "forward_rv": (n, H)} in
        the row order of the input; NaN where bar t+h is not in the part.
    """
    n = len(close)
    codes, _ = pd.factorize(pd.Series(part), sort=True)
    order = np.lexsort((np.asarray(seq), codes))
    sorted_codes = codes[order]
    log_close = np.log(np.asarray(close, dtype=float)[order])
    step = np.r_[np.nan, np.diff(log_close)]  # at k: ln(close_k / close_{k-1}) within the part
    out = {m: np.full((n, len(horizons)), np.nan) for m in METRICS}
    index = np.arange(n)
    padded_close = np.r_[log_close, np.full(max(horizons, default=0), np.nan)]
    padded_step = np.r_[step, np.full(max(horizons, default=0), np.nan)]
    for j, h in enumerate(horizons):
        end = index + h
        ok = end < n
        ok[ok] = sorted_codes[end[ok]] == sorted_codes[index[ok]]
        rows = index[ok]
        # every bar at once with contiguous slices (rows not ok are dropped below): the same
        # operations per bar as on the kept rows alone, so the same bits
        ret_all = padded_close[h : h + n] - log_close
        # two-pass sample variance of the steps t+1..t+h around their mean ret / h
        mean_all = ret_all / h
        squares_all = np.zeros(n)
        term = np.empty(n)  # (step - mean)^2 of lag k, in place (no temporaries: the same operations)
        for k in range(1, h + 1):
            np.subtract(padded_step[k : k + n], mean_all, out=term)
            np.square(term, out=term)
            squares_all += term
        ret, squares = ret_all[rows], squares_all[rows]
        target = order[rows]
        out["forward_return"][target, j] = ret
        out["forward_abs_return"][target, j] = np.abs(ret)
        out["forward_rv"][target, j] = np.sqrt(squares / (h - 1))
    return out


def grouped_sums(
    key: np.ndarray, size: int, values: np.ndarray | tuple[list[np.ndarray], list[np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per key 0..size-1: the sums of each value column over the rows' finite values and
    their counts, shapes (size, p) (NaN values count in neither).

    ``values``: (n, p), or its :func:`_value_columns` (prepared once for several keys)."""
    zeroed, finite = _value_columns(values) if isinstance(values, np.ndarray) else values
    sums = np.stack([np.bincount(key, weights=w, minlength=size) for w in zeroed], axis=1)
    counted: dict[int, np.ndarray] = {}  # columns with the same finite pattern have the same counts
    counts = np.stack(
        [
            counted[id(f)]
            if id(f) in counted
            else counted.setdefault(id(f), np.bincount(key, weights=f, minlength=size))
            for f in finite
        ],
        axis=1,
    )
    return sums, counts


def _value_columns(values: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The columns of ``values`` (n, p) as :func:`grouped_sums` weighs them: contiguous,
    NaN -> 0, and their finite masks as 0.0 / 1.0 (a column whose mask equals an earlier
    one's is that same array)."""
    return _weighed_rows(np.ascontiguousarray(np.asarray(values, dtype=float).T))


def _weighed_rows(columns: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:func:`_value_columns` of the value columns given as the rows of ``columns`` (p, n)."""
    finite = np.isfinite(columns)
    zeroed = list(np.where(finite, columns, 0.0))
    masks: list[np.ndarray] = []
    for i in range(len(columns)):
        same = next((m for j, m in enumerate(masks) if np.array_equal(finite[j], finite[i])), None)
        masks.append(same if same is not None else finite[i].astype(float))
    return zeroed, masks


def series_separations(
    sums: np.ndarray, counts: np.ndarray, high: Sequence[int], low: Sequence[int], min_bars: int
) -> np.ndarray:
    """Per series: mean(values | high regimes) - mean(values | low regimes).

    Args:
        sums, counts: (s, r, p) per series x regime code: sums of the finite values and
            their counts (:func:`grouped_sums` reshaped).
        high, low: regime codes of the two sets. min_bars: both sets need at least this
            many finite values for a series to count.

    Returns:
        (s, p) separations, NaN where a series does not count.
    """
    high_sum, high_n = sums[:, list(high)].sum(axis=1), counts[:, list(high)].sum(axis=1)
    low_sum, low_n = sums[:, list(low)].sum(axis=1), counts[:, list(low)].sum(axis=1)
    out = np.full(high_sum.shape, np.nan)
    ok = (high_n >= min_bars) & (low_n >= min_bars)
    out[ok] = high_sum[ok] / high_n[ok] - low_sum[ok] / low_n[ok]
    return out


def calendar_bootstrap(
    sums: np.ndarray, counts: np.ndarray, block: int, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled means sum(sums) / sum(counts) per column and their block-bootstrap replicates.

    Args:
        sums, counts: (k, m): per bar start (rows in time order) and statistic column, the
            sum of the outcomes and their number.
        block, n_boot, seed: bar starts per block, resamples, seed (the draws of
            ``grid_outcomes.block_draws`` over one group: blocks of ``block`` consecutive
            rows, each resample draws as many blocks as there are, uniformly with
            replacement).

    Returns:
        (point (m,), boot (n_boot, m)); NaN where a (resampled) column has no outcome.
    """
    k, m = sums.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        point = sums.sum(axis=0) / counts.sum(axis=0)
    if k == 0:
        return point, np.full((n_boot, m), np.nan)
    order, starts, chunks = block_draws(pd.Series(np.zeros(k, dtype=np.int64)), block, n_boot, seed)
    block_sums = np.add.reduceat(sums[order], starts, axis=0)  # (K, m)
    block_counts = np.add.reduceat(counts[order], starts, axis=0)
    n_blocks = len(starts)
    boot = np.empty((n_boot, m))
    a = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        for drawn in chunks:
            c = len(drawn)
            flat = drawn + (np.arange(c) * n_blocks)[:, None]
            times = np.bincount(flat.ravel(), minlength=c * n_blocks).reshape(c, n_blocks).astype(float)
            boot[a : a + c] = (times @ block_sums) / (times @ block_counts)
            a += c
    return point, boot


# --------------------------------------------------------------------------- report
def regime_findings(
    bars: pd.DataFrame, contrasts: Sequence[Contrast] = (), cfg: RegimeFindingsConfig | None = None
) -> pd.DataFrame:
    """The pooled findings table (see the module docstring).

    Args:
        bars: one row per final bar of every series a detector labels (labelled or not: the
            forward paths run over every bar), columns detector (text), bar_interval,
            series_id (one value per series, e.g. an asset), part (one value per series
            segment), seq (order within the part, consecutive final bars), bar_start
            (datetime64 UTC; equal across series at the same moment), close (> 0), regime
            (the label, missing = not labelled).
        contrasts: the regime contrasts (:class:`Contrast`); a contrast of a detector that is
            not in ``bars`` is skipped, a regime it names that never occurs counts no bar.
        cfg: RegimeFindingsConfig (default: the defaults).

    Returns:
        DataFrame with :data:`REPORT_COLUMNS`, sorted by detector, bar_interval, sample,
        row_kind, regime, metric, horizon_bars:

        * row_kind ``regime``: per regime label: n_series (series with the regime in the
          sample), n_bars (labelled bars, pooled), share_of_bars (n_bars / the detector's
          labelled bars of the interval and sample), n_bar_starts (bar starts with a
          finite outcome), n (finite outcomes, pooled), mean (the calendar mean) and its
          interval ci_low / ci_high;
        * row_kind ``contrast``: regime = the contrast's name, high_regimes / low_regimes
          ('|'-joined), n_bar_starts = the fewer of the two sets', mean = the separation
          calendar mean(high) - mean(low) with its paired interval, expected_sign,
          is_separated_as_expected (the interval excludes 0 on the expected side; NULL
          without a hypothesis), n_series_compared, n_series_expected_sign and
          share_series_expected_sign (per-series separations).

    Raises:
        ValueError: missing columns.
    """
    cfg = cfg if cfg is not None else RegimeFindingsConfig()
    missing = [c for c in BAR_INPUT_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"regime_findings: bars lack columns {missing}")
    detector, detectors = pd.factorize(bars["detector"], sort=True)
    interval, intervals = pd.factorize(bars["bar_interval"], sort=True)
    group = detector * max(len(intervals), 1) + interval
    columns = {c: bars[c].to_numpy() for c in ("part", "seq", "close")}
    columns["bar_start"] = bars["bar_start"].to_numpy(dtype="datetime64[ns]")
    columns["series"], series_names = pd.factorize(bars["series_id"], sort=True)
    # a total order of the rows (group, series, time): every sum is added in the same order
    # whatever order the warehouse returned the rows in, so the report is bit-identical
    order = np.lexsort((columns["bar_start"], columns["series"], group))
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True]) if len(order) else [0]
    columns["regime"], regime_names = pd.factorize(bars["regime"], sort=True)  # -1 = not labelled
    regime_names = np.array([str(r) for r in regime_names], dtype=object)

    spans = list(zip(bounds[:-1], bounds[1:]))
    # groups over the same bars (the detectors of one scope that label the same series) have
    # the same forward paths: computed once (by whichever of them comes first), kept until
    # the last of them has read them
    source = list(range(len(spans)))
    for i, (a, b) in enumerate(spans):
        for j in range(i):
            if source[j] == j and _same_bars(order[a:b], order[spans[j][0] : spans[j][1]], columns):
                source[i] = j
                break
    shared: dict[int, dict[str, np.ndarray]] = {}
    locks = {j: threading.Lock() for j in set(source)}
    readers = Counter(source)

    def forward_of(i: int, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        j = source[i]
        with locks[j]:
            if j not in shared:
                shared[j] = forward_values(arrays["part"], arrays["seq"], arrays["close"], cfg.horizons)
            forward = shared[j]
            readers[j] -= 1
            if not readers[j]:
                del shared[j]
        return forward

    def group_findings(i: int) -> pd.DataFrame:  # one detector x interval
        rows = order[spans[i][0] : spans[i][1]]
        name = str(detectors[detector[rows[0]]])
        arrays = {c: v[rows] for c, v in columns.items()}
        return _detector_findings(
            name,
            str(intervals[interval[rows[0]]]),
            arrays,
            regime_names,
            [c for c in contrasts if c.detector == name],
            cfg,
            forward_of(i, arrays),
        )

    # the groups share nothing else: side by side on the engine threads, results in group order
    parts = ordered_map(group_findings, range(len(spans)))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _typed(pd.DataFrame(columns=list(REPORT_COLUMNS)))
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(
        ["detector", "bar_interval", "sample", "row_kind", "regime", "metric", "horizon_bars"], kind="stable"
    ).reset_index(drop=True)
    return _typed(out)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out = out[list(REPORT_COLUMNS)].copy()
    for column in ("horizon_bars", "n_bars", "n_bar_starts", "n"):
        out[column] = out[column].astype(np.int64)
    for column in ("n_series", "expected_sign", "n_series_compared", "n_series_expected_sign"):
        out[column] = pd.array(
            [None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in out[column]],
            dtype="Int64",
        )
    out["is_separated_as_expected"] = pd.array(
        [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v)
            for v in out["is_separated_as_expected"]
        ],
        dtype="boolean",
    )
    for column in ("share_of_bars", "mean", "ci_low", "ci_high", "share_series_expected_sign"):
        out[column] = out[column].astype(float)
    return out


def _value_rows(
    weighed: tuple[list[np.ndarray], list[np.ndarray]], use: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:func:`_value_columns` of ``values[use]`` from that of ``values`` (the same numbers;
    equal masks stay one array)."""
    zeroed, masks = weighed
    picked: dict[int, np.ndarray] = {}
    return [z[use] for z in zeroed], [picked.setdefault(id(m), m[use]) for m in masks]


def _same_bars(rows: np.ndarray, other: np.ndarray, columns: Mapping[str, np.ndarray]) -> bool:
    """Whether two groups' rows hold the same bars in the same order (part, seq, close equal
    row by row: the same forward paths)."""
    return len(rows) == len(other) and all(
        np.array_equal(columns[c][rows], columns[c][other]) for c in ("part", "seq", "close")
    )


def _detector_findings(
    detector: str,
    interval: str,
    arrays: Mapping[str, np.ndarray],
    regime_names: np.ndarray,
    contrasts: Sequence[Contrast],
    cfg: RegimeFindingsConfig,
    forward: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The rows of one detector x bar interval (see :func:`regime_findings`): ``arrays`` holds
    part, seq, close, bar_start, series (codes) and regime (codes into ``regime_names``, -1
    = not labelled); ``forward``: :func:`forward_values` of these bars (None: computed here)."""
    if forward is None:
        forward = forward_values(arrays["part"], arrays["seq"], arrays["close"], cfg.horizons)
    labelled = arrays["regime"] >= 0
    if not labelled.any():
        return pd.DataFrame(columns=list(REPORT_COLUMNS))
    # one row per value column (metric-major, then horizon), the labelled bars
    value_rows = np.concatenate([forward[m].T for m in METRICS])[:, labelled]
    value_keys = [(m, h) for m in METRICS for h in cfg.horizons]
    regime, regime_codes = pd.factorize(arrays["regime"][labelled], sort=True)
    regimes = regime_names[regime_codes]
    series, series_names = pd.factorize(arrays["series"][labelled], sort=True)
    bar_start = arrays["bar_start"][labelled]
    out_of_sample = evaluation_mask(pd.DataFrame({"series_key": series, "idx": bar_start}), cfg.train_frac)
    code_of = {str(r): i for i, r in enumerate(regimes)}
    n_regimes, n_series_all, p = len(regimes), len(series_names), len(value_rows)
    calendar, pos = np.unique(bar_start, return_inverse=True)
    k = len(calendar)
    records: list[dict[str, object]] = []
    weighed_all = _weighed_rows(value_rows)
    for sample in SAMPLES:
        use = np.ones(len(regime), dtype=bool) if sample == "all" else out_of_sample
        if not use.any():
            continue
        # per calendar bar x regime and per series x regime: sums and counts of the outcomes
        # the value columns prepared once for both keys (the rows of the sample)
        weighed = weighed_all if use.all() else _value_rows(weighed_all, use)
        cal_sums, cal_counts = grouped_sums(pos[use] * n_regimes + regime[use], k * n_regimes, weighed)
        cal_sums, cal_counts = cal_sums.reshape(k, n_regimes, p), cal_counts.reshape(k, n_regimes, p)
        ser_sums, ser_counts = grouped_sums(series[use] * n_regimes + regime[use], n_series_all * n_regimes, weighed)
        ser_sums, ser_counts = (
            ser_sums.reshape(n_series_all, n_regimes, p),
            ser_counts.reshape(n_series_all, n_regimes, p),
        )
        # statistic columns: each regime, then each contrast's high and low set (p columns each)
        sets = [[r] for r in range(n_regimes)]
        for c in contrasts:
            sets.append([code_of[r] for r in c.high if r in code_of])
            sets.append([code_of[r] for r in c.low if r in code_of])
        set_sums = np.column_stack([cal_sums[:, codes].sum(axis=1) for codes in sets])
        set_counts = np.column_stack([cal_counts[:, codes].sum(axis=1) for codes in sets])
        point, boot = calendar_bootstrap(set_sums, set_counts, cfg.block_bars, cfg.n_boot, cfg.seed)
        counts = (set_counts > 0).sum(axis=0)  # bar starts with an outcome, per column
        lo, hi = percentile_interval(boot, cfg.ci_level)
        bars_of = np.bincount(regime[use], minlength=n_regimes)
        series_of = (
            np.bincount(series[use] * n_regimes + regime[use], minlength=n_series_all * n_regimes).reshape(
                n_series_all, n_regimes
            )
            > 0
        )
        n_finite = ser_counts.sum(axis=0)  # (r, p)
        base = {"detector": detector, "bar_interval": interval, "sample": sample}
        for r in range(n_regimes):
            if not bars_of[r]:
                continue
            for i, (metric, h) in enumerate(value_keys):
                col = r * p + i
                records.append(
                    {
                        **base,
                        "row_kind": "regime",
                        "regime": str(regimes[r]),
                        "metric": metric,
                        "horizon_bars": h,
                        "n_series": int(series_of[:, r].sum()),
                        "n_bars": int(bars_of[r]),
                        "share_of_bars": bars_of[r] / int(use.sum()),
                        "n_bar_starts": int(counts[col]),
                        "n": int(n_finite[r, i]),
                        "mean": point[col],
                        "ci_low": lo[col],
                        "ci_high": hi[col],
                    }
                )
        for c_i, c in enumerate(contrasts):
            high, low = sets[n_regimes + 2 * c_i], sets[n_regimes + 2 * c_i + 1]
            high_col = (n_regimes + 2 * c_i) * p
            low_col = high_col + p
            d_lo, d_hi = percentile_interval(
                boot[:, high_col : high_col + p] - boot[:, low_col : low_col + p], cfg.ci_level
            )
            separation = (
                series_separations(ser_sums, ser_counts, high, low, cfg.min_regime_bars)
                if high and low
                else np.full((n_series_all, p), np.nan)
            )
            both = high + low
            for i, (metric, h) in enumerate(value_keys):
                sign = getattr(c, EXPECTED_KEYS[metric])
                sep = separation[:, i][np.isfinite(separation[:, i])]
                expected = int((np.sign(sep) == sign).sum()) if sign else None
                separated = None
                if sign and np.isfinite(d_lo[i]) and np.isfinite(d_hi[i]):
                    separated = bool(d_lo[i] > 0) if sign > 0 else bool(d_hi[i] < 0)
                records.append(
                    {
                        **base,
                        "row_kind": "contrast",
                        "regime": c.name,
                        "metric": metric,
                        "horizon_bars": h,
                        "n_series": int(series_of[:, both].any(axis=1).sum()),
                        "n_bars": int(bars_of[both].sum()),
                        "share_of_bars": np.nan,
                        "n_bar_starts": int(min(counts[high_col + i], counts[low_col + i])),
                        "n": int(n_finite[both, i].sum()),
                        "mean": point[high_col + i] - point[low_col + i],
                        "ci_low": d_lo[i],
                        "ci_high": d_hi[i],
                        "high_regimes": "|".join(c.high),
                        "low_regimes": "|".join(c.low),
                        "expected_sign": sign if sign else None,
                        "is_separated_as_expected": separated,
                        "n_series_compared": len(sep),
                        "n_series_expected_sign": expected,
                        "share_series_expected_sign": (expected / len(sep)) if sign and len(sep) else np.nan,
                    }
                )
    out = pd.DataFrame.from_records(records)
    for column in REPORT_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    return out[list(REPORT_COLUMNS)]
