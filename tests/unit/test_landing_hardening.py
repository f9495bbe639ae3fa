"""Landing against hostile input (docs/landing.md): plausibility bounds, per-file
quarantine, per-path content hashes, exchange folder names, SQL quoting of the landing
path, snapshot price_scale, deliberate corrections, warnings about the latest batch, and
seed line endings.

The dbt SQL of the raw and staging models and of the warn tests is rendered here with
small Jinja stubs (ref -> a DuckDB table, config / as_of_filter -> nothing) and run in an
in-memory DuckDB, so these tests need no dbt build.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from datetime import datetime
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from market_regimes.landing import LandingFileError, land_files, parse_landing_path
from market_regimes.landing.duckdb_io import land_table
from market_regimes.landing.ledger import CORRECTION_WITHOUT_KEY, LAYOUT_SPECS
from market_regimes.landing.validate import LandingPlausibility
from tests.integration.fixture_landing import BAD_KLINES

PROJECT = Path(__file__).resolve().parents[2]
T0 = pd.Timestamp("2026-01-01 00:00:00")
T1 = pd.Timestamp("2026-01-02 00:00:00")
BOUNDS = LandingPlausibility()
HEADER = "date,open,high,low,close,volume\n"
LN100 = math.log(100)


def land(files, existing=None, previous=None, table="klines", plausibility=BOUNDS, loaded_at=T0):
    return land_files(
        table,
        [(name, data if isinstance(data, bytes) else data.encode(), f"hash-{name}") for name, data in files],
        loaded_at,
        existing,
        plausibility,
        previous,
    )


def current_versions(ledger: pd.DataFrame):
    """An ``existing`` callback answering from an earlier ledger frame (latest landed row per key)."""
    keys = list(LAYOUT_SPECS["klines"].key_columns)
    landed = ledger[ledger["status"] == "landed"].drop_duplicates(keys, keep="last")

    def existing(new_keys: pd.DataFrame) -> pd.DataFrame:
        return landed.merge(new_keys, on=keys)

    return existing


def values(frame: pd.DataFrame) -> list[list]:
    """The frame's rows as lists, NaN / NaT as None."""
    return frame.astype("object").where(frame.notna(), None).values.tolist()


def reasons_by_line(out: pd.DataFrame) -> dict:
    return out.dropna(subset=["reject_reason"]).set_index("line_number")["reject_reason"].to_dict()


# ---------------------------------------------------------------- plausibility: values


def test_poison_prices_and_volumes_are_quarantined_with_a_reason():
    out = land(
        [
            (
                "klines/binance/PEPEUSDT_1h.csv",
                HEADER
                + "2024-01-01 00:00:00,1e308,1e308,1e308,1e308,1\n"
                + "2024-01-01 01:00:00,1,1,1,1,1e300\n"
                + "2024-01-01 02:00:00,1,1.1,0.9,1,10\n",
            ),
            (
                "klines/binance/BIGUSDT_1h.csv",
                HEADER  # the bounds are inclusive
                + "2024-01-01 00:00:00,1e12,1e12,1e12,1e12,1e18\n",
            ),
        ]
    )
    assert out[["source_file", "status"]].values.tolist() == [
        ["klines/binance/BIGUSDT_1h.csv", "landed"],
        ["klines/binance/PEPEUSDT_1h.csv", "rejected"],
        ["klines/binance/PEPEUSDT_1h.csv", "rejected"],
        ["klines/binance/PEPEUSDT_1h.csv", "landed"],
    ]
    assert reasons_by_line(out) == {
        2: "price above the plausible maximum 1e+12",
        3: "volume above the plausible maximum 1e+18",
    }
    landed = out[out["status"] == "landed"]
    assert (landed["close"] * landed["volume"]).map(math.isfinite).all()  # quote_volume stays finite


def test_the_corrected_file_lands_after_a_poison_value():
    poison = land(
        [
            (
                "klines/binance/PEPEUSDT_1h.csv",
                HEADER + "2024-01-01 00:00:00,1e308,1e308,1e308,1e308,1\n" + "2024-01-01 01:00:00,1,1.1,0.9,1,10\n",
            )
        ]
    )
    fixed = land(
        [
            (
                "klines/binance/PEPEUSDT_1h__fixed.csv",
                HEADER + "2024-01-01 00:00:00,1,1.1,0.9,1,10\n" + "2024-01-01 01:00:00,1,1.1,0.9,1,10\n",
            )
        ],
        existing=current_versions(poison),
        loaded_at=T1,
    )
    assert poison["status"].tolist() == ["rejected", "landed"]
    assert fixed["status"].tolist() == ["landed", "collapsed"]  # not "conflicting duplicate of a final bar"


