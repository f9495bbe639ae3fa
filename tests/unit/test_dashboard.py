"""Unit tests of the dashboard (market_regimes.dashboard) on a tiny hand-made warehouse.

``make_tiny_warehouse`` writes every relation a panel reads, with values chosen so that
the charts can be checked by hand: BTC daily (40 days) and hourly (150 bars with a
40-hour hole) closes, their uptrend states and changes, the levers of bucket ``small``
(A = 0.5 + 0.19, E = 0.5 - 0.07 on every bar, from fixed per-driver contributions),
one trend x vol market, the two regime reports and the volatility regimes of two driver
series (hand-picked quadrant runs, threshold 0.6 in the seed) and the grid verdicts of three
grid series (``grid_rows``). The integration tests reuse it.
"""

from __future__ import annotations

import hashlib
import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from market_regimes.dashboard import Settings, current_table, render_html, write_dashboard
from market_regimes.dashboard.__main__ import main as cli_main
from market_regimes.dashboard.data import axis_holes, break_gaps, epoch_ms, relation_exists, runs
from market_regimes.dashboard.panels import (
    PANELS,
    build_panels,
    findings,
    forward_returns,
    grid_regimes,
    levers,
    market_regimes,
    panel_name,
    price_regimes,
    relations_read,
    transitions,
    validate,
    volatility_regimes,
)
from market_regimes.dashboard.settings import interval_minutes, is_intraday
from market_regimes.dashboard.style import hole_marks, rangebreaks
from market_regimes.dashboard.writer import figure_json
from tests.helpers import HtmlTags

START = pd.Timestamp("2024-01-01")
DAYS = 40
HOURS_BEFORE_HOLE, HOLE_HOURS, HOURS_AFTER_HOLE = 60, 40, 90
# Per driver: (contribution to A, contribution to E), split evenly over macro and meso.
CONTRIBUTIONS = {
    "BTC": (0.10, -0.05),
    "ALT": (0.05, 0.01),
    "small": (0.02, -0.02),
    "BTC.d": (-0.01, 0.04),
    "USDT.d": (0.03, -0.05),
}
A_VALUE = 0.5 + sum(a for a, _ in CONTRIBUTIONS.values())
E_VALUE = 0.5 + sum(e for _, e in CONTRIBUTIONS.values())
# marts.fct_volatility_regimes: per driver series, (quadrant, bars) runs from START, one bar
# a row; hmm_p_high_vol is 0.8 in the high-vol quadrants, else 0.2 (seed threshold 0.6).
VOL_THRESHOLD = 0.6
VOL_RUNS = {
    "BTC|macro": [("QUIET", 3), ("NORMAL", 2), ("EXPANSION", 2), ("CRISIS", 2), ("NORMAL", 1)],
    "BTC|meso": [("NORMAL", 4), ("QUIET", 3), ("EXPANSION", 3)],
}
VOL_DIRECTIONS = {"QUIET": "none", "NORMAL": "up", "EXPANSION": "none", "CRISIS": "down"}


def volatility_rows() -> pd.DataFrame:
    """The rows of marts.fct_volatility_regimes: VOL_RUNS of BTC daily and hourly, and one
    symbol series (not a driver: not drawn)."""
    rows = []
    series = (
        ("BTC|macro", "BTC", "macro", "1d"),
        ("BTC|meso", "BTC", "meso", "1h"),
        ("binance|XUSDT|1d", None, None, "1d"),
    )
    for series_id, driver, timeframe, interval in series:
        step = pd.Timedelta(days=1) if interval == "1d" else pd.Timedelta(hours=1)
        quadrants = [q for q, n in VOL_RUNS.get(series_id, [("CRISIS", 5)]) for _ in range(n)]
        for i, quadrant in enumerate(quadrants):
            high = quadrant in ("EXPANSION", "CRISIS")
            rows.append(
                {
                    "series_type": "driver" if driver else "symbol",
                    "series_id": series_id,
                    "driver": driver,
                    "timeframe": timeframe,
                    "bar_interval": interval,
                    "segment_id": 1,
                    "bar_start": START + i * step,
                    "log_return": 0.01,
                    "hmm_p_high_vol": 0.8 if high else 0.2,
                    "vol_regime": "high" if high else "low",
                    "direction": VOL_DIRECTIONS[quadrant],
                    "spectral_entropy": 0.5 + 0.01 * i,
                    "quadrant": quadrant,
                    "exchange": None if driver else "binance",
                    "symbol": None if driver else "XUSDT",
                    "turbulence": None,
                    "is_toxic": False,
                }
            )
    frame = pd.DataFrame(rows)
    for column in ("vol_regime", "quadrant"):
        frame[f"prev_{column}"] = frame.groupby("series_id")[column].shift()
    return frame


# reports.rpt_regime_findings: (detector, bar_interval, sample, regime, share_of_bars, mean return per
# horizon 5 / 10); the forward vol is 0.02 everywhere, the intervals are mean -+ 0.01.
FINDINGS = [
    ("uptrend", "1d", "all", "S3", 0.6, (0.01, 0.02)),
    ("uptrend", "1d", "all", "S0", 0.4, (-0.01, -0.03)),
    ("uptrend", "1d", "out_of_sample", "S0", 0.5, (0.0, 0.01)),
    ("uptrend", "1d", "out_of_sample", "S3", 0.5, (0.02, 0.04)),
    ("volatility_hmm", "1h", "out_of_sample", "high", 0.2, (0.003, 0.004)),
    ("volatility_hmm", "1h", "out_of_sample", "low", 0.8, (0.001, 0.002)),
]


def findings_rows() -> pd.DataFrame:
    """The rows of reports.rpt_regime_findings: FINDINGS as regime rows (forward_return and
    forward_rv), and one contrast S3 minus S0 of uptrend 1d out_of_sample (separated as
    expected, 5 of 6 assets) at both horizons."""
    rows = []
    for detector, interval, sample, regime, share, means in FINDINGS:
        for horizon, mean in zip((5, 10), means):
            for metric, value in (("forward_return", mean), ("forward_rv", 0.02)):
                rows.append(
                    {
                        "detector": detector,
                        "bar_interval": interval,
                        "sample": sample,
                        "row_kind": "regime",
                        "regime": regime,
                        "metric": metric,
                        "horizon_bars": horizon,
                        "n_series": 6,
                        "n_bars": 100,
                        "share_of_bars": share,
                        "n": 90,
                        "mean": value,
                        "ci_low": value - 0.01,
                        "ci_high": value + 0.01,
                        "expected_sign": None,
                        "is_separated_as_expected": None,
                        "n_series_compared": None,
                        "share_series_expected_sign": None,
                    }
                )
    for horizon, sep in ((5, 0.02), (10, 0.03)):
        rows.append(
            {
                "detector": "uptrend",
                "bar_interval": "1d",
                "sample": "out_of_sample",
                "row_kind": "contrast",
                "regime": "S3_vs_S0",
                "metric": "forward_return",
                "horizon_bars": horizon,
                "n_series": 6,
                "n_bars": 200,
                "share_of_bars": None,
                "n": 180,
                "mean": sep,
                "ci_low": 0.005,
                "ci_high": 0.05,
                "expected_sign": 1,
                "is_separated_as_expected": True,
                "n_series_compared": 6,
                "share_series_expected_sign": 5 / 6,
            }
        )
    return pd.DataFrame(rows).astype(
        {
            "expected_sign": "Int64",
            "n_series_compared": "Int64",
            "is_separated_as_expected": "boolean",
            "share_of_bars": float,
            "share_series_expected_sign": float,
        }
    )


def _daily_states(i: int) -> str | None:
    """BTC macro: no state while warming up (days 0-4), S0 5-14, S1 15-19, S3 20-39."""
    return None if i < 5 else "S0" if i < 15 else "S1" if i < 20 else "S3"


def _hourly_states(i: int) -> str:
    """BTC meso, by position among the 150 hourly bars: S0 then S2 then S3."""
    return "S0" if i < 40 else "S2" if i < 110 else "S3"


def hourly_starts() -> list[pd.Timestamp]:
    """The 150 hourly bar starts: 60 bars, a 40-hour hole, 90 bars."""
    first = [START + pd.Timedelta(hours=h) for h in range(HOURS_BEFORE_HOLE)]
    resume = HOURS_BEFORE_HOLE + HOLE_HOURS
    return first + [START + pd.Timedelta(hours=resume + h) for h in range(HOURS_AFTER_HOLE)]


