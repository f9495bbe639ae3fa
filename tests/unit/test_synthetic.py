"""market_regimes.landing.synthetic.write_next_candles on a hand-made landing folder."""

from __future__ import annotations

import pandas as pd

from market_regimes.landing.synthetic import write_next_candles


def test_next_candle_for_live_files_only(tmp_path):
    binance = tmp_path / "klines" / "binance"
    binance.mkdir(parents=True)
    (binance / "AAAUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        "2023-12-30 18:00:00,10,12,9,11,5,AAAUSDT\n"
        "2023-12-30 19:00:00,11,13,10,12.5,7,AAAUSDT\n")
    (binance / "BBBUSDT_1h.csv").write_text(  # stopped 2 days before: not live
        "date,open,high,low,close,volume,ticker\n"
        "2023-12-28 19:00:00,1,1,1,1,1,BBBUSDT\n")
    bybit = tmp_path / "klines" / "bybit"
    bybit.mkdir()
    (bybit / "AAAUSDT_5m.csv").write_text(
        "timestamp,open,high,low,close,volume\n2025-06-29 16:40:00+00:00,1,2,0.5,1.5,9\n")
    written = write_next_candles(tmp_path)
    assert sorted(p.name for p in written) == ["AAAUSDT_1h__next.csv", "AAAUSDT_5m__next.csv"]
    hourly = pd.read_csv(binance / "AAAUSDT_1h__next.csv", dtype=str)
    assert hourly.to_dict("records") == [{"date": "2023-12-30 20:00:00", "open": "12.5", "high": "12.5",
                                          "low": "12.5", "close": "12.5", "volume": "7", "ticker": "AAAUSDT"}]
    five = pd.read_csv(bybit / "AAAUSDT_5m__next.csv", dtype=str)
    assert five.iloc[0].tolist() == ["2025-06-29 16:45:00+00:00", "1.5", "1.5", "1.5", "1.5", "9"]


def test_an_exchange_that_ended_long_before_the_others_is_not_live(tmp_path):
    binance = tmp_path / "klines" / "binance"
    binance.mkdir(parents=True)
    (binance / "AAAUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume,ticker\n2023-12-30 19:00:00,11,13,10,12.5,7,AAAUSDT\n")
    bybit = tmp_path / "klines" / "bybit"
    bybit.mkdir()
    (bybit / "AAAUSDT_1h.csv").write_text(  # the newest hourly candle anywhere: binance is 1.5 years behind
        "timestamp,open,high,low,close,volume\n2025-06-29 16:00:00+00:00,1,2,0.5,1.5,9\n")
    assert [p.relative_to(tmp_path).as_posix() for p in write_next_candles(tmp_path)] == [
        "klines/bybit/AAAUSDT_1h__next.csv"]
