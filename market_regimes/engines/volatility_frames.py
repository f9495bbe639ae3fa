"""Table-shaped adapter of the volatility / spectral detector (pandas in, pandas out; no dbt).

Input, either of two shapes:
* `bars` alone: one row per final bar of each series segment, columns ``series_type``
  ('driver' | 'symbol'), ``series_id``, ``driver``, ``timeframe``, ``exchange``,
  ``symbol``, ``bar_interval``, ``interval_minutes``, ``segment_id``, ``bar_start``,
  ``log_return`` (ln close_t / close_t-1 within the segment; NULL at its first bar) —
  intermediate.int_indicator_series_listed joined to int_indicator_bars_prepared
  (:func:`market_regimes.adapters.volatility_sql.input_sql`);
* `series` (one row per series segment: ``series_part`` and the series columns above,
  ``adapters.volatility_sql.series_sql``) plus `bars` with ``series_part``, ``bar_start``,
  ``log_return`` (``bars_sql``): the same data without repeating the text columns on every
  bar (what the dbt models read: ~2 s less per model on the sample).

* :func:`volatility_regime_rows` -> marts.fct_volatility_regimes: one row per bar from
  the segment's first HMM refit on (``hmm_min_fit_bars`` clean returns), every input
  of each label (docs/volatility-regimes.md).
* :func:`strategy_fit_rows` -> marts.fct_strategy_fit: Hurst / AR(1) / trend_fit /
  mean_reversion_fit at the bars that end on a multiple of ``strategy_fit_every_minutes``
  (each UTC day's close by default: every daily bar, the 23:00 bar of hourly series),
  once the Hurst window is full. A cadence, not every bar: the R/S windows are 256 bars
  and the fits serve slow strategy selection; the rule depends on bar_start alone, so a
  prefix build has exactly the full build's rows.
* :func:`turbulence_rows`: the cross-section turbulence of the drivers of a timeframe.

Toxic bars (|log return| > toxic_abs_log_return) are kept as rows (``is_toxic``) but
left out of every return window; a toxic bar carries the labels of the clean window
ending before it. ``toxic_bars_in_window`` counts the toxic bars skipped inside the
longest window behind the row (the HMM decode window; the Hurst window).

Project decisions (docs/volatility-regimes.md) (measured on the bundled sample):
* refit cadence: 24 clean returns on daily series (the product default), 168 (weekly) on hourly
  series: 8,205 hmmlearn fits at ~280 fits/s instead of ~47,000 (benchmarks/detectors.py);
* EM: 10 iterations from a deterministic start on the window scaled by its mean
  (variance floor hmm_min_covar in those units);
* labels: the filtered (not smoothed, not Viterbi) probability, so a bar never uses a
  later bar; hmm_vol_regime = hmm_p_high_vol >= high_vol_prob_threshold;
* whipsaw: with fitted transitions the high state holds the spike bars (P(high -> high)
  ~0.3-0.6) and vol_regime changes ~20 times per 100 bars (BTC, ALT daily and hourly);
  hmm_fit_transitions = 0 (a sticky HMM at hmm_init_stay_prob, e.g. 0.98) gives ~6-11
  changes per 100 bars with a similar forward-vol separation on hourly bars;
* rows start at hmm_min_fit_bars clean returns (an expanding HMM window up to
  hmm_window_bars), when the wavelet and direction windows are full too;
* turbulence: the cross-section of the driver kinds of model config
  turbulence_driver_kinds (single, composite; dominance shares are not returns) on
  their joint calendar, window spanning segment gaps of that calendar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # installed with hmmlearn (scikit-learn)

from market_regimes.engines import volatility as vol
from market_regimes.engines.volatility_config import VolatilityConfig
from market_regimes.frames import concat_pieces, text_array
from market_regimes.parallel import ordered_map, workers_for

SERIES_COLUMNS = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval", "segment_id")
INPUT_COLUMNS = (*SERIES_COLUMNS, "interval_minutes", "bar_start", "log_return")
SORT = ["series_id", "segment_id", "bar_start"]


def volatility_columns(cfg: VolatilityConfig) -> list[str]:
    """Output columns of :func:`volatility_regime_rows` (wavelet bands follow the config)."""
    return [
        *SERIES_COLUMNS,
        "bar_start",
        "series_part",
        "idx",
        "segment_clean_returns",
        "log_return",
        "abs_log_return",
        "is_toxic",
        "toxic_bars_in_window",
        "hmm_fit_bar_start",
        "hmm_fit_returns",
        "hmm_window_returns",
        "hmm_mean_low",
        "hmm_mean_high",
        "hmm_std_low",
        "hmm_std_high",
        "hmm_stay_prob_low",
        "hmm_stay_prob_high",
        "hmm_p_low_vol",
        "hmm_p_high_vol",
        "hmm_vol_regime",
        "log_realized_vol",
        "rv_enter_level",
        "rv_exit_level",
        "rv_vol_regime",
        "vol_regime",
        "prev_vol_regime",
        *[f"wavelet_energy_{b}" for b in vol.wavelet_bands(cfg)],
        "spectral_entropy",
        "direction_return",
        "direction_efficiency_ratio",
        "direction",
        "quadrant",
        "prev_quadrant",
        "turbulence",
        "turbulence_drivers",
    ]


STRATEGY_COLUMNS = [
    *SERIES_COLUMNS,
    "bar_start",
    "is_toxic",
    "toxic_bars_in_window",
    "hurst_exponent",
    "ar1_phi",
    "ar1_intercept",
    "hurst_fit",
    "ar1_fit",
    "trend_fit",
    "mean_reversion_fit",
]


class _Segment:
    """One series segment: its series columns (meta), bar_start and log_return arrays."""

    def __init__(self, meta: dict, bar_start: np.ndarray, log_return: np.ndarray, idx: np.ndarray | None = None):
        self.meta = {c: meta[c] for c in SERIES_COLUMNS}
        self.series_part = meta.get("series_part")
        self.interval_minutes = int(meta["interval_minutes"])
        self.bar_start = bar_start.astype("datetime64[us]")
        self.log_return = log_return
        # idx: the bars' numbers in the segment (0 = its first bar); a look-back starts later
        self.idx = np.arange(len(bar_start), dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)


def _segments(bars: pd.DataFrame, series: pd.DataFrame | None = None):
    """Yield every series segment in (series_id, segment_id) order, bars in time order."""
    if series is None:
        missing = [c for c in INPUT_COLUMNS if c not in bars.columns]
        if missing:
            raise KeyError(f"volatility frames: missing input columns {missing}")
        ordered = bars.sort_values(SORT, kind="stable")
        for _, seg in ordered.groupby(["series_id", "segment_id"], sort=False):
            yield _Segment(
                seg.iloc[0].to_dict(),
                seg["bar_start"].to_numpy(),
                seg["log_return"].to_numpy(dtype=float, na_value=np.nan),
            )
        return
    missing = [c for c in ("series_part", *SERIES_COLUMNS, "interval_minutes") if c not in series.columns]
    missing += [c for c in ("series_part", "bar_start", "log_return") if c not in bars.columns]
    if missing:
        raise KeyError(f"volatility frames: missing input columns {missing}")
    ordered = bars.sort_values(["series_part", "bar_start"], kind="stable")
    positions = ordered.groupby("series_part", sort=False).indices
    starts = ordered["bar_start"].to_numpy()
    returns = ordered["log_return"].to_numpy(dtype=float, na_value=np.nan)
    idx = ordered["idx"].to_numpy(dtype=np.int64) if "idx" in ordered.columns else None
    for meta in series.sort_values(["series_id", "segment_id"], kind="stable").to_dict("records"):
        at = positions.get(meta["series_part"])
        if at is not None:
            yield _Segment(meta, starts[at], returns[at], None if idx is None else idx[at])


def _clean_index(seg: _Segment, cfg: VolatilityConfig):
    """(log returns, clean returns, clean index per bar (-1 before the first), is_toxic,
    toxic count up to each bar, bar position of each clean index)."""
    r = seg.log_return
    clean, toxic = vol.clean_mask(r, cfg.toxic_abs_log_return)
    c_of_bar = np.cumsum(clean) - 1
    return r, r[clean], c_of_bar, toxic, np.cumsum(toxic), np.flatnonzero(clean)


def _toxic_in_span(
    toxic_cum: np.ndarray, bar_pos: np.ndarray, c_of_bar: np.ndarray, rows: np.ndarray, n: int
) -> np.ndarray:
    """Toxic bars between the first bar of the window of n clean returns behind each row
    (rows: bar positions) and the row itself."""
    first = bar_pos[np.maximum(c_of_bar[rows] - n + 1, 0)]
    return toxic_cum[rows] - toxic_cum[first]


def _series_part_values(series_part, n: int) -> np.ndarray:
    """The segment's series_part (an unsigned 64-bit hash) on n rows as uint64, NaN for the
    one-frame input (no series_part: every segment alike, so the assembled column is all
    NaN, converted to UInt64 NULLs)."""
    if series_part is None:
        return np.full(n, np.nan)
    return np.full(n, int(series_part), dtype=np.uint64)


def _prev(codes: np.ndarray) -> np.ndarray:
    """The previous row's text codes (-1 = missing at the first row)."""
    out = np.empty(len(codes), dtype=codes.dtype)
    out[:1] = -1
    out[1:] = codes[:-1]
    return out


