"""`dbt build` on the bundled real sample: coverage, exchange reconciliation, as_of prefix."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from market_regimes.landing.synthetic import write_next_candles
from tests.conftest import SAMPLE
from tests.helpers import MART_TABLES, compare_builds, dbt, query

pytestmark = pytest.mark.integration
AS_OF = "2023-01-01"


def test_driver_coverage(sample_db):
    cov = query(
        sample_db,
        """
        select driver, bar_interval, min(bar_start) as first, max(bar_start) as last, count(*) as n
        from marts.fct_driver_bars group by 1, 2""",
    ).set_index(["driver", "bar_interval"])
    for driver in ("BTC", "ALT"):
        for interval in ("1h", "1d"):
            assert str(cov.loc[(driver, interval), "first"]) < "2021-04-06"
            assert str(cov.loc[(driver, interval), "last"]) >= "2023-12-30"
        assert str(cov.loc[(driver, "5m"), "first"]) < "2025-04-04"
        assert str(cov.loc[(driver, "5m"), "last"]) >= "2025-07-02"
    spans = query(
        sample_db,
        """
        select driver, bar_interval, count(*) as n from marts.fct_driver_bars
        where bar_start >= '2021-04-05' and bar_start < '2023-12-30' group by 1, 2""",
    ).set_index(["driver", "bar_interval"])
    for driver in ("BTC", "ALT", "nano", "small", "mid", "big"):
        assert spans.loc[(driver, "1h"), "n"] >= 23_900  # ~24k hours minus the exchange outages
        assert spans.loc[(driver, "1d"), "n"] >= 995
    for driver in ("BTC.d", "USDT.d"):
        assert cov.loc[(driver, "1d"), "n"] == 1095
    ranges = query(
        sample_db,
        """
        select driver, median((high - low) / close) as med from marts.fct_driver_bars
        where bar_interval = '1h' and driver in ('nano', 'small', 'mid', 'big') group by 1""",
    )
    assert (ranges["med"] < 0.05).all(), ranges


def test_bybit_rollups_equal_bybit_hourly_candles(sample_db, capsys):
    recon = query(
        sample_db,
        """
        select symbol, source_interval, n_bars_compared, n_matches, n_mismatches
        from reports.rpt_rollup_reconciliation where exchange = 'bybit' and bar_interval = '1h' order by 1""",
    )
    with capsys.disabled():
        print(
            f"\nBybit 1h rollups vs Bybit 60m candles: {int(recon['n_matches'].sum())} of "
            f"{int(recon['n_bars_compared'].sum())} complete final hours match exactly"
        )
    assert recon["symbol"].tolist() == ["ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "SOLUSDT"]
    assert recon["source_interval"].tolist() == ["1m", "5m", "5m", "1m", "1m", "5m", "5m"]
    assert int(recon["n_mismatches"].sum()) == 0
    # 719 final hours per file (the last 60m candle is in progress); ADA and DOGE 1m lack
    # minutes of the 2025-06-29 16:00 hour, so their final hour is 15:00: 718 complete.
    assert int(recon["n_matches"].sum()) >= 5_000
    assert recon.set_index("symbol")["n_matches"].to_dict() == {
        "ADAUSDT": 719,
        "BNBUSDT": 719,
        "BTCUSDT": 719,
        "DOGEUSDT": 719,
        "DOTUSDT": 719,
        "ETHUSDT": 719,
        "SOLUSDT": 719,
    }


def test_sample_landing_is_clean_and_complete(sample_db):
    files = query(
        sample_db,
        "select layout, count(*) as n, sum(rows_read) as r, sum(rows_landed) as l "
        "from raw.landing_files group by 1 order by 1",
    )
    # snapshots: 3 hours x 2 symbols x (60 minute prices + 1 candle), DOT 13:37 missing
    assert files.to_dict("list") == {
        "layout": ["daily", "dominance", "klines", "snapshots"],
        "n": [2, 2, 62, 12],
        "r": [2462, 2190, 1262082, 365],
        "l": [2462, 2190, 1262082, 365],
    }


MART_KEYS = {
    **MART_TABLES,
    "marts.fct_symbol_indicators": ["exchange", "symbol", "bar_interval", "bar_start"],
    "marts.fct_driver_indicators": ["driver", "timeframe", "bar_start"],
    "marts.fct_uptrend_states": ["driver", "timeframe", "bar_start"],
    "marts.fct_grid_ranges": ["exchange", "symbol", "bar_interval", "bar_start"],
    "marts.fct_grid_regimes": ["exchange", "symbol", "bar_interval", "bar_start"],
    "marts.fct_grid_lifecycle": ["grid_id", "bar_start"],
    "marts.fct_exit_states": ["grid_id", "bar_start", "change_seq"],
    "marts.fct_exit_notifications": ["grid_id", "bar_start"],
    "marts.fct_restart_gates": ["grid_id", "bar_start"],
    "marts.fct_grid_recommendations": ["grid_id", "bar_start"],
}
# the lifecycle's engine state (JSON text) sits on the last row of each walk: an as_of build's
# last row has it, and its buffers hold input floats that may differ in the last bits between
# builds; the rows it produces are compared
IGNORED = {"marts.fct_grid_lifecycle": ["engine_state"]}
# rows each comparison must at least cover before AS_OF (measured: symbol bars 781,623; exit
# states 3,292, notifications 155, recommendations of the configured grids 1,464)
MIN_COMPARED = {
    "marts.fct_symbol_bars": 100_000,
    "marts.fct_exit_states": 1_000,
    "marts.fct_exit_notifications": 100,
    "marts.fct_grid_recommendations": 1_000,
}


# the as_of and incremental builds make only what MART_KEYS compares (and what it needs):
# the other marts have prefix tests of their own (tests/integration/test_volatility_regimes.py)
# or read these point-in-time (levers: ASOF joins); building them here cost ~2 min of CI.
# cautious: only the tests whose parents are all selected (a fresh file has no others)
COMPARED_ONLY = ["--select", *(f"+{t.split('.')[1]}" for t in MART_KEYS), "--indirect-selection", "cautious"]
# the hourly run checks the indicator chain: landing -> bars -> composites -> indicators
INDICATOR_CHAIN = ["--select", "+int_indicators_ranked", "--indirect-selection", "cautious"]


@pytest.fixture(scope="module")
def as_of_db(tmp_path_factory):
    """The sample built with var as_of = AS_OF (file stem sample_as_of): seeds and models, not
    the data tests (the sample build runs them; here the rows are compared with its rows)."""
    work = tmp_path_factory.mktemp("as_of")
    db = work / "sample_as_of.duckdb"
    extra = [*COMPARED_ONLY, "--exclude-resource-type", "test"]
    dbt("build", db, SAMPLE, work, vars_yaml=f'{{as_of: "{AS_OF}"}}', extra=extra)
    yield db
    shutil.rmtree(work, ignore_errors=True)  # free the disk for the next module


def _ended_by(catalog: str, cols: list[str], as_of: str) -> str:
    """SQL over alias t: the bar ended by as_of (bar_start + its interval <= as_of)."""
    interval = (
        "t.bar_interval"
        if "bar_interval" in cols
        else "'1h'"
        if "grid_id" in cols
        else f"(select r.bar_interval from {catalog}.seeds.regime_timeframes r where r.timeframe = t.timeframe)"
    )
    return (
        f"t.bar_start + to_minutes((select interval_minutes from {catalog}.seeds.bar_intervals i "
        f"where i.bar_interval = {interval})::bigint) <= timestamp '{as_of}'"
    )


def test_as_of_build_equals_full_build(sample_db, as_of_db):
    """Prefix invariance (docs/architecture.md): every bar ended by as_of is identical in both builds."""
    con = duckdb.connect()
    # attach under the file stems: dbt-duckdb views name their catalog by the file stem
    con.execute(f"attach '{sample_db}' (read_only)")
    con.execute(f"attach '{as_of_db}' (read_only)")
    for table, keys in MART_KEYS.items():
        unmatched, different, n, worst = compare_builds(
            con,
            sample_db.stem,
            "sample_as_of",
            table,
            keys,
            where=_ended_by(sample_db.stem, keys, AS_OF),
            ignore=IGNORED.get(table, []),
        )
        print(table, n, {c: f"{v:.1e}" for c, v in worst.items() if v > 1e-13})
        assert n > MIN_COMPARED.get(table, 10_000), f"{table}: only {n} rows compared"
        assert (unmatched, different) == (0, 0), f"{table}: {unmatched} unmatched, {different} different of {n}"
    con.close()


def test_incremental_run_equals_full_build(sample_db, as_of_db, tmp_path):
    """docs/indicators.md + determinism: an incremental run on top of the as_of build (indicators carried
    from their stored state, everything after AS_OF new) equals the full build on every row."""
    work = tmp_path / "incremental"
    work.mkdir()
    db = work / as_of_db.name  # same file stem: its views name that catalog
    shutil.copy(as_of_db, db)
    # mark one old stored row: an incremental run must leave it alone (a rebuild would not)
    con = duckdb.connect(str(db))
    part, original = con.sql(
        "select series_part, ema_20 from intermediate.int_indicators_smoothed "
        "where idx = 1000 and series_part in (select series_part from "
        "intermediate.int_indicators_smoothed group by 1 having max(idx) > 2000) "
        "order by series_part limit 1"
    ).fetchone()
    con.execute(
        f"update intermediate.int_indicators_smoothed set ema_20 = -1 where series_part = {part} and idx = 1000"
    )
    before = con.sql("select count(*) from intermediate.int_indicators_smoothed").fetchone()[0]
    con.close()
    dbt("run", db, SAMPLE, work, extra=COMPARED_ONLY)
    con = duckdb.connect(str(db))
    kept = con.execute(
        f"select ema_20 from intermediate.int_indicators_smoothed where series_part = {part} and idx = 1000"
    ).fetchone()[0]
    assert kept == -1, "the incremental run rewrote a stored bar"
    con.execute(
        f"update intermediate.int_indicators_smoothed set ema_20 = {original!r} "
        f"where series_part = {part} and idx = 1000"
    )
    after = con.sql("select count(*) from intermediate.int_indicators_smoothed").fetchone()[0]
    con.close()
    con = duckdb.connect()
    con.execute(f"attach '{sample_db}' (read_only)")
    con.execute(f"attach '{db}' (read_only)")
    for table, keys in MART_KEYS.items():
        unmatched, different, n, worst = compare_builds(
            con, sample_db.stem, "sample_as_of", table, keys, ignore=IGNORED.get(table, [])
        )
        print(table, n, {c: f"{v:.1e}" for c, v in worst.items() if v > 1e-13})
        assert (unmatched, different) == (0, 0), f"{table}: {unmatched} unmatched, {different} different of {n}"
    con.close()
    assert 100_000 < before < after

    # an hourly run: one more candle per live file. Late members must not rewrite a final
    # composite bar (the indicator models would stop with an error), and every new final
    # bar gets its indicators.
    landing = work / "landing"
    shutil.copytree(SAMPLE, landing)
    # live series: within 24 hours of their symbol's, exchange's and all exchanges' newest
    # candle. The Binance export ends 2023-12-30; on Bybit the 5m files of BNB, BTC, ETH,
    # SOL and XRP run to 2025-07-02, every other file (ADA/DOGE/DOT, the 60m files) to
    # 2025-06-29: one more hour of those five 5m series.
    written = write_next_candles(landing)
    assert sorted(p.name for p in written) == [f"{s}USDT_5m__next.csv" for s in ("BNB", "BTC", "ETH", "SOL", "XRP")]
    dbt("run", db, landing, work, extra=INDICATOR_CHAIN)
    counts = query(
        db,
        """select (select count(*) from intermediate.int_indicator_bars_prepared) as prepared,
                                 (select count(*) from intermediate.int_indicators_smoothed) as smoothed,
                                 (select count(*) from intermediate.int_indicators_ranked) as ranked""",
    )
    assert counts["prepared"][0] == counts["smoothed"][0] == counts["ranked"][0] > after
