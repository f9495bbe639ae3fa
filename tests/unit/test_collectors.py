"""Collectors against a scripted local HTTP server (tests/collector_server.py), never the internet."""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from market_regimes.collectors import (
    HTTPFetchError,
    JsonClient,
    ResponseShapeError,
    backfill_klines,
    collect_dominance,
    files,
    newest_landed_bar,
    write_batch_file,
)
from market_regimes.landing import land_files, parse_landing_path
from tests.collector_server import BinanceKlines, Reply, ScriptedServer, script

PROJECT = Path(__file__).resolve().parents[2]
H = 3_600_000
T0 = 1704067200000  # 2024-01-01 00:00:00 UTC in epoch ms
# Hourly BTCUSDT bars as Binance sends them (text prices, hand-made values).
BARS = [
    (T0 + 0 * H, "100.00", "101.50", "99.50", "101.00", "10.5"),
    (T0 + 1 * H, "101.00", "102.00", "100.50", "101.75", "8.25"),
    (T0 + 2 * H, "101.75", "103.00", "101.25", "102.50", "12.0"),
    (T0 + 3 * H, "102.50", "102.75", "100.00", "100.25", "20.0"),
    (T0 + 4 * H, "100.25", "100.50", "98.00", "98.75", "31.5"),
    (T0 + 5 * H, "98.75", "99.90", "98.70", "99.80", "9.75"),
    (T0 + 6 * H, "99.80", "100.10", "99.00", "99.10", "4.0"),
]
HEADER = "date,open,high,low,close,volume\n"
ROWS = [  # BARS as landing rows, written out by hand
    "2024-01-01 00:00:00,100.00,101.50,99.50,101.00,10.5\n",
    "2024-01-01 01:00:00,101.00,102.00,100.50,101.75,8.25\n",
    "2024-01-01 02:00:00,101.75,103.00,101.25,102.50,12.0\n",
    "2024-01-01 03:00:00,102.50,102.75,100.00,100.25,20.0\n",
    "2024-01-01 04:00:00,100.25,100.50,98.00,98.75,31.5\n",
    "2024-01-01 05:00:00,98.75,99.90,98.70,99.80,9.75\n",
    "2024-01-01 06:00:00,99.80,100.10,99.00,99.10,4.0\n",
]
LATER = lambda: datetime(2024, 1, 1, 8, 0)  # noqa: E731 (every bar closed)


class Sleeps(list):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: ScriptedServer, sleeps: Sleeps, **kwargs) -> JsonClient:
    kwargs = {"timeout_s": 2.0, "max_attempts": 4, **kwargs}
    return JsonClient(server.url, sleep=sleeps, trust_env=False, **kwargs)


def kline_dir(landing: Path) -> Path:
    return landing / "klines" / "binance"


