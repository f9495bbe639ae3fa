"""`dbt build` on a small fixture landing directory with hand-computed expected bars."""

from __future__ import annotations

import math
import shutil

import duckdb
import pandas as pd
import pytest

from tests.helpers import MART_TABLES, compare_builds, dbt, query
from tests.integration.fixture_landing import ada_60m_candles

pytestmark = pytest.mark.integration
AS_OF = "2024-01-01 02:00:00"
# rebuilds after a change to the landing make the bar marts these tests read (a full build
# of the fixture, engines and tests included, takes ~3x longer; the session fixture and
# test_landing_with_a_subset_of_layouts_builds build everything)
BARS = ["--select", "+fct_driver_bars", "+fct_symbol_bars", "--indirect-selection", "cautious"]


@pytest.fixture(scope="module")
def built(fixture_build):
    return fixture_build


def bar(db, table, where):
    rows = query(db, f"select * from {table} where {where}")
    assert len(rows) == 1, f"{table} where {where}: {len(rows)} rows"
    return rows.iloc[0]


def test_bad_rows_are_quarantined_and_accounted(built):
    files = query(built["db"], "select * from raw.landing_files where source_file = 'klines/binance/XRPUSDT_1h.csv'")
    assert files[["rows_read", "rows_landed", "rows_rejected", "duplicates_collapsed"]].iloc[0].tolist() == [
        12,
        3,
        8,
        1,
    ]
    rejected = query(built["db"], "select line_number, reason from raw.rejected_rows order by line_number")
    assert dict(zip(rejected["line_number"], rejected["reason"])) == {
        3: "high below low",
        4: "non-positive price",
        5: "non-finite or unparseable price",
        6: "unaligned timestamp for a 60-minute bar",
        7: "unparseable timestamp 'yesterday noon'",
        9: "conflicting duplicate of a final bar",
        11: "negative volume",
        13: "wrong field count: 3 fields, header has 7",
    }
    all_files = query(built["db"], "select * from raw.landing_files")
    assert (
        all_files["rows_read"]
        == all_files["rows_landed"] + all_files["rows_rejected"] + all_files["duplicates_collapsed"]
    ).all()
    assert len(all_files) == 15  # 6 binance, 2 bybit, 2 snapshots, 3 dominance, 2 daily
    # row-level problems warn, they do not fail the build
    assert "WARN 8 warn_rejected_rows" in built["stdout"]
    xrp = query(
        built["db"],
        "select bar_start from marts.fct_symbol_bars where symbol = 'XRPUSDT' and origin = 'landed' order by 1",
    )
    assert [str(t) for t in xrp["bar_start"]] == ["2024-01-01 00:00:00", "2024-01-01 04:00:00", "2024-01-01 06:00:00"]


def test_landed_and_rolled_up_symbol_bars(built):
    db = built["db"]
    b = bar(db, "marts.fct_symbol_bars", "symbol='BTCUSDT' and bar_interval='1h' and bar_start='2024-01-01 00:00'")
    assert (b.open, b.high, b.low, b.close, b.volume, b.quote_volume) == (100, 110, 90, 105, 2, 210)
    assert (b.is_final, b.segment_id, b.origin, b.n_sub_bars, b.is_complete) == (True, 1, "landed", 1, True)
    last = bar(db, "marts.fct_symbol_bars", "symbol='BTCUSDT' and bar_interval='1h' and bar_start='2024-01-01 03:00'")
    assert not last.is_final  # the newest landed bar is provisional
    h4 = bar(db, "marts.fct_symbol_bars", "symbol='BTCUSDT' and bar_interval='4h'")
    assert (h4.open, h4.high, h4.low, h4.close, h4.volume) == (100, 120, 90, 96, 10)
    assert (h4.n_sub_bars, h4.expected_sub_bars, h4.is_complete, h4.is_final) == (4, 4, True, False)
    assert h4.quote_volume == 105 * 2 + 115 * 3 + 101 * 1 + 96 * 4
    d1 = bar(db, "marts.fct_symbol_bars", "symbol='BTCUSDT' and bar_interval='1d'")
    assert (d1.n_sub_bars, d1.expected_sub_bars, d1.is_complete, d1.source_interval) == (4, 24, False, "1h")


