"""Volatility-regime detector candidates side by side on a built warehouse (research).

Reads a finished build READ-ONLY (``--db``; default $MARKET_REGIMES_DB, else the project's
warehouse/market_regimes.duckdb): every driver
and symbol series at 1h and 1d, the final bars' log returns per segment
(intermediate.int_indicator_series_listed + int_indicator_bars_prepared, as
fct_volatility_regimes reads them) and today's label (marts.fct_volatility_regimes.vol_regime).
Toxic bars (|log return| > the seed's toxic_abs_log_return) are left out of every window and
carry the previous label, as in the model.

Candidates (market_regimes.research.vol_detectors; every constant below is a default of
this script, listed in the JSON's ``config``):

* ``stored_vol_regime`` — the model's ``vol_regime`` as stored (the detector chosen by the
  seed's ``vol_regime_detector``; rv_percentile by default, at the seed's settings: nothing
  tuned here). Timed by the volatility model itself (benchmarks/update.py).
* ``hmm_today`` (a) — the model's HMM label as stored (``hmm_vol_regime``: the 2-state HMM
  on single-bar |log return|).
  It is also recomputed here with the engine (``volatility.hmm_filter``, the seed's
  constants) to time it on the same machine and to run it on the shuffled null; the
  recomputed labels must equal the stored ones (``agreement``).
* ``baseline_quantile`` — the plain trailing-quantile rule with hysteresis at fixed, untuned
  settings (RV over 24 1h / 20 1d bars, quantiles over 720 / 250 bars, enter at the 0.7
  quantile, leave below 0.4).
* ``rv_percentile`` (b), ``hmm_logrv`` (c), ``hmm_sticky`` (d: fixed stay probability +
  minimum dwell), ``rv_dwell`` (d, the other way: (b) with a minimum dwell),
  ``garch_percentile`` (e: needs the ``arch`` package; skipped with a note when it is
  missing), ``rv_intraday`` ((b) on 1h; on 1d the percentile rule on the log RV of the
  market's last N 1h returns up to the day's close; markets without 1h bars, the dominance
  drivers, fall back to daily returns) — tuned on a small grid (GRIDS below).
* ``oracle`` — the look-ahead ceiling: high = forward vol above the series' median over the
  evaluated bars. ``oracle_threshold`` — look-ahead only in the threshold: high = trailing
  20-bar RV above its median over the evaluated bars (no hysteresis). Not detectors.

Evaluation bars: the bars fct_volatility_regimes labels (from the segment's 250th clean
return on; every candidate starts labelling there). Split per series (series_id, time order,
``grid_outcomes.evaluation_mask``): the first 60% tune, the last 40% report. Tuning drops the
last ``horizon`` training bars (their forward window reaches into the reported part).

Tuning (per interval, one parameter set for all series of the interval): maximise the
geometric mean over series of the training separation ratio (series with >= 30 training
bars in each regime) subject to changes per 100 bars <= 0.9 x the acceptance bound (3
hourly, 5 daily), pooled over the interval's series and on each of the BTC and ALT drivers
(the first tuning bounded the pooled rate only: BTC daily then changed 5.98 times per 100
bars out of sample), and a share of high bars in [0.2, 0.5]
(a regime, not a rare-spike flag; the ratio grows as the high share shrinks). No feasible
setting: the fewest changes wins (reported as ``feasible: false``).

Measures on the reported part (all point-in-time labels, forward outcomes by design):
forward 20-bar realized vol sqrt(mean r^2 over t+1..t+20, clean returns, not crossing a
segment); ratio high / low per series and per group (BTC and ALT drivers, pooled symbol
series, pooled drivers) with a 95% block-bootstrap interval (blocks of 20 bars resampled
within each series: grid_outcomes' helper; for the pooled symbol groups also the calendar
bootstrap of the pooled findings, bar starts resampled together), changes per 100 bars,
share of bars high, compute seconds (labels of every 1h and 1d series, tuned settings), and
the shuffled-returns null (each segment's returns permuted, seed + segment number; the same
tuned pipeline, forward vol of the permuted returns: a ratio near 1 means no look-ahead leak).

Output: JSON to stdout (and ``--out FILE``), a markdown table (``--markdown FILE``, and in
the JSON under ``markdown``).

Usage: .venv/bin/python benchmarks/vol_detectors.py [--db PATH] [--out FILE] [--markdown FILE]
       [--cache-dir DIR] [--skip-null] [--n-boot 1000] [--candidates a,b,...]

A full run takes ~8 minutes on the loaded 2-core machine (one process); ``--cache-dir``
keeps the scores of every grid setting between runs (~1 GB for a full run; the seconds
reported for a cached score are those of the run that computed it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import pickle
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from market_regimes.engines import volatility as vol  # noqa: E402
from market_regimes.engines.volatility_config import load_config_csv  # noqa: E402
from market_regimes.research import vol_detectors as vd  # noqa: E402
from market_regimes.research.grid_outcomes import evaluation_mask  # noqa: E402

INTERVALS = ("1h", "1d")
HORIZON = 20  # forward realized-vol bars
TRAIN_FRAC = 0.6
BLOCK = 20  # bootstrap block, bars
MIN_REGIME_BARS = 30  # a series counts in the tuning objective with this many training bars per regime
SHARE_BOUNDS = (0.2, 0.5)  # tuning: share of high bars
CHANGE_BOUND = {"1h": 3.0, "1d": 5.0}  # acceptance: regime changes per 100 bars
TUNE_MARGIN = 0.9  # tuning keeps changes <= this x the bound
ACCEPT = {"ratio_1h": 1.35, "ratio_1d": 1.15, "pooled_1h_ci_low": 1.2, "model_seconds": 28.0}
MIN_BARS = 250  # = seed hmm_min_fit_bars: candidates label the bars the model labels

Q_PAIRS = [(e, x) for e in (0.6, 0.7, 0.8, 0.9, 0.95) for x in (0.3, 0.5, 0.7) if x <= e]
P_PAIRS = [(e, x) for e in (0.5, 0.7, 0.9) for x in (0.1, 0.3, 0.5) if x <= e]

# per interval: fixed settings of the baseline and the grid of each tuned candidate
BASELINE = {
    "1h": vd.RVPercentileParams(rv_bars=24, pct_window_bars=720, pct_every_bars=24, q_enter=0.7, q_exit=0.4),
    "1d": vd.RVPercentileParams(rv_bars=20, pct_window_bars=250, pct_every_bars=1, q_enter=0.7, q_exit=0.4),
}
GRIDS = {
    "rv_percentile": {
        "1h": {"rv_bars": (12, 24, 48), "pct_window_bars": (720, 2160), "pct_every_bars": (24,), "q": Q_PAIRS},
        "1d": {"rv_bars": (5, 10, 20), "pct_window_bars": (250, 500), "pct_every_bars": (1,), "q": Q_PAIRS},
    },
    "rv_dwell": {
        "1h": {
            "rv_bars": (12, 24, 48),
            "pct_window_bars": (720, 2160),
            "pct_every_bars": (24,),
            "min_dwell_bars": (24, 72),
            "q": Q_PAIRS,
        },
        "1d": {
            "rv_bars": (5, 10, 20),
            "pct_window_bars": (250, 500),
            "pct_every_bars": (1,),
            "min_dwell_bars": (5, 10),
            "q": Q_PAIRS,
        },
    },
    "rv_intraday": {  # 1h: the rv_percentile detector; 1d: rv_bars counts the market's 1h returns
        "1h": {"rv_bars": (12, 24, 48), "pct_window_bars": (720, 2160), "pct_every_bars": (24,), "q": Q_PAIRS},
        "1d": {"rv_bars": (120, 240, 480), "pct_window_bars": (250, 500), "pct_every_bars": (1,), "q": Q_PAIRS},
    },
    "hmm_logrv": {
        "1h": {"rv_bars": (12, 24, 48), "window_bars": (1000,), "refit_every_bars": (720,), "p": P_PAIRS},
        "1d": {"rv_bars": (5, 10, 20), "window_bars": (500,), "refit_every_bars": (20,), "p": P_PAIRS},
    },
    "hmm_sticky": {
        "1h": {
            "rv_bars": (6, 24),
            "window_bars": (1000,),
            "refit_every_bars": (720,),
            "init_stay_prob": (0.99, 0.998),
            "min_dwell_bars": (0, 24),
            "p": P_PAIRS,
        },
        "1d": {
            "rv_bars": (5, 20),
            "window_bars": (500,),
            "refit_every_bars": (20,),
            "init_stay_prob": (0.95, 0.99),
            "min_dwell_bars": (0, 5),
            "p": P_PAIRS,
        },
    },
    "garch_percentile": {
        "1h": {"window_bars": (720, 1440), "refit_every_bars": (720,), "q": Q_PAIRS},
        "1d": {"window_bars": (250, 500), "refit_every_bars": (20, 60), "q": Q_PAIRS},
    },
}
CANDIDATES = (
    "stored_vol_regime",
    "hmm_today",
    "baseline_quantile",
    "rv_percentile",
    "rv_dwell",
    "rv_intraday",
    "hmm_logrv",
    "hmm_sticky",
    "garch_percentile",
    "oracle_threshold",
    "oracle",
)


# --------------------------------------------------------------------------- data
@dataclass
class Panel:
    """All bars of one interval, sorted by series_id, segment, time; per segment its clean
    returns and bar slice."""

    interval: str
    minutes: int
    frame: pd.DataFrame  # series_id, series_type, driver, part, bar_start, log_return, labelled, hmm_label
    clean: np.ndarray
    part: np.ndarray  # segment code per bar
    slices: list  # (start, end) bar rows of each segment
    fv: np.ndarray
    labelled: np.ndarray
    oos: np.ndarray
    train: np.ndarray
    series_code: np.ndarray
    series_names: np.ndarray
    segments: list = field(default_factory=list)  # clean returns per segment

    def with_returns(self, log_return: np.ndarray) -> "Panel":
        """The same panel over other returns (the shuffled null): clean mask, forward vol and
        segments recomputed; the split and labelled bars kept."""
        clean, _ = vol.clean_mask(log_return, TOXIC)
        fv = vd.forward_rv(log_return, clean, self.part, HORIZON)
        frame = self.frame.assign(log_return=log_return)
        out = replace(self, frame=frame, clean=clean, fv=fv)
        out.segments = [log_return[a:b][clean[a:b]] for a, b in self.slices]
        return out


TOXIC = 0.5  # replaced by the seed's value in main()


def load(db: str) -> pd.DataFrame:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.sql(f"""
            select s.series_part, s.series_type, s.series_id, s.driver, s.bar_interval, s.interval_minutes,
                   cast(s.segment_id as bigint) as segment_id, b.idx, b.bar_start, b.log_return,
                   f.idx is not null as labelled,
                   case f.hmm_vol_regime when 'high' then 1.0 when 'low' then 0.0 end as hmm_label,
                   case f.vol_regime when 'high' then 1.0 when 'low' then 0.0 end as stored_label
            from intermediate.int_indicator_series_listed s
            join intermediate.int_indicator_bars_prepared b using (series_part)
            left join marts.fct_volatility_regimes f on f.series_part = b.series_part and f.idx = b.idx
            where s.bar_interval in ({", ".join(f"'{i}'" for i in INTERVALS)})
            order by s.bar_interval, s.series_id, s.segment_id, b.idx""").df()
    finally:
        con.close()


def panel(frame: pd.DataFrame, interval: str) -> Panel:
    f = frame[frame["bar_interval"] == interval].reset_index(drop=True)
    # segments without a labelled bar (too short for the model) are left out
    keep = f.groupby("series_part")["labelled"].transform("any")
    f = f[keep].reset_index(drop=True)
    part, _ = pd.factorize(f["series_part"])
    r = f["log_return"].to_numpy(dtype=float, na_value=np.nan)
    clean, _ = vol.clean_mask(r, TOXIC)
    bounds = np.flatnonzero(np.r_[True, part[1:] != part[:-1], True])
    slices = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    labelled = f["labelled"].to_numpy(dtype=bool)
    fv = vd.forward_rv(r, clean, part, HORIZON)
    # split per series over the labelled bars in time order
    lab_rows = np.flatnonzero(labelled)
    oos = np.zeros(len(f), dtype=bool)
    oos[lab_rows] = evaluation_mask(
        pd.DataFrame({"series_key": f["series_id"].to_numpy()[lab_rows], "idx": f["bar_start"].to_numpy()[lab_rows]}),
        TRAIN_FRAC,
    )
    # training part without its last HORIZON bars per series (their forward window reaches the reported part)
    series_code, series_names = pd.factorize(f["series_id"])
    train = labelled & ~oos
    pos = np.zeros(len(f), dtype=np.int64)
    tr = np.flatnonzero(train)
    grp = series_code[tr]
    first = np.r_[True, grp[1:] != grp[:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(tr)), 0))
    pos[tr] = np.arange(len(tr)) - starts
    n_train = np.bincount(grp, minlength=len(series_names))
    train[tr] = pos[tr] < n_train[grp] - HORIZON
    p = Panel(
        interval=interval,
        minutes=int(f["interval_minutes"].iloc[0]),
        frame=f,
        clean=clean,
        part=part,
        slices=slices,
        fv=fv,
        labelled=labelled,
        oos=oos,
        train=train,
        series_code=series_code,
        series_names=np.asarray(series_names),
    )
    p.segments = [r[a:b][clean[a:b]] for a, b in slices]
    return p


def to_bars(p: Panel, clean_labels: list[np.ndarray]) -> np.ndarray:
    out = np.full(len(p.frame), np.nan)
    for (a, b), lab in zip(p.slices, clean_labels):
        out[a:b] = vd.clean_to_bars(lab, p.clean[a:b])
    return out


# --------------------------------------------------------------------------- cache
class Cache:
    """Scores keyed by (candidate, interval, score settings, data), with the seconds and fit
    counts of their computation: in memory, and on disk under --cache-dir when given
    (pickles; delete the folder after a code change)."""

    def __init__(self, folder: str | None, db: str):
        self.mem: dict = {}
        self.folder = Path(folder) if folder else None
        st = os.stat(db)
        self.db_id = f"{db}:{st.st_size}:{int(st.st_mtime)}"
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: tuple, compute, cost: dict | None = None):
        """compute(stats) -> value; cost, if given, receives the entry's ``seconds`` and fit stats."""
        if key not in self.mem:
            path = None
            if self.folder:
                digest = hashlib.sha1(repr((self.db_id, key)).encode()).hexdigest()[:20]
                path = self.folder / f"{digest}.pkl"
            if path is not None and path.exists():
                self.mem[key] = pickle.loads(path.read_bytes())
            else:
                stats: dict = {}
                t0 = time.perf_counter()
                value = compute(stats)
                self.mem[key] = (value, time.perf_counter() - t0, stats)
                if path is not None:
                    path.write_bytes(pickle.dumps(self.mem[key]))
        value, seconds, stats = self.mem[key]
        if cost is not None:
            cost["seconds"] = cost.get("seconds", 0.0) + seconds
            for k, v in stats.items():
                cost[k] = cost.get(k, 0) + v
        return value


