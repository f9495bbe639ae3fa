"""Landing ledger: validation reasons, accounting, duplicates, provisional bars (docs/landing.md)."""

import gzip
import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from market_regimes.landing import land_files
from market_regimes.landing.ledger import LAYOUT_SPECS
from tests.integration.fixture_landing import BAD_KLINES  # one row per bad-row kind, numbered by line

T0 = pd.Timestamp("2026-01-01 00:00:00")


def land(files, existing=None, table="klines"):
    return land_files(table, [(name, data, f"hash-{name}") for name, data in files], T0, existing)


def test_each_bad_row_is_quarantined_with_its_reason():
    out = land([("klines/binance/XRPUSDT_1h.csv", BAD_KLINES.encode())])
    assert list(out.columns) == list(LAYOUT_SPECS["klines"].columns)
    out = out.set_index("line_number")
    assert out.loc[[2, 8, 12], "status"].tolist() == ["landed"] * 3
    assert out.loc[10, "status"] == "collapsed"
    reasons = out["reject_reason"].dropna().to_dict()
    assert reasons == {
        3: "high below low",
        4: "non-positive price",
        5: "non-finite or unparseable price",
        6: "unaligned timestamp for a 60-minute bar",
        7: "unparseable timestamp 'yesterday noon'",
        9: "conflicting duplicate of a final bar",
        11: "negative volume",
        13: "wrong field count: 3 fields, header has 7",
    }
    # read = landed + rejected + collapsed, and nothing is lost: rejects keep their text
    assert len(out) == 12 == 3 + 8 + 1
    assert out.loc[13, "raw_record"] == "2024-01-01 07:00:00,11.2,11"
    assert out.loc[7, "raw_record"].startswith("yesterday noon,")
    assert out.loc[12, "is_newest_in_file"] and not out.loc[8, "is_newest_in_file"]
    assert out.loc[8, ["open", "high", "low", "close", "volume"]].tolist() == [10, 12, 9, 11, 100]


def test_high_and_low_must_bracket_open_and_close():
    csv = (
        "timestamp,open,high,low,close,volume\n"
        "2025-05-30 17:00:00+00:00,10,10.5,9,11,1\n"
        "2025-05-30 17:05:00+00:00,10,12,10.5,11,1\n"
        "2025-05-30 17:10:00+00:00,10,12,9,11,1\n"
    )
    out = land([("klines/bybit/ETHUSDT_5m.csv", csv.encode())])
    assert out["reject_reason"].tolist()[:2] == ["high below max(open, close)", "low above min(open, close)"]
    assert out["bar_start"].iloc[2] == pd.Timestamp("2025-05-30 17:10:00")  # +00:00 -> naive UTC


def test_ticker_must_match_the_file_symbol():
    csv = "date,open,high,low,close,volume,ticker\n2024-01-01 00:00:00,1,1,1,1,1,ETHUSDT\n"
    out = land([("klines/binance/BTCUSDT_1h.csv", csv.encode())])
    assert out["reject_reason"].tolist() == ["ticker ETHUSDT does not match file symbol BTCUSDT"]


def test_provisional_bar_is_superseded_but_final_bar_conflicts():
    first = (
        "date,open,high,low,close,volume\n"
        "2024-01-01 00:00:00,10,11,9,10,1\n"
        "2024-01-01 01:00:00,10,11,9,10.2,1\n"
    )  # newest in its file: provisional
    second = (
        "date,open,high,low,close,volume\n"
        "2024-01-01 00:00:00,10,11,9,10,2\n"  # differs from a final bar
        "2024-01-01 01:00:00,10,11.5,9,10.8,3\n"  # supersedes the provisional bar
        "2024-01-01 02:00:00,10.8,11,10,10.9,1\n"
    )
    out = land(
        [("klines/binance/BTCUSDT_1h.csv", first.encode()), ("klines/binance/BTCUSDT_1h__batch2.csv", second.encode())]
    )
    assert out["status"].tolist() == ["landed", "landed", "rejected", "landed", "landed"]
    assert out["reject_reason"].iloc[2] == "conflicting duplicate of a final bar"


def test_existing_versions_decide_across_runs():
    existing = pd.DataFrame(
        {
            "exchange": ["binance"],
            "symbol": ["BTCUSDT"],
            "bar_interval": ["1h"],
            "bar_start": [pd.Timestamp("2024-01-01 01:00")],
            "open": [10.0],
            "high": [11.0],
            "low": [9.0],
            "close": [10.2],
            "volume": [1.0],
            "is_newest_in_file": [True],
        }
    )
    csv = "date,open,high,low,close,volume\n2024-01-01 01:00:00,10,11,9,10.2,1\n2024-01-01 02:00:00,1,1,1,1,1\n"
    out = land([("klines/binance/BTCUSDT_1h__b3.csv", csv.encode())], existing=lambda keys: existing)
    assert out["status"].tolist() == ["collapsed", "landed"]