def make_tiny_warehouse(con: duckdb.DuckDBPyConnection, skip: tuple[str, ...] = ()) -> None:
    """Create the hand-made relations (all of them but those named in ``skip``) in ``con``."""
    days = [START + pd.Timedelta(days=d) for d in range(DAYS)]
    hours = hourly_starts()
    bars = pd.concat(
        [
            pd.DataFrame(
                {
                    "driver": "BTC",
                    "timeframe": "macro",
                    "bar_interval": "1d",
                    "bar_start": days,
                    "close": [100.0 + i for i in range(DAYS)],
                }
            ),
            pd.DataFrame(
                {
                    "driver": "BTC",
                    "timeframe": "meso",
                    "bar_interval": "1h",
                    "bar_start": hours,
                    "close": [100.0 + 0.1 * i for i in range(len(hours))],
                }
            ),
        ],
        ignore_index=True,
    )
    states = pd.concat(
        [
            pd.DataFrame(
                {
                    "driver": "BTC",
                    "timeframe": "macro",
                    "bar_start": days,
                    "state": [_daily_states(i) for i in range(DAYS)],
                }
            ).dropna(),
            pd.DataFrame(
                {
                    "driver": "BTC",
                    "timeframe": "meso",
                    "bar_start": hours,
                    "state": [_hourly_states(i) for i in range(len(hours))],
                }
            ),
        ],
        ignore_index=True,
    )
    # the engine's other columns (market_regimes.current reads them): prev_state per series,
    # a trim flag on the last daily bar only
    states["prev_state"] = states.groupby(["driver", "timeframe"])["state"].shift()
    for column in ("buy_flag", "rebuy_flag", "trim_flag", "emergency_exit"):
        states[column] = False
    states.loc[(states["timeframe"] == "macro") & (states["bar_start"] == days[-1]), "trim_flag"] = True
    states["exit_reason"] = None
    states["ts_score"] = 0.5
    states["s3_start_ts"] = pd.NaT
    timeframes = pd.DataFrame({"timeframe": ["macro", "meso"], "bar_interval": ["1d", "1h"]})
    events = []
    for (driver, timeframe), part in states.groupby(["driver", "timeframe"]):
        prev = part["state"].shift()
        changed = part[prev.notna() & (prev != part["state"])]
        for bar_start, old, new in zip(changed["bar_start"], prev[changed.index], changed["state"]):
            events.append(
                {
                    "detector": "uptrend",
                    "entity": driver,
                    "timeframe": timeframe,
                    "bar_start": bar_start,
                    "from_state": old,
                    "to_state": new,
                    "reason": f"{old}_to_{new}",
                }
            )
    events = pd.DataFrame(events)
    lever_rows, contribution_rows = [], []
    for exec_tf, grid in (("1d", days), ("1h", hours)):
        for i, bar_start in enumerate(grid):
            lever_rows.append(
                {
                    "bar_start": bar_start,
                    "execution_timeframe": exec_tf,
                    "bucket": "small",
                    "a_value": A_VALUE,
                    "e_value": E_VALUE,
                    "position_size_frac": 0.1 + 0.5 * A_VALUE,
                    "is_degraded": i % 10 == 0,
                    "n_used": 10,
                    "n_stale": 0,
                    "n_missing": 5,
                }
            )
            for driver, (a, e) in CONTRIBUTIONS.items():
                for timeframe in ("macro", "meso"):
                    contribution_rows.append(
                        {
                            "bar_start": bar_start,
                            "execution_timeframe": exec_tf,
                            "bucket": "small",
                            "driver": driver,
                            "timeframe": timeframe,
                            "contribution_a": a / 2,
                            "contribution_e": e / 2,
                            "status": "used",
                        }
                    )
    market = pd.DataFrame(
        {
            "market": "BTC",
            "bar_start": days,
            "price": [100.0 + i for i in range(DAYS)],
            "ma": [95.0 + i for i in range(DAYS)],
            "vol_value": [40.0 + (i % 30) for i in range(DAYS)],
            "regime": ["uptrend_low_vol" if i < 25 else "uptrend_high_vol" for i in range(DAYS)],
        }
    )
    market["trend"] = "uptrend"
    market["vol"] = market["regime"].str.removeprefix("uptrend_")
    market["prev_regime"] = market["regime"].shift()
    thresholds = pd.DataFrame({"market": ["BTC"], "vol_low_threshold": [50.0], "vol_high_threshold": [60.0]})
    transitions_rows = pd.DataFrame(
        [
            ("uptrend", "BTC|macro", "1d", "S0", "S0", 9, 0.9, 10.0, 5.0),
            ("uptrend", "BTC|macro", "1d", "S0", "S1", 1, 0.1, 10.0, 5.0),
            ("uptrend", "BTC|macro", "1d", "S1", "S3", 1, 1.0, 5.0, 5.0),
            ("uptrend", "BTC|macro", "1d", "S3", "S3", 19, 1.0, 20.0, 5.0),
            ("volatility_hmm", "binance|XUSDT|1h", "1h", "high_vol", "low_vol", 3, 0.25, 4.0, 2.5),
            ("volatility_hmm", "binance|XUSDT|1h", "1h", "low_vol", "low_vol", 30, 0.75, 12.0, 2.5),
        ],
        columns=[
            "detector",
            "series_id",
            "bar_interval",
            "from_regime",
            "to_regime",
            "n_transitions",
            "probability",
            "mean_run_bars",
            "whipsaw_per_100_bars",
        ],
    )
    forward = pd.DataFrame(
        [
            ("uptrend", "BTC|macro", "1d", regime, horizon, 10, mean * horizon / 5, mean, 0.6, 1.5, 0.3, 0.28)
            for regime, mean in (("S0", -0.01), ("S1", 0.005), ("S3", 0.02))
            for horizon in (5, 10, 20)
        ],
        columns=[
            "detector",
            "series_id",
            "bar_interval",
            "regime",
            "horizon_bars",
            "n",
            "mean_return",
            "median_return",
            "win_rate",
            "t_stat",
            "mean_forward_rv",
            "median_forward_rv",
        ],
    )
    volatility_config = pd.DataFrame(
        {
            "key": ["toxic_abs_log_return", "high_vol_prob_threshold"],
            "value": ["0.5", str(VOL_THRESHOLD)],
            "description": ["", ""],
        }
    )
    tables = {
        "marts.fct_driver_bars": bars,
        "marts.fct_uptrend_states": states,
        "marts.fct_regime_events": events,
        "marts.fct_levers": pd.DataFrame(lever_rows),
        "marts.fct_lever_contributions": pd.DataFrame(contribution_rows),
        "marts.fct_market_regimes": market,
        "seeds.trend_vol_markets": thresholds,
        "reports.rpt_regime_transitions": transitions_rows,
        "reports.rpt_regime_forward_returns": forward,
        "reports.rpt_regime_findings": findings_rows(),
        "marts.fct_volatility_regimes": volatility_rows(),
        "seeds.volatility_config": volatility_config,
        "seeds.regime_timeframes": timeframes,
        "marts.fct_grid_regimes": grid_rows(),
    }
    for relation, frame in tables.items():
        if relation in skip:
            continue
        schema = relation.split(".")[0]
        con.execute(f"create schema if not exists {schema}")
        con.register("frame_in", frame)
        con.execute(f"create table {relation} as select * from frame_in")
        con.unregister("frame_in")


@pytest.fixture()
def tiny():
    con = duckdb.connect()
    make_tiny_warehouse(con)
    yield con
    con.close()


SMALL = Settings(max_intraday_bars=100)


def _points(trace) -> int:
    """Number of non-null y values of a trace."""
    return int(np.isfinite(np.asarray(trace.y, dtype=float)).sum())


# ---- settings and helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    "label, minutes",
    [("1m", 1), ("5m", 5), ("15m", 15), ("1h", 60), ("4h", 240), ("1d", 1440), ("1w", 10080), ("60M", 60)],
)
def test_interval_minutes(label, minutes):
    assert interval_minutes(label) == minutes


@pytest.mark.parametrize("label", ["", "h", "0h", "1y", "1 day"])
def test_interval_minutes_rejects_unknown_labels(label):
    with pytest.raises(ValueError, match="unknown bar interval"):
        interval_minutes(label)


def test_intraday_means_shorter_than_a_day():
    assert is_intraday("4h") and is_intraday("5m")
    assert not is_intraday("1d") and not is_intraday("1w")


def test_settings_reject_nonsense():
    with pytest.raises(ValueError):
        Settings(max_intraday_bars=0)
    with pytest.raises(ValueError):
        Settings(figure_height=10)
    with pytest.raises(ValueError, match="axis_gap_bars"):
        Settings(axis_gap_bars=-1)
    with pytest.raises(ValueError, match="axis_gap_min_hours"):
        Settings(axis_gap_min_hours=-0.5)


def test_runs_break_on_change_null_and_holes():
    starts = [START + pd.Timedelta(hours=h) for h in (0, 1, 2, 3, 4, 10, 11)]
    frame = pd.DataFrame({"bar_start": starts, "state": ["S0", "S0", "S1", None, "S1", "S1", "S1"]})
    out = runs(frame, "state", "1h")
    assert list(out["value"]) == ["S0", "S1", "S1", "S1"]
    assert list(out["bars"]) == [2, 1, 1, 2]
    assert out["end"].iloc[0] == START + pd.Timedelta(hours=2)  # last bar + one interval
    assert out["start"].iloc[3] == START + pd.Timedelta(hours=10)  # the hole starts a run
    assert runs(frame.iloc[:0], "state", "1h").empty


def test_break_gaps_inserts_one_null_row_per_long_hole():
    frame = pd.DataFrame({"bar_start": hourly_starts(), "close": 1.0})
    out = break_gaps(frame, "1h")
    assert len(out) == len(frame) + 1
    filler = out[out["close"].isna()]
    assert list(filler["bar_start"]) == [START + pd.Timedelta(hours=HOURS_BEFORE_HOLE)]
    assert out["bar_start"].is_monotonic_increasing
    assert len(break_gaps(frame, "1h", max_gap_bars=HOLE_HOURS + 1)) == len(frame)  # hole not long enough


# ---- holes cut out of the time axis ---------------------------------------------------


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_axis_holes_cut_only_holes_longer_than_both_thresholds():
    hourly = pd.Series(hourly_starts())  # 60 bars, 40 missing hours, 90 bars
    assert axis_holes(hourly, "1h", Settings()) == []  # 41 h between bars: not > 48 h
    hole = [(START + pd.Timedelta(hours=HOURS_BEFORE_HOLE), START + pd.Timedelta(hours=HOURS_BEFORE_HOLE + HOLE_HOURS))]
    assert axis_holes(hourly, "1h", Settings(axis_gap_min_hours=24)) == hole
    assert hole == [(_ts("2024-01-03 12:00"), _ts("2024-01-05 04:00"))]  # end of the last bar .. next bar
    assert axis_holes(hourly, "1h", Settings(axis_gap_bars=41, axis_gap_min_hours=0)) == []  # 41 bars: not > 41
    assert axis_holes(hourly, "1h", Settings(axis_gap_bars=40, axis_gap_min_hours=0)) == hole
    assert axis_holes(hourly, "1h", Settings(axis_gap_bars=0, axis_gap_min_hours=0)) == []  # cutting off
    # daily: a 32-day step is cut (> 24 bars), a 20-day step is not
    days = pd.Series([START + pd.Timedelta(days=d) for d in [*range(10), *range(41, 51), *range(71, 75)]])
    assert axis_holes(days, "1d", Settings()) == [(_ts("2024-01-11"), _ts("2024-02-11"))]
    # 5-minute bars: 3 hours (36 bars) stays, 3 days is cut
    five = pd.Series(
        [
            _ts("2025-04-01 00:00"),
            _ts("2025-04-01 00:05"),
            _ts("2025-04-01 03:05"),
            _ts("2025-04-04 03:05"),
            _ts("2025-04-04 03:10"),
        ]
    )
    assert axis_holes(five, "5m", Settings()) == [(_ts("2025-04-01 03:10"), _ts("2025-04-04 03:05"))]
    assert axis_holes(hourly.iloc[:1], "1h", Settings()) == []


def test_axis_holes_of_the_samples_16_month_hole():
    # the sample's shape: hourly 2021-04 .. 2023-12, then 2025-04 .. 2025-07
    starts = pd.Series(
        [
            *pd.date_range("2023-12-30 00:00", "2023-12-31 23:00", freq="h"),
            *pd.date_range("2025-04-03 17:00", "2025-04-05 00:00", freq="h"),
        ]
    )
    assert axis_holes(starts, "1h", Settings()) == [(_ts("2024-01-01 00:00"), _ts("2025-04-03 17:00"))]


def test_rangebreaks_and_hole_marks():
    holes = [(_ts("2024-01-03 12:00"), _ts("2024-01-05 04:00")), (_ts("2024-01-01"), _ts("2025-04-03 17:00"))]
    assert rangebreaks(holes) == [
        {"bounds": ["2024-01-03 12:00", "2024-01-05 04:00"]},
        {"bounds": ["2024-01-01 00:00", "2025-04-03 17:00"]},
    ]
    first, second = hole_marks(holes)
    assert (first["type"], first["x0"], first["x1"], first["yref"]) == (
        "line",
        "2024-01-05 04:00",
        "2024-01-05 04:00",
        "paper",
    )
    assert first["label"]["text"] == "no data 2024-01-03 .. 2024-01-05 (40 hours)"
    assert second["label"]["text"] == "no data 2024-01-01 .. 2025-04-03 (459 days)"  # 458 days 17 hours


CUT = Settings(max_intraday_bars=1000, axis_gap_min_hours=24)
HOLE_BOUNDS = ("2024-01-03 12:00", "2024-01-05 04:00")