def test_a_close_jump_beyond_the_limit_is_rejected_against_the_previous_valid_close():
    csv = (
        HEADER + "2024-01-01 00:00:00,100,100,100,100,1\n"
        "2024-01-01 01:00:00,100,101,100,101,1\n"
        "2024-01-01 02:00:00,101,30000,100,30000,1\n"  # 297x the previous close
        "2024-01-01 03:00:00,101,102,101,102,1\n"
    )  # compared with 101, not 30000
    out = land([("klines/binance/BTCUSDT_1h.csv", csv)])
    assert out["status"].tolist() == ["landed", "landed", "rejected", "landed"]
    assert reasons_by_line(out) == {
        4: "close 30000 jumps 297x from the previous valid close 101 of 2024-01-01 01:00:00 (|ln return| 5.694 > 4.605)"
    }
    assert out.loc[2, "raw_record"] == "2024-01-01 02:00:00,101,30000,100,30000,1"
    assert out["is_newest_in_file"].tolist() == [False, False, False, True]
    relaxed = land([("klines/binance/BTCUSDT_1h.csv", csv)], plausibility=LandingPlausibility(max_abs_log_return=6.0))
    assert relaxed["status"].tolist() == ["landed"] * 4


def test_a_jump_after_a_gap_that_starts_a_new_segment_is_not_checked():
    # 24 bars later is still the same segment (max_gap_bars 24); 25 bars later is not
    # (LUNAUSDT's relisting in the sample: 5e-05 on 2022-05-13, 8.56 on 2022-05-31)
    out = land(
        [
            (
                "klines/binance/LUNAUSDT_1h.csv",
                HEADER + "2024-01-01 00:00:00,100,100,100,100,1\n"
                "2024-01-02 00:00:00,0.5,0.5,0.5,0.5,1\n"
                "2024-01-03 01:00:00,0.5,0.5,0.5,0.5,1\n",
            )
        ]
    )
    assert out["status"].tolist() == ["landed", "rejected", "landed"]
    assert reasons_by_line(out)[3].startswith("close 0.5 jumps 0.005x from the previous valid close 100 of ")


def test_the_jump_check_compares_with_the_landed_history():
    def previous(keys: pd.DataFrame) -> pd.DataFrame:
        return keys.assign(prev_time=pd.Timestamp("2024-01-01 00:00"), prev_close=100.0)

    out = land(
        [("klines/binance/BTCUSDT_1h__b2.csv", HEADER + "2024-01-01 01:00:00,100,100,0.5,0.5,1\n")], previous=previous
    )
    assert reasons_by_line(out) == {
        2: "close 0.5 jumps 0.005x from the previous valid close 100 of 2024-01-01 00:00:00 (|ln return| 5.298 > 4.605)"
    }


def test_impossible_timestamps_are_quarantined():
    out = land(
        [
            (
                "klines/binance/BTCUSDT_1h.csv",
                HEADER + "2024-01-01 00:00:00,1,1,1,1,1\n"
                "2100-01-01 00:00:00,1,1,1,1,1\n"
                "1970-01-01 00:00:00,1,1,1,1,1\n"
                "2026-01-01 01:00:00,1,1,1,1,1\n"  # loaded_at + one bar: in bounds
                "2026-01-01 02:00:00,1,1,1,1,1\n",
            )
        ]
    )
    assert reasons_by_line(out) == {
        3: "timestamp after loaded_at + the allowed bar interval(s) (2026-01-01 01:00:00)",
        4: "timestamp before the earliest plausible 2009-01-03 00:00:00",
        6: "timestamp after loaded_at + the allowed bar interval(s) (2026-01-01 01:00:00)",
    }
    # the 2100 row does not become the file's newest (provisional) bar
    assert out.loc[out["is_newest_in_file"], "line_number"].tolist() == [5]


def test_the_earliest_daily_timestamp_is_its_own_bound():
    csv = "date,close\n2000-01-03,1455.22\n2024-01-02,4742.83\n"
    strict = land([("daily/SPY.csv", csv)], table="daily")
    assert strict["reject_reason"].tolist() == ["timestamp before the earliest plausible 2009-01-03 00:00:00", None]
    equity = land(
        [("daily/SPY.csv", csv)], table="daily", plausibility=LandingPlausibility(earliest_daily_timestamp="1990-01-01")
    )
    assert equity["status"].tolist() == ["landed", "landed"]


def test_without_bounds_the_library_keeps_its_structural_checks_only():
    # the Binance collector reads a series with loaded_at = epoch 0 and no bounds
    out = land(
        [("klines/binance/BTCUSDT_1h.csv", HEADER + "2024-01-01 00:00:00,1,1,1,1,1\n")],
        plausibility=None,
        loaded_at=pd.Timestamp(0),
    )
    assert out["status"].tolist() == ["landed"]


# ---------------------------------------------------------------- plausibility: the config