def _label_codes(label: np.ndarray) -> np.ndarray:
    """Codes into vol.VOL_REGIMES of float labels (vol.HIGH 0, vol.LOW 1, NaN -1)."""
    return np.where(np.isfinite(label), np.where(label == vol.HIGH, 0, 1), -1).astype(np.int8)


# the label columns of volatility_regime_rows' segments, as codes into these texts (one
# conversion of the assembled codes, not one per row: frames.text_array)
_CODED_TEXT = {
    "hmm_vol_regime": vol.VOL_REGIMES,
    "rv_vol_regime": vol.VOL_REGIMES,
    "vol_regime": vol.VOL_REGIMES,
    "prev_vol_regime": vol.VOL_REGIMES,
    "direction": vol.DIRECTIONS,
    "quadrant": vol.QUADRANTS,
    "prev_quadrant": vol.QUADRANTS,
}


def _hmm_lookback(seg: _Segment, cfg: VolatilityConfig, frontier: dict | None):
    """(clean offset, first clean index labelled, first bar position emitted) of a segment:
    the whole segment without a frontier row; else its look-back continues after the last
    stored bar (frontier: last_idx, clean_returns = clean returns up to and including it)."""
    r, x, c_of_bar, *_ = _clean_index(seg, cfg)
    if frontier is None:
        return 0, 0, 0
    at = np.searchsorted(seg.idx, frontier["last_idx"])
    if at >= len(seg.idx) or seg.idx[at] != frontier["last_idx"]:
        raise ValueError(f"volatility frames: the look-back of series_part {seg.series_part} lacks its last stored bar")
    offset = int(frontier["clean_returns"]) - int(c_of_bar[at] + 1)
    if offset > 0 and c_of_bar[at] + 1 < hmm_lookback_clean_returns(cfg, seg.interval_minutes):
        raise ValueError(f"volatility frames: the look-back of series_part {seg.series_part} is too short")
    return offset, offset + max(int(c_of_bar[at]), 0), int(at) + 1