@pytest.mark.parametrize(
    "panel, label", [(price_regimes, "BTC · meso (1h)"), (levers, "small · 1h")], ids=["price_regimes", "levers"]
)
def test_time_axis_skips_the_hole_and_keeps_true_times(tiny, panel, label):
    by_label = {f.layout.meta["label"]: f for f in panel.build(tiny, CUT)}
    hourly = by_label[label]
    (rangebreak,) = hourly.layout.xaxis.rangebreaks
    assert tuple(rangebreak.bounds) == HOLE_BOUNDS
    assert hourly.layout.xaxis.type == "date" and hourly.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M"
    # the x values stay the true bar starts (the hover shows them): the first bar after the
    # hole is at START + 100 h, the null row that breaks the line one hour after the last bar before it
    x = np.asarray(hourly.data[0].x, dtype=float)
    y = np.asarray(hourly.data[0].y, dtype=float)
    gap = int(np.flatnonzero(np.isnan(y))[0])
    assert x[gap - 1] == epoch_ms(pd.Series([START + pd.Timedelta(hours=59)]))[0]
    assert x[gap] == epoch_ms(pd.Series([START + pd.Timedelta(hours=60)]))[0]
    assert x[gap + 1] == epoch_ms(pd.Series([START + pd.Timedelta(hours=100)]))[0]
    marks = [s for s in hourly.layout.shapes if s.name == "hole"]
    assert [(m.x0, m.label.text) for m in marks] == [
        ("2024-01-05 04:00", "no data 2024-01-03 .. 2024-01-05 (40 hours)")
    ]
    daily = [f for f in by_label.values() if f is not hourly]
    assert all(not f.layout.xaxis.rangebreaks for f in daily)  # the daily series has no hole


def test_time_axis_keeps_holes_below_the_thresholds(tiny):
    for panel in (price_regimes, levers, volatility_regimes, market_regimes):
        for fig in panel.build(tiny, Settings(max_intraday_bars=1000)):
            assert not fig.layout.xaxis.rangebreaks, (panel_name(panel), fig.layout.meta["label"])
            assert not [s for s in fig.layout.shapes if s.name == "hole"]


def test_market_and_volatility_panels_cut_holes_too():
    con = duckdb.connect()
    make_tiny_warehouse(con)
    # cut the market's days 10..39 and BTC|macro's days 5..9 apart by moving the later rows 40 days on
    con.execute(
        "update marts.fct_market_regimes set bar_start = bar_start + interval 40 day where bar_start >= ?",
        [START + pd.Timedelta(days=10)],
    )
    con.execute(
        "update marts.fct_volatility_regimes set bar_start = bar_start + interval 40 day "
        "where series_id = 'BTC|macro' and bar_start >= ?",
        [START + pd.Timedelta(days=5)],
    )
    (market,) = market_regimes.build(con, SMALL)
    vol_daily = volatility_regimes.build(con, SMALL)[0]
    con.close()
    assert [tuple(r.bounds) for r in market.layout.xaxis.rangebreaks] == [("2024-01-11 00:00", "2024-02-20 00:00")]
    assert [tuple(r.bounds) for r in vol_daily.layout.xaxis.rangebreaks] == [("2024-01-06 00:00", "2024-02-15 00:00")]


def test_epoch_ms():
    assert epoch_ms(pd.Series(pd.to_datetime(["1970-01-01 00:00:01", "2024-01-01 00:00:00"]))).tolist() == [
        1000.0,
        1704067200000.0,
    ]


def test_relation_exists(tiny):
    assert relation_exists(tiny, "marts.fct_levers")
    assert not relation_exists(tiny, "marts.fct_nothing")
    assert not relation_exists(tiny, "nowhere.fct_levers")


# ---- registry -------------------------------------------------------------------------


def test_every_registered_panel_follows_the_contract():
    names = [panel_name(p) for p in PANELS]
    assert len(set(names)) == len(names)
    for panel in PANELS:
        validate(panel)
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", panel.SOURCE)
        assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", r) for r in relations_read(panel))
        assert panel.build.__doc__ and panel.__doc__


def test_validate_rejects_a_module_without_build():
    import types

    broken = types.ModuleType("market_regimes.dashboard.panels.broken")
    broken.TITLE, broken.SOURCE = "x", "marts.x"
    with pytest.raises(TypeError, match="subtitle, build"):
        validate(broken)


def test_every_panel_builds_on_the_tiny_warehouse(tiny):
    lines = []
    results = build_panels(tiny, SMALL, log=lines.append)
    assert [r.name for r in results] == [panel_name(p) for p in PANELS]
    for result in results:
        assert result.shown, result.name
        for fig in result.figures:
            assert len(fig.data) >= 1, result.name
            assert fig.layout.meta["label"]
    assert len(lines) == len(PANELS) and all("chart(s)" in line for line in lines)


@pytest.mark.parametrize("panel", PANELS, ids=panel_name)
def test_a_panel_without_its_source_is_skipped_and_the_rest_still_render(panel):
    con = duckdb.connect()
    make_tiny_warehouse(con, skip=(panel.SOURCE,))
    lines = []
    results = build_panels(con, SMALL, log=lines.append)
    con.close()
    by_name = {r.name: r for r in results}
    assert by_name[panel_name(panel)].figures is None
    assert any("skipped" in line and panel.SOURCE in line for line in lines)
    for other in PANELS:
        if panel.SOURCE not in (other.SOURCE, *getattr(other, "REQUIRES", ())):
            assert by_name[panel_name(other)].shown, panel_name(other)
    page = render_html(results, "tiny", SMALL)
    assert f'id="panel-{panel_name(panel)}"' not in page
    assert f"<code>{panel.SOURCE}</code> is missing" in page
    assert page.count('<section class="panel"') == sum(r.shown for r in results)


def test_a_missing_optional_relation_only_drops_detail():
    con = duckdb.connect()
    make_tiny_warehouse(
        con, skip=("marts.fct_regime_events", "marts.fct_lever_contributions", "seeds.trend_vol_markets")
    )
    price = price_regimes.build(con, SMALL)
    lever = levers.build(con, SMALL)
    market = market_regimes.build(con, SMALL)
    con.close()
    assert [t.name for t in price[0].data] == ["close"]
    assert lever[0].data[0].customdata.shape[1] == 3  # only the row counts
    assert not market[0].layout.annotations


# ---- panels ---------------------------------------------------------------------------


def test_price_panel_shading_markers_and_intraday_cap(tiny):
    figures = price_regimes.build(tiny, SMALL)
    by_label = {f.layout.meta["label"]: f for f in figures}
    assert list(by_label) == ["BTC · macro (1d)", "BTC · meso (1h)"]
    daily = by_label["BTC · macro (1d)"]
    close = daily.data[0]
    assert _points(close) == DAYS  # daily: not capped
    shapes = daily.layout.shapes
    assert [s.name for s in shapes] == ["S0", "S1", "S3"]
    assert [s.showlegend for s in shapes] == [True, True, True]
    assert shapes[0].x0 == "2024-01-06 00:00" and shapes[0].x1 == "2024-01-16 00:00"  # days 5..14 inclusive
    markers = daily.data[1]
    assert list(markers.text) == ["S0 → S1 (S0_to_S1)", "S1 → S3 (S1_to_S3)"]
    assert list(markers.y) == [115.0, 120.0]

    hourly = by_label["BTC · meso (1h)"]
    assert _points(hourly.data[0]) == SMALL.max_intraday_bars  # the most recent 100 of 150 bars
    assert "last 100 bars" in hourly.layout.title.text
    # bars 50..149: 10 before the 40-hour hole (one null point breaks the line there), 90 after
    assert np.isnan(np.asarray(hourly.data[0].y, dtype=float)).sum() == 1
    assert hourly.data[0].y[-1] == pytest.approx(100.0 + 0.1 * 149)
    assert [s.name for s in hourly.layout.shapes] == ["S2", "S2", "S3"]  # the hole splits the S2 run
    assert [s.showlegend for s in hourly.layout.shapes] == [True, False, True]


def test_price_panel_breaks_the_line_at_a_hole():
    con = duckdb.connect()
    make_tiny_warehouse(con)
    figures = price_regimes.build(con, Settings(max_intraday_bars=1000))
    con.close()
    hourly = figures[1].data[0]
    assert np.isnan(np.asarray(hourly.y, dtype=float)).sum() == 1
    assert _points(hourly) == HOURS_BEFORE_HOLE + HOURS_AFTER_HOLE


def test_levers_panel_hover_carries_each_drivers_contribution(tiny):
    figures = levers.build(tiny, SMALL)
    assert [f.layout.meta["label"] for f in figures] == ["small · 1d", "small · 1h"]
    a_trace, e_trace, degraded = figures[1].data
    assert (a_trace.name, e_trace.name, degraded.name) == ("A", "E", "degraded")
    custom = np.asarray(a_trace.customdata, dtype=float)
    finite = custom[np.isfinite(custom[:, 0])]
    assert len(finite) == SMALL.max_intraday_bars
    order = ["BTC", "ALT", "bucket", "BTC.d", "USDT.d"]
    for i, driver in enumerate(order):
        assert f"{driver}: A %{{customdata[{3 + 2 * i}]" in a_trace.hovertemplate
        a, e = CONTRIBUTIONS["small" if driver == "bucket" else driver]
        np.testing.assert_allclose(finite[:, 3 + 2 * i], a, atol=1e-6)
        np.testing.assert_allclose(finite[:, 4 + 2 * i], e, atol=1e-6)
    # contributions add up to the lever values (base 0.5, no clamp on this data)
    np.testing.assert_allclose(0.5 + finite[:, 3::2].sum(axis=1), A_VALUE, atol=1e-5)
    np.testing.assert_allclose(0.5 + finite[:, 4::2].sum(axis=1), E_VALUE, atol=1e-5)
    np.testing.assert_allclose(np.asarray(a_trace.y, dtype=float)[np.isfinite(custom[:, 0])], A_VALUE, atol=1e-6)
    assert len(degraded.x) == sum(1 for i in range(len(hourly_starts())) if i % 10 == 0 and i >= 50)


def test_transitions_panel_puts_probabilities_in_their_cells(tiny):
    figures = transitions.build(tiny, SMALL)
    assert [f.layout.meta["label"] for f in figures] == [
        "uptrend · BTC|macro (1d)",
        "volatility_hmm · binance|XUSDT|1h (1h)",
    ]
    heat = figures[0].data[0]
    assert list(heat.x) == ["S0", "S1", "S3"] and list(heat.y) == ["S0", "S1", "S3"]
    z = np.asarray(heat.z, dtype=float)
    assert z[0, 0] == 0.9 and z[0, 1] == 0.1 and z[1, 2] == 1.0 and z[2, 2] == 1.0
    assert np.isnan(z[1, 0]) and np.isnan(z[2, 0])
    assert "whipsaw 5.00" in figures[0].layout.title.text


def test_forward_returns_panel_has_one_bar_group_per_horizon(tiny):
    (fig,) = forward_returns.build(tiny, SMALL)
    returns = [t for t in fig.data if t.yaxis in (None, "y")]
    assert [t.name for t in returns] == ["5 bars", "10 bars", "20 bars"]
    assert list(returns[0].x) == ["S0", "S1", "S3"]
    np.testing.assert_allclose(np.asarray(returns[2].y, dtype=float), [-0.04, 0.02, 0.08])
    vol = [t for t in fig.data if t.yaxis == "y2"]
    assert len(vol) == 3 and all(list(t.y) == [0.3, 0.3, 0.3] for t in vol)


