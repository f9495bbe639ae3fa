"""Table-shaped adapter of the volatility / spectral detector (pandas in, pandas out; no dbt).

Input, either of two shapes:
* `bars` alone: one row per final bar of each series segment, columns ``series_type``
  ('driver' | 'symbol'), ``series_id``, ``driver``, ``timeframe``, ``exchange``,
  ``symbol``, ``bar_interval``, ``interval_minutes``, ``segment_id``, ``bar_start``,
  ``log_return`` (ln close_t / close_t-1 within the segment; NULL at its first bar) —
  intermediate.int_indicator_series_listed joined to int_indicator_bars_prepared
  (:func:`input_sql`);
* `series` (one row per series segment: ``series_part`` and the series columns above,
  :func:`series_sql`) plus `bars` with ``series_part``, ``bar_start``, ``log_return``
  (:func:`bars_sql`): the same data without repeating the text columns on every bar
  (what the dbt models read: ~2 s less per model on the sample).

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
  later bar; vol_regime = p_high_vol >= high_vol_prob_threshold;
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

from market_regimes.engines import volatility as vol
from market_regimes.engines.volatility_config import VolatilityConfig

SERIES_COLUMNS = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval",
                  "segment_id")
INPUT_COLUMNS = (*SERIES_COLUMNS, "interval_minutes", "bar_start", "log_return")
SORT = ["series_id", "segment_id", "bar_start"]


def _intervals(bar_intervals: str) -> str:
    wanted = [i.strip() for i in str(bar_intervals).split(",") if i.strip()]
    if not wanted or not all(i.isalnum() for i in wanted):
        raise ValueError(f"volatility frames: bad bar_intervals {bar_intervals!r}")
    return ", ".join(f"'{i}'" for i in wanted)


def input_sql(series: str, bars: str, bar_intervals: str) -> str:
    """SELECT of the one-frame input shape from relations `series`
    (int_indicator_series_listed) and `bars` (int_indicator_bars_prepared), restricted to
    the comma-separated `bar_intervals` (e.g. '1d,1h'). Raises ValueError on an interval
    that is not a plain token."""
    return f"""
        select s.series_type, s.series_id, s.driver, s.timeframe, s.exchange, s.symbol, s.bar_interval,
               s.interval_minutes, cast(s.segment_id as bigint) as segment_id, b.bar_start, b.log_return
        from {series} s join {bars} b using (series_part)
        where s.bar_interval in ({_intervals(bar_intervals)})
        order by s.series_id, s.segment_id, b.bar_start"""


def series_sql(series: str, bar_intervals: str) -> str:
    """SELECT of the `series` frame of the two-frame input (see input_sql)."""
    return f"""
        select s.series_part, s.series_type, s.series_id, s.driver, s.timeframe, s.exchange, s.symbol,
               s.bar_interval, s.interval_minutes, cast(s.segment_id as bigint) as segment_id
        from {series} s
        where s.bar_interval in ({_intervals(bar_intervals)})
        order by s.series_id, s.segment_id"""


def bars_sql(series: str, bars: str, bar_intervals: str) -> str:
    """SELECT of the `bars` frame of the two-frame input (see input_sql)."""
    return f"""
        select b.series_part, b.bar_start, b.log_return
        from {bars} b
        where b.series_part in (select series_part from {series} where bar_interval in ({_intervals(bar_intervals)}))
        order by b.series_part, b.bar_start"""


def volatility_columns(cfg: VolatilityConfig) -> list[str]:
    """Output columns of :func:`volatility_regime_rows` (wavelet bands follow the config)."""
    return [*SERIES_COLUMNS, "bar_start", "log_return", "abs_log_return", "is_toxic", "toxic_bars_in_window",
            "hmm_fit_bar_start", "hmm_fit_returns", "hmm_window_returns", "hmm_mean_low", "hmm_mean_high",
            "hmm_std_low", "hmm_std_high", "hmm_stay_prob_low", "hmm_stay_prob_high", "p_low_vol", "p_high_vol",
            "vol_regime", "prev_vol_regime",
            *[f"wavelet_energy_{b}" for b in vol.wavelet_bands(cfg)], "spectral_entropy",
            "direction_return", "direction_efficiency_ratio", "direction", "quadrant", "prev_quadrant",
            "turbulence", "turbulence_drivers"]


STRATEGY_COLUMNS = [*SERIES_COLUMNS, "bar_start", "is_toxic", "toxic_bars_in_window", "hurst_exponent",
                    "ar1_phi", "ar1_intercept", "hurst_fit", "ar1_fit", "trend_fit", "mean_reversion_fit"]


class _Segment:
    """One series segment: its series columns (meta), bar_start and log_return arrays."""

    def __init__(self, meta: dict, bar_start: np.ndarray, log_return: np.ndarray):
        self.meta = {c: meta[c] for c in SERIES_COLUMNS}
        self.interval_minutes = int(meta["interval_minutes"])
        self.bar_start = bar_start.astype("datetime64[us]")
        self.log_return = log_return


def _segments(bars: pd.DataFrame, series: pd.DataFrame | None = None):
    """Yield every series segment in (series_id, segment_id) order, bars in time order."""
    if series is None:
        missing = [c for c in INPUT_COLUMNS if c not in bars.columns]
        if missing:
            raise KeyError(f"volatility frames: missing input columns {missing}")
        ordered = bars.sort_values(SORT, kind="stable")
        for _, seg in ordered.groupby(["series_id", "segment_id"], sort=False):
            yield _Segment(seg.iloc[0].to_dict(), seg["bar_start"].to_numpy(),
                           seg["log_return"].to_numpy(dtype=float, na_value=np.nan))
        return
    missing = [c for c in ("series_part", *SERIES_COLUMNS, "interval_minutes") if c not in series.columns]
    missing += [c for c in ("series_part", "bar_start", "log_return") if c not in bars.columns]
    if missing:
        raise KeyError(f"volatility frames: missing input columns {missing}")
    ordered = bars.sort_values(["series_part", "bar_start"], kind="stable")
    positions = ordered.groupby("series_part", sort=False).indices
    starts = ordered["bar_start"].to_numpy()
    returns = ordered["log_return"].to_numpy(dtype=float, na_value=np.nan)
    for meta in series.sort_values(["series_id", "segment_id"], kind="stable").to_dict("records"):
        at = positions.get(meta["series_part"])
        if at is not None:
            yield _Segment(meta, starts[at], returns[at])


def _clean_index(seg: _Segment, cfg: VolatilityConfig):
    """(log returns, clean returns, clean index per bar (-1 before the first), is_toxic,
    toxic count up to each bar, bar position of each clean index)."""
    r = seg.log_return
    clean, toxic = vol.clean_mask(r, cfg.toxic_abs_log_return)
    c_of_bar = np.cumsum(clean) - 1
    return r, r[clean], c_of_bar, toxic, np.cumsum(toxic), np.flatnonzero(clean)


def _toxic_in_span(toxic_cum: np.ndarray, bar_pos: np.ndarray, c_of_bar: np.ndarray, rows: np.ndarray,
                   n: int) -> np.ndarray:
    """Toxic bars between the first bar of the window of n clean returns behind each row
    (rows: bar positions) and the row itself."""
    first = bar_pos[np.maximum(c_of_bar[rows] - n + 1, 0)]
    return toxic_cum[rows] - toxic_cum[first]


def _series_values(seg: _Segment, rows: np.ndarray) -> dict:
    return dict(seg.meta) | {"bar_start": seg.bar_start[rows]}


def _prev(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:1] = None
    out[1:] = values[:-1]
    return out


def volatility_regime_rows(bars: pd.DataFrame, cfg: VolatilityConfig, stats: dict | None = None,
                           turbulence_drivers: list[str] | None = None,
                           series: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per bar with a label; see the module docstring and volatility_columns().

    turbulence_drivers: the drivers whose returns form the cross-section of
    :func:`turbulence_rows` (per timeframe); its value is attached to every driver row of
    that timeframe and bar (NULL on symbol rows, and everywhere when None).
    stats, if given, receives ``hmm_fits`` (hmmlearn fits run) and ``series_segments``.
    series: the two-frame input (module docstring). Raises KeyError when an input column
    is missing.
    """
    parts, n_fits, n_segments = [], 0, 0
    bands = vol.wavelet_bands(cfg)
    wanted = set(turbulence_drivers or [])
    turbulence_parts = []
    for seg in _segments(bars, series):
        if seg.meta["series_type"] == "driver" and seg.meta["driver"] in wanted:
            turbulence_parts.append(pd.DataFrame({
                "series_type": "driver", "driver": seg.meta["driver"], "timeframe": seg.meta["timeframe"],
                "bar_start": seg.bar_start, "log_return": seg.log_return}))
        n_segments += 1
        r, x, c_of_bar, toxic, toxic_cum, bar_pos = _clean_index(seg, cfg)
        rows = np.flatnonzero(c_of_bar >= cfg.hmm_min_fit_bars - 1)
        if len(rows) == 0:
            continue
        every = cfg.refit_every(seg.interval_minutes)
        hmm = vol.hmm_filter(np.abs(x), cfg, every)
        n_fits += int(hmm["n_fits"])
        c = c_of_bar[rows]
        # the clean indices with rows, computed once each (a toxic bar reuses its predecessor's)
        uniq, back = np.unique(c, return_inverse=True)
        shares, entropy = vol.wavelet_energy(vol.trailing_windows(x, cfg.wavelet_window_bars, uniq), cfg)
        ret, er, direction = vol.direction_inputs(vol.trailing_windows(x, cfg.direction_window_bars, uniq),
                                                  cfg.direction_min_efficiency_ratio)
        p_high = hmm["p_high"][c]
        has_p = np.isfinite(p_high)
        regime = np.where(has_p, np.where(p_high >= cfg.high_vol_prob_threshold, "high", "low"), None).astype(object)
        dirs = direction[back]
        quads = vol.quadrants(regime, dirs)
        fit_index = hmm["fit_index"][c]
        fit_start = np.where(fit_index >= 0, seg.bar_start[bar_pos[np.maximum(fit_index, 0)]], np.datetime64("NaT"))
        parts.append(pd.DataFrame({
            **_series_values(seg, rows),
            "log_return": r[rows], "abs_log_return": np.abs(r[rows]), "is_toxic": toxic[rows],
            "toxic_bars_in_window": _toxic_in_span(toxic_cum, bar_pos, c_of_bar, rows, cfg.hmm_window_bars),
            "hmm_fit_bar_start": fit_start, "hmm_fit_returns": hmm["fit_obs"][c],
            "hmm_window_returns": np.minimum(c + 1, cfg.hmm_window_bars).astype(float),
            "hmm_mean_low": hmm["mean_low"][c], "hmm_mean_high": hmm["mean_high"][c],
            "hmm_std_low": hmm["std_low"][c], "hmm_std_high": hmm["std_high"][c],
            "hmm_stay_prob_low": hmm["stay_low"][c], "hmm_stay_prob_high": hmm["stay_high"][c],
            "p_low_vol": 1.0 - p_high, "p_high_vol": p_high,
            "vol_regime": regime, "prev_vol_regime": _prev(regime),
            **{f"wavelet_energy_{b}": shares[back, j] for j, b in enumerate(bands)},
            "spectral_entropy": entropy[back],
            "direction_return": ret[back], "direction_efficiency_ratio": er[back], "direction": dirs,
            "quadrant": quads, "prev_quadrant": _prev(quads),
        }))
    if stats is not None:
        stats.update(hmm_fits=n_fits, series_segments=n_segments)
    columns = volatility_columns(cfg)
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in columns[:-2]})
    strings = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval",
               "vol_regime", "prev_vol_regime", "direction", "quadrant", "prev_quadrant")
    dtypes = {c: "float64" for c in columns[:-2]} | {c: "string" for c in strings} | {
        "segment_id": "int64", "bar_start": "datetime64[us]", "hmm_fit_bar_start": "datetime64[us]",
        "is_toxic": "boolean", "toxic_bars_in_window": "int64", "hmm_fit_returns": "Int64",
        "hmm_window_returns": "int64"}
    result = result[columns[:-2]].astype(dtypes)
    turb = turbulence_rows(pd.concat(turbulence_parts, ignore_index=True) if turbulence_parts
                           else pd.DataFrame(columns=["series_type", "driver", "timeframe", "bar_start", "log_return"]),
                           cfg)
    turb.insert(0, "series_type", pd.Series(["driver"] * len(turb), dtype="string"))
    result = result.merge(turb, how="left", on=["series_type", "timeframe", "bar_start"], validate="many_to_one")
    return result[columns].astype({"turbulence": "float64", "turbulence_drivers": "Int64"})