def listing(landing: Path) -> dict[str, bytes]:
    """Every file under landing (hidden temp files included) -> bytes."""
    return {str(p.relative_to(landing)): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


def land(landing: Path, table: str) -> pd.DataFrame:
    """The project's landing ledger over every file of ``table``'s folder."""
    folder = {"klines": "klines", "dominance": "dominance"}[table]
    found = [(str(p.relative_to(landing)), p.read_bytes()) for p in sorted((landing / folder).rglob("*.csv"))]
    return land_files(table, [(n, b, hashlib.sha256(b).hexdigest()) for n, b in found], pd.Timestamp(0))


def backfill(server, landing, sleeps=None, client_kwargs=None, **kwargs):
    kwargs = {"start": "2024-01-01", "limit": 3, "now": LATER, **kwargs}
    with client_for(server, sleeps if sleeps is not None else Sleeps(), **(client_kwargs or {})) as client:
        return backfill_klines(client, landing, "BTCUSDT", "1h", **kwargs)


# --- Binance klines backfill -------------------------------------------------------------------


def test_three_pages_land_exact_rows_with_progress_and_a_429_honoured(tmp_path):
    route = BinanceKlines(BARS, H)
    seen = []

    def limited(path, params):  # the second request (page 2) is rate limited once
        seen.append(params["startTime"])
        if len(seen) == 2:
            return Reply(429, {"code": -1003, "msg": "Too many requests"}, {"Retry-After": "7"})
        return route(path, params)

    progress, sleeps = [], Sleeps()
    with ScriptedServer(limited) as server:
        result = backfill(server, tmp_path, sleeps, on_progress=progress.append)
    assert sleeps == [7.0]  # Retry-After, not the 0.5 s backoff
    assert listing(tmp_path) == {
        "klines/binance/BTCUSDT_1h__20240101T0000Z-20240101T0200Z.csv": (HEADER + "".join(ROWS[0:3])).encode(),
        "klines/binance/BTCUSDT_1h__20240101T0300Z-20240101T0500Z.csv": (HEADER + "".join(ROWS[3:6])).encode(),
        "klines/binance/BTCUSDT_1h__20240101T0600Z-20240101T0600Z.csv": (HEADER + ROWS[6]).encode(),
    }
    assert [(p.pages, p.bars, p.last_bar_at) for p in progress] == [
        (1, 3, datetime(2024, 1, 1, 2)),
        (2, 6, datetime(2024, 1, 1, 5)),
        (3, 7, datetime(2024, 1, 1, 6)),
    ]
    assert (result.pages, result.bars, len(result.files), result.resumed_from) == (3, 7, 3, None)
    # page requests: 429'd page 2 asked twice; endTime = now - 1 ms; the short page 3 ends paging
    starts = [(int(q["startTime"]) - T0) // H for _, q in server.requests]
    assert starts == [0, 3, 3, 6]
    assert {(q["symbol"], q["interval"], q["limit"], q["endTime"]) for _, q in server.requests} == {
        ("BTCUSDT", "1h", "3", str(T0 + 8 * H - 1))
    }


def test_landed_kline_files_read_by_the_landing_code_with_zero_rejects(tmp_path):
    with ScriptedServer(BinanceKlines(BARS, H)) as server:
        backfill(server, tmp_path)
    ledger = land(tmp_path, "klines")
    assert ledger["status"].value_counts().to_dict() == {"landed": 7}
    assert ledger["reject_reason"].isna().all()
    assert ledger["bar_start"].tolist() == [pd.Timestamp(2024, 1, 1, h) for h in range(7)]
    assert ledger.iloc[3][["open", "high", "low", "close", "volume"]].tolist() == [102.5, 102.75, 100.0, 100.25, 20.0]
    info = parse_landing_path(ledger["source_file"].iloc[0])
    assert (info.exchange, info.symbol, info.bar_interval, info.tag) == (
        "binance",
        "BTCUSDT",
        "1h",
        "20240101T0000Z-20240101T0200Z",
    )


def test_default_pages_of_1000_bars(tmp_path):
    bars = [
        (
            T0 + i * H,
            f"{100 + i / 100:.2f}",
            f"{101 + i / 100:.2f}",
            f"{99 + i / 100:.2f}",
            f"{100 + i / 100:.2f}",
            "1.5",
        )
        for i in range(2100)
    ]
    with ScriptedServer(BinanceKlines(bars, H)) as server:
        result = backfill(server, tmp_path, limit=1000, now=lambda: datetime(2024, 6, 1))
    assert [q["limit"] for _, q in server.requests] == ["1000"] * 3
    assert [p.name for p in result.files] == [
        "BTCUSDT_1h__20240101T0000Z-20240211T1500Z.csv",
        "BTCUSDT_1h__20240211T1600Z-20240324T0700Z.csv",
        "BTCUSDT_1h__20240324T0800Z-20240328T1100Z.csv",
    ]
    assert [len(p.read_text().splitlines()) - 1 for p in result.files] == [1000, 1000, 100]
    assert result.files[1].read_text().splitlines()[1] == "2024-02-11 16:00:00,110.00,111.00,109.00,110.00,1.5"
    assert land(tmp_path, "klines")["status"].value_counts().to_dict() == {"landed": 2100}


def test_failure_in_page_2_keeps_page_1_and_a_rerun_resumes_without_duplicates(tmp_path):
    healthy = BinanceKlines(BARS, H)

    def page_2_down(path, params):
        return Reply(500, b"oops") if int(params["startTime"]) == T0 + 3 * H else healthy(path, params)

    sleeps = Sleeps()
    with ScriptedServer(page_2_down) as server:
        with pytest.raises(HTTPFetchError) as caught:
            backfill(server, tmp_path, sleeps, client_kwargs={"max_attempts": 3})
    assert "startTime=1704078000000" in str(caught.value) and "HTTP 500" in str(caught.value)
    page_1 = {"klines/binance/BTCUSDT_1h__20240101T0000Z-20240101T0200Z.csv": (HEADER + "".join(ROWS[0:3])).encode()}
    assert listing(tmp_path) == page_1  # complete, and no temp file left behind

    with ScriptedServer(healthy) as server:
        result = backfill(server, tmp_path)
    # resumes at the newest landed bar (02:00, re-fetched and unchanged, so not landed again)
    assert int(server.requests[0][1]["startTime"]) == T0 + 2 * H
    assert result.resumed_from == datetime(2024, 1, 1, 2)
    assert listing(tmp_path) == {
        **page_1,
        "klines/binance/BTCUSDT_1h__20240101T0300Z-20240101T0400Z.csv": (HEADER + "".join(ROWS[3:5])).encode(),
        "klines/binance/BTCUSDT_1h__20240101T0500Z-20240101T0600Z.csv": (HEADER + "".join(ROWS[5:7])).encode(),
    }
    assert land(tmp_path, "klines")["status"].value_counts().to_dict() == {"landed": 7}


def test_rerunning_an_up_to_date_backfill_writes_nothing(tmp_path):
    with ScriptedServer(BinanceKlines(BARS, H)) as server:
        backfill(server, tmp_path)
        before = listing(tmp_path)
        n_requests = len(server.requests)
        result = backfill(server, tmp_path)
    assert listing(tmp_path) == before
    assert (result.pages, result.bars, result.files) == (1, 0, [])
    assert [int(q["startTime"]) for _, q in server.requests[n_requests:]] == [T0 + 6 * H]


def test_an_identical_batch_is_not_written_twice_and_a_revised_one_sorts_after(tmp_path):
    data = (HEADER + ROWS[0]).encode()
    assert write_batch_file(tmp_path, "BTCUSDT_1h__x", data).name == "BTCUSDT_1h__x.csv"
    assert write_batch_file(tmp_path, "BTCUSDT_1h__x", data) is None
    revised = write_batch_file(tmp_path, "BTCUSDT_1h__x", data.replace(b"10.5", b"10.6"))
    assert revised.name == "BTCUSDT_1h__x.r02.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BTCUSDT_1h__x.csv", "BTCUSDT_1h__x.r02.csv"]
    assert parse_landing_path(f"klines/binance/{revised.name}").tag == "x.r02"


def test_a_changed_provisional_bar_is_refetched_and_supersedes(tmp_path):
    folder = kline_dir(tmp_path)
    folder.mkdir(parents=True)
    # an earlier landing (sample style, with ticker) whose newest bar 02:00 was still moving
    (folder / "BTCUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        + "".join(r.rstrip("\n") + ",BTCUSDT\n" for r in ROWS[:2])
        + "2024-01-01 02:00:00,101.75,102.10,101.25,102.00,3.0,BTCUSDT\n"
    )
    assert newest_landed_bar(tmp_path, "btcusdt", "60m").values == (101.75, 102.10, 101.25, 102.0, 3.0)
    with ScriptedServer(BinanceKlines(BARS, H)) as server:
        result = backfill(server, tmp_path, start="2023-12-01")  # resume wins over an earlier start
    assert int(server.requests[0][1]["startTime"]) == T0 + 2 * H
    assert result.files[0].read_text() == HEADER + "".join(ROWS[2:5])
    ledger = land(tmp_path, "klines")
    bar_2 = ledger[ledger["bar_start"] == pd.Timestamp(2024, 1, 1, 2)]
    assert bar_2[["status", "close"]].values.tolist() == [["landed", 102.0], ["landed", 102.5]]
    assert ledger["reject_reason"].isna().all()


def test_bars_still_open_are_not_landed(tmp_path):
    with ScriptedServer(BinanceKlines(BARS, H)) as server:
        first = backfill(server, tmp_path, now=lambda: datetime(2024, 1, 1, 6, 30))  # 06:00 bar still open
        assert first.last_bar_at == datetime(2024, 1, 1, 5)
        second = backfill(server, tmp_path)
    assert [p.name for p in second.files] == ["BTCUSDT_1h__20240101T0600Z-20240101T0600Z.csv"]
    assert land(tmp_path, "klines")["status"].value_counts().to_dict() == {"landed": 7}


def test_a_malformed_page_raises_and_writes_nothing(tmp_path):
    unaligned = lambda path, params: Reply(200, [[T0 + 60_000, "1", "1", "1", "1", "1"]])  # noqa: E731
    with ScriptedServer(unaligned) as server, pytest.raises(ResponseShapeError, match="unaligned"):
        backfill(server, tmp_path)
    assert listing(tmp_path) == {}


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_write_leaves_no_file_at_all(tmp_path, monkeypatch, failing):
    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, failing, boom)
    with pytest.raises(OSError, match="disk full"):
        write_batch_file(tmp_path, "BTCUSDT_1h__x", (HEADER + ROWS[0]).encode())
    assert list(tmp_path.iterdir()) == []