def test_findings_panel_views_bars_intervals_and_contrast(tiny):
    figures = findings.build(tiny, SMALL)
    # views: uptrend before volatility_hmm, out-of-sample before all
    assert [f.layout.meta["label"] for f in figures] == [
        "uptrend · 1d · out-of-sample",
        "uptrend · 1d · all",
        "volatility_hmm · 1h · out-of-sample",
    ]
    fig = figures[0]
    returns = [t for t in fig.data if t.yaxis in (None, "y")]
    assert [t.name for t in returns] == ["5 bars", "10 bars"]
    # regimes in the house order, each x label with its share of the asset-bars
    assert list(returns[1].x) == ["S0 (50%)", "S3 (50%)"]
    np.testing.assert_allclose(np.asarray(returns[1].y, dtype=float), [0.01, 0.04])
    # the interval mean -+ 0.01 as asymmetric error bars
    np.testing.assert_allclose(np.asarray(returns[1].error_y.array, dtype=float), [0.01, 0.01])
    np.testing.assert_allclose(np.asarray(returns[1].error_y.arrayminus, dtype=float), [0.01, 0.01])
    vol = [t for t in fig.data if t.yaxis == "y2"]
    assert len(vol) == 2 and all(list(t.y) == [0.02, 0.02] for t in vol)
    # the contrast at the longest horizon (10 bars) in the title, ticked
    assert (
        "S3_vs_S0 · return (10 bars, expected +): +3.00% [+0.50%, +5.00%] ✓ · 83% of 6 assets" in fig.layout.title.text
    )
    assert "<sup>" not in figures[1].layout.title.text  # no contrast rows in that view
    assert findings.contrast_lines(pd.DataFrame(columns=["expected_sign"])) == []
    assert [findings.share_text(x) for x in (0.6024, 0.0013, 0.01)] == ["60%", "0.1%", "1%"]


def test_report_views_and_regimes_are_ordered():
    keys = [
        ("volatility_hmm", "binance|AUSDT|1h", "1h"),
        ("volatility_hmm", "BTC|meso", "1h"),
        ("uptrend", "ALT|macro", "1d"),
        ("uptrend", "BTC|meso", "1h"),
        ("uptrend", "BTC|macro", "1d"),
        ("new_detector", "BTC|macro", "1d"),
        ("trend_vol", "BTC", "1d"),
    ]
    assert sorted(keys, key=lambda k: transitions.series_sort_key(*k)) == [
        ("uptrend", "BTC|macro", "1d"),
        ("uptrend", "BTC|meso", "1h"),
        ("uptrend", "ALT|macro", "1d"),
        ("trend_vol", "BTC", "1d"),
        ("volatility_hmm", "BTC|meso", "1h"),
        ("volatility_hmm", "binance|AUSDT|1h", "1h"),
        ("new_detector", "BTC|macro", "1d"),
    ]
    assert transitions.regime_order(["S3", "zeta", "S0", "high_vol", "low_vol", "S1"]) == [
        "S0",
        "S1",
        "S3",
        "low_vol",
        "high_vol",
        "zeta",
    ]


def test_market_regimes_panel(tiny):
    (fig,) = market_regimes.build(tiny, SMALL)
    assert [t.name for t in fig.data] == ["price", "moving average", "vol"]
    assert [s.name for s in fig.layout.shapes if s.type == "rect"] == ["uptrend_low_vol", "uptrend_high_vol"]
    assert sorted(a.text for a in fig.layout.annotations if a.text.startswith("vol ")) == ["vol high 60", "vol low 50"]


def _vol_runs(runs_: list[tuple[str, int]], interval: str, skip: int = 0) -> list[tuple[str, str, str]]:
    """(quadrant, x0, x1) of the shading expected from hand-made runs, the first ``skip`` bars left out."""
    step = pd.Timedelta(days=1) if interval == "1d" else pd.Timedelta(hours=1)
    out, bar = [], 0
    for quadrant, n in runs_:
        first, bar = max(bar, skip), bar + n
        if bar > first:
            out.append((quadrant, f"{START + first * step:%Y-%m-%d %H:%M}", f"{START + bar * step:%Y-%m-%d %H:%M}"))
    return out


def test_volatility_panel_one_figure_per_driver_series_with_quadrant_runs_and_threshold(tiny):
    figures = volatility_regimes.build(tiny, SMALL)
    assert [f.layout.meta["label"] for f in figures] == ["BTC · macro (1d)", "BTC · meso (1h)"]  # no symbol
    for fig, (series_id, interval) in zip(figures, (("BTC|macro", "1d"), ("BTC|meso", "1h"))):
        assert fig.layout.title.text.startswith(f"{series_id} ({interval})")
        rects = [(s.name, s.x0, s.x1) for s in fig.layout.shapes if s.type == "rect"]
        assert rects == _vol_runs(VOL_RUNS[series_id], interval)
        assert all(s.yref == "y domain" for s in fig.layout.shapes if s.type == "rect")  # top chart only
        (line,) = [s for s in fig.layout.shapes if s.type == "line"]
        assert (line.yref, line.y0, line.y1, line.line.dash) == ("y2", VOL_THRESHOLD, VOL_THRESHOLD, "dash")
        assert [a.text for a in fig.layout.annotations] == ["threshold 0.6"]
        close, prob = fig.data
        assert (close.name, prob.name, prob.yaxis) == ("close", "hmm_p_high_vol", "y2")
        quadrants = [q for q, n in VOL_RUNS[series_id] for _ in range(n)]
        expected = [0.8 if q in ("EXPANSION", "CRISIS") else 0.2 for q in quadrants]
        np.testing.assert_allclose(np.asarray(prob.y, dtype=float), expected)
        assert [row[1] for row in close.customdata] == quadrants
        assert [row[2] for row in close.customdata] == [VOL_DIRECTIONS[q] for q in quadrants]
        for name in ("vol_regime", "quadrant", "direction", "spectral_entropy"):
            assert name in close.hovertemplate
    daily = figures[0]
    np.testing.assert_allclose(np.asarray(daily.data[0].y, dtype=float), [100.0 + i for i in range(10)])
    assert [s.showlegend for s in daily.layout.shapes if s.type == "rect"] == [True, True, True, True, False]


def test_volatility_panel_caps_intraday_series_and_falls_back_without_seed_and_bars():
    con = duckdb.connect()
    make_tiny_warehouse(con, skip=("seeds.volatility_config", "marts.fct_driver_bars"))
    daily, hourly = volatility_regimes.build(con, Settings(max_intraday_bars=6))
    con.close()
    assert _points(daily.data[0]) == 10  # daily: whole
    assert "last 6 bars" in hourly.layout.title.text and _points(hourly.data[1]) == 6
    assert [(s.name, s.x0, s.x1) for s in hourly.layout.shapes if s.type == "rect"] == _vol_runs(
        VOL_RUNS["BTC|meso"], "1h", skip=4
    )  # bars 4..9: QUIET, EXPANSION
    (line,) = [s for s in daily.layout.shapes if s.type == "line"]
    assert line.y0 == volatility_regimes.DEFAULT_THRESHOLD
    assert [a.text for a in daily.layout.annotations] == ["threshold 0.5 (default)"]
    # no close: cumulative log return from 0 at the first shown bar
    assert daily.data[0].name == "cumulative log return"
    np.testing.assert_allclose(np.asarray(daily.data[0].y, dtype=float), [0.01 * i for i in range(10)])
    assert "0.5" in volatility_regimes.subtitle(SMALL) and "symbol" in volatility_regimes.subtitle(SMALL)


def test_volatility_panel_is_skipped_without_its_mart():
    con = duckdb.connect()
    make_tiny_warehouse(con, skip=("marts.fct_volatility_regimes",))
    assert volatility_regimes.build(con, SMALL) is None
    con.close()


# ---- the current-regimes summary ------------------------------------------------------


def _text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _cell(page: str, table_id: str, series: str) -> tuple[str, str]:
    """(opening tag, inner HTML) of the summary cell or row ``data-series=series`` of table ``table_id``."""
    table = re.search(rf'<table class="current-table" id="{table_id}">.*?</table>', page, re.S).group(0)
    match = re.search(rf'(<(td|tr) [^>]*data-series="{re.escape(series)}"[^>]*>)(.*?)</\2>', table, re.S)
    assert match, f"no {series} in {table_id}"
    return match.group(1), match.group(3)


def _header(page: str, table_id: str) -> list[str]:
    table = re.search(rf'<table class="current-table" id="{table_id}">.*?</thead>', page, re.S).group(0)
    return [_text(th) for th in re.findall(r"<th[^>]*>.*?</th>", table, re.S)]


def test_summary_shows_the_current_regimes_of_the_tiny_warehouse(tiny):
    results = build_panels(tiny, SMALL)
    page = render_html(results, "tiny", SMALL, current=current_table.load(tiny))
    main = page.split("<main>")[1]
    assert main.lstrip().startswith('<section class="current" id="current-regimes"><h2>Current regimes</h2>')
    assert '<a href="#current-regimes">Current regimes</a>' in page  # first link of the header
    # uptrend: BTC macro S3 since day 20 (20 bars, trim flag on the last bar), meso S3 since hour 150
    assert _header(page, "current-uptrend-table") == ["driver", "macro as of 2024-02-09", "meso as of 2024-01-08 21:00"]
    tag, inner = _cell(page, "current-uptrend-table", "BTC · macro")
    assert 'data-state="S3"' in tag and 'href="#price_regimes-0"' in inner
    assert _text(inner) == "S3 trim since 2024-01-21 · 20 bars"
    tag, inner = _cell(page, "current-uptrend-table", "BTC · meso")
    assert 'href="#price_regimes-1"' in inner and _text(inner) == "S3 since 2024-01-07 06:00 · 40 bars"
    # levers: A 0.69, E 0.43, size 0.1 + 0.5 A = 44.5 %, columns long to short
    assert _header(page, "current-levers-table") == ["bucket", "1d as of 2024-02-09", "1h as of 2024-01-08 21:00"]
    tag, inner = _cell(page, "current-levers-table", "small · 1d")
    assert 'data-a="0.6900"' in tag and 'data-e="0.4300"' in tag and 'href="#levers-0"' in inner
    assert _text(inner) == "A 0.69 E 0.43 size 44.5%"
    assert 'style="width:69%"' in inner and 'style="width:43%"' in inner
    assert 'href="#levers-1"' in _cell(page, "current-levers-table", "small · 1h")[1]
    # trend x vol: uptrend_high_vol since day 25 (15 days), the last day's price, MA and vol
    tag, inner = _cell(page, "current-market-table", "BTC")
    assert 'data-regime="uptrend_high_vol"' in tag and 'href="#market_regimes-0"' in inner
    assert _text(inner) == "BTC uptrend_high_vol since 2024-01-26 · 15 days 139 134 49 2024-02-09"
    # volatility: the driver series in the matrix, the symbol series folded below
    tag, inner = _cell(page, "current-volatility-table", "BTC · meso")
    assert 'data-quadrant="EXPANSION"' in tag and 'data-vol-regime="high"' in tag
    assert 'href="#volatility_regimes-1"' in inner
    assert _text(inner) == "EXPANSION since 2024-01-01 07:00 high vol (p 0.80, none) since 2024-01-01 07:00"
    assert _text(_cell(page, "current-volatility-table", "BTC · macro")[1]) == (
        "NORMAL since 2024-01-10 low vol (p 0.20, up) since 2024-01-10"
    )
    assert _text(_cell(page, "current-symbols-table", "binance|XUSDT|1d")[1]) == (
        "binance|XUSDT|1d CRISIS 2024-01-01 high 0.80 down 2024-01-01 2024-01-05"
    )
    assert "Symbol series (1)</summary>" in page and 'id="current-symbols-filter"' in page
    assert "stale" not in main.split("</section>")[0]  # every cell is as of its column's latest bar