def strategy_fit_rows(bars: pd.DataFrame, cfg: VolatilityConfig, series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hurst / AR(1) strategy fit at the cadence bars (module docstring); series: the
    two-frame input. Raises KeyError when an input column is missing."""
    parts = []
    every_us = np.int64(cfg.strategy_fit_every_minutes) * 60_000_000
    for seg in _segments(bars, series):
        r, x, c_of_bar, toxic, toxic_cum, bar_pos = _clean_index(seg, cfg)
        interval_us = np.int64(seg.interval_minutes) * 60_000_000
        ends = seg.bar_start.astype(np.int64) + interval_us
        rows = np.flatnonzero((ends % every_us == 0) & (c_of_bar >= cfg.hurst_window_bars - 1))
        if len(rows) == 0:
            continue
        c = c_of_bar[rows]
        hurst = vol.hurst_rs(vol.trailing_windows(x, cfg.hurst_window_bars, c), cfg.hurst_min_chunk_bars)
        phi, intercept = vol.ar1_fit(vol.trailing_windows(x, cfg.ar1_window_bars, c))
        h_fit, a_fit, trend, mean_rev = vol.strategy_fit_scores(hurst, phi)
        parts.append(pd.DataFrame({
            **_series_values(seg, rows), "is_toxic": toxic[rows],
            "toxic_bars_in_window": _toxic_in_span(toxic_cum, bar_pos, c_of_bar, rows, cfg.hurst_window_bars),
            "hurst_exponent": hurst, "ar1_phi": phi, "ar1_intercept": intercept, "hurst_fit": h_fit,
            "ar1_fit": a_fit, "trend_fit": trend, "mean_reversion_fit": mean_rev,
        }))
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in STRATEGY_COLUMNS})
    strings = ("series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval")
    dtypes = {c: "float64" for c in STRATEGY_COLUMNS} | {c: "string" for c in strings} | {
        "segment_id": "int64", "bar_start": "datetime64[us]", "is_toxic": "boolean", "toxic_bars_in_window": "int64"}
    return result[STRATEGY_COLUMNS].astype(dtypes)


def turbulence_rows(bars: pd.DataFrame, cfg: VolatilityConfig) -> pd.DataFrame:
    """Turbulence of the driver set of each timeframe: (timeframe, bar_start, turbulence,
    turbulence_drivers).

    The set is every driver of the timeframe in `bars` (driver rows only); the joint
    calendar is the bars where each of them has a clean log return (inner join,
    docs/architecture.md: calendars are inner-joined, nothing padded); mean and covariance come from the
    ``turbulence_window_bars`` joint bars before the bar (vol.turbulence).
    """
    drivers = bars[bars["series_type"] == "driver"]
    parts = []
    for timeframe, frame in drivers.groupby("timeframe", sort=True):
        r = frame["log_return"].to_numpy(dtype=float, na_value=np.nan)
        clean, _ = vol.clean_mask(r, cfg.toxic_abs_log_return)
        wide = frame.loc[clean].pivot(index="bar_start", columns="driver", values="log_return")
        names = sorted(wide.columns)
        wide = wide[names].dropna().sort_index()
        if len(names) < 2 or len(wide) <= cfg.turbulence_window_bars:
            continue
        values = vol.turbulence(wide.to_numpy(dtype=float), cfg.turbulence_window_bars)
        keep = np.isfinite(values)
        parts.append(pd.DataFrame({"timeframe": timeframe, "bar_start": wide.index.to_numpy()[keep],
                                   "turbulence": values[keep], "turbulence_drivers": len(names)}))
    columns = ["timeframe", "bar_start", "turbulence", "turbulence_drivers"]
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in columns})
    return result[columns].astype({"timeframe": "string", "bar_start": "datetime64[us]", "turbulence": "float64",
                                   "turbulence_drivers": "int64"})


def attach_symbol_turbulence(rows: pd.DataFrame, symbol_turbulence: pd.DataFrame) -> pd.DataFrame:
    """Fill turbulence / turbulence_drivers of the symbol rows of :func:`volatility_regime_rows`
    from marts.fct_symbol_turbulence (exchange, bar_interval, bar_start, turbulence,
    turbulence_symbols): every symbol of an exchange x interval gets its cross-section's
    value at the bar (NULL off the joint calendar). Driver rows are left as they are."""
    turb = pd.DataFrame({
        "series_type": "symbol", "exchange": symbol_turbulence["exchange"].astype("string"),
        "bar_interval": symbol_turbulence["bar_interval"].astype("string"),
        "bar_start": symbol_turbulence["bar_start"].astype("datetime64[us]"),
        "_turbulence": symbol_turbulence["turbulence"].astype("float64"),
        "_members": symbol_turbulence["turbulence_symbols"].astype("Int64")}).astype({"series_type": "string"})
    out = rows.merge(turb, how="left", on=["series_type", "exchange", "bar_interval", "bar_start"],
                     validate="many_to_one")
    is_symbol = out["series_type"] == "symbol"
    out["turbulence"] = out["turbulence"].where(~is_symbol, out["_turbulence"])
    out["turbulence_drivers"] = out["turbulence_drivers"].where(~is_symbol, out["_members"])
    return out[list(rows.columns)].astype({"turbulence": "float64", "turbulence_drivers": "Int64"})