def test_snapshot_hour_with_59_minutes_is_incomplete(built):
    db = built["db"]
    m1 = query(db, "select count(*) as n from marts.fct_symbol_bars where symbol='DOTUSDT' and bar_interval='1m'")
    assert m1["n"].iloc[0] == 59
    r = bar(db, "marts.fct_symbol_bars", "symbol='DOTUSDT' and bar_interval='1h' and origin='rollup'")
    assert (r.exchange, r.open, r.high, r.low, r.close) == ("bybit", 4.0, 4.0177, 4.0, 4.0177)
    assert (r.n_sub_bars, r.expected_sub_bars, r.is_complete) == (59, 60, False)
    assert pd.isna(r.volume)
    landed = bar(db, "marts.fct_symbol_bars", "symbol='DOTUSDT' and bar_interval='1h' and origin='landed'")
    assert (landed.open, landed.high, landed.low, landed.close, landed.volume) == (4.0, 4.021, 3.999, 4.0177, 236169.9)


def test_rollups_reproduce_exchange_candles(built):
    db = built["db"]
    recon = query(db, "select * from reports.rpt_rollup_reconciliation where symbol = 'ADAUSDT' and bar_interval='1h'")
    assert recon[["n_bars_compared", "n_matches", "n_mismatches"]].iloc[0].tolist() == [2, 2, 0]
    rolled = query(
        db,
        "select bar_start, open, high, low, close, volume, is_complete, is_final from marts.fct_symbol_bars "
        "where symbol='ADAUSDT' and bar_interval='1h' and origin='rollup' order by bar_start",
    )
    expected = ada_60m_candles()
    assert (
        rolled[["open", "high", "low", "close"]].to_numpy().tolist()
        == expected[["open", "high", "low", "close"]].to_numpy().tolist()
    )
    assert rolled["is_complete"].tolist() == [True, True, False]
    assert rolled["is_final"].tolist() == [True, True, False]


def test_alt_equal_weight_index_by_hand(built):
    db = built["db"]
    alt = query(db, "select * from marts.fct_driver_bars where driver='ALT' and timeframe='meso' order by bar_start")
    assert [str(t) for t in alt["bar_start"]] == ["2024-01-01 01:00:00", "2024-01-01 02:00:00", "2024-01-01 03:00:00"]
    h1 = alt.iloc[0]
    # ETH r = (1, 1.15, 0.98, 1.1), SOL r = (1, 1.05, 0.85, 0.9); I_0 = 100
    assert h1.open == pytest.approx(100, rel=1e-12) and h1.high == pytest.approx(110, rel=1e-12)
    assert h1.low == pytest.approx(91.5, rel=1e-12) and h1.close == pytest.approx(100, rel=1e-12)
    assert (h1.volume, h1.n_constituents, h1.is_final, h1.source) == (11 * 100 + 18 * 10, 2, True, "equal_weight_index")
    h2 = alt.iloc[1]
    assert h2.high == pytest.approx(100 * (12.2 / 11 + 20 / 18) / 2, rel=1e-12)
    assert h2.low == pytest.approx(100 * (10.9 / 11 + 17.5 / 18) / 2, rel=1e-12)
    assert h2.close == pytest.approx(110, rel=1e-12) and h2.volume == pytest.approx(12.1 * 50 + 19.8 * 10)
    h3 = alt.iloc[2]
    assert h3.close == pytest.approx(110 * (12 / 12.1 + 19 / 19.8) / 2, rel=1e-12)
    assert not h3.is_final
    # composite reconciliation: index return = mean member return
    assert h3.close / h2.close == pytest.approx((12 / 12.1 + 19 / 19.8) / 2, rel=1e-12)