def _stored_label(state: dict | None) -> str | None:
    """The stored rv_vol_regime of a frontier row ('high' / 'low'), None without one."""
    value = None if state is None else state.get("rv_vol_regime")
    return value if isinstance(value, str) else None


def _rv_percentile(
    x: np.ndarray,
    uniq: np.ndarray,
    offset: int,
    interval_minutes: int,
    cfg: VolatilityConfig,
    previous: str | None,
    compiled: bool = False,
):
    """The rv_percentile detector at the local clean indices `uniq` (ascending) of a
    segment's clean returns `x` that start at clean index `offset`: (log_realized_vol,
    enter level, exit level, label 1.0/0.0/NaN). Labels start at the first clean index of
    `uniq`; `previous` (an incremental run: the stored label of its first index, 'high' /
    'low') continues the hysteresis from there instead. compiled: vol.scheduled_quantiles'
    (the same values either way)."""
    rv, window, every, q_enter, q_exit = cfg.rv_settings(interval_minutes)
    nan = np.full(len(uniq), np.nan)
    if len(uniq) == 0:
        return nan, nan, nan, nan
    score = vol.log_realized_vol(x, rv, cfg.rv_variance_floor)
    if offset > 0:
        score[: rv - 1] = np.nan  # windows cut by the look-back (never read: hmm_lookback_clean_returns)
    first = offset + int(uniq[0])
    levels = vol.scheduled_quantiles(
        score, cfg.hmm_min_fit_bars, every, window, [q_enter, q_exit], offset=offset, first=first, compiled=compiled
    )
    s, enter, exit_ = score[uniq], levels[0, uniq], levels[1, uniq]
    if previous is None:
        label = vol.hysteresis(s, enter, exit_)
    else:
        held = s.copy()
        held[0] = np.nan  # the stored row's own label is kept
        label = vol.hysteresis(held, enter, exit_, vol.HIGH if previous == "high" else vol.LOW)
    return s, enter, exit_, label


def empty_frontier() -> pd.DataFrame:
    """The frontier of a full build (no stored rows): the columns an incremental run's
    frontier has (series_part uint64, last_idx, clean_returns, need int64; rv_vol_regime
    text), no rows."""
    return pd.DataFrame(
        {
            "series_part": pd.Series([], dtype="uint64"),
            "last_idx": pd.Series([], dtype="int64"),
            "clean_returns": pd.Series([], dtype="int64"),
            "rv_vol_regime": pd.Series([], dtype="string"),
            "need": pd.Series([], dtype="int64"),
        }
    )


def hmm_lookback_clean_returns(cfg: VolatilityConfig, interval_minutes: int) -> int:
    """Clean returns up to and including a segment's last stored bar that an incremental
    run of :func:`volatility_regime_rows` needs: the last HMM refit's window and the
    decode, wavelet and direction windows; the rv_percentile quantile window of the last
    update before the next bar, and the realized-vol window of its first value."""
    rv, window, every, _, _ = cfg.rv_settings(interval_minutes)
    return max(cfg.hmm_window_bars + cfg.refit_every(interval_minutes) - 1, window + every + rv - 1)


