"""A small landing directory with every layout and hand-checkable numbers.

Contents (all UTC):
* klines/binance: BTCUSDT, ETHUSDT, SOLUSDT, STRAXUSDT, DREPUSDT 1h for 2024-01-01
  00:00-03:00 (the 03:00 bar is each file's provisional bar), and XRPUSDT_1h.csv with
  injected bad rows (see BAD_KLINES).
* klines/bybit: ADAUSDT 5m 2025-06-01 00:00-02:05 (26 bars) and the exchange's own 60m
  candles for 00:00, 01:00 and the in-progress 02:00.
* snapshots/2025/06/01/13: DOT-USDT_1m.json with 59 minute prices (13:37 missing) and
  DOT-USDT_1h.json with the hour's candle.
* dominance: btc/usdt daily readings 2024-01-01..03 and per-minute BTC readings.
* daily: DVOL (close only) and SPX (OHLCV).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

BAD_KLINES = (
    "date,open,high,low,close,volume,ticker\n"
    "2024-01-01 00:00:00,10,11,9,10.5,100,XRPUSDT\n"  # 2 good
    "2024-01-01 01:00:00,10.5,9,10,10,100,XRPUSDT\n"  # 3 high < low
    "2024-01-01 02:00:00,-1,11,9,10,100,XRPUSDT\n"  # 4 negative price
    "2024-01-01 03:00:00,NaN,11,9,10,100,XRPUSDT\n"  # 5 NaN
    "2024-01-01 03:30:00,10,11,9,10,100,XRPUSDT\n"  # 6 unaligned timestamp
    "yesterday noon,10,11,9,10,100,XRPUSDT\n"  # 7 garbage timestamp
    "2024-01-01 04:00:00,10,12,9,11,100,XRPUSDT\n"  # 8 good
    "2024-01-01 04:00:00,10,12,9,11,150,XRPUSDT\n"  # 9 conflicting duplicate (volume only)
    "2024-01-01 04:00:00,10,12,9,11,100,XRPUSDT\n"  # 10 identical duplicate
    "2024-01-01 05:00:00,11,11.5,10,11.2,-3,XRPUSDT\n"  # 11 negative volume
    "2024-01-01 06:00:00,11,11.5,10,11.2,5,XRPUSDT\n"  # 12 good (newest)
    "2024-01-01 07:00:00,11.2,11"  # 13 truncated line
)

HOURS = ["2024-01-01 00:00:00", "2024-01-01 01:00:00", "2024-01-01 02:00:00", "2024-01-01 03:00:00"]
BINANCE = {  # symbol: rows of (open, high, low, close, volume) per hour
    "BTCUSDT": [(100, 110, 90, 105, 2), (105, 120, 100, 115, 3), (115, 116, 100, 101, 1), (101, 102, 95, 96, 4)],
    "ETHUSDT": [
        (10, 10.5, 9.5, 10, 100),
        (10, 11.5, 9.8, 11, 100),
        (11, 12.2, 10.9, 12.1, 50),
        (12.1, 12.3, 11.9, 12, 10),
    ],
    "SOLUSDT": [(20, 20.5, 19.5, 20, 10), (20, 21, 17, 18, 10), (18, 20, 17.5, 19.8, 10), (19.8, 20, 18.5, 19, 10)],
    "STRAXUSDT": [(1, 1, 1, 1, 5), (1, 2.1, 1, 2, 5), (2, 2.2, 1.9, 2.1, 5), (2.1, 2.1, 2, 2, 5)],
    "DREPUSDT": [(1, 1, 1, 1, 5), (1, 1.2, 1, 1.1, 5), (1.1, 1.1, 0.99, 1.0, 5), (1, 1, 1, 1, 5)],
}


def ada_5m_bars() -> pd.DataFrame:
    """26 deterministic 5m bars from 2025-06-01 00:00 (hours 00 and 01 complete, 02 partial)."""
    rows = []
    for i in range(26):
        o = 0.7 + 0.0013 * ((i * 7) % 11)
        c = 0.7 + 0.0013 * (((i + 1) * 7) % 11)
        rows.append(
            {
                "timestamp": pd.Timestamp("2025-06-01") + pd.Timedelta(minutes=5 * i),
                "open": round(o, 4),
                "high": round(max(o, c) + 0.0021, 4),
                "low": round(min(o, c) - 0.0017, 4),
                "close": round(c, 4),
                "volume": 1000.5 + 37.25 * i,
            }
        )
    return pd.DataFrame(rows)


def ada_60m_candles() -> pd.DataFrame:
    """The exchange's own hourly candles for the 5m bars: first/max/min/last/sum."""
    bars = ada_5m_bars()
    hour = bars["timestamp"].dt.floor("h")
    out = bars.groupby(hour).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    return out.reset_index().rename(columns={"index": "timestamp"})


