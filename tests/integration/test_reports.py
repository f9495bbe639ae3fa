"""reports.rpt_regime_forward_returns and reports.rpt_regime_transitions on the bundled
sample (docs/volatility-regimes.md, issue 6 item 3), recomputed independently in pandas/numpy from the marts:

* the price path of a series straight from marts.fct_driver_bars / fct_symbol_bars (final,
  primary bars) or, for a trend_vol market's own series, from the daily series of its seed
  row (newest day provisional, a new segment after a gap of more than max_gap_bars days);
* the labels straight from marts.fct_uptrend_states / fct_volatility_regimes /
  fct_market_regimes (a market also on the series var regime_report_market_series maps it
  to), and the "same bars" rule: the bars every detector that labels the series labels;
* forward log returns, forward realized vol (sample std of the next h one-bar returns,
  numpy two-pass) and the per-regime statistics, compared to 1e-12; transition counts,
  row sums, runs and whipsaw counted bar by bar.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import PROJECT, query

pytestmark = pytest.mark.integration

VARS = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
HORIZONS = VARS["regime_report_horizon_bars"]
MARKET_SERIES = VARS["regime_report_market_series"]
MAX_GAP_BARS = VARS["max_gap_bars"]
DETECTORS = ("uptrend", "volatility_rv", "volatility_hmm", "volatility_quadrant", "trend_vol")
RTOL, ATOL = 1e-12, 1e-15  # determinism (docs/architecture.md); ATOL only for values that are ~0 (means of returns)


# --- independent recomputation --------------------------------------------------------------


def price_path(db, series_id: str) -> pd.DataFrame:
    """bar_start, segment_id, close of the series' final bars in time order, from the marts."""
    parts = series_id.split("|")
    if parts[0] == "market":
        price_series = query(db, f"select price_series from seeds.trend_vol_markets where market = '{parts[1]}'").iloc[
            0, 0
        ]
        days = query(
            db,
            f"select bar_start, close from staging.stg_landing__daily_series "
            f"where series = '{price_series}' order by bar_start",
        ).iloc[:-1]  # newest day provisional
        gap = days["bar_start"].diff() > pd.Timedelta(days=MAX_GAP_BARS)
        return days.assign(segment_id=1 + gap.cumsum().to_numpy()).reset_index(drop=True)
    if len(parts) == 2:
        where = f"driver = '{parts[0]}' and timeframe = '{parts[1]}' and is_final"
        table = "marts.fct_driver_bars"
    else:
        where = f"exchange = '{parts[0]}' and symbol = '{parts[1]}' and bar_interval = '{parts[2]}' and is_final and is_primary"
        table = "marts.fct_symbol_bars"
    return query(db, f"select bar_start, segment_id, close from {table} where {where} order by bar_start")


def labels(db, series_id: str) -> pd.DataFrame:
    """bar_start x detector label columns (NaN = no label) for every detector of the series."""
    frames = {}
    parts = series_id.split("|")
    if len(parts) == 2 and parts[0] != "market":
        frames["uptrend"] = query(
            db,
            f"select bar_start, state as regime from marts.fct_uptrend_states "
            f"where driver = '{parts[0]}' and timeframe = '{parts[1]}'",
        )
    vol = query(
        db,
        f"select bar_start, rv_vol_regime, hmm_vol_regime, quadrant from marts.fct_volatility_regimes "
        f"where series_id = '{series_id}'",
    )
    frames["volatility_rv"] = vol[["bar_start", "rv_vol_regime"]].dropna().rename(columns={"rv_vol_regime": "regime"})
    frames["volatility_hmm"] = (
        vol[["bar_start", "hmm_vol_regime"]].dropna().rename(columns={"hmm_vol_regime": "regime"})
    )
    frames["volatility_quadrant"] = vol[["bar_start", "quadrant"]].dropna().rename(columns={"quadrant": "regime"})
    markets = [parts[1]] if parts[0] == "market" else [m for m, s in MARKET_SERIES.items() if s == series_id]
    for market in markets:
        frames["trend_vol"] = query(
            db, f"select bar_start, regime from marts.fct_market_regimes where market = '{market}'"
        )
    out = None
    for detector, frame in frames.items():
        if len(frame):
            frame = frame.set_index("bar_start")["regime"].rename(detector)
            out = frame.to_frame() if out is None else out.join(frame, how="outer")
    return out