def test_nothing_to_resume_and_no_start_is_an_error(tmp_path):
    with ScriptedServer(BinanceKlines(BARS, H)) as server, pytest.raises(ValueError, match="give a start date"):
        backfill(server, tmp_path, start=None)
    assert server.requests == []


# --- HTTP client: retries, backoff, giving up --------------------------------------------------


def ok(path, params):
    return Reply(200, {"ok": True})


def test_5xx_then_success_backs_off_exponentially():
    sleeps = Sleeps()
    with ScriptedServer(script(Reply(503), Reply(502), Reply(500), then=ok)) as server:
        with client_for(server, sleeps) as client:
            assert client.get_json("/api/v3/ping") == {"ok": True}
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.requests) == 4


def test_a_timeout_is_retried():
    sleeps = Sleeps()
    with ScriptedServer(script(Reply(200, {"slow": True}, delay_s=0.6), then=ok)) as server:
        with client_for(server, sleeps, timeout_s=0.15) as client:
            assert client.get_json("/api/v3/ping") == {"ok": True}
    assert sleeps == [0.5]


def test_truncated_json_is_retried():
    sleeps = Sleeps()
    cut = Reply(200, b'[[1704067200000,"100.0')  # valid HTTP, invalid JSON
    short = Reply(200, b'{"ok": tr', content_length=100)  # body shorter than announced, connection closed
    with ScriptedServer(script(cut, short, then=ok)) as server:
        with client_for(server, sleeps) as client:
            assert client.get_json("/api/v3/ping") == {"ok": True}
    assert sleeps == [0.5, 1.0]