def test_truncated_gzip_is_quarantined_whole_naming_the_file():
    data = gzip.compress(BAD_KLINES.encode())[:-20]
    out = land([("klines/binance/XRPUSDT_1h.csv.gz", data)])
    assert out[["source_file", "line_number", "status"]].values.tolist() == [
        ["klines/binance/XRPUSDT_1h.csv.gz", 0, "rejected"]
    ]
    assert out["reject_reason"].iloc[0].startswith("file: unreadable or truncated gzip archive (")


def test_unknown_header_is_quarantined_whole_naming_the_file():
    out = land([("klines/binance/XRPUSDT_1h.csv", b"date,price\n2024-01-01,1\n")])
    assert out[["line_number", "status", "reject_reason"]].values.tolist() == [
        [0, "rejected", "file: unknown header column 'price' (header: date,price)"]
    ]


def test_gzip_and_parquet_give_the_same_rows_as_csv():
    csv = "date,open,high,low,close,volume\n2024-01-01 00:00:00,10,11,9,10,1\n2024-01-01 01:00:00,10,12,9,11,2\n"
    frame = pd.read_csv(io.StringIO(csv))
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buf)
    a = land([("klines/x/AAAUSDT_1h.csv", csv.encode())])
    b = land([("klines/x/AAAUSDT_1h.csv.gz", gzip.compress(csv.encode()))])
    c = land([("klines/x/AAAUSDT_1h.parquet", buf.getvalue())])
    cols = ["bar_start", "open", "high", "low", "close", "volume", "status", "line_number"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert c["bar_start"].tolist() == a["bar_start"].tolist()
    assert c[["open", "close", "volume"]].to_numpy().tolist() == [[10, 10, 1], [10, 11, 2]]


def _snapshot(minutes, key="minute_prices", last=40152, **meta_changes):
    meta = {
        "symbol": "DOT-USDT",
        "hour_start": "2025-06-01T13:00:00Z",
        "source": "bybit",
        "price_scale": 10000,
        **meta_changes,
    }
    start = int(pd.Timestamp("2025-06-01 13:00").timestamp() * 1000)
    if key == "minute_prices":  # minute m at 4.0000 + m / 10^4, minute :59 at `last` / 10^4
        body = [[start + m * 60_000, last if m == 59 else 40000 + m] for m in minutes]
    else:
        body = [[start, 40019, 40274, 39989, 40152, 236169.9]]
    return json.dumps({"metadata": meta, "market_summary": {"minutes": len(minutes)}, key: body}).encode()


def test_snapshot_minute_prices_become_1m_bars():
    minutes = [m for m in range(60) if m != 37]
    out = land(
        [
            ("snapshots/2025/06/01/13/DOT-USDT_1m.json", _snapshot(minutes)),
            ("snapshots/2025/06/01/13/DOT-USDT_1h.json", _snapshot([], key="candles")),
        ]
    )
    m1 = out[out["bar_interval"] == "1m"]
    assert len(m1) == 59 and set(m1["status"]) == {"landed"}
    assert set(out["exchange"]) == {"bybit"} and set(out["symbol"]) == {"DOTUSDT"}
    first = m1.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (4.0, 4.0, 4.0, 4.0)
    assert pd.isna(first["volume"])
    h1 = out[out["bar_interval"] == "1h"].iloc[0]
    assert (h1["open"], h1["high"], h1["low"], h1["close"], h1["volume"]) == (4.0019, 4.0274, 3.9989, 4.0152, 236169.9)


H13 = "snapshots/2025/06/01/13/DOT-USDT"


def test_snapshot_hour_candle_is_cross_checked_against_its_minute_prices():
    """A _1h candle must contain the minute prices of its hour's _1m file (high >= the highest,
    low <= the lowest) and close at the price of minute :59; else it is quarantined naming the
    minute file, and the minutes land. The _1m file may have landed in an earlier batch (context)."""
    ok = land([(f"{H13}_1m.json", _snapshot(range(60))), (f"{H13}_1h.json", _snapshot([], key="candles"))])
    assert set(ok["status"]) == {"landed"} and len(ok) == 61
    cases = {
        40153: "1h candle close 4.0152 differs from the minute :59 price 4.0153 of " + H13 + "_1m.json",
        40275: "1h candle high 4.0274 below the highest minute price 4.0275 of " + H13 + "_1m.json",
        39988: "1h candle low 3.9989 above the lowest minute price 3.9988 of " + H13 + "_1m.json",
    }
    for last, reason in cases.items():
        out = land(
            [(f"{H13}_1m.json", _snapshot(range(60), last=last)), (f"{H13}_1h.json", _snapshot([], key="candles"))]
        )
        h1 = out[out["bar_interval"] == "1h"]
        assert h1["status"].tolist() == ["rejected"] and h1["reject_reason"].tolist() == [reason]
        assert (out.loc[out["bar_interval"] == "1m", "status"] == "landed").all()
    later = land_files(
        "klines",
        [(f"{H13}_1h.json", _snapshot([], key="candles"), "h")],
        T0,
        context={f"{H13}_1m.json": _snapshot(range(60), last=40153)},
    )
    assert later["reject_reason"].tolist() == [cases[40153]]
    # without minute :59 (an incomplete hour) the close is not checked; high and low still are
    out = land([(f"{H13}_1m.json", _snapshot(range(59))), (f"{H13}_1h.json", _snapshot([], key="candles"))])
    assert set(out["status"]) == {"landed"}


def test_snapshot_folder_hour_metadata_hour_and_symbol_must_agree():
    moved = land([(f"{H13}_1m.json", _snapshot(range(60), hour_start="2025-06-01T14:00:00Z"))])
    assert set(moved["status"]) == {"rejected"} and set(moved["reject_reason"]) == {
        "snapshot metadata.hour_start 2025-06-01T14:00:00Z is not the hour of its folder (2025-06-01 13:00 UTC)"
    }
    renamed = land([(f"{H13}_1m.json", _snapshot(range(60), symbol="ADA-USDT"))])
    assert set(renamed["reject_reason"]) == {"snapshot metadata.symbol ADA-USDT does not match the file name's DOTUSDT"}
    bad = land([("snapshots/2025/06/31/13/DOT-USDT_1m.json", _snapshot(range(60)))])
    assert bad["reject_reason"].tolist() == ["file: snapshot folder snapshots/YYYY/MM/DD/HH is not a valid UTC hour"]


def test_snapshot_without_metadata_is_quarantined_whole():
    out = land([("snapshots/2025/06/01/13/DOT-USDT_1m.json", json.dumps({"minute_prices": []}).encode())])
    assert out["line_number"].tolist() == [0]
    assert out["reject_reason"].tolist() == ["file: snapshot file lacks metadata and market_summary"]


def test_dominance_readings_date_and_timestamp():
    daily = "date_utc,dominance_pct\n2022-11-16,40.5\n2022-11-17,140\n"
    minute = "timestamp,dominance_pct\n2025-01-01 00:00:17,55.1\n2025-01-01 00:00:45,55.3\n"
    out = land(
        [("dominance/btc_dominance_daily.csv", daily.encode()), ("dominance/btc_dominance.csv", minute.encode())],
        table="dominance",
    )
    assert out["reading_interval"].tolist() == ["1m", "1m", "1d", "1d"]
    assert out["reject_reason"].tolist()[3] == "dominance above 100 percent"
    assert out["reading_at"].iloc[0] == pd.Timestamp("2025-01-01 00:00:17")


def test_daily_close_only_series():
    out = land([("daily/DVOL.csv", b"date_utc,close\n2022-11-06,56.76\n2022-11-07,59.48\n")], table="daily")
    assert out[["open", "high", "low", "close"]].iloc[1].tolist() == [59.48] * 4
    assert out["volume"].isna().all()
    assert out["is_newest_in_file"].tolist() == [False, True]


def test_parquet_rejects_keep_their_values_as_text():
    frame = pd.DataFrame(
        {
            "date": ["2024-01-01 00:00:00", "2024-01-01 01:00:00"],
            "open": [10.0, 10.0],
            "high": [11.0, 9.0],
            "low": [9.0, 9.5],
            "close": [10.0, 10.0],
            "volume": [1.0, 1.0],
        }
    )
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buf)
    out = land([("klines/x/AAAUSDT_1h.parquet", buf.getvalue())])
    assert out["reject_reason"].isna().tolist() == [True, False] and out["reject_reason"].iloc[1] == "high below low"
    assert out["raw_record"].iloc[1] == "2024-01-01 01:00:00,10.0,9.0,9.5,10.0,1.0" and pd.isna(
        out["raw_record"].iloc[0]
    )