def test_plausibility_config_defaults_and_validation():
    cfg = LandingPlausibility()
    assert (cfg.max_price, cfg.max_volume, cfg.max_abs_log_return, cfg.max_future_bars, cfg.max_gap_bars) == (
        1e12,
        1e18,
        LN100,
        1.0,
        24.0,
    )
    assert cfg.earliest_timestamp == cfg.earliest_daily_timestamp == pd.Timestamp("2009-01-03")
    parsed = LandingPlausibility.from_mapping(
        {"max_price": "1e6", "max_volume": "", "earliest_timestamp": "2010-01-01", "max_gap_bars": "48"}
    )
    assert (parsed.max_price, parsed.max_volume, parsed.earliest_timestamp, parsed.max_gap_bars) == (
        1e6,
        1e18,
        pd.Timestamp("2010-01-01"),
        48.0,
    )
    assert LandingPlausibility(earliest_timestamp="2010-01-01T02:00:00+02:00").earliest_timestamp == pd.Timestamp(
        "2010-01-01"
    )
    bad = [
        ({"max_pirce": 1}, "landing plausibility: unknown keys ['max_pirce']"),
        ({"max_price": "abc"}, "landing plausibility: max_price = 'abc' is not a finite number"),
        ({"max_price": "inf"}, "landing plausibility: max_price = 'inf' is not a finite number"),
        ({"max_volume": 0}, "landing plausibility: max_volume = 0.0 must be > 0"),
        ({"max_future_bars": -1}, "landing plausibility: max_future_bars = -1.0 must be >= 0"),
        (
            {"max_price": 1e100, "max_volume": 1e100},
            "landing plausibility: max_price x max_volume = 1e+200 must be <= 1e+150",
        ),
        (
            {"earliest_timestamp": "yesterday"},
            "landing plausibility: earliest_timestamp = 'yesterday' is not a timestamp",
        ),
    ]
    for values, message in bad:
        with pytest.raises(ValueError) as err:
            LandingPlausibility.from_mapping(values)
        assert str(err.value).startswith(message), str(err.value)


def test_the_dbt_vars_block_and_the_model_config_match_the_config_object():
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    block = project["vars"]["landing_plausibility"]
    assert LandingPlausibility.from_mapping(block) == LandingPlausibility(max_gap_bars=project["vars"]["max_gap_bars"])
    models = yaml.safe_load((PROJECT / "models" / "raw" / "_raw__models.yml").read_text())["models"]
    fields = set(LandingPlausibility.__dataclass_fields__)
    for model in models[:3]:
        assert set(model["config"]["landing_plausibility"]) == fields, model["name"]
        assert set(block) | {"max_gap_bars"} == fields
    for name in ("klines", "dominance_readings", "daily_series"):
        code = (PROJECT / "python_models" / "raw" / f"{name}.py").read_text()
        assert 'bounds = dbt.config.get("landing_plausibility")\n' in code  # a standalone statement
        assert 'on_schema_change="append_new_columns"' in code


# ---------------------------------------------------------------- file-level problems


def _snapshot(scale=10000, source="bybit", **extra) -> bytes:
    meta = {"symbol": "DOT-USDT", "hour_start": "2025-06-01T13:00:00Z", "source": source, "price_scale": scale}
    if scale is ...:
        del meta["price_scale"]
    start = int(pd.Timestamp("2025-06-01 13:00").timestamp() * 1000)
    return json.dumps({"metadata": meta, "market_summary": {}, "minute_prices": [[start, 40000]], **extra}).encode()


def test_one_bad_file_does_not_block_the_batch():
    good = HEADER + "2024-01-01 00:00:00,1,1,1,1,1\n2024-01-01 01:00:00,1,1,1,1,1\n"
    out = land(
        [
            ("klines/binance/BTCUSDT_1h.csv", good),
            ("klines/binance/EMPTYUSDT_1h.csv", b""),
            ("klines/binance/BADNAME.csv", good),
            ("klines/binance/HDRUSDT_1h.csv", "date,price\n2024-01-01,1\n"),
            ("klines/binance/GZUSDT_1h.csv.gz", gzip.compress(good.encode())[:-10]),
            ("klines/binance/NOTUTF8_1h.csv", HEADER.encode() + b"\xff\xfe\n"),
            ("snapshots/2025/06/01/13/SOL-USDT_1m.json", b"{not json"),
        ]
    )
    files = out.groupby("source_file", sort=True)
    assert files["status"].apply(list).to_dict() == {
        "klines/binance/BADNAME.csv": ["rejected"],
        "klines/binance/BTCUSDT_1h.csv": ["landed", "landed"],
        "klines/binance/EMPTYUSDT_1h.csv": ["rejected"],
        "klines/binance/GZUSDT_1h.csv.gz": ["rejected"],
        "klines/binance/HDRUSDT_1h.csv": ["rejected"],
        "klines/binance/NOTUTF8_1h.csv": ["rejected"],
        "snapshots/2025/06/01/13/SOL-USDT_1m.json": ["rejected"],
    }
    rejected = out[out["status"] == "rejected"].set_index("source_file")
    assert (rejected["line_number"] == 0).all() and rejected["raw_record"].isna().all()
    assert rejected["layout"].to_dict()["snapshots/2025/06/01/13/SOL-USDT_1m.json"] == "snapshots"
    reasons = rejected["reject_reason"].to_dict()
    assert reasons["klines/binance/EMPTYUSDT_1h.csv"] == "file: empty file (0 bytes)"
    assert reasons["klines/binance/BADNAME.csv"] == "file: file name is not <SYMBOL>_<interval>[__<tag>]"
    assert reasons["klines/binance/HDRUSDT_1h.csv"] == "file: unknown header column 'price' (header: date,price)"
    assert reasons["klines/binance/GZUSDT_1h.csv.gz"].startswith("file: unreadable or truncated gzip archive (")
    assert reasons["klines/binance/NOTUTF8_1h.csv"].startswith("file: not UTF-8 text (")
    assert reasons["snapshots/2025/06/01/13/SOL-USDT_1m.json"].startswith("file: invalid or truncated JSON (")