def volatility_regime_rows(
    bars: pd.DataFrame,
    cfg: VolatilityConfig,
    stats: dict | None = None,
    turbulence_drivers: list[str] | None = None,
    series: pd.DataFrame | None = None,
    frontier: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per bar with a label; see the module docstring and volatility_columns().

    turbulence_drivers: the drivers whose returns form the cross-section of
    :func:`turbulence_rows` (per timeframe); its value is attached to every driver row of
    that timeframe and bar (NULL on symbol rows, and everywhere when None).
    stats, if given, receives ``hmm_fits`` (fits run), ``series_segments`` and
    ``fit_seconds``. series: the two-frame input (module docstring).
    frontier (incremental runs; two-frame input with an ``idx`` column in `bars`): one row
    per stored segment, ``series_part``, ``last_idx`` (its last stored row) and
    ``clean_returns`` (that row's segment_clean_returns); such a segment's bars are a
    look-back window that holds its last stored bar and at least
    :func:`hmm_lookback_clean_returns` clean returns up to it (or start at idx 0), and only
    its bars after last_idx are returned. The same rows as the whole-history call, bit for
    bit (every value depends on its trailing windows only). Segments without a frontier
    row are computed whole. HMM refits of all segments run in one :func:`fit_hmm_batch`.
    Raises KeyError when an input column is missing, ValueError when a look-back is too short.
    """
    import time

    n_segments = 0
    bands = vol.wavelet_bands(cfg)
    wanted = set(turbulence_drivers or [])
    turbulence_parts = []
    state_columns = [
        c for c in ("last_idx", "clean_returns", "rv_vol_regime") if frontier is not None and c in frontier
    ]
    states = (
        {}
        if frontier is None
        else {p: f for p, f in zip(frontier["series_part"], frontier[state_columns].to_dict("records"))}
    )
    work = []
    filter_windows = 0  # the clean indices the HMM filter labels, over all segments
    for seg in _segments(bars, series):
        if seg.meta["series_type"] == "driver" and seg.meta["driver"] in wanted:
            turbulence_parts.append(
                pd.DataFrame(
                    {
                        "series_type": "driver",
                        "driver": seg.meta["driver"],
                        "timeframe": seg.meta["timeframe"],
                        "bar_start": seg.bar_start,
                        "log_return": seg.log_return,
                    }
                )
            )
        n_segments += 1
        offset, first, from_bar = _hmm_lookback(seg, cfg, states.get(seg.series_part))
        r, x, c_of_bar, toxic, toxic_cum, bar_pos = _clean_index(seg, cfg)
        rows = np.flatnonzero(c_of_bar + offset >= cfg.hmm_min_fit_bars - 1)
        keep = rows >= from_bar  # rows before it: only the previous labels of the first new row
        rows = rows[rows >= from_bar - 1]
        if not keep.any():
            continue
        every = cfg.refit_every(seg.interval_minutes)
        first_c = offset + max(int(c_of_bar[rows[0]]), 0)
        refits, windows = vol.hmm_refit_windows(np.abs(x), cfg, every, offset, first_c)
        work.append((seg, offset, first_c, rows, every, refits, windows))
        filter_windows += offset + len(x) - first_c
    # the compiled filter and rolling quantiles for the whole run once it is large (the numba
    # start-up pays off; the same bits either way: vol.filtered_high, vol.scheduled_quantiles)
    compiled = filter_windows >= vol.COMPILED_FILTER_MIN_WINDOWS
    t0 = time.perf_counter()
    all_windows = [w for item in work for w in item[6]]
    all_fits = iter(vol.fit_hmm_batch(all_windows, cfg))
    fit_seconds = time.perf_counter() - t0
    fitted = [(item, {int(rr): next(all_fits) for rr in item[5]}) for item in work]

    def segment_frame(entry):  # one segment's rows: no state shared with the others
        (seg, offset, first_c, rows, every, refits, windows), fits = entry
        r, x, c_of_bar, toxic, toxic_cum, bar_pos = _clean_index(seg, cfg)
        hmm = vol.hmm_filter(np.abs(x), cfg, every, offset, first_c, fits, compiled)
        c = c_of_bar[rows]  # local clean index (absolute = c + offset)
        # the clean indices with rows, computed once each (a toxic bar reuses its predecessor's)
        uniq, back = np.unique(c, return_inverse=True)
        shares, entropy = vol.wavelet_energy(vol.trailing_windows(x, cfg.wavelet_window_bars, uniq), cfg)
        ret, er, direction = vol.direction_codes(
            vol.trailing_windows(x, cfg.direction_window_bars, uniq), cfg.direction_min_efficiency_ratio
        )
        p_high = hmm["p_high"][c]
        has_p = np.isfinite(p_high)
        # text columns as codes (_CODED_TEXT): high 0, low 1, missing -1
        hmm_regime = np.where(has_p, np.where(p_high >= cfg.high_vol_prob_threshold, 0, 1), -1).astype(np.int8)
        state = states.get(seg.series_part)
        rv_score, rv_enter, rv_exit, rv_label = _rv_percentile(
            x, uniq, offset, seg.interval_minutes, cfg, _stored_label(state), compiled
        )
        rv_regime = _label_codes(rv_label)
        regime = rv_regime[back] if cfg.vol_regime_detector == "rv_percentile" else hmm_regime
        dirs = direction[back]
        quads = vol.quadrant_codes(regime, dirs)
        fit_index = hmm["fit_index"][c]
        fit_local = np.maximum(fit_index - offset, 0)
        fit_start = np.where(fit_index >= 0, seg.bar_start[bar_pos[fit_local]], np.datetime64("NaT"))
        columns = {
            "bar_start": seg.bar_start[rows],
            "series_part": _series_part_values(seg.series_part, len(rows)),
            "idx": seg.idx[rows],
            "segment_clean_returns": c + offset + 1,
            "log_return": r[rows],
            "abs_log_return": np.abs(r[rows]),
            "is_toxic": toxic[rows],
            "toxic_bars_in_window": _toxic_in_span(toxic_cum, bar_pos, c_of_bar, rows, cfg.hmm_window_bars),
            "hmm_fit_bar_start": fit_start,
            "hmm_fit_returns": hmm["fit_obs"][c],
            "hmm_window_returns": np.minimum(c + offset + 1, cfg.hmm_window_bars).astype(float),
            "hmm_mean_low": hmm["mean_low"][c],
            "hmm_mean_high": hmm["mean_high"][c],
            "hmm_std_low": hmm["std_low"][c],
            "hmm_std_high": hmm["std_high"][c],
            "hmm_stay_prob_low": hmm["stay_low"][c],
            "hmm_stay_prob_high": hmm["stay_high"][c],
            "hmm_p_low_vol": 1.0 - p_high,
            "hmm_p_high_vol": p_high,
            "hmm_vol_regime": hmm_regime,
            "log_realized_vol": rv_score[back],
            "rv_enter_level": rv_enter[back],
            "rv_exit_level": rv_exit[back],
            "rv_vol_regime": rv_regime[back],
            "vol_regime": regime,
            "prev_vol_regime": _prev(regime),
            **{f"wavelet_energy_{b}": shares[back, j] for j, b in enumerate(bands)},
            "spectral_entropy": entropy[back],
            "direction_return": ret[back],
            "direction_efficiency_ratio": er[back],
            "direction": dirs,
            "quadrant": quads,
            "prev_quadrant": _prev(quads),
        }
        if state is not None:  # the look-back's rows up to the last stored one are not returned
            new = columns["idx"] > state["last_idx"]
            columns = {c: v[new] for c, v in columns.items()}
        return seg.meta, columns

    parts = ordered_map(segment_frame, fitted, workers_for(len(bars)))
    if stats is not None:
        stats.update(hmm_fits=len(all_windows), series_segments=n_segments, fit_seconds=fit_seconds)
    columns = volatility_columns(cfg)
    keys = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval")
    strings = (*keys, *_CODED_TEXT)
    # the segments' rows column by column (frames.concat_pieces: no frame per segment); the
    # label columns' codes become text once, after the concatenation
    if parts:
        assembled = concat_pieces([c for _, c in parts], [m for m, _ in parts], text=frozenset(keys))
        for name, vocabulary in _CODED_TEXT.items():
            assembled[name] = text_array(assembled[name], np.array(vocabulary, dtype=object))
        result = pd.DataFrame(assembled, copy=False)
    else:
        result = pd.DataFrame({c: [] for c in columns[:-2]})
    dtypes = (
        {c: "float64" for c in columns[:-2]}
        | {c: "string" for c in strings}
        | {
            "segment_id": "int64",
            "bar_start": "datetime64[us]",
            "hmm_fit_bar_start": "datetime64[us]",
            "is_toxic": "boolean",
            "toxic_bars_in_window": "int64",
            "hmm_fit_returns": "Int64",
            "hmm_window_returns": "int64",
            "series_part": "UInt64",
            "idx": "int64",
            "segment_clean_returns": "int64",
        }
    )
    result = result[columns[:-2]].astype(dtypes)
    if not turbulence_parts:  # no turbulence set (the dbt adapter attaches it afterwards): all NULL
        return result.assign(
            turbulence=np.full(len(result), np.nan),
            turbulence_drivers=pd.arrays.IntegerArray(
                np.zeros(len(result), dtype=np.int64), np.ones(len(result), dtype=bool)
            ),
        )[columns]
    # only the bars of the driver rows returned need their turbulence (an incremental run:
    # the new bars, not the whole look-back)
    drivers_rows = result[result["series_type"] == "driver"]
    since = drivers_rows.groupby("timeframe", sort=True)["bar_start"].min().to_dict() if len(drivers_rows) else {}
    turb = turbulence_rows(
        pd.concat(turbulence_parts, ignore_index=True)
        if turbulence_parts
        else pd.DataFrame(columns=["series_type", "driver", "timeframe", "bar_start", "log_return"]),
        cfg,
        since={str(k): v for k, v in since.items()},
    )
    turb.insert(0, "series_type", pd.Series(["driver"] * len(turb), dtype="string"))
    found = _looked_up(result, turb, ["series_type", "timeframe", "bar_start"], ["turbulence", "turbulence_drivers"])
    result = result.assign(turbulence=found["turbulence"], turbulence_drivers=found["turbulence_drivers"])
    return result[columns].astype({"turbulence": "float64", "turbulence_drivers": "Int64"})


def _looked_up(rows: pd.DataFrame, table: pd.DataFrame, on: list[str], columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of ``table`` (unique on ``on``) for each row of ``rows``: a left join
    of the key columns only (the rows' other columns are not copied), NULL where a row has
    no match; rows' index and order. Raises pandas.errors.MergeError when ``table`` repeats
    a key.

    Keys of text columns then one datetime column, without NULLs (every caller's): looked up
    by position (one integer key per row: the text columns' codes and the time; ~4x faster
    than the merge on fct_volatility_regimes' 1.15M rows), the same values and dtypes as the
    merge (a numpy integer column with a row without match becomes float64, as there);
    any other keys: the merge itself."""
    if table.duplicated(subset=on).any():
        raise pd.errors.MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
    pos = _key_positions(rows, table, on)
    if pos is None:
        joined = rows[on].merge(table[[*on, *columns]], how="left", on=on, validate="many_to_one")
        return joined[columns].set_axis(rows.index)
    out = {}
    for c in columns:
        values = table[c].array if isinstance(table[c].dtype, pd.api.extensions.ExtensionDtype) else table[c].to_numpy()
        out[c] = pd.api.extensions.take(values, pos, allow_fill=True)
    return pd.DataFrame(out, index=rows.index)


def _key_positions(rows: pd.DataFrame, table: pd.DataFrame, on: list[str]) -> np.ndarray | None:
    """For _looked_up: the position in ``table`` (unique on ``on``) of each row's key, -1
    where it has none; None when the keys are not text columns followed by one datetime
    column of the same dtype on both sides, or the table's keys or the rows' times hold a
    NULL (a row's NULL text matches nothing)."""
    *texts, when = on
    if rows[when].dtype != table[when].dtype or rows[when].dtype.kind != "M":
        return None
    for c in texts:
        if not (pd.api.types.is_string_dtype(rows[c].dtype) and pd.api.types.is_string_dtype(table[c].dtype)):
            return None
    if rows[when].isna().any() or any(table[c].isna().any() for c in on):
        return None
    r_group = np.zeros(len(rows), dtype=np.int64)
    t_group = np.zeros(len(table), dtype=np.int64)
    t_known = np.ones(len(table), dtype=bool)  # a table row whose texts some row has
    for c in texts:  # code 0: NULL (rows only), 1..: the rows' distinct texts
        codes, uniques = pd.factorize(rows[c])
        t_codes = pd.Index(uniques).get_indexer(table[c].to_numpy(dtype=object))
        t_known &= t_codes >= 0
        r_group = r_group * (len(uniques) + 1) + (codes + 1)
        t_group = t_group * (len(uniques) + 1) + (np.maximum(t_codes, 0) + 1)
    r_time = rows[when].to_numpy().view(np.int64)
    t_time = table[when].to_numpy().view(np.int64)
    if not len(rows) or not t_known.any():
        return np.full(len(rows), -1, dtype=np.int64)
    low = int(min(r_time.min(), t_time.min()))
    span = int(max(r_time.max(), t_time.max())) - low + 1
    if (int(max(r_group.max(), t_group.max())) + 1) * span >= 2**62:
        return None
    known = np.flatnonzero(t_known)
    at = pd.Index(t_group[known] * span + (t_time[known] - low)).get_indexer(r_group * span + (r_time - low))
    return np.where(at >= 0, known[np.maximum(at, 0)], -1)


def strategy_fit_rows(bars: pd.DataFrame, cfg: VolatilityConfig, series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hurst / AR(1) strategy fit at the cadence bars (module docstring); series: the
    two-frame input. Raises KeyError when an input column is missing."""
    every_us = np.int64(cfg.strategy_fit_every_minutes) * 60_000_000

    def segment_frame(seg: _Segment) -> tuple[dict, dict] | None:  # one segment: nothing shared
        r, x, c_of_bar, toxic, toxic_cum, bar_pos = _clean_index(seg, cfg)
        interval_us = np.int64(seg.interval_minutes) * 60_000_000
        ends = seg.bar_start.astype(np.int64) + interval_us
        rows = np.flatnonzero((ends % every_us == 0) & (c_of_bar >= cfg.hurst_window_bars - 1))
        if len(rows) == 0:
            return None
        c = c_of_bar[rows]
        hurst = vol.hurst_rs(vol.trailing_windows(x, cfg.hurst_window_bars, c), cfg.hurst_min_chunk_bars)
        phi, intercept = vol.ar1_fit(vol.trailing_windows(x, cfg.ar1_window_bars, c))
        h_fit, a_fit, trend, mean_rev = vol.strategy_fit_scores(hurst, phi)
        return seg.meta, {
            "bar_start": seg.bar_start[rows],
            "is_toxic": toxic[rows],
            "toxic_bars_in_window": _toxic_in_span(toxic_cum, bar_pos, c_of_bar, rows, cfg.hurst_window_bars),
            "hurst_exponent": hurst,
            "ar1_phi": phi,
            "ar1_intercept": intercept,
            "hurst_fit": h_fit,
            "ar1_fit": a_fit,
            "trend_fit": trend,
            "mean_reversion_fit": mean_rev,
        }

    parts = [p for p in ordered_map(segment_frame, _segments(bars, series), workers_for(len(bars))) if p is not None]
    strings = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval")
    result = (
        pd.DataFrame(concat_pieces([c for _, c in parts], [m for m, _ in parts], text=frozenset(strings)), copy=False)
        if parts
        else pd.DataFrame({c: [] for c in STRATEGY_COLUMNS})
    )
    dtypes = (
        {c: "float64" for c in STRATEGY_COLUMNS}
        | {c: "string" for c in strings}
        | {"segment_id": "int64", "bar_start": "datetime64[us]", "is_toxic": "boolean", "toxic_bars_in_window": "int64"}
    )
    return result[STRATEGY_COLUMNS].astype(dtypes)


TURBULENCE_COLUMNS = ["timeframe", "bar_start", "turbulence", "turbulence_drivers"]


def _turbulence_sections(bars: pd.DataFrame, cfg: VolatilityConfig):
    """Yield (timeframe, member names, joint-calendar frame) of each cross-section of
    :func:`turbulence_rows` with at least 2 members (the joint frame: bar_start index,
    one column of clean log returns per member, rows where every member has one)."""
    drivers = bars[bars["series_type"] == "driver"]
    for timeframe, frame in drivers.groupby("timeframe", sort=True):
        r = frame["log_return"].to_numpy(dtype=float, na_value=np.nan)
        clean, _ = vol.clean_mask(r, cfg.toxic_abs_log_return)
        wide = frame.loc[clean].pivot(index="bar_start", columns="driver", values="log_return")
        names = sorted(wide.columns)
        if len(names) >= 2:
            yield timeframe, names, wide[names].dropna().sort_index()


def _turbulence_frame(timeframe, index, values, members) -> pd.DataFrame:
    keep = np.isfinite(values)
    return pd.DataFrame(
        {
            "timeframe": timeframe,
            "bar_start": np.asarray(index)[keep],
            "turbulence": values[keep],
            "turbulence_drivers": members,
        }
    )


def _turbulence_result(parts: list) -> pd.DataFrame:
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in TURBULENCE_COLUMNS})
    return result[TURBULENCE_COLUMNS].astype(
        {"timeframe": "string", "bar_start": "datetime64[us]", "turbulence": "float64", "turbulence_drivers": "int64"}
    )


def turbulence_rows(bars: pd.DataFrame, cfg: VolatilityConfig, since: dict | None = None) -> pd.DataFrame:
    """Turbulence of the driver set of each timeframe: (timeframe, bar_start, turbulence,
    turbulence_drivers).

    The set is every driver of the timeframe in `bars` (driver rows only); the joint
    calendar is the bars where each of them has a clean log return (inner join,
    docs/architecture.md: calendars are inner-joined, nothing padded); mean and covariance come from the
    ``turbulence_window_bars`` joint bars before the bar (vol.turbulence).

    since: timeframe -> the earliest bar_start whose turbulence is wanted (a caller that
    attaches it to some rows only): the rows before it are left out and a timeframe not in
    it is skipped; each row kept has the same value as without ``since`` (its own window).
    """
    window = cfg.turbulence_window_bars
    sections = [s for s in _turbulence_sections(bars, cfg) if len(s[2]) > window and (since is None or s[0] in since)]

    def section_frame(section) -> pd.DataFrame:  # one cross-section: nothing shared
        timeframe, names, wide = section
        index = wide.index.to_numpy()
        first = 0
        if since is not None:
            wanted = np.datetime64(pd.Timestamp(since[timeframe]).to_datetime64(), "ns")
            first = int(np.searchsorted(index.astype("datetime64[ns]"), wanted, side="left"))
        start = max(first, window)
        values = np.full(len(index), np.nan)
        if start < len(index):
            values[start:] = vol.turbulence(wide.to_numpy(dtype=float)[start - window :], window)[window:]
        return _turbulence_frame(timeframe, index, values, len(names))

    # vol.turbulence limits BLAS to one thread around its inversions; that limit is process-wide
    # (threadpoolctl), so it is held here for all the sections: a section ending first must not
    # lift it under another one still inverting
    with threadpool_limits(limits=1, user_api="blas"):
        return _turbulence_result(ordered_map(section_frame, sections))


def turbulence_rows_after(
    bars: pd.DataFrame, cfg: VolatilityConfig, stored: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Incremental :func:`turbulence_rows`: only the rows after the stored ones.

    bars: the whole history (as turbulence_rows; the joint calendar needs every member's
    bars), or, for a timeframe whose stored row has ``joint_before`` > 0, a look-back that
    starts at a joint bar of every member and holds the turbulence_window_bars joint bars
    up to last_bar_start (the adapter reads it so; ``joint_before`` = the joint bars before
    it). stored: one row per timeframe with stored rows: ``timeframe``, ``stored_rows``,
    ``last_bar_start`` (the last stored row), ``members`` (its turbulence_drivers) and
    optionally ``joint_before`` (default 0: `bars` holds the whole history).
    A timeframe whose stored rows are still the full computation's rows up to
    last_bar_start (the same member count and the same number of joint bars with a full
    window up to it: joint bars are only ever added, so equal counts mean equal sets; a
    revision rewinds the stored rows first) gets the rows after last_bar_start, each
    computed from its own window (the same values as turbulence_rows, bit for bit); any
    other timeframe with stored rows (a member joined or left, a lagging member filled
    bars up to last_bar_start) is recomputed whole and named in the second return value
    (its stored rows must be deleted: some may no longer exist). Timeframes without
    stored rows are computed whole. Returns (rows as turbulence_rows, timeframes to
    replace).
    """
    window = cfg.turbulence_window_bars
    known = {t: row for t, row in zip(stored["timeframe"], stored.to_dict("records"))}
    parts, replace = [], []
    for timeframe, names, wide in _turbulence_sections(bars, cfg):
        index = wide.index.to_numpy().astype("datetime64[us]")
        values = wide.to_numpy(dtype=float)
        state = known.pop(timeframe, None)
        if state is not None:
            last = np.datetime64(pd.Timestamp(state["last_bar_start"]).to_datetime64(), "us")
            local = int(np.searchsorted(index, last, side="right"))  # first joint bar after the stored ones
            before = int(state.get("joint_before", 0) or 0)
            p0 = before + local
            if int(state["members"]) == len(names) and p0 > window and int(state["stored_rows"]) == p0 - window:
                if local < window:
                    raise ValueError(f"turbulence look-back of {timeframe} holds {local} joint bars, needs {window}")
                if len(index) > local:
                    out = vol.turbulence(values[local - window :], window)[window:]
                    parts.append(_turbulence_frame(timeframe, index[local:], out, len(names)))
                continue
            if before:
                raise ValueError(
                    f"turbulence of {timeframe}: a look-back frame cannot recompute the cross-section whole"
                )
            replace.append(timeframe)
        if len(wide) > window:
            parts.append(_turbulence_frame(timeframe, index, vol.turbulence(values, window), len(names)))
    replace.extend(known)  # stored cross-sections that lost their members
    return _turbulence_result(parts), sorted(replace)


def driver_turbulence(
    returns: pd.DataFrame, cfg: VolatilityConfig, sections: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The drivers' turbulence of a run of fct_volatility_regimes (the DuckDB adapter and the
    Spark job both call this).

    Args:
        returns: every bar's log return of the turbulence drivers (series_type, driver,
            timeframe, bar_start, log_return), whole histories.
        cfg: the constants (seed volatility_config).
        sections: None on a full build; on an incremental run the stored driver sections
            (timeframe, stored_rows, last_bar_start, members, as :func:`turbulence_rows_after`
            reads them).

    Returns:
        (turbulence, continued): :func:`turbulence_rows` (timeframe, bar_start
        datetime64[us], turbulence, turbulence_drivers) of every cross-section on a full
        build; on an incremental run :func:`turbulence_rows_after` (a stored cross-section
        that is still the full computation's: its rows after its last stored value only; any
        other whole), and continued = those continued stored sections (timeframe,
        last_bar_start; empty on a full build), after whose last_bar_start the stale-row
        check of the stored rows starts.
    """
    returns = returns.assign(bar_start=returns["bar_start"].astype("datetime64[us]"))
    if sections is None:
        return turbulence_rows(returns, cfg), pd.DataFrame(
            {"timeframe": pd.Series([], dtype="object"), "last_bar_start": pd.Series([], dtype="datetime64[us]")}
        )
    turbulence, replace = turbulence_rows_after(returns, cfg, sections)
    continued = sections[~sections["timeframe"].isin(replace)][["timeframe", "last_bar_start"]]
    return turbulence, continued.reset_index(drop=True)


def attach_driver_turbulence(rows: pd.DataFrame, driver_turbulence: pd.DataFrame) -> pd.DataFrame:
    """Fill turbulence / turbulence_drivers of the driver rows of :func:`volatility_regime_rows`
    from :func:`turbulence_rows` of the turbulence drivers (timeframe, bar_start; NULL off the
    joint calendar). Symbol rows are left as they are."""
    turb = pd.DataFrame(
        {
            "series_type": pd.Series("driver", index=driver_turbulence.index, dtype="string"),
            "timeframe": driver_turbulence["timeframe"].astype("string"),
            "bar_start": driver_turbulence["bar_start"].astype("datetime64[us]"),
            "_turbulence": driver_turbulence["turbulence"].astype("float64"),
            "_members": driver_turbulence["turbulence_drivers"].astype("Int64"),
        }
    )
    on = ["series_type", "timeframe", "bar_start"]
    keys = rows[on].astype({"series_type": "string", "timeframe": "string", "bar_start": "datetime64[us]"})
    found = _looked_up(keys, turb, on, ["_turbulence", "_members"])
    is_driver = keys["series_type"] == "driver"
    return rows.assign(
        turbulence=rows["turbulence"].astype("float64").where(~is_driver, found["_turbulence"]),
        turbulence_drivers=rows["turbulence_drivers"].astype("Int64").where(~is_driver, found["_members"]),
    ).astype({"turbulence": "float64", "turbulence_drivers": "Int64"})


def attach_symbol_turbulence(rows: pd.DataFrame, symbol_turbulence: pd.DataFrame) -> pd.DataFrame:
    """Fill turbulence / turbulence_drivers of the symbol rows of :func:`volatility_regime_rows`
    from marts.fct_symbol_turbulence (exchange, bar_interval, bar_start, turbulence,
    turbulence_symbols): every symbol of an exchange x interval gets its cross-section's
    value at the bar (NULL off the joint calendar). Driver rows are left as they are."""
    turb = pd.DataFrame(
        {
            "series_type": "symbol",
            "exchange": symbol_turbulence["exchange"].astype("string"),
            "bar_interval": symbol_turbulence["bar_interval"].astype("string"),
            "bar_start": symbol_turbulence["bar_start"].astype("datetime64[us]"),
            "_turbulence": symbol_turbulence["turbulence"].astype("float64"),
            "_members": symbol_turbulence["turbulence_symbols"].astype("Int64"),
        }
    ).astype({"series_type": "string"})
    found = _looked_up(
        rows, turb, ["series_type", "exchange", "bar_interval", "bar_start"], ["_turbulence", "_members"]
    )
    is_symbol = rows["series_type"] == "symbol"
    return rows.assign(
        turbulence=rows["turbulence"].where(~is_symbol, found["_turbulence"]),
        turbulence_drivers=rows["turbulence_drivers"].where(~is_symbol, found["_members"]),
    ).astype({"turbulence": "float64", "turbulence_drivers": "Int64"})


def symbol_turbulence_rows(turbulence: pd.DataFrame) -> pd.DataFrame:
    """marts.fct_symbol_turbulence's rows from :func:`turbulence_rows` /
    :func:`turbulence_rows_after` over symbol cross-sections (``timeframe`` =
    ``exchange|bar_interval``): exchange, bar_interval, bar_start (datetime64[us]),
    turbulence, turbulence_symbols (the members of the row's cross-section)."""
    key = turbulence["timeframe"].astype(str).str.split("|", n=1, expand=True) if len(turbulence) else None
    return pd.DataFrame(
        {
            "exchange": pd.Series([] if key is None else key[0], dtype="string"),
            "bar_interval": pd.Series([] if key is None else key[1], dtype="string"),
            "bar_start": turbulence["bar_start"].to_numpy().astype("datetime64[us]"),
            "turbulence": turbulence["turbulence"].to_numpy(dtype="float64"),
            "turbulence_symbols": turbulence["turbulence_drivers"].to_numpy(dtype="int64"),
        }
    )
