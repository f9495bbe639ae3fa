"""Lever outcomes: do the A / E levers line up with what the bucket did next?

Research report on the levers (``marts.fct_levers``, docs/levers.md). At every lever bar t
of a bucket and execution timeframe X the warehouse gives A (aggressiveness) and E (exit
pressure), known at the bar's close t + X. This module sorts the lever bars into quantile
groups of A (and of E) and measures the bucket composite over the next h execution bars,
so it looks ahead BY DESIGN: it is an evaluation, never an input of the levers.

Definitions (project definitions; docs/levers.md "Do the levers pay?"):

* **forward return** of lever bar t at horizon h: ln(C(t + X + h X) / C(t + X)), C(tau) the
  composite's close at time tau: the return over execution bars t+1..t+h, which start when
  the lever is known. NaN unless all h + 1 closes exist on the execution grid (no missing
  bar) and lie in one composite segment.
* **forward realized vol**: sqrt(mean of the h squared one-bar log returns of bars
  t+1..t+h), per execution bar, not annualised (the zero-mean "realized volatility", Andersen
  et al. 2001, per bar; defined for h = 1 as |return|, where a sample standard deviation is
  not). Same existence rule.
* **series**: one bucket x execution timeframe; its **observable** lever bars are those
  whose close has a composite close; the first floor(train_frac x n) of them in time order
  are the in-sample part, the rest out-of-sample (``grid_outcomes.evaluation_mask``).
* **quantile groups**: the q - 1 edges are the 1/q, ..., (q-1)/q quantiles (numpy's
  default linear interpolation, Hyndman & Fan type 7) of the lever's in-sample values; a
  value v is in group k = 1 + #{edges <= v} (ties go up: values at the upper clamp 1 fall
  in the top group; a group may be empty when the clamp holds more than 1/q of the bars).
* **top minus bottom**: mean of the highest non-empty group minus that of the lowest
  (groups chosen by the rows of the sample, the same for every horizon and metric).
* **intervals**: block bootstrap of the means (``grid_outcomes.bootstrap_means``: blocks of
  block_bars consecutive observable bars cut within each composite segment, resampled
  per segment, n_boot resamples, numpy default_rng(seed), percentile interval at
  ci_level). Every statistic of one series and sample uses the same resampled blocks, so
  the spread interval and the formula difference are paired. The levers persist longer
  than a block (1h A: autocorrelation ~0.7 at lag 24 on the sample), so these intervals
  are too narrow; the shuffled null below is the calibrated test.
* **shuffled levers (the null)**: the levers rotated against the returns. A circular
  shift d moves every lever value (and so its quantile group, edges unchanged) from bar i
  to bar (i + d) mod n of the series' observable bars: the lever keeps its distribution
  and its whole autocorrelation (the levers persist for days), only its alignment with the
  returns is broken (a circular-shift, or rotation, randomisation test: the usual null for
  a persistent signal; a plain or short-block permutation would destroy the persistence
  and give too narrow a null). The ``shuffled`` rows use one shift drawn with ``default_rng(seed)``
  (the same for A and E of both formulas); every shift in [block_bars, n - block_bars]
  gives the null distribution of each top-minus-bottom spread: null_ci_low /
  null_ci_high (its central ci_level interval) and null_p_value = (1 + #{|null spread| >=
  |spread|}) / (1 + number of shifts), two-sided.
* **separated as expected**: a top-minus-bottom spread whose bootstrap interval excludes 0
  on the expected side (:data:`EXPECTED_SIGN`) and, for actual levers, whose null_p_value
  is below 1 - ci_level.

Pure Python (numpy, pandas): no dbt, no SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from market_regimes.parallel import ordered_map
from market_regimes.research.config_checks import check_report_config, parse_horizons
from market_regimes.research.grid_outcomes import bootstrap_means, evaluation_mask, percentile_interval
from market_regimes.seed_config import typed_values

FORMULAS = ("project", "seed_compute_levers")
LEVERS = {"A": "a_value", "E": "e_value"}
SAMPLES = ("in_sample", "out_of_sample")
METRICS = ("forward_return", "forward_rv")
# Expected sign of top-minus-bottom (project hypotheses, docs/levers.md): a high A (appetite)
# should precede higher returns and calmer markets, a high E (exit pressure) lower returns
# and rougher markets.
EXPECTED_SIGN = {
    ("A", "forward_return"): 1,
    ("E", "forward_return"): -1,
    ("A", "forward_rv"): -1,
    ("E", "forward_rv"): 1,
}
LEVER_INPUT_COLUMNS = ("bar_start", "execution_timeframe", "bucket", "formula", "a_value", "e_value")
CLOSE_INPUT_COLUMNS = ("bucket", "execution_timeframe", "execution_minutes", "close_at", "close", "segment_id")
REPORT_COLUMNS = (
    "formula",
    "lever",
    "lever_source",
    "bucket",
    "execution_timeframe",
    "sample",
    "horizon_bars",
    "metric",
    "lever_group",
    "quantile",
    "n_bars",
    "n",
    "lever_min",
    "lever_max",
    "mean",
    "sd",
    "t_stat",
    "win_rate",
    "ci_low",
    "ci_high",
    "expected_sign",
    "is_separated_as_expected",
    "top_quantile",
    "bottom_quantile",
    "null_ci_low",
    "null_ci_high",
    "null_p_value",
    "minus_other_formula",
    "minus_other_formula_ci_low",
    "minus_other_formula_ci_high",
)


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class LeverOutcomeConfig:
    """Typed constants of the lever-outcome report (dbt var lever_outcome_config).

    horizons: forward horizons h in execution bars (1, 4, 24); distinct whole numbers >= 1.
    quantiles: number of quantile groups q (5: quintiles); >= 2.
    train_frac: share of each series' observable bars (in time order) in the in-sample part,
        where the quantile edges are set (0.6); 0 < train_frac < 1.
    n_boot: bootstrap resamples (1000); >= 1.
    block_bars: bars per bootstrap block, and the least circular shift of the rotation null
        (24); >= 1.
    seed: seed of numpy's default_rng for the shuffled levers' shift and the bootstrap (0); >= 0.
    ci_level: level of the percentile intervals (0.95); 0 < level < 1.

    Raises ValueError ("lever outcome config: <key> = ... ") on a bad value.
    """

    horizons: tuple[int, ...] = (1, 4, 24)
    quantiles: int = 5
    train_frac: float = 0.6
    n_boot: int = 1000
    block_bars: int = 24
    seed: int = 0
    ci_level: float = 0.95

    def __post_init__(self) -> None:
        check_report_config(self, "lever outcome config", 1, {"quantiles": 2, "n_boot": 1, "block_bars": 1, "seed": 0})

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "LeverOutcomeConfig":
        """Build from key -> value (numbers or their text; horizons a sequence or "1,4,24").

        Raises:
            ValueError: a missing or unknown key, or a value of the wrong type or range.
        """
        values = dict(values)
        raw = values.pop("horizons", None)
        out = typed_values(cls, values, "lever outcome config", skip=("horizons",))
        out["horizons"] = parse_horizons(raw, "lever outcome config")
        return cls(**out)


# --------------------------------------------------------------------------- pieces
def forward_outcomes(
    lever_close: np.ndarray,
    close_time: np.ndarray,
    close: np.ndarray,
    segment: np.ndarray,
    step: int,
    horizons: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward log returns and forward realized vol of lever bars on one composite series.

    Args:
        lever_close: shape (m,), int, the lever bars' close times (any unit, e.g. epoch
            minutes), multiples of ``step``.
        close_time: shape (n,), int, the composite's close times in the same unit, strictly
            increasing, multiples of ``step``.
        close: shape (n,), positive closes at those times. segment: shape (n,), segment ids
            (non-decreasing in time).
        step: the execution bar length in that unit (> 0). horizons: h values (>= 1).

    Returns:
        (observable, forward_return, forward_rv): observable bool (m,), a close exists at
        the lever close; forward_return and forward_rv float (m, len(horizons)): return =
        ln(C(t_c + h step) / C(t_c)), rv = sqrt(mean over k = 1..h of ln(C(t_c + k step) /
        C(t_c + (k - 1) step))^2); NaN unless every close t_c, t_c + step, ..., t_c + h step
        exists and they share one segment.

    Raises:
        ValueError: lengths differ, close_time not strictly increasing, step <= 0.
    """
    lever_close = np.asarray(lever_close, dtype=np.int64)
    close_time = np.asarray(close_time, dtype=np.int64)
    close = np.asarray(close, dtype=float)
    segment = np.asarray(segment)
    if step <= 0:
        raise ValueError(f"forward_outcomes: step = {step!r} must be > 0")
    if not len(close_time) == len(close) == len(segment):
        raise ValueError("forward_outcomes: close_time, close and segment must have the same length")
    if len(close_time) > 1 and not (np.diff(close_time) > 0).all():
        raise ValueError("forward_outcomes: close_time must be strictly increasing")
    m, n = len(lever_close), len(close_time)
    ret = np.full((m, len(horizons)), np.nan)
    rv = np.full((m, len(horizons)), np.nan)
    grid = close_time // step
    target = lever_close // step
    pos = np.searchsorted(grid, target)
    observable = (pos < n) & (grid[np.minimum(pos, max(n - 1, 0))] == target) if n else np.zeros(m, dtype=bool)
    if not n:
        return observable, ret, rv
    log_close = np.log(close)
    step_return = np.r_[np.nan, np.diff(log_close)]  # at k: ln(C_k / C_{k-1})
    for j, h in enumerate(horizons):
        end = pos + h
        safe_end = np.minimum(end, n - 1)
        safe_pos = np.minimum(pos, n - 1)
        ok = observable & (end < n) & (grid[safe_end] == target + h) & (segment[safe_end] == segment[safe_pos])
        rows = np.flatnonzero(ok)
        start = pos[rows]
        ret[rows, j] = log_close[start + h] - log_close[start]
        squares = np.zeros(len(rows))
        for k in range(1, h + 1):
            squares += step_return[start + k] ** 2
        rv[rows, j] = np.sqrt(squares / h)
    return observable, ret, rv