def test_giving_up_after_max_attempts_names_url_status_and_attempts():
    sleeps = Sleeps()
    with ScriptedServer(lambda path, params: Reply(500, b"down")) as server:
        with client_for(server, sleeps, max_attempts=3) as client, pytest.raises(HTTPFetchError) as caught:
            client.get_json("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h"})
    err = caught.value
    url = f"{server.url}/api/v3/klines?symbol=BTCUSDT&interval=1h"
    assert (err.url, err.status, err.attempts) == (url, 500, 3)
    assert str(err) == f"GET {url} failed after 3 attempt(s): HTTP 500"
    assert len(server.requests) == 3 and sleeps == [0.5, 1.0]


def test_a_retry_after_beyond_max_wait_gives_up_without_sleeping():
    sleeps = Sleeps()
    with ScriptedServer(lambda path, params: Reply(429, b"", {"Retry-After": "600"})) as server:
        with client_for(server, sleeps, max_wait_s=60) as client, pytest.raises(HTTPFetchError) as caught:
            client.get_json("/api/v3/ping")
    assert sleeps == [] and caught.value.attempts == 1
    assert "Retry-After 600 s" in str(caught.value) and "max_wait_s=60" in str(caught.value)


def test_a_client_error_is_not_retried():
    sleeps = Sleeps()
    bad = lambda path, params: Reply(400, {"code": -1121, "msg": "Invalid symbol."})  # noqa: E731
    with ScriptedServer(bad) as server:
        with client_for(server, sleeps) as client, pytest.raises(HTTPFetchError, match="HTTP 400.*Invalid symbol"):
            client.get_json("/api/v3/klines", {"symbol": "NOPE"})
    assert len(server.requests) == 1 and sleeps == []


# --- CoinGecko dominance -----------------------------------------------------------------------


def global_reply(updated_at: int, btc: float, usdt: float = 4.3) -> Reply:
    return Reply(
        200,
        {
            "data": {
                "market_cap_percentage": {"btc": btc, "eth": 15.2, "usdt": usdt},
                "updated_at": updated_at,
                "active_cryptocurrencies": 10000,
            }
        },
    )