def test_a_header_only_file_is_recorded_and_accounted():
    out = land([("klines/binance/HEADERUSDT_1h.csv", HEADER)])
    assert out[["line_number", "status", "reject_reason"]].values.tolist() == [
        [0, "rejected", "file: no records (a header only)"]
    ]
    daily = land([("daily/VIX.csv", "date,close\n\n")], table="daily")
    files = landing_files_of(klines=out, daily_series=daily)
    assert files[
        ["source_file", "rows_read", "rows_landed", "rows_rejected", "duplicates_collapsed", "status", "reject_reason"]
    ].values.tolist() == [
        ["daily/VIX.csv", 1, 0, 1, 0, "rejected", "file: no records (a header only)"],
        ["klines/binance/HEADERUSDT_1h.csv", 1, 0, 1, 0, "rejected", "file: no records (a header only)"],
    ]


@pytest.mark.parametrize(
    ("scale", "reason"),
    [
        (0, "file: snapshot metadata.price_scale 0 is not a positive finite number"),
        ("abc", "file: snapshot metadata.price_scale 'abc' is not a positive finite number"),
        (-100, "file: snapshot metadata.price_scale -100 is not a positive finite number"),
        (True, "file: snapshot metadata.price_scale True is not a positive finite number"),
        (None, "file: snapshot metadata.price_scale None is not a positive finite number"),
    ],
)
def test_a_bad_price_scale_rejects_the_snapshot_naming_it(scale, reason):
    out = land([("snapshots/2025/06/01/13/DOT-USDT_1m.json", _snapshot(scale))])
    assert out[["source_file", "line_number", "status", "reject_reason"]].values.tolist() == [
        ["snapshots/2025/06/01/13/DOT-USDT_1m.json", 0, "rejected", reason]
    ]


def test_a_missing_price_scale_is_100():
    out = land([("snapshots/2025/06/01/13/DOT-USDT_1m.json", _snapshot(...))])
    assert out[["status", "close"]].values.tolist() == [["landed", 400.0]]


@pytest.mark.parametrize(
    "folder", ["..binance", "bïnance", "x'; drop table raw.klines; --", "bin ance", "\u212aucoin"]
)  # KELVIN SIGN: lower() would fold it to ASCII 'k'
def test_exchange_folder_names_are_validated(folder):
    path = f"klines/{folder}/BTCUSDT_1h.csv"
    out = land([(path, HEADER + "2024-01-01 00:00:00,1,1,1,1,1\n")])
    assert out[["source_file", "line_number", "status", "reject_reason", "layout"]].values.tolist() == [
        [
            path,
            0,
            "rejected",
            f"file: exchange folder name {folder!r} is not a valid exchange name "
            "(ASCII letters, digits, '-' and '_' only)",
            "klines",
        ]
    ]


def test_a_snapshot_source_is_validated_like_an_exchange_folder():
    out = land([("snapshots/2025/06/01/13/DOT-USDT_1m.json", _snapshot(source="../bybit"))])
    assert out["reject_reason"].tolist() == [
        "file: snapshot metadata.source '../bybit' is not a valid exchange name "
        "(ASCII letters, digits, '-' and '_' only)"
    ]
    upper = land([("snapshots/2025/06/01/13/DOT-USDT_1m.json", _snapshot(source="Bybit"))])
    assert upper["exchange"].tolist() == ["bybit"]


# ---------------------------------------------------------------- DuckDB: content hashes per path


