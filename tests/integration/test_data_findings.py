"""The four data findings of issue 18 (point 8), on the sample build and the fixture build
(the session fixtures of tests/conftest.py; nothing is built here).

(a) a driver's bar is final once the driver has a later bar from another source;
(b) a stopped composite member no longer holds the composite provisional;
(c) turbulence of the cross-section of the symbols of each exchange and interval;
(d) optional drivers without bars are a dbt warning.
The models' own dbt unit tests (fct_driver_bars, int_composite_bars_computed) check (a)
and (b) on hand-made rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration


def _provisional(db, driver: str) -> dict[str, list[str]]:
    rows = query(
        db,
        f"select timeframe, bar_start from marts.fct_driver_bars where driver = '{driver}' "
        "and not is_final order by timeframe, bar_start",
    )
    out: dict[str, list[str]] = {}
    for timeframe, bar_start in rows.itertuples(index=False):
        out.setdefault(timeframe, []).append(str(bar_start))
    return out


def test_btc_last_binance_bars_are_final_once_bybit_bars_follow(sample_db):
    """(a) BTC's Binance hourly and daily bars end 2023-12-30 (the export's partly filled
    last hour and day), Bybit's start 2025-04-03: the driver has later bars, so those are
    final; only each timeframe's newest bar is provisional."""
    assert _provisional(sample_db, "BTC") == {
        "macro": ["2025-07-02 00:00:00"],
        "meso": ["2025-07-02 17:00:00"],
        "micro": ["2025-07-02 17:00:00"],
    }
    last = query(
        sample_db,
        "select timeframe, bar_start, source, is_complete, is_final, segment_id from marts.fct_driver_bars "
        "where driver = 'BTC' and ((timeframe = 'macro' and bar_start = '2023-12-30 00:00') "
        "or (timeframe = 'meso' and bar_start = '2023-12-30 19:00')) order by timeframe",
    )
    assert last.astype(str).values.tolist() == [
        ["macro", "2023-12-30 00:00:00", "binance", "False", "True", "1"],
        ["meso", "2023-12-30 19:00:00", "binance", "True", "True", "1"],
    ]
    # final bars feed the detectors: the bars now have their Uptrend Engine rows
    states = query(
        sample_db,
        "select timeframe, bar_start from marts.fct_uptrend_states where driver = 'BTC' "
        "and ((timeframe = 'macro' and bar_start = '2023-12-30 00:00') "
        "or (timeframe = 'meso' and bar_start = '2023-12-30 19:00')) order by timeframe",
    )
    assert states.astype(str).values.tolist() == [["macro", "2023-12-30 00:00:00"], ["meso", "2023-12-30 19:00:00"]]


def test_stopped_member_no_longer_holds_the_nano_daily_composite(sample_db):
    """(b) WTCUSDT's hourly bars end 2023-12-07 02:00 while Binance's go on to 2023-12-30:
    it has stopped (more than 24 of its hourly bars of silence), so the nano daily bars
    2023-12-08 .. 29 are final (8 members each) and only the newest is provisional. Big's
    daily bars 2025-06-29 .. 07-02 stay provisional: DOTUSDT's Bybit 1m series ends with
    every Bybit 1m series (2025-06-29 16:40), an export boundary, not a stop."""
    provisional = _provisional(sample_db, "nano")
    assert provisional == {"macro": ["2023-12-30 00:00:00"], "meso": ["2023-12-30 20:00:00", "2023-12-30 21:00:00"]}
    released = query(
        sample_db,
        "select count(*) as n, min(n_constituents) as lo, max(n_constituents) as hi, "
        "bool_and(is_final) as final from marts.fct_driver_bars where driver = 'nano' "
        "and timeframe = 'macro' and bar_start between '2023-12-08' and '2023-12-29'",
    )
    assert released.iloc[0].tolist() == [22, 8, 8, True]
    assert _provisional(sample_db, "big")["macro"] == [
        "2025-06-29 00:00:00",
        "2025-06-30 00:00:00",
        "2025-07-01 00:00:00",
        "2025-07-02 00:00:00",
    ]