def test_member_with_extreme_return_is_excluded_and_counted(built):
    nano = query(
        built["db"],
        "select * from intermediate.int_composite_bars_computed where driver='nano' "
        "and timeframe='meso' and composite_method='equal_weight_index' order by bar_start",
    )
    first = nano.iloc[0]  # STRAX doubles (|ln 2| > 0.5): excluded; DREP r = (1, 1.2, 1, 1.1)
    assert (first.n_constituents, first.n_excluded_members) == (1, 1)
    assert (first.open, first.high, first.low, first.close) == pytest.approx((100, 120, 100, 110), rel=1e-12)
    assert nano.iloc[1].close == pytest.approx(110 * (2.1 / 2 + 1.0 / 1.1) / 2, rel=1e-12)


def test_price_average_method_for_comparison(built):
    pa_ = bar(
        built["db"],
        "intermediate.int_composite_bars_computed",
        "driver='ALT' and timeframe='meso' and composite_method='price_average' and bar_start='2024-01-01 01:00'",
    )
    assert (pa_.open, pa_.high, pa_.low, pa_.close) == (15, 21, 9.8, 14.5)


def test_dominance_drivers(built):
    db = built["db"]
    btcd = query(db, "select * from marts.fct_driver_bars where driver='BTC.d' order by timeframe, bar_start")
    macro = btcd[btcd["timeframe"] == "macro"]
    assert macro["close"].tolist() == [50.0, 51.5, 49.0]
    assert set(macro["source"]) == {"cryptocap_tradingview"}  # priority 1 beats the coingecko rollup
    assert (macro["open"] == macro["close"]).all() and macro["volume"].isna().all()
    meso = btcd[btcd["timeframe"] == "meso"].iloc[0]  # 4 readings in 3 minutes of the 00:00 hour
    assert (meso.open, meso.high, meso.low, meso.close) == (50.1, 50.3, 50.0, 50.0)
    assert (meso.is_complete, meso.is_final, meso.source) == (False, True, "coingecko_global")
    usdt = query(db, "select close from marts.fct_driver_bars where driver='USDT.d' order by bar_start")
    assert usdt["close"].tolist() == [5.0, 5.25, 5.5]


def test_btc_driver_and_segments(built):
    btc = query(
        built["db"], "select * from marts.fct_driver_bars where driver='BTC' and timeframe='meso' order by bar_start"
    )
    assert btc["close"].tolist() == [105, 115, 101, 96]
    assert btc["source"].unique().tolist() == ["binance"]
    assert btc["volume"].tolist() == [210, 345, 101, 384]  # quote volume (USDT)
    assert btc["is_final"].tolist() == [True, True, True, False]
    assert btc["segment_id"].unique().tolist() == [1]


def test_daily_series_staged(built):
    daily = query(
        built["db"],
        "select series, bar_start, open, close, volume from staging.stg_landing__daily_series order by 1, 2",
    )
    assert daily["series"].tolist() == ["DVOL"] * 3 + ["SPX"]
    assert daily.iloc[0][["open", "close"]].tolist() == [56.76, 56.76]
    assert daily.iloc[3]["volume"] == 3743050000


def test_rebuild_adds_nothing_and_changes_nothing(built, tmp_path):
    db, root = built["db"], built["root"]
    counts = {t: len(query(db, f"select * from {t}")) for t in ["raw.klines", "raw.landing_files"]}
    before = tmp_path / "before.duckdb"
    shutil.copy(db, before)
    relations = query(db, RELATIONS)
    dbt("build", db, built["landing"], root, extra=BARS)
    for table, n in counts.items():
        assert len(query(db, f"select * from {table}")) == n, table
    # the incremental run (raw landing models included) leaves no __dbt_tmp table behind
    after = query(db, RELATIONS)
    assert after.equals(relations), f"relations changed:\n{relations.merge(after, how='outer', indicator=True)}"
    assert not after.table_name.str.contains("__dbt_tmp").any() and len(after) > 40
    _assert_marts_equal(db, before)
    assert query(db, "select count(distinct loaded_at) as n from raw.klines")["n"].iloc[0] == 1