def write_fixture_landing(root: Path) -> Path:
    """Write the fixture landing directory under ``root`` and return it."""
    kb = root / "klines" / "binance"
    kb.mkdir(parents=True)
    for symbol, rows in BINANCE.items():
        lines = ["date,open,high,low,close,volume,ticker"]
        lines += [f"{h},{o},{hi},{lo},{c},{v},{symbol}" for h, (o, hi, lo, c, v) in zip(HOURS, rows)]
        (kb / f"{symbol}_1h.csv").write_text("\n".join(lines) + "\n")
    (kb / "XRPUSDT_1h.csv").write_text(BAD_KLINES)

    ky = root / "klines" / "bybit"
    ky.mkdir(parents=True)
    fmt = lambda df: df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00"))  # noqa: E731
    fmt(ada_5m_bars()).to_csv(ky / "ADAUSDT_5m.csv", index=False)
    fmt(ada_60m_candles()).to_csv(ky / "ADAUSDT_60m.csv", index=False)

    snap = root / "snapshots" / "2025" / "06" / "01" / "13"
    snap.mkdir(parents=True)
    meta = {"symbol": "DOT-USDT", "hour_start": "2025-06-01T13:00:00Z", "source": "bybit", "price_scale": 10000}
    start = int(pd.Timestamp("2025-06-01 13:00").timestamp() * 1000)
    minutes = [[start + m * 60_000, 40000 + 3 * m] for m in range(60) if m != 37]
    (snap / "DOT-USDT_1m.json").write_text(
        json.dumps({"metadata": meta, "market_summary": {"last_price": 40177, "minutes": 59}, "minute_prices": minutes})
    )
    (snap / "DOT-USDT_1h.json").write_text(
        json.dumps(
            {
                "metadata": meta,
                "market_summary": {"last_price": 40177, "minutes": 59},
                "candles": [[start, 40000, 40210, 39990, 40177, 236169.9]],
            }
        )
    )

    dom = root / "dominance"
    dom.mkdir()
    (dom / "btc_dominance_daily.csv").write_text(
        "date_utc,dominance_pct\n2024-01-01,50.0\n2024-01-02,51.5\n2024-01-03,49.0\n"
    )
    (dom / "usdt_dominance_daily.csv").write_text(
        "date_utc,dominance_pct\n2024-01-01,5.0\n2024-01-02,5.25\n2024-01-03,5.5\n"
    )
    (dom / "btc_dominance.csv").write_text(
        "timestamp,dominance_pct\n2024-01-01 00:00:10,50.1\n2024-01-01 00:00:40,50.3\n"
        "2024-01-01 00:01:05,50.2\n2024-01-01 00:59:00,50.0\n2024-01-01 01:00:30,50.4\n"
        "2024-01-01 02:30:00,50.6\n"
    )

    daily = root / "daily"
    daily.mkdir()
    (daily / "DVOL.csv").write_text("date_utc,close\n2024-01-01,56.76\n2024-01-02,59.48\n2024-01-03,61.0\n")
    (daily / "SPX.csv").write_text(
        "date,open,high,low,close,volume\n2024-01-02,4745.2,4754.33,4722.67,4742.83,3743050000\n"
    )
    return root