def aligned_bars(db, series_id: str) -> pd.DataFrame:
    """The series' final bars with position in segment, log return, the detectors' labels
    (on final bars only) and is_aligned (every detector present on the series labels the bar)."""
    bars = price_path(db, series_id)
    bars["pos"] = bars.groupby("segment_id").cumcount()
    bars["log_return"] = np.log(bars["close"] / bars.groupby("segment_id")["close"].shift(1))
    bars = bars.join(labels(db, series_id), on="bar_start")
    present = [d for d in DETECTORS if d in bars and bars[d].notna().any()]
    bars["is_aligned"] = bars[present].notna().all(axis=1)
    return bars, present


def forward_values(bars: pd.DataFrame, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward log return ln(c[t+h]/c[t]) and sample std (ddof 1, two-pass numpy) of the h
    one-bar log returns t+1..t+h, NaN unless bar t+h is in the same segment."""
    fr, rv = np.full(len(bars), np.nan), np.full(len(bars), np.nan)
    for _, seg in bars.groupby("segment_id"):
        idx, close, r = seg.index.to_numpy(), seg["close"].to_numpy(), seg["log_return"].to_numpy()
        if len(seg) <= h:
            continue
        fr[idx[:-h]] = np.log(close[h:] / close[:-h])
        windows = np.lib.stride_tricks.sliding_window_view(r[1:], h)  # windows[t] = r[t+1 .. t+h]
        rv[idx[:-h]] = windows.std(axis=1, ddof=1)
    return fr, rv


def report_row(db, detector, series_id, regime, h) -> pd.Series:
    rows = query(
        db,
        f"select * from reports.rpt_regime_forward_returns where detector = '{detector}' and "
        f"series_id = '{series_id}' and regime = '{regime}' and horizon_bars = {h}",
    )
    assert len(rows) == 1, rows
    return rows.iloc[0]


def close(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or bool(np.isclose(a, b, rtol=RTOL, atol=ATOL))


# --- forward returns --------------------------------------------------------------------------

CASES = [
    ("uptrend", "BTC|meso", "S3", 20),  # two segments (Binance 2021-23, Bybit 2025), 3 detectors
    ("uptrend", "BTC|meso", "S0", 5),
    ("volatility_hmm", "BTC|macro", "high", 10),  # 5 detectors incl. the mapped trend_vol market
    ("volatility_rv", "BTC|meso", "high", 20),
    ("trend_vol", "BTC|macro", "uptrend_low_vol", 20),
    ("trend_vol", "market|BTC", "downtrend_high_vol", 5),
    ("volatility_quadrant", "binance|ETHUSDT|1h", "QUIET", 20),
    ("uptrend", "ALT|micro", "S1", 10),  # one detector: all its labelled bars
]


@pytest.mark.parametrize(("detector", "series_id", "regime", "h"), CASES)
def test_forward_returns_equal_an_independent_recomputation(sample_db, detector, series_id, regime, h):
    assert h in HORIZONS
    bars, present = aligned_bars(sample_db, series_id)
    assert detector in present
    fr, rv = forward_values(bars, h)
    mask = (bars["is_aligned"] & (bars[detector] == regime)).to_numpy()
    returns, vols = fr[mask & ~np.isnan(fr)], rv[mask & ~np.isnan(fr)]
    n = len(returns)
    assert n >= 2, f"{detector} {series_id} {regime}: too few bars to test"
    sd = returns.std(ddof=1)
    expected = {
        "n": n,
        "n_bars_labelled": int(mask.sum()),
        "n_detectors": len(present),
        "mean_return": returns.mean(),
        "median_return": np.median(returns),
        "win_rate": (returns > 0).mean(),
        "sd_return": sd,
        "t_stat": returns.mean() / (sd / np.sqrt(n)) if sd > 0 else np.nan,
        "mean_forward_rv": vols.mean(),
        "median_forward_rv": np.median(vols),
        "share_of_bars": mask.sum() / (bars["is_aligned"] & bars[detector].notna()).sum(),
    }
    row = report_row(sample_db, detector, series_id, regime, h)
    print(
        f"{detector} {series_id} {regime} h={h}: n {n}, mean {expected['mean_return']:.6f}, "
        f"t {expected['t_stat']:.3f}, rv {expected['mean_forward_rv']:.6f}"
    )
    for column in ("n", "n_bars_labelled", "n_detectors"):
        assert row[column] == expected[column], column
    for column, value in expected.items():
        assert close(row[column], value), f"{column}: report {row[column]!r} vs recomputed {value!r}"


def test_every_detector_series_regime_and_horizon_has_a_row(sample_db):
    """Each labelled aligned (detector, series, regime) has one row per horizon of the var."""
    combos = query(
        sample_db,
        """
        select detector, series_id, count(distinct regime) as regimes, count(distinct horizon_bars) as horizons,
               count(*) as n_rows
        from reports.rpt_regime_forward_returns group by all""",
    )
    assert (combos["horizons"] == len(HORIZONS)).all()
    assert (combos["n_rows"] == combos["regimes"] * len(HORIZONS)).all()
    detectors = combos.groupby("detector")["series_id"].nunique().to_dict()
    print("series per detector:", detectors)
    # uptrend on every driver x timeframe, the volatility detectors on every 1d/1h driver and
    # symbol series, trend_vol on its market and the mapped driver series
    n_uptrend = query(sample_db, "select count(distinct driver || timeframe) from marts.fct_uptrend_states").iloc[0, 0]
    n_vol = query(sample_db, "select count(distinct series_id) from marts.fct_volatility_regimes").iloc[0, 0]
    assert detectors["uptrend"] == n_uptrend
    assert detectors["volatility_rv"] == detectors["volatility_hmm"] == detectors["volatility_quadrant"] == n_vol
    markets = set(query(sample_db, "select distinct market from marts.fct_market_regimes")["market"])
    assert detectors["trend_vol"] == len(markets) + len(markets & set(MARKET_SERIES))  # sample: market|BTC, BTC|macro


def test_no_label_is_lost_on_the_way_to_the_aligned_bars(sample_db):
    """Every label of the marts sits on a final bar of its series in rpt_regime_labels_aligned
    (a mapped market only on the days its driver series has a bar)."""
    got = query(
        sample_db,
        """
        select count(uptrend_regime) as uptrend, count(volatility_rv_regime) as rv, count(volatility_hmm_regime) as hmm,
               count(volatility_quadrant_regime) as quadrant,
               count(trend_vol_regime) filter (where series_type = 'market') as trend_vol
        from reports.rpt_regime_labels_aligned""",
    ).iloc[0]
    marts = query(
        sample_db,
        """
        select (select count(*) from marts.fct_uptrend_states) as uptrend,
               (select count(rv_vol_regime) from marts.fct_volatility_regimes) as rv,
               (select count(hmm_vol_regime) from marts.fct_volatility_regimes) as hmm,
               (select count(quadrant) from marts.fct_volatility_regimes) as quadrant,
               (select count(*) from marts.fct_market_regimes) as trend_vol""",
    ).iloc[0]
    assert got.to_dict() == marts.to_dict()
    for market, series_id in MARKET_SERIES.items():
        driver, timeframe = series_id.split("|")
        on_bars = query(
            sample_db,
            f"""
            select count(*) from marts.fct_market_regimes r join marts.fct_driver_bars b
              on b.driver = '{driver}' and b.timeframe = '{timeframe}' and b.bar_start = r.bar_start and b.is_final
            where r.market = '{market}'""",
        ).iloc[0, 0]
        mapped = query(
            sample_db,
            f"select count(trend_vol_regime) from reports.rpt_regime_labels_aligned where series_id = '{series_id}'",
        ).iloc[0, 0]
        print(f"market {market} on {series_id}: {mapped} labelled days")
        assert mapped == on_bars > 0


def test_detectors_are_measured_on_the_same_bars(sample_db):
    """On every series with several detectors, each detector has the same labelled bars and,
    per horizon, the same number of forward values; on BTC|macro the bar count equals the
    pandas intersection of the five detectors' labelled days."""
    counts = query(
        sample_db,
        """
        select series_id, horizon_bars, detector, sum(n_bars_labelled) as bars, sum(n) as n, max(n_detectors) as k
        from reports.rpt_regime_forward_returns group by all""",
    )
    for (series_id, h), group in counts.groupby(["series_id", "horizon_bars"]):
        assert len(group) == group["k"].iloc[0], (series_id, h)
        assert group["bars"].nunique() == 1 and group["n"].nunique() == 1, group
    bars, present = aligned_bars(sample_db, "BTC|macro")
    assert present == list(DETECTORS)
    btc = counts[(counts["series_id"] == "BTC|macro")]
    assert (btc["bars"] == bars["is_aligned"].sum()).all()
    assert bars["is_aligned"].sum() < bars[["uptrend", "volatility_hmm", "trend_vol"]].notna().sum().min()
    transitions = query(
        sample_db,
        """
        select series_id, detector, max(n_bars_labelled) as bars
        from reports.rpt_regime_transitions group by all""",
    )
    merged = transitions.merge(counts[counts["horizon_bars"] == HORIZONS[0]], on=["series_id", "detector"])
    assert (merged["bars_x"] == merged["bars_y"]).all()


def test_forward_values_never_cross_a_segment_boundary(sample_db):
    """BTC|meso has two segments (2021-23 Binance, 2025 Bybit): per horizon, the aligned bars
    without a forward value are exactly the aligned bars among the last h of each segment."""
    bars, _ = aligned_bars(sample_db, "BTC|meso")
    assert bars["segment_id"].nunique() == 2
    rows = query(
        sample_db,
        """
        select horizon_bars, sum(n_bars_labelled - n) as without_forward
        from reports.rpt_regime_forward_returns
        where detector = 'uptrend' and series_id = 'BTC|meso' group by all""",
    ).set_index("horizon_bars")
    size = bars.groupby("segment_id")["pos"].transform("size")
    for h in HORIZONS:
        tail = bars["is_aligned"] & (bars["pos"] >= size - h)
        assert rows.loc[h, "without_forward"] == tail.sum()


# --- transitions ------------------------------------------------------------------------------


def test_transition_probabilities_sum_to_one(sample_db):
    sums = query(
        sample_db,
        """
        select detector, series_id, from_regime, sum(probability) as total, count(*) as n_to
        from reports.rpt_regime_transitions group by all""",
    )
    assert len(sums) > 500
    assert np.allclose(sums["total"], 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("detector", "series_id"),
    [
        ("uptrend", "BTC|meso"),
        ("volatility_quadrant", "BTC|macro"),
        ("trend_vol", "market|BTC"),
        ("volatility_hmm", "binance|FTTUSDT|1h"),  # FTX gap: two segments
        ("volatility_rv", "binance|FTTUSDT|1h"),
    ],
)
def test_transitions_runs_and_whipsaw_counted_bar_by_bar(sample_db, detector, series_id):
    bars, _ = aligned_bars(sample_db, series_id)
    pairs, runs, labelled = [], [], 0
    for _, seg in bars.groupby("segment_id"):
        seg = seg[seg["is_aligned"]]
        labelled += len(seg)
        # chains of consecutive final bars (pos + 1) inside the segment
        chain_id = (seg["pos"].diff() != 1).cumsum()
        for _, chain in seg.groupby(chain_id):
            states = chain[detector].tolist()
            pairs += list(zip(states[:-1], states[1:]))
            runs += [(state, len(list(group))) for state, group in itertools.groupby(states)]
    expected = pd.Series(pairs).value_counts()
    report = query(
        sample_db,
        f"select * from reports.rpt_regime_transitions where detector = '{detector}' and series_id = '{series_id}'",
    )
    got = report.set_index(["from_regime", "to_regime"])["n_transitions"]
    assert got.sum() == len(pairs)  # transitions = labelled consecutive pairs
    assert {k: int(v) for k, v in got.items()} == {k: int(v) for k, v in expected.items()}
    changes = sum(a != b for a, b in pairs)
    whipsaw = 100 * changes / labelled
    assert np.allclose(report["whipsaw_per_100_bars"], whipsaw, rtol=RTOL, atol=0)
    assert (report["n_bars_labelled"] == labelled).all()
    mean_run = pd.DataFrame(runs, columns=["regime", "length"]).groupby("regime")["length"].mean()
    for regime, value in report.groupby("from_regime")["mean_run_bars"].first().items():
        assert np.isclose(value, mean_run[regime], rtol=RTOL, atol=0), regime
    print(
        f"{detector} {series_id}: {len(pairs)} transitions, {changes} changes in {labelled} bars "
        f"({whipsaw:.2f} per 100 bars)"
    )


# --- closing-note figures ---------------------------------------------------------------------

HIGH_VOL = {
    "volatility_rv": ("high",),
    "volatility_hmm": ("high",),
    "volatility_quadrant": ("CRISIS", "EXPANSION"),
    "trend_vol": ("uptrend_high_vol", "downtrend_high_vol"),
}


def test_btc_daily_forward_rv_high_vs_low(sample_db, capsys):
    """20-bar forward mean realized vol (per day, not annualised) in the high- vs low-vol
    regimes of each vol detector on BTC daily, side by side on the same days (BTC|macro),
    and for trend_vol also over its own full history (market|BTC). The high side must be
    followed by higher realized vol (the realized-vol percentile detector and its quadrants only
    just: ratio 1.02 over all days; out of sample no daily detector separates BTC, docs/volatility-regimes.md).
    """
    h = max(HORIZONS)
    rows = query(
        sample_db,
        f"""
        select detector, series_id, regime, n, mean_forward_rv
        from reports.rpt_regime_forward_returns
        where series_id in ('BTC|macro', 'market|BTC') and horizon_bars = {h} and detector <> 'uptrend'""",
    )
    rows["side"] = [("high" if r in HIGH_VOL[d] else "low") for d, r in zip(rows["detector"], rows["regime"])]
    rows["weighted"] = rows["n"] * rows["mean_forward_rv"]
    pooled = rows.groupby(["series_id", "detector", "side"])[["n", "weighted"]].sum()
    pooled["mean_forward_rv"] = pooled["weighted"] / pooled["n"]
    rv, n = pooled["mean_forward_rv"].unstack("side"), pooled["n"].unstack("side")
    table = pd.DataFrame(
        {"high": rv["high"], "low": rv["low"], "ratio": rv["high"] / rv["low"], "high_n": n["high"], "low_n": n["low"]}
    )
    uptrend = query(
        sample_db,
        """
        select regime, horizon_bars, n, mean_return, median_return, win_rate, t_stat, mean_forward_rv
        from reports.rpt_regime_forward_returns
        where detector = 'uptrend' and series_id = 'BTC|meso' and regime in ('S0', 'S3') order by all""",
    )
    with capsys.disabled():
        print(f"\nBTC daily, {h}-bar forward mean realized vol (std of daily log returns, not annualised):")
        print(table.round(5).to_string())
        print("Uptrend Engine S0 vs S3, BTC 1h (BTC|meso):")
        print(uptrend.round(5).to_string(index=False))
    assert (table["high_n"] >= 20).all() and (table["low_n"] >= 20).all()
    assert (table["high"] > table["low"]).all(), table