def test_symbol_turbulence_of_each_exchange_cross_section(sample_db):
    """(c) One row per exchange x interval x bar of the joint calendar once the 250-bar
    window is full: Binance 1h (44 symbols) from MULTIUSDT's listing until FTTUSDT's gap,
    Bybit 1h (8 symbols) over the month all of them cover; no daily rows (joint calendars of
    192 and 29 days, shorter than the window)."""
    summary = query(
        sample_db,
        "select exchange, bar_interval, count(*) as n, min(bar_start) as first_bar, "
        "max(bar_start) as last_bar, min(turbulence_symbols) as k_min, "
        "max(turbulence_symbols) as k_max from marts.fct_symbol_turbulence "
        "group by all order by all",
    )
    assert summary.astype(str).values.tolist() == [
        ["binance", "1h", "4645", "2022-04-16 15:00:00", "2022-11-15 04:00:00", "44", "44"],
        ["bybit", "1h", "470", "2025-06-10 03:00:00", "2025-06-29 16:00:00", "8", "8"],
    ]


@pytest.mark.parametrize(
    "exchange, bar_start",
    [
        ("bybit", "2025-06-10 03:00:00"),
        ("bybit", "2025-06-29 16:00:00"),
        ("binance", "2022-04-16 15:00:00"),
        ("binance", "2022-08-01 12:00:00"),
    ],
)
def test_symbol_turbulence_recomputed_from_the_bars(sample_db, exchange, bar_start):
    """(c) The value, recomputed here from marts.fct_symbol_bars with numpy: log returns of
    the final primary hourly bars within each segment, clean (|r| <= toxic_abs_log_return),
    the bars where every symbol has one, d = (y - mu)' pinv(S) (y - mu) with mu, S (ddof 1)
    over the turbulence_window_bars joint bars before the bar."""
    cfg = query(
        sample_db,
        "select key, value from seeds.volatility_config "
        "where key in ('toxic_abs_log_return', 'turbulence_window_bars')",
    )
    cfg = dict(zip(cfg["key"], cfg["value"].astype(float)))
    bars = query(
        sample_db,
        f"""
        select symbol, bar_start,
               ln(close / lag(close) over (partition by symbol, segment_id order by bar_start)) as r
        from marts.fct_symbol_bars
        where exchange = '{exchange}' and bar_interval = '1h' and is_final and is_primary""",
    )
    bars = bars[np.isfinite(bars["r"]) & (bars["r"].abs() <= cfg["toxic_abs_log_return"])]
    joint = bars.pivot(index="bar_start", columns="symbol", values="r").sort_index().dropna()
    t = joint.index.get_loc(np.datetime64(bar_start))
    window = int(cfg["turbulence_window_bars"])
    past = joint.iloc[t - window : t].to_numpy()
    d = joint.iloc[t].to_numpy() - past.mean(axis=0)
    expected = float(d @ np.linalg.pinv(np.cov(past, rowvar=False)) @ d)
    got = query(
        sample_db,
        f"select turbulence, turbulence_symbols from marts.fct_symbol_turbulence "
        f"where exchange = '{exchange}' and bar_interval = '1h' and bar_start = '{bar_start}'",
    )
    assert got["turbulence_symbols"].tolist() == [joint.shape[1]]
    assert got["turbulence"].iloc[0] == pytest.approx(expected, rel=1e-9)


def test_missing_optional_drivers_warn(fixture_build):
    """(d) The fixture lands no member of the small and mid buckets (nano has STRAXUSDT and
    DREPUSDT, big DOTUSDT's 5m bars from the Bybit snapshot): a warning naming the two,
    never an error."""
    assert "WARN 2 warn_missing_optional_drivers" in fixture_build["stdout"]
    compiled = next((fixture_build["root"] / "target" / "compiled").rglob("warn_missing_optional_drivers.sql"))
    rows = query(fixture_build["db"], compiled.read_text())
    assert rows.values.tolist() == [["mid", "composite"], ["small", "composite"]]