RELATIONS = (
    "select table_schema, table_name, table_type from information_schema.tables "
    "where table_catalog = current_database() order by all"
)


def test_views_work_in_a_copy_opened_under_another_name(built, tmp_path):
    """The warehouse's views name no catalog (macros/utils/ref.sql): a copy of the file
    under another name, opened directly or attached under any alias, answers every view."""
    copy = tmp_path / "my copy of the warehouse.duckdb"
    shutil.copy(built["db"], copy)
    views = query(
        copy,
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'VIEW' and table_catalog = current_database()",
    )
    assert {"fct_driver_indicators", "fct_symbol_indicators"} <= set(views.table_name)
    assert {"staging", "marts"} <= set(views.table_schema)
    assert not (views.table_schema == "main").any(), "helper views of the Python models are temporary now"
    expected = {f"{s}.{t}": len(query(built["db"], f"select * from {s}.{t}")) for s, t in views.itertuples(index=False)}
    assert expected["marts.fct_driver_indicators"] > 0
    for name, n in expected.items():
        assert len(query(copy, f"select * from {name}")) == n, name
    con = duckdb.connect()
    try:
        con.execute(f"attach '{copy}' as some_alias (read_only)")
        for name, n in expected.items():
            assert con.sql(f"select count(*) from some_alias.{name}").fetchone()[0] == n, name
    finally:
        con.close()