def test_dominance_readings_append_atomically_and_idempotently(tmp_path):
    replies = [global_reply(1717243742, 52.1), global_reply(1717243742, 52.1), global_reply(1717243802, 52.25, 4.31)]
    with ScriptedServer(script(*replies, then=ok)) as server:
        with client_for(server, Sleeps()) as client:
            first = collect_dominance(client, tmp_path)
            again = collect_dominance(client, tmp_path)
            third = collect_dominance(client, tmp_path)
    assert server.requests[0][0] == "/api/v3/global"
    assert [(r.series, r.reading_at, r.dominance_pct) for r in first] == [
        ("btc_dominance", datetime(2024, 6, 1, 12, 9, 2), 52.1),
        ("usdt_dominance", datetime(2024, 6, 1, 12, 9, 2), 4.3),
    ]
    assert again == [] and len(third) == 2
    assert listing(tmp_path) == {
        "dominance/btc_dominance__20240601.csv": b"timestamp,dominance_pct\n2024-06-01 12:09:02,52.1\n2024-06-01 12:10:02,52.25\n",
        "dominance/usdt_dominance__20240601.csv": b"timestamp,dominance_pct\n2024-06-01 12:09:02,4.3\n2024-06-01 12:10:02,4.31\n",
    }
    ledger = land(tmp_path, "dominance")
    assert ledger["status"].value_counts().to_dict() == {"landed": 4}
    assert set(ledger["reading_interval"]) == {"1m"}
    with open(PROJECT / "seeds" / "dominance_series.csv") as seed:
        coingecko = {row["series"] for row in csv.DictReader(seed) if row["source"] == "coingecko_global"}
    assert set(ledger["series"]) == coingecko == {"btc_dominance", "usdt_dominance"}


def test_a_dominance_response_missing_a_coin_writes_nothing(tmp_path):
    body = {"data": {"market_cap_percentage": {"btc": 52.1}, "updated_at": 1717243742}}
    with ScriptedServer(lambda path, params: Reply(200, body)) as server:
        with client_for(server, Sleeps()) as client, pytest.raises(ResponseShapeError, match="usdt"):
            collect_dominance(client, tmp_path)
    assert listing(tmp_path) == {}


# --- Dagster wrapping --------------------------------------------------------------------------


def test_dagster_collectors_are_off_by_default_and_land_files_when_enabled(tmp_path, monkeypatch):
    from dagster import DagsterInstance, RunConfig, materialize

    from orchestration.defs.collectors import (
        BinanceKlinesConfig,
        CoinGeckoDominanceConfig,
        binance_klines,
        coingecko_dominance,
    )

    monkeypatch.setenv("MARKET_REGIMES_LANDING", str(tmp_path))
    instance = DagsterInstance.ephemeral()
    off = materialize([binance_klines, coingecko_dominance], instance=instance)
    assert off.success and off.get_asset_materialization_events() == []
    messages = [e.user_message for e in instance.all_logs(off.run_id)]
    assert sum("collectors are off" in m for m in messages) == 2
    assert listing(tmp_path) == {}

    routes = {"/api/v3/global": lambda path, params: global_reply(1717243742, 52.1)}
    klines = BinanceKlines(BARS, H)
    with ScriptedServer(lambda path, params: routes.get(path, klines)(path, params)) as server:
        on = materialize(
            [binance_klines, coingecko_dominance],
            instance=instance,
            run_config=RunConfig(
                {
                    "collectors__binance_klines": BinanceKlinesConfig(
                        enabled=True,
                        base_url=server.url,
                        symbols=["BTCUSDT"],
                        intervals=["1h"],
                        start_date="2024-01-01",
                        end_date="2024-01-01 07:00",
                    ),
                    "collectors__coingecko_dominance": CoinGeckoDominanceConfig(enabled=True, base_url=server.url),
                }
            ),
        )
    assert on.success
    assert sorted(listing(tmp_path)) == [
        "dominance/btc_dominance__20240601.csv",
        "dominance/usdt_dominance__20240601.csv",
        "klines/binance/BTCUSDT_1h__20240101T0000Z-20240101T0600Z.csv",
    ]
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in on.get_asset_materialization_events()}
    assert meta["collectors/binance_klines"]["bars"].value == 7
    assert meta["collectors/coingecko_dominance"]["readings_written"].value == 2