def quantile_edges(values: np.ndarray, quantiles: int) -> np.ndarray:
    """The quantiles - 1 inner edges 1/q, ..., (q-1)/q of ``values`` (NaNs dropped; numpy's
    linear interpolation). All NaN edges when no finite value is given."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    probs = np.arange(1, quantiles) / quantiles
    if not len(values):
        return np.full(quantiles - 1, np.nan)
    return np.quantile(values, probs)


def assign_quantile(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Group 1..q of every value: 1 + the number of edges <= value (ties go up); 0 for a NaN
    value or NaN edges."""
    values = np.asarray(values, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if not np.isfinite(edges).all():
        return np.zeros(len(values), dtype=np.int64)
    group = 1 + np.searchsorted(edges, values, side="right")
    return np.where(np.isfinite(values), group, 0).astype(np.int64)


def group_moments(values: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Per value column i and subset j: n (finite values), mean, sd (n - 1), t_stat = mean /
    (sd / sqrt(n)) (NaN when n < 2 or sd = 0), win_rate (share > 0; NaN when n = 0).

    values: (n, p) float; masks: (n, q) bool. Each output has shape (p, q).
    """
    values = np.asarray(values, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    finite = np.isfinite(values)
    v = np.where(finite, values, 0.0)
    use = finite[:, :, None] & masks[:, None, :]  # (n, p, q)
    count = use.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.einsum("np,npq->pq", v, use)
        mean = total / count
        dev = np.where(use, v[:, :, None] - mean[None], 0.0)
        sd = np.sqrt((dev**2).sum(axis=0) / (count - 1))
        sd = np.where(count >= 2, sd, np.nan)
        t = np.where((count >= 2) & (sd > 0), mean / (sd / np.sqrt(count)), np.nan)
        wins = np.einsum("np,npq->pq", (v > 0).astype(float), use)
        win_rate = np.where(count > 0, wins / count, np.nan)
    return {"n": count.astype(np.int64), "mean": mean, "sd": sd, "t_stat": t, "win_rate": win_rate}


def rotation_shifts(n: int, block: int) -> np.ndarray:
    """The circular shifts of the rotation null for a series of n bars: every whole number in
    [block, n - block] (every one in [1, n - 1] when n < 2 block + 1; none when n < 2)."""
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    low, high = (block, n - block) if n >= 2 * block + 1 else (1, n - 1)
    return np.arange(low, high + 1, dtype=np.int64)


def rotation_null_spreads(
    groups: np.ndarray,
    shifts: np.ndarray,
    rows: Mapping[str, np.ndarray],
    values: np.ndarray,
    quantiles: int,
    spectra_cache: dict | None = None,
) -> dict[str, np.ndarray]:
    """Top-minus-bottom spreads of the quantile groups rotated against the outcomes.

    For a shift d the groups are ``np.roll(groups, d)`` (bar i takes the group of bar i - d,
    circularly); the spread of a sample is the mean of ``values`` over the sample's bars
    of the highest group with bars in the sample minus that of the lowest. All shifts at
    once: every group's sums over the sample are circular cross-correlations of the group
    indicator with the outcome columns, computed by FFT (rounding ~1e-12 relative; counts
    are rounded to whole numbers).

    Args:
        groups: shape (n,), 1..q (0 = no group). shifts: shape (d,), whole numbers.
        rows: sample name -> row indices into the n bars. values: shape (n, p), NaN = no
            outcome. quantiles: q.
        spectra_cache: optional dict shared by calls with the same ``rows`` and ``values``
            (the lever columns of one series): the Fourier transforms of the sample
            indicators and outcome columns, which do not depend on ``groups``, are computed
            once (the same numbers either way).

    Returns:
        sample name -> array (d, p) of spreads (NaN where a sample has no grouped bar or an
        end group no finite value).
    """
    groups = np.asarray(groups)
    values = np.asarray(values, dtype=float)
    n, p = values.shape
    finite = np.isfinite(values)
    zeroed = np.where(finite, values, 0.0)
    # the finite pattern repeats across columns (a horizon's return and vol exist together):
    # correlate each distinct pattern once
    first_of: dict[bytes, int] = {}
    pattern_of = np.array(
        [first_of.setdefault(np.packbits(col).tobytes(), len(first_of)) for col in finite.T], dtype=np.int64
    )
    patterns = finite.T[[list(pattern_of).index(i) for i in range(len(first_of))]]
    f_indicator = np.conj(np.fft.rfft(np.stack([groups == k for k in range(1, quantiles + 1)]).astype(float), axis=1))
    draws = np.arange(len(shifts))

    cache = spectra_cache if spectra_cache is not None else {}

    def correlate(group_index: np.ndarray, key: tuple[str, str], series) -> np.ndarray:
        """(len(group_index), len(series), d): sums over the shifted groups' bars; ``series``
        builds the (m, n) columns correlated, ``key`` names their transform in the cache."""
        if key not in cache:
            cache[key] = np.fft.rfft(series(), axis=1)
        spectra = f_indicator[group_index][:, None, :] * cache[key][None, :, :]
        return np.fft.irfft(spectra, n=n, axis=2)[:, :, shifts]

    out = {}
    for sample, idx in rows.items():
        in_sample = np.zeros(n)
        in_sample[idx] = 1.0
        present = np.rint(correlate(np.arange(quantiles), (sample, "in"), lambda: in_sample[None, :])[:, 0]) > 0
        has = present.any(axis=0)
        top = np.where(has, quantiles - 1 - np.argmax(present[::-1], axis=0), 0)
        bottom = np.where(has, np.argmax(present, axis=0), 0)
        needed = np.unique(np.r_[top[has], bottom[has]])
        spread = np.full((len(shifts), p), np.nan)
        if len(needed):
            sums = correlate(needed, (sample, "sums"), lambda: (zeroed * in_sample[:, None]).T)  # (g, p, d)
            counts = np.rint(
                correlate(needed, (sample, "counts"), lambda: (patterns * in_sample[None, :]).astype(float))
            )[:, pattern_of]
            with np.errstate(invalid="ignore", divide="ignore"):
                means = sums / counts
            where = np.zeros(quantiles, dtype=np.int64)  # group -> its index in needed (0 if not needed)
            where[needed] = np.arange(len(needed))
            t, b = where[top], where[bottom]
            spread = means[t, :, draws] - means[b, :, draws]
            spread[~has] = np.nan
        out[sample] = spread
    return out


# --------------------------------------------------------------------------- report
def lever_outcome_report(
    levers: pd.DataFrame, closes: pd.DataFrame, cfg: LeverOutcomeConfig | None = None
) -> pd.DataFrame:
    """Forward returns and realized vol of the bucket composite by lever quantile group.

    Args:
        levers: one row per lever bar x formula (reports.rpt_lever_values_by_formula):
            bar_start (datetime64, the lever bar's open, UTC), execution_timeframe, bucket,
            formula (project / seed_compute_levers), a_value, e_value (0..1).
        closes: the composite closes on each series' execution grid
            (reports.rpt_lever_composite_closes): bucket, execution_timeframe,
            execution_minutes (int, the bar length X), close_at (datetime64 UTC), close
            (> 0), segment_id.
        cfg: LeverOutcomeConfig (default: the defaults).

    Returns:
        DataFrame with :data:`REPORT_COLUMNS`, one row per formula x lever (A, E) x
        lever_source (actual, shuffled) x bucket x execution_timeframe x sample
        (in_sample, out_of_sample) x horizon_bars x metric (forward_return, forward_rv) x
        lever_group (``all``, ``Q1``..``Qq``, ``top_minus_bottom``) for every series with
        observable bars (see the module docstring): quantile (1..q on Q rows), n_bars = the
        group's bars in the sample, n = those with a finite outcome, lever_min / lever_max
        of the group, mean, sd, t_stat (one-sample vs 0 on return groups; Welch's on
        top_minus_bottom; NaN on vol groups), win_rate (share > 0, return groups), the
        bootstrap interval ci_low / ci_high; on top_minus_bottom rows also expected_sign,
        is_separated_as_expected, top_quantile / bottom_quantile, and for actual levers the
        rotation null (null_ci_low, null_ci_high, null_p_value) and minus_other_formula
        (this formula's spread minus the other's on the same bars) with its paired
        bootstrap interval. Sorted by the key columns.

    Raises:
        ValueError: a missing column, an unknown formula, or bars off the execution grid.
    """
    cfg = cfg if cfg is not None else LeverOutcomeConfig()
    for frame, columns, what in ((levers, LEVER_INPUT_COLUMNS, "levers"), (closes, CLOSE_INPUT_COLUMNS, "closes")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"lever_outcome_report: {what} lacks columns {missing}")
    unknown = sorted(set(levers["formula"].drop_duplicates().astype(str)) - set(FORMULAS))  # distinct first
    if unknown:
        raise ValueError(f"lever_outcome_report: unknown formulas {unknown} (expected {list(FORMULAS)})")
    close_groups = dict(tuple(closes.groupby(["bucket", "execution_timeframe"], sort=True)))
    series = [
        (str(bucket), str(timeframe), part, close_groups[(bucket, timeframe)])
        for (bucket, timeframe), part in levers.groupby(["bucket", "execution_timeframe"], sort=True)
        if (bucket, timeframe) in close_groups and len(close_groups[(bucket, timeframe)])
    ]
    # the series share nothing: side by side on the engine threads, results in series order
    parts = ordered_map(lambda item: _series_report(*item, cfg), series)
    parts = [p for p in parts if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(REPORT_COLUMNS))
    out = out[list(REPORT_COLUMNS)]
    for column in ("horizon_bars", "n_bars", "n"):
        out[column] = out[column].astype(np.int64)
    for column in ("quantile", "expected_sign", "top_quantile", "bottom_quantile"):
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
    for column in REPORT_COLUMNS:
        if column not in (
            "formula",
            "lever",
            "lever_source",
            "bucket",
            "execution_timeframe",
            "sample",
            "metric",
            "lever_group",
            "horizon_bars",
            "n_bars",
            "n",
            "quantile",
            "expected_sign",
            "top_quantile",
            "bottom_quantile",
            "is_separated_as_expected",
        ):
            out[column] = out[column].astype(float)
    return out.sort_values(
        [
            "formula",
            "lever",
            "lever_source",
            "bucket",
            "execution_timeframe",
            "sample",
            "horizon_bars",
            "metric",
            "lever_group",
        ],
        kind="stable",
    ).reset_index(drop=True)


def _minutes(times) -> np.ndarray:
    """Datetimes as whole minutes since the epoch."""
    return pd.to_datetime(pd.Series(times)).to_numpy(dtype="datetime64[m]").astype(np.int64)


def _series_report(
    bucket: str, timeframe: str, levers: pd.DataFrame, closes: pd.DataFrame, cfg: LeverOutcomeConfig
) -> pd.DataFrame:
    """The report rows of one bucket x execution timeframe (see :func:`lever_outcome_report`)."""
    step = int(closes["execution_minutes"].iloc[0])
    closes = closes.sort_values("close_at", kind="stable")
    close_time = _minutes(closes["close_at"])
    wide = levers.pivot_table(index="bar_start", columns="formula", values=["a_value", "e_value"], aggfunc="first")
    wide.columns = [f"{lever}|{formula}" for lever, formula in wide.columns]
    wide = wide.sort_index()
    lever_close = _minutes(wide.index) + step
    if (close_time % step != 0).any() or (lever_close % step != 0).any():
        raise ValueError(f"lever_outcome_report: bars of {bucket} {timeframe} are off its {step}-minute grid")
    segment_all = closes["segment_id"].to_numpy()
    observable, ret, rv = forward_outcomes(
        lever_close, close_time, closes["close"].to_numpy(dtype=float), segment_all, step, cfg.horizons
    )
    if not observable.any():
        return pd.DataFrame(columns=list(REPORT_COLUMNS))
    wide, ret, rv = wide[observable], ret[observable], rv[observable]
    segment = segment_all[np.searchsorted(close_time, lever_close[observable])]
    n = len(wide)
    out_of_sample = evaluation_mask(
        pd.DataFrame({"series_key": np.zeros(n, dtype=np.int64), "idx": np.arange(n)}), cfg.train_frac
    )
    train = ~out_of_sample
    values = np.column_stack([ret, rv])  # metric-major, then horizon
    value_keys = [(metric, h) for metric in METRICS for h in cfg.horizons]
    q = cfg.quantiles

    shifts = rotation_shifts(n, cfg.block_bars)
    shift = int(np.random.default_rng(cfg.seed).choice(shifts)) if len(shifts) else 0
    columns: dict[tuple[str, str, str], np.ndarray] = {}
    groups: dict[tuple[str, str, str], np.ndarray] = {}
    null: dict[tuple[tuple[str, str, str], str], np.ndarray] = {}
    spectra: dict = {}  # the rotation null's transforms of the samples and outcomes, shared by the lever columns
    sample_rows = {sample: np.flatnonzero(out_of_sample if sample == "out_of_sample" else train) for sample in SAMPLES}
    for formula in FORMULAS:
        for lever, name in LEVERS.items():
            key = f"{name}|{formula}"
            actual = wide[key].to_numpy(dtype=float) if key in wide.columns else np.full(n, np.nan)
            group = assign_quantile(actual, quantile_edges(actual[train], q))
            columns[(formula, lever, "actual")] = actual
            groups[(formula, lever, "actual")] = group
            # the shuffled levers: one rotation, grouped with the real lever's edges (= the
            # rotated groups, one draw of the null)
            columns[(formula, lever, "shuffled")] = np.roll(actual, shift)
            groups[(formula, lever, "shuffled")] = np.roll(group, shift)
            for sample, spreads in rotation_null_spreads(group, shifts, sample_rows, values, q, spectra).items():
                null[((formula, lever, "actual"), sample)] = spreads

    records: list[dict[str, object]] = []
    keys = list(columns)
    for sample, rows in sample_rows.items():
        if not len(rows):
            continue
        masks = [np.ones(len(rows), dtype=bool)]  # subset 0: all bars of the sample
        for key in keys:
            masks += [groups[key][rows] == k for k in range(1, q + 1)]
        masks = np.column_stack(masks)
        sample_values = values[rows]
        point, _, boot = bootstrap_means(sample_values, segment[rows], cfg.block_bars, masks, cfg.n_boot, cfg.seed)
        lo, hi = percentile_interval(boot, cfg.ci_level)
        moments = group_moments(sample_values, masks)
        n_bars = masks.sum(axis=0)
        spreads: dict[tuple[str, str, str], tuple[int, int, np.ndarray, np.ndarray]] = {}
        for g, key in enumerate(keys):
            cols = 1 + g * q + np.arange(q)
            present = [k for k in range(q) if n_bars[cols[k]] > 0]
            if present:
                top, bottom = cols[present[-1]], cols[present[0]]
                spreads[key] = (
                    present[-1] + 1,
                    present[0] + 1,
                    point[:, top] - point[:, bottom],
                    boot[:, :, top] - boot[:, :, bottom],
                )
        for g, key in enumerate(keys):
            formula, lever, source = key
            base = {"formula": formula, "lever": lever, "lever_source": source, "sample": sample}
            lever_values = columns[key][rows]
            for c_i, col in enumerate([0, *(1 + g * q + np.arange(q))]):
                lv = lever_values[masks[:, col]]
                for i, (metric, h) in enumerate(value_keys):
                    is_return = metric == "forward_return"
                    records.append(
                        {
                            **base,
                            "horizon_bars": h,
                            "metric": metric,
                            "lever_group": "all" if c_i == 0 else f"Q{c_i}",
                            "quantile": None if c_i == 0 else c_i,
                            "n_bars": int(n_bars[col]),
                            "n": int(moments["n"][i, col]),
                            "lever_min": float(lv.min()) if len(lv) else np.nan,
                            "lever_max": float(lv.max()) if len(lv) else np.nan,
                            "mean": point[i, col],
                            "sd": moments["sd"][i, col],
                            "t_stat": moments["t_stat"][i, col] if is_return else np.nan,
                            "win_rate": moments["win_rate"][i, col] if is_return else np.nan,
                            "ci_low": lo[i, col],
                            "ci_high": hi[i, col],
                        }
                    )
            if key in spreads:
                records += _spread_records(
                    key, base, spreads, null.get((key, sample)), moments, n_bars, g, value_keys, cfg
                )
    out = pd.DataFrame.from_records(records)
    out["bucket"] = bucket
    out["execution_timeframe"] = timeframe
    for column in REPORT_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    return out[list(REPORT_COLUMNS)]


def _spread_records(key, base, spreads, null, moments, n_bars, g, value_keys, cfg) -> list[dict[str, object]]:
    """The top_minus_bottom rows of one lever column and sample (see :func:`lever_outcome_report`)."""
    formula, lever, source = key
    q = cfg.quantiles
    top_k, bottom_k, spread, spread_boot = spreads[key]
    top_col, bottom_col = 1 + g * q + top_k - 1, 1 + g * q + bottom_k - 1
    s_lo, s_hi = percentile_interval(spread_boot, cfg.ci_level)
    other = (FORMULAS[1 - FORMULAS.index(formula)], lever, source)
    alpha = 1 - cfg.ci_level
    records = []
    for i, (metric, h) in enumerate(value_keys):
        n_t, n_b = int(moments["n"][i, top_col]), int(moments["n"][i, bottom_col])
        sd_t, sd_b = moments["sd"][i, top_col], moments["sd"][i, bottom_col]
        se = math.sqrt(sd_t**2 / n_t + sd_b**2 / n_b) if n_t >= 2 and n_b >= 2 else math.nan
        sign = EXPECTED_SIGN[(lever, metric)]
        record = {
            **base,
            "horizon_bars": h,
            "metric": metric,
            "lever_group": "top_minus_bottom",
            "quantile": None,
            "n_bars": int(n_bars[top_col] + n_bars[bottom_col]),
            "n": n_t + n_b,
            "mean": spread[i],
            "t_stat": spread[i] / se if se > 0 else np.nan,
            "ci_low": s_lo[i],
            "ci_high": s_hi[i],
            "expected_sign": sign,
            "top_quantile": top_k,
            "bottom_quantile": bottom_k,
        }
        separated = None
        if np.isfinite(s_lo[i]) and np.isfinite(s_hi[i]):
            separated = bool(s_lo[i] > 0) if sign > 0 else bool(s_hi[i] < 0)
        if null is not None:
            draws = null[:, i][np.isfinite(null[:, i])]
            if len(draws) and np.isfinite(spread[i]):
                n_lo, n_hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
                p_value = (1 + np.sum(np.abs(draws) >= abs(spread[i]))) / (1 + len(draws))
                record.update({"null_ci_low": n_lo, "null_ci_high": n_hi, "null_p_value": p_value})
                separated = None if separated is None else separated and p_value < alpha
        record["is_separated_as_expected"] = separated
        if source == "actual" and other in spreads:
            d_lo, d_hi = percentile_interval(spread_boot[:, i] - spreads[other][3][:, i], cfg.ci_level)
            record.update(
                {
                    "minus_other_formula": spread[i] - spreads[other][2][i],
                    "minus_other_formula_ci_low": float(d_lo),
                    "minus_other_formula_ci_high": float(d_hi),
                }
            )
        records.append(record)
    return records