def _assert_marts_equal(db, other, where: str = "true") -> None:
    """The MART_TABLES of two fixture builds agree (determinism, docs/architecture.md; tests.helpers.compare_builds)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{db}' (read_only)")
        con.execute(f"attach '{other}' (read_only)")
        for table, keys in MART_TABLES.items():
            unmatched, different, n, _ = compare_builds(
                con, db.stem, other.stem, table, keys, where=where.format(catalog=db.stem)
            )
            assert n > 0 and (unmatched, different) == (0, 0), (
                f"{table}: {unmatched} unmatched, {different} different of {n}"
            )
    finally:
        con.close()


def test_as_of_build_equals_full_build_for_ended_bars(built, tmp_path):
    as_of_db = tmp_path / "as_of.duckdb"
    dbt("build", as_of_db, built["landing"], tmp_path, vars_yaml=f'{{as_of: "{AS_OF}"}}', extra=BARS)
    ended = (
        "t.bar_start + to_minutes((select i.interval_minutes from {catalog}.seeds.bar_intervals i "
        f"where i.bar_interval = t.bar_interval)::bigint) <= timestamp '{AS_OF}'"
    )
    _assert_marts_equal(built["db"], as_of_db, where=ended)
    assert not math.isnan(query(as_of_db, "select max(close) as c from marts.fct_driver_bars")["c"].iloc[0])


def test_later_landing_supersedes_the_provisional_bar(built, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(built["landing"], landing)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built["db"], db)
    (landing / "klines" / "binance" / "BTCUSDT_1h__batch2.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        "2024-01-01 02:00:00,115,116,100,101,1,BTCUSDT\n"  # identical: collapsed
        "2024-01-01 03:00:00,101,103,94,97.5,6,BTCUSDT\n"  # the final version of 03:00
        "2024-01-01 04:00:00,97.5,99,97,98,2,BTCUSDT\n"
    )  # new provisional bar
    dbt("build", db, landing, tmp_path, extra=BARS)
    files = query(
        db,
        "select rows_read, rows_landed, rows_rejected, duplicates_collapsed from raw.landing_files "
        "where source_file = 'klines/binance/BTCUSDT_1h__batch2.csv'",
    )
    assert files.iloc[0].tolist() == [3, 2, 0, 1]
    btc = query(
        db,
        "select bar_start, close, volume, is_final from marts.fct_symbol_bars where symbol = 'BTCUSDT' "
        "and bar_interval = '1h' order by bar_start",
    )
    assert btc["close"].tolist() == [105, 115, 101, 97.5, 98]
    assert btc["volume"].tolist() == [2, 3, 1, 6, 2]
    assert btc["is_final"].tolist() == [True, True, True, True, False]
    assert (
        query(db, "select count(*) as n from raw.klines")["n"].iloc[0]
        == query(built["db"], "select count(*) as n from raw.klines")["n"].iloc[0] + 3
    )


def test_lagging_member_keeps_later_composite_bars_provisional(built, tmp_path):
    """ETH reports 04:00 and 05:00, SOL (the other ALT member) is still at 03:00: ALT's
    04:00 bar has only ETH, and must stay provisional until SOL reports (else SOL's late
    candle would rewrite a final composite bar)."""
    landing = tmp_path / "landing"
    shutil.copytree(built["landing"], landing)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built["db"], db)
    binance = landing / "klines" / "binance"
    (binance / "ETHUSDT_1h__batch2.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        "2024-01-01 04:00:00,12,12.4,11.8,12.2,10,ETHUSDT\n"
        "2024-01-01 05:00:00,12.2,12.5,12,12.3,10,ETHUSDT\n"
    )
    dbt("build", db, landing, tmp_path, extra=BARS)
    alt = (
        "select bar_start, n_constituents, is_final from marts.fct_driver_bars where driver = 'ALT' "
        "and timeframe = 'meso' and bar_start >= '2024-01-01 03:00' order by bar_start"
    )
    early = query(db, alt)
    assert early.drop(columns="bar_start").values.tolist() == [[2, False], [1, False], [1, False]]
    (binance / "SOLUSDT_1h__batch2.csv").write_text(
        "date,open,high,low,close,volume,ticker\n"
        "2024-01-01 04:00:00,19,19.5,18.8,19.2,10,SOLUSDT\n"
        "2024-01-01 05:00:00,19.2,19.4,19,19.1,10,SOLUSDT\n"
    )
    dbt("build", db, landing, tmp_path, extra=BARS)
    late = query(db, alt)
    assert late.drop(columns="bar_start").values.tolist() == [[2, True], [2, True], [2, False]]


def test_landing_with_a_subset_of_layouts_builds(tmp_path):
    """Only klines/: absent layouts are empty tables; a missing required driver only warns."""
    landing = tmp_path / "landing"
    (landing / "klines" / "binance").mkdir(parents=True)
    (landing / "klines" / "binance" / "BTCUSDT_1h.csv").write_text(
        "date,open,high,low,close,volume\n2024-01-01 00:00:00,100,110,90,105,2\n2024-01-01 01:00:00,105,120,100,115,3\n"
    )
    db = tmp_path / "subset.duckdb"
    out = dbt("build", db, landing, tmp_path).stdout
    assert "ERROR=0" in out
    assert "WARN 4 warn_missing_required_drivers" in out  # ALT at micro, meso, macro; BTC at micro
    counts = query(
        db,
        "select (select count(*) from raw.dominance_readings) as dom, "
        "(select count(*) from raw.daily_series) as daily, "
        "(select count(*) from marts.fct_driver_bars where driver = 'BTC') as btc, "
        "(select count(*) from marts.fct_driver_bars where driver <> 'BTC') as others",
    )
    assert counts.iloc[0].tolist() == [0, 0, 3, 0]  # BTC: two 1h bars and one 1d rollup


@pytest.mark.parametrize("mart", ["dim_drivers", "fct_driver_bars"])
def test_building_one_mart_and_its_parents_into_a_fresh_file_passes(built, tmp_path, mart):
    """`dbt build --select +<mart>` into an empty file: every test it runs reads only
    relations it builds (dbt_project.yml flags.indirect_selection: buildable), so a
    relationships test towards a seed outside the selection is skipped, not failed."""
    db = tmp_path / "fresh.duckdb"
    out = dbt("build", db, built["landing"], tmp_path, extra=["--select", f"+{mart}"]).stdout
    assert "ERROR=0" in out and "PASS=" in out
    assert len(query(db, f"select * from marts.{mart}")) > 0