def _write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _land_dir(con, root: Path, table: str = "klines", loaded_at: datetime = datetime(2026, 1, 1)) -> pa.Table:
    """land_table over root's klines/ and corrections/klines/ files, appending to raw_klines."""
    globs = [
        str(root / "klines" / "*" / "*").replace("'", "''"),
        str(root / "corrections" / "klines" / "*" / "*").replace("'", "''"),
    ]
    files = con.sql(f"select * from read_blob([{', '.join(repr(g) for g in globs)}])")
    exists = con.sql("select count(*) from information_schema.tables where table_name = 'raw_klines'").fetchone()[0]
    new = land_table(
        con, table, files, str(root), "raw_klines" if exists else None, plausibility=BOUNDS, loaded_at=loaded_at
    )
    con.register("_new_rows", new)
    if exists:
        con.execute("insert into raw_klines by name select * from _new_rows")
    else:
        con.execute("create table raw_klines as select * from _new_rows")
    con.unregister("_new_rows")
    return new


BTC = (
    HEADER + "2024-01-01 00:00:00,100,110,90,105,2\n2024-01-01 01:00:00,105,120,100,115,3\n"
    "2024-01-01 02:00:00,115,116,100,101,1\n"
)


def test_identical_bytes_under_another_path_land(tmp_path):
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)
    first = _land_dir(con, tmp_path)
    _write(tmp_path, "klines/okx/BTCUSDT_1h.csv", BTC)  # a copy under another exchange
    second = _land_dir(con, tmp_path, loaded_at=datetime(2026, 1, 2))
    third = _land_dir(con, tmp_path, loaded_at=datetime(2026, 1, 3))  # nothing new: nothing read
    assert first.num_rows == 3 and third.num_rows == 0
    assert (
        second.to_pandas()[["source_file", "exchange", "status"]].values.tolist()
        == [["klines/okx/BTCUSDT_1h.csv", "okx", "landed"]] * 3
    )
    hashes = con.sql("select distinct content_hash from raw_klines").fetchall()
    assert hashes == [(hashlib.sha256(BTC.encode()).hexdigest(),)]


def test_identical_bytes_under_two_paths_in_one_batch_both_land_and_colliding_keys_collapse(tmp_path):
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)
    _write(tmp_path, "klines/binance/BTCUSDT_1h__copy.csv", BTC)  # same key: resolved as duplicates
    _write(tmp_path, "klines/okx/BTCUSDT_1h.csv", BTC)
    out = _land_dir(con, tmp_path).to_pandas()
    assert out.groupby("source_file")["status"].apply(list).to_dict() == {
        "klines/binance/BTCUSDT_1h.csv": ["landed"] * 3,
        "klines/binance/BTCUSDT_1h__copy.csv": ["collapsed"] * 3,
        "klines/okx/BTCUSDT_1h.csv": ["landed"] * 3,
    }


def test_the_jump_check_reads_the_landed_history_from_the_warehouse(tmp_path):
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)  # closes 105, 115, 101
    _land_dir(con, tmp_path)
    _write(
        tmp_path,
        "klines/binance/BTCUSDT_1h__b2.csv",
        HEADER + "2024-01-01 03:00:00,101,101,0.5,0.5,1\n"
        "2024-01-01 04:00:00,101,102,100,101.5,1\n"  # compared with 101 (02:00)
        "2024-01-02 05:00:00,0.5,0.5,0.5,0.5,1\n",
    )  # 25 bars after 04:00: a new segment
    out = _land_dir(con, tmp_path, loaded_at=datetime(2026, 1, 2)).to_pandas()
    assert values(out[["line_number", "status", "reject_reason"]]) == [
        [
            2,
            "rejected",
            "close 0.5 jumps 0.00495x from the previous valid close 101 of 2024-01-01 02:00:00 "
            "(|ln return| 5.308 > 4.605)",
        ],
        [3, "landed", None],
        [4, "landed", None],
    ]


def test_a_ledger_from_before_superseded_version_still_lands(tmp_path):
    """An old warehouse's ledger lacks the new last column; landing into it still works
    (dbt adds the column: on_schema_change append_new_columns)."""
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)
    _land_dir(con, tmp_path)
    con.execute("alter table raw_klines drop column superseded_version")
    _write(tmp_path, "corrections/klines/binance/BTCUSDT_1h.csv", HEADER + "2024-01-01 00:00:00,100,110,90,106,2\n")
    _write(tmp_path, "klines/binance/BTCUSDT_1h__b2.csv", HEADER + "2024-01-01 03:00:00,101,103,94,97.5,6\n")
    new = land_table(
        con,
        "klines",
        con.sql(f"select * from read_blob(['{tmp_path}/klines/*/*', '{tmp_path}/corrections/klines/*/*'])"),
        str(tmp_path),
        "raw_klines",
        plausibility=BOUNDS,
        loaded_at=datetime(2026, 1, 2),
    ).to_pandas()
    assert new[["source_file", "status"]].values.tolist() == [
        ["klines/binance/BTCUSDT_1h__b2.csv", "landed"],
        ["corrections/klines/binance/BTCUSDT_1h.csv", "landed"],
    ]


