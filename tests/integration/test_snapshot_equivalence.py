"""Hourly snapshot folders give the same candles as the exchange's CSV export of the same hours.

The bundled sample ships three real snapshot hours (2025-06-01 12:00-14:59 UTC, ADA-USDT and
DOT-USDT: a `_1m.json` of minute prices and a `_1h.json` candle per hour; DOT's 13:00 hour has
59 minute prices, 13:37 missing) under `sample/landing/snapshots/`, with `metadata.source` set
to `bybit-snapshots` so that they land as their own exchange beside the Bybit CSV files of the
same symbols (docs/data.md). The sample build must give, for those hours, the CSV's hourly
candles exactly and the CSV's 1m closes exactly; the hour with a missing minute is incomplete.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from market_regimes.landing import land_files
from tests.conftest import SAMPLE
from tests.helpers import query

pytestmark = pytest.mark.integration

HOURS = ("2025-06-01 12:00:00", "2025-06-01 15:00:00")  # [start, end)


def _bars(db, exchange: str, interval: str, origin: str = "landed") -> pd.DataFrame:
    return query(
        db,
        f"""
        select symbol, bar_start, open, high, low, close, volume, is_complete
        from marts.fct_symbol_bars
        where exchange = '{exchange}' and bar_interval = '{interval}' and origin = '{origin}'
          and symbol in ('ADAUSDT', 'DOTUSDT') and bar_start >= '{HOURS[0]}' and bar_start < '{HOURS[1]}'
        order by symbol, bar_start""",
    )


def test_snapshot_hours_equal_their_csv_twins_in_the_sample_build(sample_db):
    hourly = _bars(sample_db, "bybit-snapshots", "1h")
    csv = _bars(sample_db, "bybit", "1h")
    assert len(hourly) == 6  # 2 symbols x 3 hours
    cols = ["symbol", "bar_start", "open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(hourly[cols], csv[cols], check_exact=True)
    # a known value, by hand from the file: ADA 13:00 candle [.., 6593, 6654, 6588, 6630, ..] / 10^4
    ada13 = hourly[(hourly["symbol"] == "ADAUSDT") & (hourly["bar_start"] == pd.Timestamp("2025-06-01 13:00"))]
    assert ada13[["open", "high", "low", "close"]].iloc[0].tolist() == [0.6593, 0.6654, 0.6588, 0.663]
    minutes = _bars(sample_db, "bybit-snapshots", "1m")
    assert len(minutes) == 6 * 60 - 1  # DOT 13:37 missing
    csv_minutes = _bars(sample_db, "bybit", "1m").merge(minutes[["symbol", "bar_start"]])
    assert minutes["close"].tolist() == csv_minutes["close"].tolist()
    assert (minutes["open"] == minutes["close"]).all() and minutes["volume"].isna().all()
    # the hour rolled up from the minute prices: the CSV's close; incomplete where a minute is missing
    rolled = _bars(sample_db, "bybit-snapshots", "1h", origin="rollup")
    assert rolled["close"].tolist() == csv["close"].tolist()
    incomplete = rolled.loc[~rolled["is_complete"], ["symbol", "bar_start"]].astype(str).to_numpy().tolist()
    assert incomplete == [["DOTUSDT", "2025-06-01 13:00:00"]]


def test_no_snapshot_row_is_quarantined_in_the_sample(sample_db):
    landed = query(
        sample_db,
        """
        select status, count(*) as n from raw.klines where layout = 'snapshots' group by status""",
    )
    assert dict(zip(landed["status"], landed["n"])) == {"landed": 6 * 60 - 1 + 6}


def test_snapshot_folder_and_csv_land_identical_candles():
    """The landing alone: the snapshot files of the sample and a CSV written from the same
    candles and minute closes (o = h = l = c, volume 0: a snapshot minute has none) land as the
    same bars (prices are integers / price_scale)."""
    files, minute_rows, hour_rows = [], [], []
    for path in sorted((SAMPLE / "snapshots").rglob("*.json")):
        rel = str(path.relative_to(SAMPLE))
        files.append((rel, path.read_bytes(), rel))
        doc = json.loads(path.read_text())
        scale = doc["metadata"]["price_scale"]
        sym = doc["metadata"]["symbol"].replace("-", "")
        for ms, price in doc.get("minute_prices", []):
            minute_rows.append((sym, ms, price / scale))
        for ms, o, h, low, c, v in doc.get("candles", []):
            hour_rows.append((sym, ms, o / scale, h / scale, low / scale, c / scale, v))
    snap = land_files("klines", files, pd.Timestamp("2026-01-01"))
    csv_files = []
    for sym in ("ADAUSDT", "DOTUSDT"):
        m = [r for r in minute_rows if r[0] == sym]
        text = "timestamp,open,high,low,close,volume\n" + "".join(
            f"{pd.Timestamp(ms, unit='ms')}+00:00,{p!r},{p!r},{p!r},{p!r},0\n" for _, ms, p in m
        )
        csv_files.append((f"klines/bybit-snapshots/{sym}_1m.csv", text.encode(), sym + "1m"))
        h = [r for r in hour_rows if r[0] == sym]
        text = "timestamp,open,high,low,close,volume\n" + "".join(
            f"{pd.Timestamp(ms, unit='ms')}+00:00,{o!r},{hi!r},{lo!r},{c!r},{v!r}\n" for _, ms, o, hi, lo, c, v in h
        )
        csv_files.append((f"klines/bybit-snapshots/{sym}_1h.csv", text.encode(), sym + "1h"))
    csv = land_files("klines", csv_files, pd.Timestamp("2026-01-01"))
    cols = ["exchange", "symbol", "bar_interval", "bar_start", "open", "high", "low", "close", "status"]
    a = snap[cols].sort_values(cols[:4]).reset_index(drop=True)
    b = csv[cols].sort_values(cols[:4]).reset_index(drop=True)
    assert len(a) == 6 * 60 - 1 + 6 and set(a["status"]) == {"landed"}
    pd.testing.assert_frame_equal(a, b, check_exact=True)