# --------------------------------------------------------------------------- scoring
def series_stats(p: Panel, labels: np.ndarray, mask: np.ndarray) -> pd.DataFrame:
    """Per series over `mask`: n bars, changes, mean fv high / low, bars high / low."""
    k = len(p.series_names)
    use = mask & np.isfinite(labels)
    finite = use & np.isfinite(p.fv)
    high, low = finite & (labels == 1.0), finite & (labels == 0.0)
    code = p.series_code
    pair = use[1:] & use[:-1] & (p.part[1:] == p.part[:-1])
    change = pair & (labels[1:] != labels[:-1])
    stats = pd.DataFrame(
        {
            "series_id": p.series_names,
            "bars": np.bincount(code[use], minlength=k),
            "changes": np.bincount(code[1:][change], minlength=k),
            "n_high": np.bincount(code[high], minlength=k),
            "n_low": np.bincount(code[low], minlength=k),
            "sum_high": np.bincount(code[high], weights=p.fv[high], minlength=k),
            "sum_low": np.bincount(code[low], weights=p.fv[low], minlength=k),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        stats["ratio"] = (stats["sum_high"] / stats["n_high"]) / (stats["sum_low"] / stats["n_low"])
        stats["changes_per_100"] = 100 * stats["changes"] / stats["bars"]
        stats["share_high"] = stats["n_high"] / (stats["n_high"] + stats["n_low"])
    return stats


def objective(p: Panel, labels: np.ndarray) -> dict:
    """Training objective and constraints of one setting (module docstring)."""
    s = series_stats(p, labels, p.train)
    ok = (s["n_high"] >= MIN_REGIME_BARS) & (s["n_low"] >= MIN_REGIME_BARS) & (s["ratio"] > 0)
    geo = float(np.exp(np.log(s.loc[ok, "ratio"]).mean())) if ok.any() else float("nan")
    changes = 100 * s["changes"].sum() / max(s["bars"].sum(), 1)
    share = s["n_high"].sum() / max((s["n_high"] + s["n_low"]).sum(), 1)
    tf = "meso" if p.interval == "1h" else "macro"
    drivers = s[s["series_id"].isin([f"BTC|{tf}", f"ALT|{tf}"])]
    driver_changes = float((100 * drivers["changes"] / drivers["bars"].clip(lower=1)).max()) if len(drivers) else 0.0
    feasible = bool(
        changes <= TUNE_MARGIN * CHANGE_BOUND[p.interval]
        and driver_changes <= TUNE_MARGIN * CHANGE_BOUND[p.interval]
        and SHARE_BOUNDS[0] <= share <= SHARE_BOUNDS[1]
        and ok.sum() >= 0.5 * len(s)
    )
    return {
        "geo_ratio": geo,
        "changes_per_100": float(changes),
        "share_high": float(share),
        "series_counted": int(ok.sum()),
        "feasible": feasible,
    }


def pick(trials: list[dict]) -> dict:
    feasible = [t for t in trials if t["train"]["feasible"] and math.isfinite(t["train"]["geo_ratio"])]
    if feasible:
        return max(feasible, key=lambda t: (t["train"]["geo_ratio"], -t["train"]["changes_per_100"]))
    return min(trials, key=lambda t: t["train"]["changes_per_100"])


# --------------------------------------------------------------------------- candidates
def rv_scores(p: Panel, params: vd.RVPercentileParams, qs, cache: Cache, tag: str, cost: dict | None = None):
    key = (
        "rv",
        tag,
        p.interval,
        params.rv_bars,
        params.pct_window_bars,
        params.pct_every_bars,
        params.min_bars,
        tuple(qs),
    )
    return cache.get(key, lambda stats: [vd.rv_percentile_score(x, params, qs) for x in p.segments], cost)


def hmm_probs(p: Panel, params: vd.HmmLogRVParams, cache: Cache, tag: str, cost: dict | None = None):
    fit_fields = replace(params, p_enter=0.5, p_exit=0.5, min_dwell_bars=0)
    key = ("hmm", tag, p.interval, repr(fit_fields))
    return cache.get(key, lambda stats: vd.hmm_logrv_probability(p.segments, params, stats), cost)


def garch_scores(p: Panel, params: vd.GarchParams, qs, cache: Cache, tag: str, cost: dict | None = None):
    key = (
        "garch",
        tag,
        p.interval,
        params.window_bars,
        params.refit_every_bars,
        params.scale,
        params.min_bars,
        tuple(qs),
    )
    return cache.get(key, lambda stats: vd.garch_score(p.segments, params, qs, stats), cost)


HOURLY: dict[str, Panel] = {}  # tag ("real" / "null") -> the 1h panel the intraday daily score reads


def market_key(series_id: str) -> str:
    """The market of a series id without its interval part: BTC|macro -> BTC, binance|X|1d -> binance|X."""
    return series_id.rsplit("|", 1)[0]


def intraday_scores(p: Panel, params: vd.RVPercentileParams, qs, cache: Cache, tag: str, cost: dict | None = None):
    """Daily score from the market's 1h returns (vd.intraday_log_rv over params.rv_bars 1h
    returns) with quantiles over params.pct_window_bars daily bars; a market without 1h
    bars falls back to the daily RV over rv_bars / 24 days."""

    def compute(stats):
        hourly = HOURLY[tag]
        by_market: dict[str, list] = {}
        starts = hourly.frame["bar_start"].to_numpy()
        for (a, b), x in zip(hourly.slices, hourly.segments):
            key = market_key(hourly.frame["series_id"].iat[a])
            by_market.setdefault(key, []).append((starts[a:b][hourly.clean[a:b]], x))
        out = []
        day_starts = p.frame["bar_start"].to_numpy()
        fallback = 0
        for (a, b), x in zip(p.slices, p.segments):
            segs = by_market.get(market_key(p.frame["series_id"].iat[a]), [])
            if segs:
                score = vd.intraday_log_rv(segs, params.rv_bars, day_starts[a:b], hourly.minutes, p.minutes)[
                    p.clean[a:b]
                ]
            else:
                fallback += 1
                score = vd.log_realized_vol(x, max(1, params.rv_bars // 24))
            thr = vd.scheduled_quantiles(
                score, params.min_bars, params.pct_every_bars, params.pct_window_bars, qs, omit_nan=True
            )
            out.append((score, thr))
        stats["segments_without_intraday_bars"] = fallback
        return out

    key = (
        "intraday",
        tag,
        p.interval,
        params.rv_bars,
        params.pct_window_bars,
        params.pct_every_bars,
        params.min_bars,
        tuple(qs),
    )
    return cache.get(key, compute, cost)


ALL_Q = sorted({q for pair in Q_PAIRS for q in pair} | {0.4})


def threshold_labels(p: Panel, scores, qs, enter, exit_, dwell) -> np.ndarray:
    return to_bars(p, [vd.labels_from_thresholds(s, t, qs, enter, exit_, dwell, MIN_BARS) for s, t in scores])


def prob_labels(p: Panel, probs, enter, exit_, dwell) -> np.ndarray:
    return to_bars(p, [vd.labels_from_probability(q, enter, exit_, dwell, MIN_BARS) for q in probs])


def grid_settings(name: str, interval: str):
    g = GRIDS[name][interval]
    keys = [k for k in g if k not in ("q", "p")]
    pairs = g.get("q", g.get("p"))
    for values in product(*(g[k] for k in keys)):
        for enter, exit_ in pairs:
            yield dict(zip(keys, values)), enter, exit_


def make_params(name: str, fixed: dict, enter: float, exit_: float):
    if name in ("rv_percentile", "rv_dwell", "rv_intraday"):
        return vd.RVPercentileParams(q_enter=enter, q_exit=exit_, min_bars=MIN_BARS, **fixed)
    if name == "hmm_logrv":
        return vd.HmmLogRVParams(p_enter=enter, p_exit=exit_, min_bars=MIN_BARS, **fixed)
    if name == "hmm_sticky":
        return vd.HmmLogRVParams(p_enter=enter, p_exit=exit_, min_bars=MIN_BARS, fit_transitions=False, **fixed)
    if name == "garch_percentile":
        return vd.GarchParams(q_enter=enter, q_exit=exit_, min_bars=MIN_BARS, **fixed)
    raise KeyError(name)


def candidate_labels(name: str, p: Panel, params, cache: Cache, tag: str, cost: dict | None = None) -> np.ndarray:
    """Bar labels of a candidate at given settings (scores cached). cost, if given, gets the
    seconds of the scores (when they were computed) plus those of the labels now."""
    t0 = time.perf_counter()
    if name == "rv_intraday" and p.interval == "1d":
        scores = intraday_scores(p, params, ALL_Q, cache, tag, cost)
        t0 = time.perf_counter()
        labels = threshold_labels(p, scores, ALL_Q, params.q_enter, params.q_exit, params.min_dwell_bars)
    elif name in ("rv_percentile", "rv_dwell", "rv_intraday", "baseline_quantile"):
        scores = rv_scores(p, params, ALL_Q, cache, tag, cost)
        t0 = time.perf_counter()
        labels = threshold_labels(p, scores, ALL_Q, params.q_enter, params.q_exit, params.min_dwell_bars)
    elif name in ("hmm_logrv", "hmm_sticky"):
        probs = hmm_probs(p, params, cache, tag, cost)
        t0 = time.perf_counter()
        labels = prob_labels(p, probs, params.p_enter, params.p_exit, params.min_dwell_bars)
    elif name == "garch_percentile":
        scores = garch_scores(p, params, ALL_Q, cache, tag, cost)
        t0 = time.perf_counter()
        labels = threshold_labels(p, scores, ALL_Q, params.q_enter, params.q_exit, params.min_dwell_bars)
    else:
        raise KeyError(name)
    if cost is not None:
        cost["seconds"] = cost.get("seconds", 0.0) + time.perf_counter() - t0
    return labels


def tune(name: str, p: Panel, cache: Cache, log) -> tuple[object, list[dict]]:
    trials = []
    for fixed, enter, exit_ in grid_settings(name, p.interval):
        params = make_params(name, fixed, enter, exit_)
        t0 = time.perf_counter()
        labels = candidate_labels(name, p, params, cache, "real")
        trials.append({"params": params, "train": objective(p, labels)})
        log(f"  {name} {p.interval} {fixed} {enter}/{exit_}: {trials[-1]['train']} ({time.perf_counter() - t0:.1f}s)")
    best = pick(trials)
    return best["params"], trials


def engine_hmm_labels(p: Panel, cfg) -> tuple[np.ndarray, float]:
    """The model's HMM label recomputed with the engine (volatility.hmm_filter per segment,
    the seed's constants): label = high where p_high >= high_vol_prob_threshold."""
    t0 = time.perf_counter()
    clean_labels = []
    for x in p.segments:
        prob = vol.hmm_filter(np.abs(x), cfg, cfg.refit_every(p.minutes))["p_high"]
        lab = np.where(np.isfinite(prob), (prob >= cfg.high_vol_prob_threshold).astype(float), np.nan)
        clean_labels.append(lab)
    return to_bars(p, clean_labels), time.perf_counter() - t0


# --------------------------------------------------------------------------- report
def groups(p: Panel) -> dict[str, np.ndarray]:
    f = p.frame
    sid = f["series_id"].to_numpy()
    tf = "meso" if p.interval == "1h" else "macro"
    return {
        "BTC": sid == f"BTC|{tf}",
        "ALT": sid == f"ALT|{tf}",
        "symbols": (f["series_type"] == "symbol").to_numpy(),
        "drivers": (f["series_type"] == "driver").to_numpy(),
    }


def evaluate(p: Panel, labels: np.ndarray, n_boot: int, seed: int, with_ci: bool = True) -> dict:
    out = {}
    mask_all = p.oos & p.labelled
    per = series_stats(p, labels, mask_all)
    for gname, g in groups(p).items():
        m = mask_all & g
        sep = vd.separation(p.fv, labels, m)
        rate, changes, bars = vd.changes_per_100(labels, p.part, m)
        rows = per[per["series_id"].isin(np.unique(p.frame["series_id"].to_numpy()[g]))]
        row = {
            "ratio": sep["ratio"],
            "mean_fv_high": sep["mean_high"],
            "mean_fv_low": sep["mean_low"],
            "share_high": sep["share_high"],
            "bars": bars,
            "changes_per_100": rate,
            "max_series_changes_per_100": float(rows["changes_per_100"].max()) if len(rows) else float("nan"),
            "series": int(len(rows)),
            "median_series_ratio": float(rows["ratio"].median()) if len(rows) else None,
            "series_ratio_above_1": int((rows["ratio"] > 1).sum()),
        }
        if with_ci and bars:
            _, lo, hi = vd.ratio_ci(p.fv, labels, p.series_code, m, BLOCK, n_boot, seed)
            row["ci"] = [lo, hi]
            if gname in ("symbols", "drivers"):
                _, clo, chi = vd.calendar_ratio_ci(
                    p.fv, labels, p.frame["bar_start"].to_numpy(), m, BLOCK, n_boot, seed
                )
                row["calendar_ci"] = [clo, chi]
        out[gname] = row
    out["per_series"] = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in per[["series_id", "bars", "ratio", "changes_per_100", "share_high"]].to_dict("records")
    ]
    return out


def acceptance(res: dict, seconds: float | None) -> dict:
    h, d = res.get("1h", {}), res.get("1d", {})
    g = lambda iv, grp, k: (iv.get(grp) or {}).get(k, float("nan"))  # noqa: E731
    checks = {
        "BTC_1h_ratio": g(h, "BTC", "ratio") >= ACCEPT["ratio_1h"],
        "ALT_1h_ratio": g(h, "ALT", "ratio") >= ACCEPT["ratio_1h"],
        "BTC_1d_ratio": g(d, "BTC", "ratio") >= ACCEPT["ratio_1d"],
        "ALT_1d_ratio": g(d, "ALT", "ratio") >= ACCEPT["ratio_1d"],
        "symbols_1h_ci_low": ((h.get("symbols") or {}).get("ci") or [float("nan")])[0] > ACCEPT["pooled_1h_ci_low"],
        "changes_1h": max(g(h, k, "changes_per_100") for k in ("BTC", "ALT", "symbols")) <= CHANGE_BOUND["1h"],
        "changes_1d": max(g(d, k, "changes_per_100") for k in ("BTC", "ALT", "symbols")) <= CHANGE_BOUND["1d"],
        "seconds": seconds is not None and seconds <= ACCEPT["model_seconds"],
    }
    return {"checks": checks, "all": all(checks.values())}


def fmt_ratio(row: dict | None, ci_key: str = "ci") -> str:
    if not row or row.get("ratio") is None or not math.isfinite(row["ratio"]):
        return "-"
    ci = row.get(ci_key)
    return f"{row['ratio']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


PARAM_KEYS = (
    "rv_bars",
    "pct_window_bars",
    "window_bars",
    "refit_every_bars",
    "init_stay_prob",
    "min_dwell_bars",
    "q_enter",
    "q_exit",
    "p_enter",
    "p_exit",
)


def markdown(results: dict) -> str:
    """Three tables: separation, behaviour and cost, tuned settings."""

    def cell(row, ci_key="ci"):
        return fmt_ratio(row, ci_key)

    sep = [
        "**Separation** (out of sample, last 40% of each series): mean forward 20-bar RV in the high regime / "
        "in the low regime, 95% block-bootstrap CI (blocks of 20 bars resampled within each series; "
        "`cal.`: the calendar bootstrap, bar starts resampled together across series); `median`: median "
        "over the pooled symbol series of their own ratio.",
        "",
        "| candidate | BTC 1h | ALT 1h | BTC 1d | ALT 1d | symbols 1h pooled | symbols 1h cal. CI | "
        "symbols 1d pooled "
        "| median 1h / 1d |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    beh = [
        "**Behaviour and cost**: regime changes per 100 bars (BTC / ALT / pooled symbols), share of bars "
        "high (pooled symbols), compute seconds for the labels of every 1h and 1d series (tuned settings; "
        "hmm_today: the engine's HMM recomputed in the same run), shuffled-returns null ratio with its CI "
        "(pooled 1h symbols; BTC 1h), acceptance checks failed.",
        "",
        "| candidate | chg/100 1h | chg/100 1d | high share 1h / 1d | seconds 1h + 1d | null 1h symbols | "
        "null BTC 1h "
        "| acceptance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    par = [
        "**Tuned settings** (first 60% of each series; see the JSON for every field):",
        "",
        "| candidate | 1h | 1d |",
        "|---|---|---|",
    ]
    for name, c in results.items():
        if "skipped" in c:
            sep.append(f"| {name} | skipped: {c['skipped']} |" + " |" * 7)
            continue
        h, d = c["oos"].get("1h", {}), c["oos"].get("1d", {})
        sym_h = h.get("symbols", {})
        cal = sym_h.get("calendar_ci")
        med = " / ".join(f"{iv['symbols']['median_series_ratio']:.2f}" if iv.get("symbols") else "-" for iv in (h, d))
        sep.append(
            f"| {name} | {cell(h.get('BTC'))} | {cell(h.get('ALT'))} | {cell(d.get('BTC'))} | "
            f"{cell(d.get('ALT'))} | {cell(sym_h)} | {f'[{cal[0]:.2f}, {cal[1]:.2f}]' if cal else '-'} | "
            f"{cell(d.get('symbols'))} | {med} |"
        )
        chg = lambda iv: " / ".join(  # noqa: E731
            f"{iv[k]['changes_per_100']:.1f}" if iv.get(k) else "-" for k in ("BTC", "ALT", "symbols")
        )
        share = " / ".join(f"{iv['symbols']['share_high']:.2f}" if iv.get("symbols") else "-" for iv in (h, d))
        secs = c.get("seconds", {})
        secs_s = f"{secs['total']:.1f} ({secs.get('1h', 0):.1f} + {secs.get('1d', 0):.1f})" if "total" in secs else "-"
        null = c.get("null", {}).get("1h", {})
        acc = c.get("acceptance", {})
        failed = [k for k, v in acc.get("checks", {}).items() if not v]
        verdict = ("pass" if not failed else "fails " + ", ".join(failed)) if acc else "-"
        beh.append(
            f"| {name} | {chg(h)} | {chg(d)} | {share} | {secs_s} | {cell(null.get('symbols'))} | "
            f"{cell(null.get('BTC'))} | {verdict} |"
        )
        if name in ("hmm_today", "stored_vol_regime") or name.startswith("oracle"):
            continue

        def fmt(iv, c=c):
            return ", ".join(
                f"{k} {v}"
                for k, v in c["params"].get(iv, {}).items()
                if k in PARAM_KEYS and not (k == "min_dwell_bars" and v == 0)
            )

        par.append(f"| {name} | {fmt('1h')} | {fmt('1d')} |")
    return "\n".join(sep + [""] + beh + [""] + par)


def params_dict(params) -> dict:
    return asdict(params) if params is not None else {}


def main() -> None:
    global TOXIC
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=None, help="DuckDB warehouse (default: $MARKET_REGIMES_DB or the project's)")
    ap.add_argument("--out")
    ap.add_argument("--markdown")
    ap.add_argument("--cache-dir")
    ap.add_argument("--skip-null", action="store_true")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # EM's "not converging" notes at float rounding
    cfg = load_config_csv()
    TOXIC = cfg.toxic_abs_log_return
    wanted = [c.strip() for c in args.candidates.split(",") if c.strip()]
    from market_regimes.cli import resolve_db

    args.db = str(resolve_db(args.db).resolve())
    cache = Cache(args.cache_dir, args.db)
    t0 = time.perf_counter()
    load_at_start = os.getloadavg()
    frame = load(args.db)
    panels = {iv: panel(frame, iv) for iv in INTERVALS}
    log(f"loaded {len(frame)} bars in {time.perf_counter() - t0:.1f}s")
    data = {
        iv: {
            "series": int(len(p.series_names)),
            "segments": len(p.slices),
            "bars": int(len(p.frame)),
            "labelled_bars": int(p.labelled.sum()),
            "oos_bars": int(p.oos.sum()),
            "train_bars": int(p.train.sum()),
        }
        for iv, p in panels.items()
    }
    nulls = {}
    if not args.skip_null:
        for iv, p in panels.items():
            r = p.frame["log_return"].to_numpy(dtype=float, na_value=np.nan).copy()
            for j, (a, b) in enumerate(p.slices):
                r[a:b] = vd.shuffled_returns(r[a:b], args.seed + j)
            nulls[iv] = p.with_returns(r)
    try:
        import arch  # noqa: F401

        have_arch = True
    except ImportError:
        have_arch = False

    HOURLY["real"] = panels["1h"]
    if nulls:
        HOURLY["null"] = nulls["1h"]
    results: dict = {}
    for name in wanted:
        log(f"== {name}")
        res: dict = {"oos": {}, "params": {}, "seconds": {}}
        if name == "garch_percentile" and not have_arch:
            results[name] = {"skipped": "the arch package is not installed"}
            continue
        for iv, p in panels.items():
            if name == "hmm_today":
                labels = p.frame["hmm_label"].to_numpy(dtype=float, na_value=np.nan)
                recomputed, secs = engine_hmm_labels(p, cfg)
                m = p.labelled & np.isfinite(labels)
                res.setdefault("agreement", {})[iv] = {
                    "bars": int(m.sum()),
                    "equal": int((recomputed[m] == labels[m]).sum()),
                }
                res["seconds"][iv] = secs
                res["params"][iv] = {
                    "seed": f"volatility_config (hmm_*), refit every {cfg.refit_every(p.minutes)} clean returns"
                }
                null_labels = engine_hmm_labels(nulls[iv], cfg)[0] if nulls else None
            elif name == "stored_vol_regime":
                labels = p.frame["stored_label"].to_numpy(dtype=float, na_value=np.nan)
                res["params"][iv] = {"seed": "volatility_config (vol_regime_detector and its rv_* / hmm_* rows)"}
                null_labels = None
            elif name == "oracle":
                labels = vd.oracle_labels(p.fv, p.frame["series_id"].to_numpy(), p.oos & p.labelled)
                null_labels = None
            elif name == "oracle_threshold":
                trailing = np.full(len(p.frame), np.nan)
                for (a, b), x in zip(p.slices, p.segments):
                    trailing[a:b] = vd.clean_to_bars(vd.log_realized_vol(x, HORIZON), p.clean[a:b])
                labels = vd.oracle_labels(trailing, p.frame["series_id"].to_numpy(), p.oos & p.labelled)
                null_labels = None
            else:
                if name == "baseline_quantile":
                    params = BASELINE[iv]
                    res["params"][iv] = params_dict(params)
                else:
                    params, trials = tune(name, p, cache, log)
                    best = next(t for t in trials if t["params"] == params)
                    res["params"][iv] = params_dict(params)
                    res.setdefault("tuning", {})[iv] = {"grid_size": len(trials), "train": best["train"]}
                    res["tuning"][iv]["feasible_settings"] = sum(t["train"]["feasible"] for t in trials)
                cost: dict = {}
                labels = candidate_labels(name, p, params, cache, "real", cost)
                res["seconds"][iv] = cost.pop("seconds")
                if cost:
                    res.setdefault("fits", {})[iv] = cost
                null_labels = candidate_labels(name, nulls[iv], params, cache, "null") if nulls else None
            res["oos"][iv] = evaluate(p, labels, args.n_boot, args.seed)
            if null_labels is not None:
                res.setdefault("null", {})[iv] = {
                    k: v
                    for k, v in evaluate(nulls[iv], null_labels, args.n_boot, args.seed).items()
                    if k != "per_series"
                }
            log(
                f"  {iv}: BTC {res['oos'][iv]['BTC']['ratio']:.3f} ALT {res['oos'][iv]['ALT']['ratio']:.3f} "
                f"symbols {res['oos'][iv]['symbols']['ratio']:.3f} {res['oos'][iv]['symbols'].get('ci')} "
                f"chg {res['oos'][iv]['symbols']['changes_per_100']:.2f}"
            )
        if not name.startswith("oracle") and name != "stored_vol_regime":
            res["seconds"]["total"] = sum(v for k, v in res["seconds"].items())
            if "hmm_today" in results:
                res["seconds"]["relative_to_hmm_today"] = (
                    res["seconds"]["total"] / results["hmm_today"]["seconds"]["total"]
                )
            res["acceptance"] = acceptance(res["oos"], res["seconds"]["total"])
        results[name] = res
    out = {
        "db": args.db,
        "data": data,
        "load_average_at_start": load_at_start,
        "config": {
            "horizon_bars": HORIZON,
            "train_frac": TRAIN_FRAC,
            "block_bars": BLOCK,
            "n_boot": args.n_boot,
            "seed": args.seed,
            "min_regime_bars": MIN_REGIME_BARS,
            "share_bounds": SHARE_BOUNDS,
            "change_bound_per_100": CHANGE_BOUND,
            "tune_margin": TUNE_MARGIN,
            "acceptance": ACCEPT,
            "min_bars": MIN_BARS,
            "toxic_abs_log_return": TOXIC,
            "arch_installed": have_arch,
            "grids": {k: {iv: {kk: list(vv) for kk, vv in g.items()} for iv, g in v.items()} for k, v in GRIDS.items()},
            "baseline": {iv: params_dict(b) for iv, b in BASELINE.items()},
        },
        "candidates": results,
        "wall_seconds": time.perf_counter() - t0,
        "load_average_at_end": os.getloadavg(),
    }
    out["markdown"] = markdown(results)
    text = json.dumps(out, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o), allow_nan=True)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.markdown:
        Path(args.markdown).write_text(out["markdown"] + "\n")


if __name__ == "__main__":
    main()