def test_ledger_columns_only_grow_at_the_end():
    before = {  # the ledger columns before superseded_version: append-only tables keep their order
        "klines": [
            "source_file",
            "line_number",
            "content_hash",
            "layout",
            "exchange",
            "symbol",
            "bar_interval",
            "bar_start",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "is_newest_in_file",
            "status",
            "reject_reason",
            "raw_record",
            "loaded_at",
        ],
        "dominance": [
            "source_file",
            "line_number",
            "content_hash",
            "layout",
            "series",
            "reading_interval",
            "reading_at",
            "dominance_pct",
            "is_newest_in_file",
            "status",
            "reject_reason",
            "raw_record",
            "loaded_at",
        ],
        "daily": [
            "source_file",
            "line_number",
            "content_hash",
            "layout",
            "series",
            "bar_start",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "is_newest_in_file",
            "status",
            "reject_reason",
            "raw_record",
            "loaded_at",
        ],
    }
    for table, columns in before.items():
        assert list(LAYOUT_SPECS[table].columns) == columns + ["superseded_version"]


# ---------------------------------------------------------------- dbt SQL rendered for DuckDB


def render(path: Path, refs: dict[str, str], which: str = "test", run_started_at: datetime | None = None) -> str:
    """The dbt SQL of ``path`` with ref -> DuckDB table names, no config, no as_of cut,
    ``execute`` False (the warn tests' run_query / log part is skipped)."""
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update(
        ref=lambda name: refs[name],
        config=lambda **_: "",
        as_of_filter=lambda *_: "",
        is_incremental=lambda: False,
        execute=False,
        load_relation=lambda _: None,
        flags={"WHICH": which},
        run_started_at=run_started_at,
    )
    # the Spark-only partitioning of macros/utils/partition_window.sql in its DuckDB form:
    # no config, the select as written
    env.globals["month_partitioned"] = dict
    env.globals["time_partition_select"] = env.from_string(
        "{% macro time_partition_select(ts_column, grain) %}{{ caller() }}{% endmacro %}"
    ).module.time_partition_select
    # the DuckDB forms (default__*) of the dispatched macros, under their plain names
    for file in ("portable", "table_edits"):
        module = env.from_string((PROJECT / "macros" / "utils" / f"{file}.sql").read_text()).module
        for name in dir(module):
            if name.startswith("default__"):
                env.globals[name.removeprefix("default__")] = getattr(module, name)
    # the project macros the staging views and the warn tests call
    macros = {
        name: getattr(env.from_string((PROJECT / "macros" / "utils" / f"{file}.sql").read_text()).module, name)
        for name, file in (("current_version", "current_version"), ("warned_landing_batch", "landing_batch"))
    }
    return env.from_string(path.read_text()).render(**macros)


RAW_REFS = {
    "klines": "raw_klines",
    "dominance_readings": "raw_dominance",
    "daily_series": "raw_daily",
    "rejected_rows": "rejected_rows",
    "landing_files": "landing_files",
}


def warehouse(**ledgers: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """DuckDB with the three ledgers (given frames, else empty) and the raw views."""
    from market_regimes.landing.ledger import empty_ledger

    con = duckdb.connect()
    for name, table in (("klines", "klines"), ("dominance_readings", "dominance"), ("daily_series", "daily")):
        frame = ledgers.get(name, empty_ledger(table))
        con.register("_frame", frame)
        con.execute(f"create table {RAW_REFS[name]} as select * from _frame")
        con.unregister("_frame")
    for view in ("landing_files", "rejected_rows"):
        con.execute(f"create view {view} as {render(PROJECT / 'models' / 'raw' / f'{view}.sql', RAW_REFS)}")
    return con


def landing_files_of(**ledgers: pd.DataFrame) -> pd.DataFrame:
    return warehouse(**ledgers).sql("select * from landing_files order by source_file").df()


def staged_klines(con) -> pd.DataFrame:
    sql = render(PROJECT / "models" / "staging" / "landing" / "stg_landing__klines.sql", RAW_REFS)
    return con.sql(sql + " order by exchange, symbol, bar_interval, bar_start").df()


def test_a_correction_supersedes_a_final_bar_and_records_the_old_values(tmp_path):
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)
    _land_dir(con, tmp_path)
    _write(
        tmp_path,
        "corrections/klines/binance/BTCUSDT_1h.csv",
        HEADER + "2024-01-01 01:00:00,105,120,100,116,3\n"  # final bar 01:00: close 115 -> 116
        "2024-01-01 02:00:00,115,116,100,101,1\n"  # identical: collapsed
        "2023-06-01 00:00:00,1,1,1,1,1\n",
    )  # never landed: rejected
    new = _land_dir(con, tmp_path, loaded_at=datetime(2026, 1, 2)).to_pandas()
    assert values(new[["line_number", "layout", "status", "reject_reason", "is_newest_in_file"]]) == [
        [2, "corrections/klines", "landed", None, False],
        [3, "corrections/klines", "collapsed", None, False],
        [4, "corrections/klines", "rejected", CORRECTION_WITHOUT_KEY, False],
    ]
    assert json.loads(new["superseded_version"].iloc[0]) == {
        "source_file": "klines/binance/BTCUSDT_1h.csv",
        "line_number": 3,
        "loaded_at": "2026-01-01 00:00:00",
        "open": 105.0,
        "high": 120.0,
        "low": 100.0,
        "close": 115.0,
        "volume": 3.0,
    }
    assert new["superseded_version"].iloc[1:].isna().all()
    staged = staged_klines(con)
    assert staged["close"].tolist() == [105, 116, 101]
    assert staged["source_file"].tolist()[1] == "corrections/klines/binance/BTCUSDT_1h.csv"
    # the bar stays corrected: a later ordinary landing of the old values is a conflicting duplicate
    _write(tmp_path, "klines/binance/BTCUSDT_1h__again.csv", HEADER + "2024-01-01 01:00:00,105,120,100,115,3\n")
    again = _land_dir(con, tmp_path, loaded_at=datetime(2026, 1, 3)).to_pandas()
    assert again[["status", "reject_reason"]].values.tolist() == [["rejected", "conflicting duplicate of a final bar"]]
    assert staged_klines(con)["close"].tolist() == [105, 116, 101]