def test_summary_flags_cells_older_than_their_column():
    frame = pd.DataFrame(
        {
            "driver": ["BTC", "ALT", "BTC.d"],
            "timeframe": "macro",
            "bar_interval": "1d",
            "bar_start": pd.to_datetime(["2025-11-12", "2023-12-29", "2025-11-13"]),
            "state": ["S3", "S2", None],
            "prev_state": None,
            "state_since": pd.to_datetime(["2025-10-01", "2023-12-20", None]),
            "bars_in_state": [43, 10, None],
            "buy_flag": False,
            "rebuy_flag": [False, True, False],
            "trim_flag": False,
            "emergency_exit": [False, False, True],
            "exit_reason": None,
            "ts_score": 0.5,
            "s3_start_ts": pd.NaT,
        }
    )
    card = current_table.uptrend_card(frame)
    assert _header(card, "current-uptrend-table") == ["driver", "macro as of 2025-11-13"]
    assert 'class="asof stale">as of 2023-12-29' in _cell(card, "current-uptrend-table", "ALT · macro")[1]
    assert "stale" not in _cell(card, "current-uptrend-table", "BTC · macro")[1]  # one bar behind: current
    assert _text(_cell(card, "current-uptrend-table", "ALT · macro")[1]) == (
        "S2 rebuy since 2023-12-20 · 10 bars as of 2023-12-29"
    )
    assert _text(_cell(card, "current-uptrend-table", "BTC.d · macro")[1]) == "none exit"
    assert 'data-state=""' in _cell(card, "current-uptrend-table", "BTC.d · macro")[0]
    assert "href" not in card  # no views to link to


def test_summary_without_a_mart_and_on_a_stale_build(tmp_path):
    con = duckdb.connect()
    make_tiny_warehouse(con, skip=("marts.fct_levers",))
    section = current_table.render(current_table.load(con))
    con.close()
    assert "No rows: <code>marts.fct_levers</code> is missing or empty." in section
    assert 'id="current-uptrend-table"' in section and 'id="current-levers-table"' not in section
    # a mart without a documented column (a build of older code): the page still renders, naming the error
    db = tmp_path / "stale.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con)
    con.execute("alter table marts.fct_uptrend_states drop column prev_state")
    con.close()
    result = write_dashboard(db, tmp_path / "x.html", SMALL)
    page = result.path.read_text()
    assert '<p class="error" id="current-error">The current regimes could not be read:' in page
    assert "prev_state" in page.split('id="current-error"')[1].split("</p>")[0]
    assert all(r.shown for r in result.panels)


@pytest.mark.parametrize(
    "value, interval, text",
    [
        ("2024-01-07 06:00", "1h", "2024-01-07 06:00"),
        ("2024-01-07 00:00", "1h", "2024-01-07 00:00"),
        ("2024-01-07 00:00", "1d", "2024-01-07"),
        ("2024-01-07 00:00", None, "2024-01-07"),
        ("2024-01-07 06:05", "bogus", "2024-01-07 06:05"),
        (None, "1d", ""),
    ],
)
def test_format_time(value, interval, text):
    assert current_table.format_time(pd.Timestamp(value) if value else None, interval) == text


def test_view_selectors_have_a_filter_box(tiny):
    results = build_panels(tiny, SMALL)
    page = render_html(results, "tiny", SMALL)
    parser = HtmlTags()
    parser.feed(page)
    selects = {a["data-panel"]: a for t, a in parser.tags if t == "select"}
    filters = {a["data-panel"]: a for t, a in parser.tags if t == "input" and "view-filter" in a.get("class", "")}
    multi = [r.name for r in results if len(r.figures) > 1]
    assert sorted(selects) == sorted(filters) == sorted(multi)
    assert filters["price_regimes"]["id"] == "price_regimes-filter"
    assert filters["price_regimes"]["type"] == "search"
    assert filters["price_regimes"]["placeholder"] == "type to filter, e.g. BTC macro"
    assert selects["price_regimes"]["id"] == "price_regimes-select"
    assert 'id="price_regimes-count"' in page
    assert "function filterViews" in page and "addEventListener('hashchange'" in page
    assert 'id="current-regimes"' not in page  # no summary unless asked for
    assert '<p id="axis-holes">Time axes skip holes in the data longer than 24 bars and 48 hours' in page
    assert "(--axis-gap-bars 0)" in render_html(results, "tiny", Settings(axis_gap_bars=0))


# ---- page -----------------------------------------------------------------------------


def test_page_is_self_contained_with_one_view_per_figure(tiny):
    results = build_panels(tiny, SMALL)
    page = render_html(results, "tiny", SMALL)
    parser = HtmlTags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        for attr in ("src", "href"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(attr) or ""), (tag, attrs)
    views = [a["id"] for t, a in parser.tags if t == "div" and "view" in (a.get("class") or "").split()]
    assert len(views) == len(set(views)) == sum(len(r.figures) for r in results)
    assert page.count('id="plotly-template"') == 1
    assert '"template"' not in page.split('id="plotly-template"')[0].split("</head>")[1]  # not per figure
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # the plotly.js bundle is inline
    selects = [a for t, a in parser.tags if t == "select"]
    assert len(selects) == sum(1 for r in results if len(r.figures) > 1)


def test_figure_json_cannot_close_its_script_element():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1], y=[1], name="</script><script>alert(1)</script>"))
    text = figure_json(fig)
    assert "</" not in text and "template" not in text


def test_write_dashboard_and_cli(tmp_path, capsys):
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con, skip=("reports.rpt_regime_transitions",))
    con.close()
    out = tmp_path / "out" / "regimes.html"
    assert cli_main(["--db", str(db), "--out", str(out), "--max-intraday-bars", "50"]) == 0
    printed = capsys.readouterr().out
    for panel in PANELS:
        assert panel_name(panel) in printed
    assert "transitions" in printed and "skipped" in printed
    assert str(out) in printed and "MB" in printed
    page = out.read_text()
    assert "last 50 bars" in page and 'id="panel-transitions"' not in page
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_axis_gap_options(tmp_path, capsys):
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con)
    con.close()
    out = tmp_path / "regimes.html"
    # the tiny hourly hole (40 hours) is cut with a 24-hour minimum, not with the default 48
    assert cli_main(["--db", str(db), "--out", str(out), "--axis-gap-min-hours", "24"]) == 0
    page = out.read_text()
    assert page.count('"rangebreaks":[{"bounds":["2024-01-03 12:00","2024-01-05 04:00"]}]') == 2  # price, levers (1h)
    assert "longer than 24 bars and 24 hours" in page
    assert cli_main(["--db", str(db), "--out", str(out)]) == 0
    assert '"rangebreaks":[' not in out.read_text()  # (plotly.js itself names the attribute)
    assert cli_main(["--db", str(db), "--out", str(out), "--axis-gap-bars", "-1"]) == 2
    assert "axis_gap_bars must be >= 0" in capsys.readouterr().err


def test_missing_warehouse_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.duckdb"
    with pytest.raises(FileNotFoundError, match="no warehouse file"):
        write_dashboard(missing, tmp_path / "x.html")
    assert cli_main(["--db", str(missing), "--out", str(tmp_path / "x.html")]) == 1
    assert "no warehouse file" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "x.html").exists()


