"""market_regimes.landing.synthetic.write_next_candles on hand-made landing folders."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from market_regimes.landing.synthetic import write_next_candles


def _five_minute_file(path, start="2025-06-29 16:00:00", n=12, close0=100.0):
    rows = ["timestamp,open,high,low,close,volume"]
    for i in range(n):
        ts = pd.Timestamp(start) + pd.Timedelta(minutes=5 * i)
        o = close0 + i
        rows.append(f"{ts}+00:00,{o},{o + 2},{o - 1},{o + 1},{10 + i}")
    path.write_text("\n".join(rows) + "\n")


def test_next_candles_for_live_series_only(tmp_path):
    binance = tmp_path / "klines" / "binance"
    binance.mkdir(parents=True)
    (binance / "AAAUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        "2023-12-30 18:00:00,10,12,9,11,5,AAAUSDT\n"
        "2023-12-30 19:00:00,11,13,10,12.5,7,AAAUSDT\n"
    )
    (binance / "BBBUSDT_1h.csv").write_text(  # stopped 2 days before: not live
        "date,open,high,low,close,volume,ticker\n2023-12-28 19:00:00,1,1,1,1,1,BBBUSDT\n"
    )
    written = write_next_candles(tmp_path, minutes=60)
    assert sorted(p.name for p in written) == ["AAAUSDT_1h__next.csv"]
    hourly = pd.read_csv(binance / "AAAUSDT_1h__next.csv", dtype=str)
    assert hourly["date"].tolist() == ["2023-12-30 20:00:00"]  # the finest series is continued, not revised
    assert hourly["ticker"].tolist() == ["AAAUSDT"] and hourly["open"].tolist() == ["12.5"]
    h = hourly[["open", "high", "low", "close"]].astype(float).iloc[0]
    assert h["low"] <= min(h["open"], h["close"]) <= max(h["open"], h["close"]) <= h["high"]


def test_a_symbol_or_file_behind_its_exchange_is_not_live(tmp_path):
    bybit = tmp_path / "klines" / "bybit"
    bybit.mkdir(parents=True)
    (bybit / "AAAUSDT_5m.csv").write_text(
        "timestamp,open,high,low,close,volume\n2025-07-02 16:40:00+00:00,1,2,0.5,1.5,9\n"
    )
    (bybit / "AAAUSDT_60m.csv").write_text(  # this export stopped 3 days before the 5m one
        "timestamp,open,high,low,close,volume\n2025-06-29 16:00:00+00:00,1,2,0.5,1.5,9\n"
    )
    (bybit / "BBBUSDT_5m.csv").write_text(  # stopped 3 days before the exchange's newest candle
        "timestamp,open,high,low,close,volume\n2025-06-29 16:40:00+00:00,1,2,0.5,1.5,9\n"
    )
    written = write_next_candles(tmp_path, minutes=60)
    assert [p.name for p in written] == ["AAAUSDT_5m__next.csv"]
    five = pd.read_csv(written[0], dtype=str)
    assert five["timestamp"].tolist() == [
        f"2025-07-02 {16 + (45 + 5 * i) // 60}:{(45 + 5 * i) % 60:02d}:00+00:00" for i in range(12)
    ]
    assert (
        five["open"].iat[0] == "1.5" and (five["close"].iloc[:-1].to_numpy() == five["open"].iloc[1:].to_numpy()).all()
    )


def test_coarser_candles_are_rollups_of_the_finest_series(tmp_path):
    bybit = tmp_path / "klines" / "bybit"
    bybit.mkdir(parents=True)
    _five_minute_file(bybit / "CCCUSDT_5m.csv")
    (bybit / "CCCUSDT_60m.csv").write_text(  # the in-progress 16:00 candle, exported at 16:25
        "timestamp,open,high,low,close,volume\n2025-06-29 16:00:00+00:00,100,106,99,105,50\n"
    )
    write_next_candles(tmp_path, minutes=60, tag="u001")
    five = pd.concat([pd.read_csv(bybit / "CCCUSDT_5m.csv"), pd.read_csv(bybit / "CCCUSDT_5m__u001.csv")])
    assert len(five) == 24
    hourly = pd.read_csv(bybit / "CCCUSDT_60m__u001.csv")
    assert hourly["timestamp"].tolist() == ["2025-06-29 16:00:00+00:00", "2025-06-29 17:00:00+00:00"]
    for i, row in hourly.iterrows():  # the completed 16:00 candle and the new 17:00 one
        inside = five.iloc[12 * i : 12 * i + 12]
        assert row["open"] == inside["open"].iat[0] and row["close"] == inside["close"].iat[-1]
        assert row["high"] == inside["high"].max() and row["low"] == inside["low"].min()
        assert row["volume"] == pytest.approx(inside["volume"].sum(), rel=1e-12)
    assert hourly["volume"].iat[0] == sum(range(10, 22)) + five["volume"].iloc[12:].sum() - hourly["volume"].iat[1]


def test_repeated_runs_are_deterministic_and_continue(tmp_path):
    bybit = tmp_path / "a" / "klines" / "bybit"
    bybit.mkdir(parents=True)
    _five_minute_file(bybit / "CCCUSDT_5m.csv")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for run in ("u001", "u002"):
        a = write_next_candles(tmp_path / "a", minutes=5, tag=run)
        b = write_next_candles(tmp_path / "b", minutes=5, tag=run)
        assert [p.read_text() for p in a] == [p.read_text() for p in b]
    second = pd.read_csv(bybit.parent.parent.parent / "a" / "klines" / "bybit" / "CCCUSDT_5m__u002.csv")
    assert second["timestamp"].tolist() == ["2025-06-29 17:05:00+00:00"]


def test_an_exchange_that_ended_long_before_the_others_is_not_live(tmp_path):
    binance = tmp_path / "klines" / "binance"
    binance.mkdir(parents=True)
    (binance / "AAAUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume,ticker\n2023-12-30 19:00:00,11,13,10,12.5,7,AAAUSDT\n"
    )
    bybit = tmp_path / "klines" / "bybit"
    bybit.mkdir()
    (bybit / "AAAUSDT_1h.csv").write_text(  # the newest hourly candle anywhere: binance is 1.5 years behind
        "timestamp,open,high,low,close,volume\n2025-06-29 16:00:00+00:00,1,2,0.5,1.5,9\n"
    )
    assert [p.relative_to(tmp_path).as_posix() for p in write_next_candles(tmp_path)] == [
        "klines/bybit/AAAUSDT_1h__next.csv"
    ]