def test_a_correction_in_the_same_batch_as_its_bar_wins(tmp_path):
    con = duckdb.connect()
    _write(tmp_path, "klines/binance/BTCUSDT_1h.csv", BTC)
    _write(tmp_path, "corrections/klines/binance/BTCUSDT_1h.csv", HEADER + "2024-01-01 00:00:00,100,110,90,104,2\n")
    out = _land_dir(con, tmp_path).to_pandas()
    assert out[["source_file", "status"]].values.tolist() == [["klines/binance/BTCUSDT_1h.csv", "landed"]] * 3 + [
        ["corrections/klines/binance/BTCUSDT_1h.csv", "landed"]
    ]
    assert json.loads(out["superseded_version"].iloc[3]) == {
        "source_file": "klines/binance/BTCUSDT_1h.csv",
        "line_number": 2,
        "open": 100.0,
        "high": 110.0,
        "low": 90.0,
        "close": 105.0,
        "volume": 2.0,
    }
    assert staged_klines(con)["close"].tolist() == [104, 115, 101]


def test_a_correction_of_a_key_that_never_landed_is_rejected():
    out = land([("corrections/klines/binance/BTCUSDT_1h.csv", HEADER + "2024-01-01 00:00:00,1,1,1,1,1\n")])
    assert out[["layout", "status", "reject_reason", "raw_record"]].values.tolist() == [
        [
            "corrections/klines",
            "rejected",
            CORRECTION_WITHOUT_KEY,
            "binance,BTCUSDT,1h,2024-01-01 00:00:00,1.0,1.0,1.0,1.0,1.0",
        ]
    ]


def test_correction_paths():
    info = parse_landing_path("corrections/klines/Binance/BTCUSDT_60m.csv")
    assert (info.layout, info.ledger_layout, info.exchange, info.symbol, info.bar_interval, info.correction) == (
        "klines",
        "corrections/klines",
        "binance",
        "BTCUSDT",
        "1h",
        True,
    )
    assert parse_landing_path("corrections/daily/SPY.csv").ledger_layout == "corrections/daily"
    with pytest.raises(LandingFileError, match=r"^corrections/snapshots/x.json: unknown correction folder 'snapshots'"):
        parse_landing_path("corrections/snapshots/x.json")


def test_the_landing_path_is_quoted_in_read_blob(tmp_path):
    """The sources' read_blob locations, rendered as dbt-duckdb does (Jinja, then
    str.format_map), read a landing directory whose path holds a quote and braces."""
    landing = tmp_path / "it's {a} landing"
    _write(landing, "klines/binance/BTCUSDT_1h.csv", BTC)
    _write(landing, "corrections/klines/binance/BTCUSDT_1h.csv", BTC)
    _write(landing, "daily/SPY.csv", "date,close\n2024-01-02,1\n")
    sources = yaml.safe_load((PROJECT / "models" / "raw" / "_landing__sources.yml").read_text())
    env = jinja2.Environment()
    found = {}
    for table in sources["sources"][0]["tables"]:
        location = env.from_string(table["meta"]["external_location"]).render(
            env_var=lambda name, default=None: str(landing) if name == "MARKET_REGIMES_LANDING" else default
        )
        location = location.format_map({})  # dbt-duckdb's default "newstyle" formatter
        rows = duckdb.connect().sql(f"select filename from {location}").fetchall()
        found[table["name"]] = sorted(Path(f).relative_to(landing).as_posix() for (f,) in rows)
    assert found == {
        "kline_files": ["corrections/klines/binance/BTCUSDT_1h.csv", "klines/binance/BTCUSDT_1h.csv"],
        "snapshot_files": [],
        "dominance_files": [],
        "daily_files": ["daily/SPY.csv"],
    }