def test_db_defaults_to_the_env_var(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MARKET_REGIMES_DB", str(tmp_path / "from_env.duckdb"))
    assert cli_main(["--out", str(tmp_path / "x.html")]) == 1
    assert "from_env.duckdb" in capsys.readouterr().err


# ---- grid range regimes (marts.fct_grid_regimes) -----------------------------------------

# binance BTCUSDT 4h: (verdict, decided_by, bars) runs from START; no verdict on the first
# two bars (warm-up; support and resistance from bar 1).
GRID_RUNS = [
    (None, None, 2),
    ("RANGE_OK", "range_quality", 3),
    ("RANGE_WEAK", "capacity", 2),
    ("RANGE_WEAK", "range_quality", 1),
    ("TREND", "trend", 2),
    ("TRANSITION", "vol_change", 2),
]
GRID_SCORES = ("trend_score", "mean_rev_score", "range_quality_score", "vol_change_score", "grid_capacity")
GRID_ETH_BARS, GRID_ETH_TREND_FROM = 150, 120
FOUR_HOURS_MS, HOUR_MS = 4 * 3_600_000.0, 3_600_000.0


def grid_rows() -> pd.DataFrame:
    """The rows of marts.fct_grid_regimes: binance BTCUSDT 4h (GRID_RUNS; close 100 + i,
    support 95 + i / 2, resistance 110 + i / 2, confidence (i - 1) / 10, trend score 10.2 + i),
    binance ETHUSDT 1h (150 bars: RANGE_OK, TREND from bar 120; close 200 + i / 10, range
    [195, 215], confidence 0.5) and binance ADAUSDT 4h (3 bars, no verdict yet)."""
    rows = []

    def add(symbol, interval, i, verdict, decided_by, close, support, resistance, confidence, scores):
        step = pd.Timedelta(hours=4 if interval == "4h" else 1)
        rows.append(
            {
                "exchange": "binance",
                "symbol": symbol,
                "bar_interval": interval,
                "bar_start": START + i * step,
                "segment_id": 1,
                "verdict": verdict,
                "decided_by": decided_by,
                "confidence": confidence if verdict else None,
                "capacity_limited": decided_by == "capacity",
                **dict(zip(GRID_SCORES, scores if verdict else [None] * 5)),
                "support": support,
                "resistance": resistance,
                "close": close,
                "coarse_verdict": None,
            }
        )

    pairs = [(v, d) for v, d, n in GRID_RUNS for _ in range(n)]
    for i, (verdict, decided_by) in enumerate(pairs):
        add(
            "BTCUSDT",
            "4h",
            i,
            verdict,
            decided_by,
            100.0 + i,
            None if i == 0 else 95.0 + 0.5 * i,
            None if i == 0 else 110.0 + 0.5 * i,
            0.1 * (i - 1),
            [10.2 + i, 50.4, 80.2, 20.7, 99.6],
        )
    for i in range(GRID_ETH_BARS):
        trend = i >= GRID_ETH_TREND_FROM
        add(
            "ETHUSDT",
            "1h",
            i,
            "TREND" if trend else "RANGE_OK",
            "trend" if trend else "range_quality",
            200.0 + 0.1 * i,
            195.0,
            215.0,
            0.5,
            [30.0, 60.0, 75.0, 40.0, 90.0],
        )
    for i in range(3):
        add("ADAUSDT", "4h", i, None, None, 1.0 + 0.1 * i, None, None, None, None)
    return pd.DataFrame(rows)


def _ms(*times) -> list[float]:
    return epoch_ms(pd.Series(pd.to_datetime(list(times)))).tolist()


def _grid(figures) -> dict:
    return {f.layout.meta["label"]: f for f in figures}


def _traces(fig, name: str) -> list:
    return [t for t in fig.data if t.name == name]


def test_grid_panel_has_a_view_per_grid_series_btc_and_eth_first(tiny):
    figures = grid_regimes.build(tiny, SMALL)
    assert [f.layout.meta["label"] for f in figures] == [
        "binance · BTCUSDT (4h)",
        "binance · ETHUSDT (1h)",
        "binance · ADAUSDT (4h)",
    ]
    btc, eth, ada = figures
    assert btc.layout.title.text == (
        "binance · BTCUSDT (4h) — last 12 bars, 2024-01-01 .. 2024-01-02 UTC · latest TRANSITION (1.00)"
    )
    assert ada.layout.title.text.endswith("· no verdict yet")
    assert not [t for t in ada.data if t.type == "heatmap"] and not _traces(ada, "support")  # nothing to shade
    # the Dagster asset depends on them (the lifecycle marts are optional: 1h detail)
    assert relations_read(grid_regimes) == (
        "marts.fct_grid_regimes",
        "marts.fct_grid_lifecycle",
        "marts.fct_exit_states",
    )
    text = grid_regimes.subtitle(SMALL)
    for word in (
        "marts.fct_grid_regimes",
        "RANGE_OK green",
        "RANGE_WEAK yellow",
        "TREND red",
        "TRANSITION orange",
        "confidence (0-1)",
        "decided_by",
        "most recent 100 bars",
    ):
        assert word in text


def test_grid_panel_draws_close_band_shading_and_confidence(tiny):
    btc = _grid(grid_regimes.build(tiny, SMALL))["binance · BTCUSDT (4h)"]
    (close,), (confidence,) = _traces(btc, "close"), _traces(btc, "confidence")
    # evenly spaced bars: x0 / dx, no time array
    assert (close.x, close.x0, close.dx) == (None, _ms(START)[0], FOUR_HOURS_MS)
    assert close.y.dtype == np.float32 and list(close.y) == [100.0 + i for i in range(12)]
    np.testing.assert_allclose(
        np.asarray(confidence.y, dtype=float), [np.nan, np.nan, *(0.1 * i for i in range(1, 11))], rtol=1e-6
    )
    assert confidence.yaxis == "y2" and confidence.x0 == close.x0
    # the hover: the five scores rounded (0 where there is no verdict, never shown: no confidence)
    assert confidence.customdata.dtype == np.uint8
    assert confidence.customdata.tolist() == [[0] * 5] * 2 + [[10 + i, 50, 80, 21, 100] for i in range(2, 12)]
    for word in (
        "confidence %{y:.2f}",
        "trend %{customdata[0]}",
        "mean-rev %{customdata[1]}",
        "range quality %{customdata[2]}",
        "vol change %{customdata[3]}",
        "capacity %{customdata[4]}",
    ):
        assert word in confidence.hovertemplate
    # the band from bar 1 (support and resistance are missing on bar 0), resistance filled down to support
    (support,), (resistance,) = _traces(btc, "support"), _traces(btc, "range [support, resistance]")
    assert support.x0 == resistance.x0 == _ms(START + pd.Timedelta(hours=4))[0]
    assert list(support.y) == [95.0 + 0.5 * i for i in range(1, 12)]
    assert list(resistance.y) == [110.0 + 0.5 * i for i in range(1, 12)]
    assert (resistance.fill, support.showlegend, resistance.showlegend) == ("tonexty", False, True)
    # price pane: [95.5, 115.5] padded by 4 % of its span; the shading spans it
    low, high = 95.5 - 0.8, 115.5 + 0.8
    np.testing.assert_allclose(btc.layout.yaxis.range, [low, high])
    assert btc.layout.hovermode == "x unified" and btc.layout.hoversubplots == "axis"


def test_grid_panel_shades_each_verdict_run_with_its_decided_by(tiny):
    btc = _grid(grid_regimes.build(tiny, SMALL))["binance · BTCUSDT (4h)"]
    (heat,) = [t for t in btc.data if t.type == "heatmap"]
    assert heat is btc.data[0]  # below the lines
    bar = pd.Timedelta(hours=4)
    # cells from the first bar of each run to the end of its last: bars 2-4, 5-6, 7, 8-9, 10-11
    assert list(heat.x) == _ms(*(START + b * bar for b in (2, 5, 7, 8, 10, 12)))
    assert [[float(v) for v in row] for row in heat.z] == [[0, 1, 1, 2, 3]]
    assert [list(map(list, row)) for row in heat.customdata] == [
        [
            ["RANGE_OK", "range_quality"],
            ["RANGE_WEAK", "capacity"],
            ["RANGE_WEAK", "range_quality"],
            ["TREND", "trend"],
            ["TRANSITION", "vol_change"],
        ]
    ]
    assert "decided_by %{customdata[1]}" in heat.hovertemplate
    np.testing.assert_allclose(heat.y, btc.layout.yaxis.range)
    # code i gets the i-th colour: green, yellow, red, orange
    assert [c for _, c in heat.colorscale[::2]] == ["#2ca02c", "#ffd700", "#d62728", "#ff7f0e"]
    assert (heat.zmin, heat.zmax, heat.opacity) == (-0.5, 3.5, 0.18)
    legend = [t.name for t in btc.data if t.type == "scatter" and t.mode == "markers"]
    assert legend == ["RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION"]
    # ETH: RANGE_OK then TREND; the shading of the shown bars only
    eth = _grid(grid_regimes.build(tiny, SMALL))["binance · ETHUSDT (1h)"]
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    hour = pd.Timedelta(hours=1)
    assert list(heat.x) == _ms(START + 50 * hour, START + 120 * hour, START + 150 * hour)
    assert [[float(v) for v in row] for row in heat.z] == [[0, 1]]


def test_verdict_runs_agree_with_data_runs():
    starts = [START + pd.Timedelta(hours=h) for h in (0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13)]
    verdicts = [
        "RANGE_OK",
        "RANGE_OK",
        "RANGE_WEAK",
        "RANGE_WEAK",
        None,
        "TREND",
        "TREND",
        "TREND",
        "RANGE_WEAK",
        "RANGE_WEAK",
        None,
    ]
    decided = [
        "range_quality",
        "range_quality",
        "capacity",
        "rqs_weak",
        None,
        "trend",
        "trend",
        "trend",
        "rqs_weak",
        "rqs_weak",
        None,
    ]
    frame = pd.DataFrame({"bar_start": starts, "verdict": verdicts, "decided_by": decided})
    got = grid_regimes.verdict_runs(frame, "1h")
    expected = runs(frame.assign(pair=frame["verdict"] + "|" + frame["decided_by"]), "pair", "1h")
    assert [f"{v}|{d}" for v, d in zip(got[0], got[1])] == list(expected["value"])
    assert list(got[2]) == epoch_ms(expected["start"]).tolist()
    assert list(got[3]) == epoch_ms(expected["end"]).tolist()
    assert [v for v in got[0]] == ["RANGE_OK", "RANGE_WEAK", "RANGE_WEAK", "TREND", "TREND", "RANGE_WEAK"]
    none = grid_regimes.verdict_runs(frame.assign(verdict=None), "1h")
    assert all(len(a) == 0 for a in none)


def test_grid_panel_caps_intraday_series(tiny, monkeypatch):
    eth = _grid(grid_regimes.build(tiny, SMALL))["binance · ETHUSDT (1h)"]
    (close,) = _traces(eth, "close")
    assert "last 100 bars" in eth.layout.title.text and len(close.y) == 100
    assert close.x0 == _ms(START + pd.Timedelta(hours=50))[0] and close.dx == HOUR_MS
    np.testing.assert_allclose(close.y[-1], 200.0 + 0.1 * 149, rtol=1e-6)
    # the panel's own cap applies when it is below --max-intraday-bars, and the subtitle says so
    monkeypatch.setattr(grid_regimes, "MAX_BARS", 30)
    eth = _grid(grid_regimes.build(tiny, SMALL))["binance · ETHUSDT (1h)"]
    assert "last 30 bars" in eth.layout.title.text and len(_traces(eth, "close")[0].y) == 30
    assert "most recent 30 bars (this panel's cap, below --max-intraday-bars 100" in grid_regimes.subtitle(SMALL)
    assert grid_regimes.shown_bars("1d", SMALL) is None  # daily: whole
    btc = _grid(grid_regimes.build(tiny, Settings(max_intraday_bars=5)))["binance · BTCUSDT (4h)"]
    assert list(_traces(btc, "close")[0].y) == [107.0, 108.0, 109.0, 110.0, 111.0]


def test_grid_panel_cuts_holes_and_splits_the_band():
    con = duckdb.connect()
    make_tiny_warehouse(con)
    # ETH: bars 60.. moved 3 days on (a 73-hour hole between bar 59 and bar 60)
    con.execute(
        "update marts.fct_grid_regimes set bar_start = bar_start + interval 3 day "
        "where symbol = 'ETHUSDT' and bar_start >= ?",
        [START + pd.Timedelta(hours=60)],
    )
    eth = _grid(grid_regimes.build(con, Settings(max_intraday_bars=1000)))["binance · ETHUSDT (1h)"]
    con.close()
    hole_start, hole_end = START + pd.Timedelta(hours=60), START + pd.Timedelta(hours=60 + 72)
    assert [tuple(r.bounds) for r in eth.layout.xaxis.rangebreaks] == [("2024-01-03 12:00", "2024-01-06 12:00")]
    (close,) = _traces(eth, "close")
    assert close.x0 is None and len(close.x) == GRID_ETH_BARS + 1  # times given, a null row breaks the line
    assert np.isnan(np.asarray(close.y, dtype=float)).sum() == 1
    # one band per stretch, the legend entry on the first only
    supports = _traces(eth, "support")
    resistances = [t for t in eth.data if t.type == "scatter" and t.fill == "tonexty"]
    assert [len(t.y) for t in supports] == [len(t.y) for t in resistances] == [60, 90]
    assert [t.showlegend for t in resistances] == [True, False]
    assert resistances[1].x[0] == _ms(hole_end)[0]
    # the cell before the hole ends 1 ms before it (plotly drops cell edges inside a cut hole), an empty cell
    # spans the hole
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    hour = pd.Timedelta(hours=1)
    assert list(heat.x) == [
        _ms(START)[0],
        _ms(hole_start)[0] - 1,
        *_ms(hole_end, hole_end + 60 * hour, hole_end + 90 * hour),
    ]
    z = np.asarray(heat.z[0], dtype=float)
    assert np.isnan(z[1]) and list(z[[0, 2, 3]]) == [0, 0, 1] and heat.hoverongaps is False


def test_grid_x_spec_uses_x0_dx_only_for_evenly_spaced_bars():
    even = pd.Series([START + pd.Timedelta(hours=h) for h in range(4)])
    assert grid_regimes.x_spec(even, "1h") == {"x0": _ms(START)[0], "dx": HOUR_MS}
    uneven = pd.Series([START + pd.Timedelta(hours=h) for h in (0, 1, 3)])
    spec = grid_regimes.x_spec(uneven, "1h")
    assert list(spec) == ["x"] and list(spec["x"]) == epoch_ms(uneven).tolist()
    assert grid_regimes.part_x({"x0": 10.0, "dx": 2.0}, 3, 5) == {"x0": 16.0, "dx": 2.0}


def test_grid_panel_is_skipped_without_its_mart_and_its_figures_stay_small(tiny):
    con = duckdb.connect()
    make_tiny_warehouse(con, skip=("marts.fct_grid_regimes",))
    assert grid_regimes.build(con, SMALL) is None
    con.close()
    # a bar costs 4 float32 (close, support, resistance, confidence) and 5 uint8 scores, in
    # base64: ~28 bytes (no time array, no per-bar strings); 100 vs 50 bars of ETH
    sizes = [
        len(figure_json(_grid(grid_regimes.build(tiny, Settings(max_intraday_bars=n)))["binance · ETHUSDT (1h)"]))
        for n in (50, 100)
    ]
    assert 50 * 26 < sizes[1] - sizes[0] < 50 * 30


# ---- the grid lifecycle on the grid panel (marts.fct_grid_lifecycle, marts.fct_exit_states) ----

# The virtual grid of binance ETHUSDT (1h, grid_rows) as state changes (bar, from_state,
# to_state, reason, trigger names, new placement (lower, upper) or None). The state after
# bar b is the to_state of the last change at or before b; a placement holds until the next
# one (an EXITED grid keeps its last placement, as the mart does). SMALL shows bars 50-149.
GRID_LIFECYCLE_CHANGES = [
    (0, None, "DISABLED", "start", [], None),
    (20, "DISABLED", "PROBATION", "enable", ["range_ok_support", "lower", "upper"], (195.0, 215.0)),
    (30, "PROBATION", "EXITED", "quick_stop", ["quick_stop_outside"], None),
    (55, "EXITED", "PROBATION", "restart", ["gates_passed", "bars_since_stop", "range_ok_support"], (196.0, 214.0)),
    (70, "PROBATION", "NORMAL", "probation_passed", ["round_trips"], None),
    (80, "NORMAL", "WARNING", "escalation", ["er_short", "atr_ratio_warning"], None),
    (84, "WARNING", "LATEST_ACCEPTABLE_EXIT", "escalation", ["atr_ratio_latest", "atr_ratio_latest"], None),
    (90, "LATEST_ACCEPTABLE_EXIT", "WARNING", "de_escalation", [], None),  # no marker: not an escalation
    (92, "WARNING", "MANDATORY_EXIT", "escalation", ["stop_buffer", "er_short"], None),
    (93, "MANDATORY_EXIT", "EXITED", "grid_ended", [], None),
    (100, "EXITED", "PROBATION", "restart", ["gates_passed"], (198.0, 212.0)),
    (120, "PROBATION", "EXITED", "stop_trend", ["verdict_TREND"], None),
]
# Decoys, none of which may show: a configured grid on ETHUSDT, the virtual grid of ETHUSDT
# on another exchange, and the virtual grid of BTCUSDT on the 1h bars under its 4h view.
GRID_LIFECYCLE_DECOYS = [
    (
        "eth-manual",
        "configured",
        "binance",
        "ETHUSDT",
        GRID_ETH_BARS,
        [
            (0, None, "PROBATION", "start", [], (150.0, 250.0)),
            (25, "PROBATION", "NORMAL", "probation_passed", [], None),
            (60, "NORMAL", "WARNING", "escalation", ["er_short", "high_vol_prob"], None),
            (66, "WARNING", "MANDATORY_EXIT", "escalation", ["closes_outside"], None),
            (67, "MANDATORY_EXIT", "EXITED", "grid_ended", [], None),
        ],
    ),
    (
        "virtual|okx|ETHUSDT",
        "virtual",
        "okx",
        "ETHUSDT",
        GRID_ETH_BARS,
        [(0, None, "DISABLED", "start", [], None), (65, "DISABLED", "PROBATION", "enable", [], (150.0, 250.0))],
    ),
    (
        "virtual|binance|BTCUSDT",
        "virtual",
        "binance",
        "BTCUSDT",
        48,
        [
            (0, None, "DISABLED", "start", [], None),
            (1, "DISABLED", "PROBATION", "enable", [], (90.0, 130.0)),
            (12, "PROBATION", "EXITED", "quick_stop", ["quick_stop_outside"], None),
        ],
    ),
]
# The ETH virtual grid runs (PROBATION .. MANDATORY_EXIT) on these bars, with these placements.
GRID_ETH_RUNNING = {
    **{b: (195.0, 215.0) for b in range(20, 30)},
    **{b: (196.0, 214.0) for b in range(55, 93)},
    **{b: (198.0, 212.0) for b in range(100, 120)},
}
# sha256 of figure_json of each grid view on the tiny warehouse without the lifecycle marts,
# recorded with the panel as it was before it drew the lifecycle (commit f3e02ce): those
# views must stay byte for byte the same. Change them only for a deliberate change of them.
GRID_VIEWS_WITHOUT_LIFECYCLE = {
    100: {
        "binance · BTCUSDT (4h)": "5682d5782676b192",
        "binance · ETHUSDT (1h)": "ce45cdab268007c7",
        "binance · ADAUSDT (4h)": "ae58234dbcca5b84",
    },
    1000: {
        "binance · BTCUSDT (4h)": "5682d5782676b192",
        "binance · ETHUSDT (1h)": "297f858b033c71a8",
        "binance · ADAUSDT (4h)": "ae58234dbcca5b84",
    },
}
LIFECYCLE_TRACES = (
    "grid lower",
    "grid [lower, upper]",
    "grid start",
    "grid exit",
    "→ WARNING",
    "→ LATEST",
    "→ MANDATORY",
)


def _lifecycle_walk(grid_id, kind, exchange, symbol, bars, changes) -> tuple[list[dict], list[dict]]:
    """The marts' rows of one hand-made walk: (fct_grid_lifecycle rows, fct_exit_states rows)."""
    by_bar: dict[int, list] = {}
    for change in changes:
        by_bar.setdefault(change[0], []).append(change)
    lifecycle, history = [], []
    state, lower, upper, stop_reason = None, None, None, None
    key = {"grid_id": grid_id, "grid_kind": kind, "walk_id": f"{grid_id}|1|", "exchange": exchange, "symbol": symbol}
    for i in range(bars):
        bar_start = START + pd.Timedelta(hours=i)
        for seq, (_, frm, to, reason, names, placed) in enumerate(by_bar.get(i, []), start=1):
            state = to
            if placed is not None:
                lower, upper = placed
            stop_reason = reason if to == "EXITED" else None if to == "PROBATION" else stop_reason
            history.append(
                {
                    **key,
                    "bar_start": bar_start,
                    "change_seq": seq,
                    "from_state": frm,
                    "to_state": to,
                    "reason": reason,
                    "triggers": json.dumps([{"trigger": n, "value": 1.5} for n in names]),
                }
            )
        lifecycle.append(
            {
                **key,
                "segment_id": 1,
                "valid_from": START if kind == "configured" else pd.NaT,
                "bar_start": bar_start,
                "state": state,
                "lower": lower,
                "upper": upper,
                "restart_permitted": state != "EXITED",
                "gates_passed": 0,
                "stop_reason": stop_reason,
            }
        )
    return lifecycle, history


def add_grid_lifecycle(con, skip: tuple[str, ...] = ()) -> None:
    """Create marts.fct_grid_lifecycle and marts.fct_exit_states (but those in ``skip``) from
    GRID_LIFECYCLE_CHANGES and the decoys in ``con`` (triggers as JSON, as in the mart)."""
    lifecycle, history = [], []
    for walk in [
        ("virtual|binance|ETHUSDT", "virtual", "binance", "ETHUSDT", GRID_ETH_BARS, GRID_LIFECYCLE_CHANGES),
        *GRID_LIFECYCLE_DECOYS,
    ]:
        rows, changes = _lifecycle_walk(*walk)
        lifecycle += rows
        history += changes
    con.execute("create schema if not exists marts")
    for relation, frame, cast in (
        ("marts.fct_grid_lifecycle", pd.DataFrame(lifecycle), ""),
        ("marts.fct_exit_states", pd.DataFrame(history), " replace (cast(triggers as json) as triggers)"),
    ):
        if relation in skip:
            continue
        con.register("frame_in", frame)
        con.execute(f"create table {relation} as select *{cast} from frame_in")
        con.unregister("frame_in")


@pytest.fixture()
def tiny_lifecycle(tiny):
    add_grid_lifecycle(tiny)
    return tiny


def _digest(fig) -> str:
    return hashlib.sha256(figure_json(fig).encode()).hexdigest()[:16]


def _eth_close(bars) -> list[float]:
    return [float(np.float32(200.0 + 0.1 * b)) for b in bars]


def test_grid_lifecycle_fixture_is_what_the_tests_assume(tiny_lifecycle):
    rows = tiny_lifecycle.execute("""
        select bar_start, state, lower, upper from marts.fct_grid_lifecycle
        where grid_id = 'virtual|binance|ETHUSDT' order by bar_start""").df()
    running = rows["state"].isin(grid_regimes.RUNNING_STATES)
    assert len(rows) == GRID_ETH_BARS and set(np.flatnonzero(running)) == set(GRID_ETH_RUNNING)
    # an EXITED grid keeps its last placement in the mart: the panel must mask it, not the data
    assert rows.loc[93:99, "state"].eq("EXITED").all() and rows.loc[93:99, "lower"].eq(196.0).all()
    assert tiny_lifecycle.execute("select typeof(triggers) from marts.fct_exit_states limit 1").fetchone() == ("JSON",)


def test_grid_panel_draws_the_virtual_grids_placement_only_on_running_bars(tiny_lifecycle):
    for settings, first_running in ((SMALL, 55), (Settings(max_intraday_bars=1000), 20)):
        eth = _grid(grid_regimes.build(tiny_lifecycle, settings))["binance · ETHUSDT (1h)"]
        (lower,), (upper,) = _traces(eth, "grid lower"), _traces(eth, "grid [lower, upper]")
        # from the first to the last running bar (119), evenly spaced: x0 / dx, float32
        bars = range(first_running, 120)
        for trace, side in ((lower, 0), (upper, 1)):
            assert (trace.x, trace.x0, trace.dx) == (None, _ms(START + pd.Timedelta(hours=first_running))[0], HOUR_MS)
            assert trace.y.dtype == np.float32 and len(trace.y) == len(bars)
            expected = [GRID_ETH_RUNNING[b][side] if b in GRID_ETH_RUNNING else np.nan for b in bars]
            np.testing.assert_array_equal(trace.y, np.asarray(expected, dtype=np.float32))  # NaN where off
            assert trace.line.shape == "hv" and trace.line.color == grid_regimes.GRID_LINE_COLOUR
            assert trace.line.width == 1 and trace.yaxis is None
        assert (lower.showlegend, upper.showlegend) == (False, None) and lower.legendgroup == upper.legendgroup
        assert lower.hovertemplate.startswith("grid lower ") and upper.hovertemplate.startswith("grid upper ")
        # drawn above the band, below the close
        names = [t.name for t in eth.data]
        assert names.index("range [support, resistance]") < names.index("grid lower") < names.index("close")


def test_grid_panel_marks_the_virtual_grids_state_changes(tiny_lifecycle):
    eth = _grid(grid_regimes.build(tiny_lifecycle, SMALL))["binance · ETHUSDT (1h)"]
    markers = [t for t in eth.data if t.name in LIFECYCLE_TRACES[2:]]
    assert [t.name for t in markers] == list(LIFECYCLE_TRACES[2:])  # after (above) the close, in this order
    assert eth.data[-len(markers) - 1].name == "confidence"
    hour = pd.Timedelta(hours=1)
    # in the window (bars 50-149) only: not the enable (20) and quick stop (30) before it, not the
    # de-escalation to WARNING (90), nor the decoys' changes (60, 65, 66, 67)
    expected = {
        "grid start": ([55, 100], "triangle-up", "#2ca02c"),
        "grid exit": ([93, 120], "x", "#d62728"),
        "→ WARNING": ([80], "circle", "#ffd700"),
        "→ LATEST": ([84], "circle", "#ff7f0e"),
        "→ MANDATORY": ([92], "circle", "#8b0000"),
    }
    for trace in markers:
        bars, symbol, colour = expected[trace.name]
        assert list(trace.x) == _ms(*(START + b * hour for b in bars)), trace.name
        assert [float(v) for v in trace.y] == _eth_close(bars)  # at the close of the change's bar
        assert (trace.mode, trace.marker.symbol, trace.marker.color) == ("markers", symbol, colour)
        assert trace.hovertemplate == "grid %{text}<extra></extra>" and trace.yaxis is None
    assert markers[0].marker.size > markers[2].marker.size  # escalations are the small ones
    by_name = {t.name: t for t in markers}
    assert list(by_name["grid start"].text) == [
        "EXITED → <b>PROBATION</b> (restart)<br>triggers: gates_passed, bars_since_stop, range_ok_support",
        "EXITED → <b>PROBATION</b> (restart)<br>triggers: gates_passed",
    ]
    assert list(by_name["grid exit"].text) == [
        "MANDATORY_EXIT → <b>EXITED</b> (grid_ended)<br>triggers: none",
        "PROBATION → <b>EXITED</b> (stop_trend)<br>triggers: verdict_TREND",
    ]
    assert list(by_name["→ WARNING"].text) == [
        "NORMAL → <b>WARNING</b> (escalation)<br>triggers: er_short, atr_ratio_warning"
    ]
    assert list(by_name["→ LATEST"].text) == [  # a name listed once
        "WARNING → <b>LATEST_ACCEPTABLE_EXIT</b> (escalation)<br>triggers: atr_ratio_latest"
    ]
    assert list(by_name["→ MANDATORY"].text) == [
        "WARNING → <b>MANDATORY_EXIT</b> (escalation)<br>triggers: stop_buffer, er_short"
    ]
    # the whole history in a wider window; a view without a change of a kind has no trace of it
    eth = _grid(grid_regimes.build(tiny_lifecycle, Settings(max_intraday_bars=1000)))["binance · ETHUSDT (1h)"]
    (enable,), (exit_,) = _traces(eth, "grid start"), _traces(eth, "grid exit")
    assert list(enable.x) == _ms(*(START + b * hour for b in (20, 55, 100)))
    assert list(exit_.x) == _ms(*(START + b * hour for b in (30, 93, 120)))
    assert exit_.text[0] == "PROBATION → <b>EXITED</b> (quick_stop)<br>triggers: quick_stop_outside"
    tiny_lifecycle.execute("delete from marts.fct_exit_states where to_state <> 'PROBATION'")
    eth = _grid(grid_regimes.build(tiny_lifecycle, SMALL))["binance · ETHUSDT (1h)"]
    assert [t.name for t in eth.data if t.name in LIFECYCLE_TRACES[2:]] == ["grid start"]


def test_grid_panel_names_the_lifecycle_state_in_the_hover_and_title(tiny_lifecycle):
    eth = _grid(grid_regimes.build(tiny_lifecycle, SMALL))["binance · ETHUSDT (1h)"]
    assert eth.layout.title.text.endswith("· latest TREND (0.50) · virtual grid EXITED")
    # room for a second legend row: a taller top margin, the title at its top
    assert eth.layout.margin.t == grid_regimes.LIFECYCLE_MARGIN_TOP > 60
    assert (eth.layout.title.y, eth.layout.title.yanchor) == (1, "top")
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    assert heat.hovertemplate == (
        "<b>%{customdata[0]}</b> · decided_by %{customdata[1]}<br>virtual grid %{customdata[2]}<extra></extra>"
    )
    # the verdict cells split where the state changes (same colour: they look as before)
    hour = pd.Timedelta(hours=1)
    assert list(heat.x) == _ms(*(START + b * hour for b in (50, 55, 70, 80, 84, 90, 92, 93, 100, 120, 150)))
    assert [[float(v) for v in row] for row in heat.z] == [[0] * 9 + [1]]
    assert [c[2] for c in heat.customdata[0]] == [
        "EXITED",
        "PROBATION",
        "NORMAL",
        "WARNING",
        "LATEST_ACCEPTABLE_EXIT",
        "WARNING",
        "MANDATORY_EXIT",
        "EXITED",
        "PROBATION",
        "EXITED",
    ]
    assert [c[:2] for c in heat.customdata[0]] == [["RANGE_OK", "range_quality"]] * 9 + [["TREND", "trend"]]
    # bars without a lifecycle row: "none"
    tiny_lifecycle.execute(
        "delete from marts.fct_grid_lifecycle where grid_id = 'virtual|binance|ETHUSDT' and bar_start >= ?",
        [START + 140 * hour],
    )
    eth = _grid(grid_regimes.build(tiny_lifecycle, SMALL))["binance · ETHUSDT (1h)"]
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    assert [c[2] for c in heat.customdata[0]][-2:] == ["EXITED", "none"]
    assert eth.layout.title.text.endswith("· virtual grid none")
    # a view where the grid neither runs nor changes: the state in the hover, no new legend entries
    eth = _grid(grid_regimes.build(tiny_lifecycle, Settings(max_intraday_bars=25)))["binance · ETHUSDT (1h)"]
    assert not [t for t in eth.data if t.name in LIFECYCLE_TRACES] and eth.layout.margin.t == 60
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    assert [c[2] for c in heat.customdata[0]] == ["EXITED", "none"]


def test_grid_panel_4h_views_get_no_lifecycle(tiny_lifecycle):
    # the BTCUSDT virtual grid runs on 1h bars that share their bar_start with the 4h bars
    assert (
        tiny_lifecycle.execute("""
        select count(*) from marts.fct_grid_lifecycle l join marts.fct_grid_regimes g
          on g.bar_start = l.bar_start and g.symbol = l.symbol and g.bar_interval = '4h'
        where l.state = 'PROBATION'""").fetchone()[0]
        > 0
    )
    for settings in (SMALL, Settings(max_intraday_bars=1000)):
        views = _grid(grid_regimes.build(tiny_lifecycle, settings))
        for label in ("binance · BTCUSDT (4h)", "binance · ADAUSDT (4h)"):
            assert not [t for t in views[label].data if t.name in LIFECYCLE_TRACES], label
            assert _digest(views[label]) == GRID_VIEWS_WITHOUT_LIFECYCLE[settings.max_intraday_bars][label]
        assert "virtual grid" not in views["binance · BTCUSDT (4h)"].layout.title.text


@pytest.mark.parametrize(
    "skip",
    [("marts.fct_grid_lifecycle", "marts.fct_exit_states"), ()],
    ids=["tables missing", "no rows for the series"],
)
def test_grid_panel_without_the_lifecycle_is_unchanged(tiny, skip):
    add_grid_lifecycle(tiny, skip=skip)
    if not skip:  # the tables exist, but hold nothing of binance ETHUSDT's virtual grid
        for relation in ("marts.fct_grid_lifecycle", "marts.fct_exit_states"):
            tiny.execute(f"delete from {relation} where grid_id = 'virtual|binance|ETHUSDT'")
    for bars, expected in GRID_VIEWS_WITHOUT_LIFECYCLE.items():
        views = _grid(grid_regimes.build(tiny, Settings(max_intraday_bars=bars)))
        assert {label: _digest(fig) for label, fig in views.items()} == expected


def test_grid_panel_draws_what_one_lifecycle_mart_gives(tiny):
    add_grid_lifecycle(tiny, skip=("marts.fct_exit_states",))  # placement and state, no markers
    eth = _grid(grid_regimes.build(tiny, SMALL))["binance · ETHUSDT (1h)"]
    names = {t.name for t in eth.data}
    assert {"grid lower", "grid [lower, upper]"} <= names and not names & set(LIFECYCLE_TRACES[2:])
    tiny.execute("drop table marts.fct_grid_lifecycle")
    add_grid_lifecycle(tiny, skip=("marts.fct_grid_lifecycle",))  # markers only; shading and title as before
    eth = _grid(grid_regimes.build(tiny, SMALL))["binance · ETHUSDT (1h)"]
    assert [t.name for t in eth.data if t.name in LIFECYCLE_TRACES] == list(LIFECYCLE_TRACES[2:])
    (heat,) = [t for t in eth.data if t.type == "heatmap"]
    assert "virtual grid" not in heat.hovertemplate and "virtual grid" not in eth.layout.title.text
    assert len(heat.customdata[0]) == 2


def test_trigger_names():
    text = (
        '[{"trigger": "er_short", "value": 0.7}, {"trigger": "z_stretch", "value": "inf"}, '
        '{"trigger": "er_short", "value": 0.8}]'
    )
    assert grid_regimes.trigger_names(text) == "er_short, z_stretch"  # in order, each once
    for empty in ("[]", None, "not json", '{"trigger": "x"}', '[{"value": 1}]'):
        assert grid_regimes.trigger_names(empty) == "none"


def test_grid_panel_lifecycle_stays_small(tiny_lifecycle):
    # The ETH 1h view (SMALL: 100 bars; the grid runs on 58 of the 65 from the first to the
    # last running bar; 7 marked changes of 5 kinds; 10 heatmap cells instead of 2) grows by
    # ~4.2 kB, 5.7 -> 10.0 kB: the two placement lines ~1.2 kB (65 float32 each, base64, no
    # time array), the markers ~2.0 kB (~250 bytes a trace, ~120 a change with its hover),
    # the state in the heatmap hover ~0.5 kB. float64 placement lines would add ~0.7 kB.
    plain = duckdb.connect()
    make_tiny_warehouse(plain)
    sizes = {}
    for name, con in (("plain", plain), ("lifecycle", tiny_lifecycle)):
        sizes[name] = len(figure_json(_grid(grid_regimes.build(con, SMALL))["binance · ETHUSDT (1h)"]))
    plain.close()
    assert sizes["plain"] == 5749
    assert 4_000 < sizes["lifecycle"] - sizes["plain"] < 4_600, sizes