# ---------------------------------------------------------------- the warn tests


def _two_batches():
    first = land([("klines/binance/XRPUSDT_1h.csv", BAD_KLINES), ("klines/binance/BADNAME.csv", BTC)], loaded_at=T0)
    second = land(
        [
            (
                "klines/binance/ETHUSDT_1h.csv",
                HEADER + "2024-01-01 00:00:00,10,11,9,10,1\n"
                "2024-01-01 01:00:00,10,9,11,10,1\n2024-01-01 02:00:00,10,11,9,10,-1\n"
                "2024-01-01 03:00:00,10,11,9,10,-2\n",
            ),
            ("klines/okx/EMPTYUSDT_1h.csv", b""),
        ],
        loaded_at=T1,
    )
    return warehouse(klines=pd.concat([first, second], ignore_index=True))


def test_warn_rejected_rows_reports_the_latest_batch_only_naming_files_counts_and_reasons():
    con = _two_batches()
    sql = render(PROJECT / "tests" / "dbt" / "warn_rejected_rows.sql", RAW_REFS)
    rows = con.sql(sql + " order by source_file, line_number").df()
    assert rows.values.tolist() == [
        ["klines/binance/ETHUSDT_1h.csv", 3, "high below low", 3, 4, "negative volume (2); high below low (1)"],
        ["klines/binance/ETHUSDT_1h.csv", 4, "negative volume", 3, 4, "negative volume (2); high below low (1)"],
        ["klines/binance/ETHUSDT_1h.csv", 5, "negative volume", 3, 4, "negative volume (2); high below low (1)"],
        ["klines/okx/EMPTYUSDT_1h.csv", 0, "file: empty file (0 bytes)", 1, 1, "file: empty file (0 bytes) (1)"],
    ]
    assert list(rows.columns) == [
        "source_file",
        "line_number",
        "reason",
        "rejects_in_file",
        "records_in_file",
        "top_reasons",
    ]
    assert len(con.sql("select * from rejected_rows").df()) == 8 + 1 + 4  # all of them stay in the quarantine
    # a `dbt build` reports only the batch it landed itself: a later build that lands nothing is quiet
    later = render(
        PROJECT / "tests" / "dbt" / "warn_rejected_rows.sql",
        RAW_REFS,
        which="build",
        run_started_at=datetime(2026, 1, 3),
    )
    assert len(con.sql(later).df()) == 0
    same = render(
        PROJECT / "tests" / "dbt" / "warn_rejected_rows.sql", RAW_REFS, which="build", run_started_at=T1.to_pydatetime()
    )
    assert len(con.sql(same).df()) == 4


def test_warn_rejected_landing_files_names_the_files_quarantined_whole_by_the_latest_batch():
    con = _two_batches()
    sql = render(PROJECT / "tests" / "dbt" / "warn_rejected_landing_files.sql", RAW_REFS)
    assert con.sql(sql).df().values.tolist() == [
        ["klines/okx/EMPTYUSDT_1h.csv", "hash-klines/okx/EMPTYUSDT_1h.csv", "klines", "file: empty file (0 bytes)"]
    ]
    files = con.sql("select source_file, status, reject_reason from landing_files order by 1").df()
    assert values(files) == [
        ["klines/binance/BADNAME.csv", "rejected", "file: file name is not <SYMBOL>_<interval>[__<tag>]"],
        ["klines/binance/ETHUSDT_1h.csv", "landed", None],
        ["klines/binance/XRPUSDT_1h.csv", "landed", None],
        ["klines/okx/EMPTYUSDT_1h.csv", "rejected", "file: empty file (0 bytes)"],
    ]


def test_the_warn_tests_log_a_summary_per_file():
    for name, message in (
        ("warn_rejected_rows", "records rejected by the latest batch; top reasons: "),
        ("warn_rejected_landing_files", "landing: file quarantined whole: "),
    ):
        text = (PROJECT / "tests" / "dbt" / f"{name}.sql").read_text()
        assert "{{ config(severity='warn') }}" in text and message in text and "log(" in text


# ---------------------------------------------------------------- seeds


def test_every_seed_has_unix_line_endings():
    """dbt's seed loader (DuckDB's CSV sniffer) fails on mixed line endings with hints that
    never mention them: every seed uses '\\n' only and ends with one."""
    offending = []
    for path in sorted((PROJECT / "seeds").glob("*.csv")):
        data = path.read_bytes()
        crlf, cr, final = data.count(b"\r\n"), data.count(b"\r"), data.endswith(b"\n")
        if cr or not final:
            offending.append(f"{path.name}: {crlf} CRLF, {cr - crlf} lone CR, ends with a newline: {final}")
    assert not offending, "seeds with other line endings than '\\n' (normalise them):\n" + "\n".join(offending)
