"""`dbt build` on the bundled real sample: coverage, exchange reconciliation, as_of prefix."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import SAMPLE
from tests.helpers import dbt, query

pytestmark = pytest.mark.integration
AS_OF = "2023-01-01"


def test_driver_coverage(sample_db):
    cov = query(sample_db, """
        select driver, bar_interval, min(bar_start) as first, max(bar_start) as last, count(*) as n
        from marts.fct_driver_bars group by 1, 2""").set_index(["driver", "bar_interval"])
    for driver in ("BTC", "ALT"):
        for interval in ("1h", "1d"):
            assert str(cov.loc[(driver, interval), "first"]) < "2021-04-06"
            assert str(cov.loc[(driver, interval), "last"]) >= "2023-12-30"
        assert str(cov.loc[(driver, "5m"), "first"]) < "2025-04-04"
        assert str(cov.loc[(driver, "5m"), "last"]) >= "2025-07-02"
    spans = query(sample_db, """
        select driver, bar_interval, count(*) as n from marts.fct_driver_bars
        where bar_start >= '2021-04-05' and bar_start < '2023-12-30' group by 1, 2""").set_index(["driver", "bar_interval"])
    for driver in ("BTC", "ALT", "nano", "small", "mid", "big"):
        assert spans.loc[(driver, "1h"), "n"] >= 23_900  # ~24k hours minus the exchange outages
        assert spans.loc[(driver, "1d"), "n"] >= 995
    for driver in ("BTC.d", "USDT.d"):
        assert cov.loc[(driver, "1d"), "n"] == 1095
    ranges = query(sample_db, """
        select driver, median((high - low) / close) as med from marts.fct_driver_bars
        where bar_interval = '1h' and driver in ('nano', 'small', 'mid', 'big') group by 1""")
    assert (ranges["med"] < 0.05).all(), ranges


def test_bybit_rollups_equal_bybit_hourly_candles(sample_db, capsys):
    recon = query(sample_db, """
        select symbol, source_interval, n_bars_compared, n_matches, n_mismatches
        from reports.rpt_rollup_reconciliation where exchange = 'bybit' and bar_interval = '1h' order by 1""")
    with capsys.disabled():
        print(f"\nBybit 1h rollups vs Bybit 60m candles: {int(recon['n_matches'].sum())} of "
              f"{int(recon['n_bars_compared'].sum())} complete final hours match exactly")
    assert recon["symbol"].tolist() == ["ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "DOTUSDT", "ETHUSDT", "SOLUSDT"]
    assert recon["source_interval"].tolist() == ["1m", "5m", "5m", "1m", "1m", "5m", "5m"]
    assert int(recon["n_mismatches"].sum()) == 0
    # 719 final hours per file (the last 60m candle is in progress); ADA and DOGE 1m lack
    # minutes of the 2025-06-29 16:00 hour, so their final hour is 15:00: 718 complete.
    assert int(recon["n_matches"].sum()) >= 5_000
    assert recon.set_index("symbol")["n_matches"].to_dict() == {
        "ADAUSDT": 719, "BNBUSDT": 719, "BTCUSDT": 719, "DOGEUSDT": 719, "DOTUSDT": 719,
        "ETHUSDT": 719, "SOLUSDT": 719}


def test_sample_landing_is_clean_and_complete(sample_db):
    files = query(sample_db, "select layout, count(*) as n, sum(rows_read) as r, sum(rows_landed) as l "
                             "from raw.landing_files group by 1 order by 1")
    assert files.to_dict("list") == {"layout": ["daily", "dominance", "klines"], "n": [2, 2, 62],
                                     "r": [2462, 2190, 1262082], "l": [2462, 2190, 1262082]}


def test_as_of_build_equals_full_build(sample_db, tmp_path):
    cut_db = tmp_path / "sample_as_of.duckdb"
    dbt("build", cut_db, SAMPLE, tmp_path, vars_yaml=f'{{as_of: "{AS_OF}"}}')
    con = duckdb.connect()
    # attach under the file stems: dbt-duckdb views name their catalog by the file stem
    con.execute(f"attach '{sample_db}' (read_only)")
    con.execute(f"attach '{cut_db}' (read_only)")
    checks = {
        "marts.fct_symbol_bars": ["exchange", "symbol", "bar_interval", "bar_start", "origin"],
        "marts.fct_driver_bars": ["driver", "timeframe", "bar_start"],
        "marts.fct_symbol_indicators": ["exchange", "symbol", "bar_interval", "bar_start"],
        "marts.fct_driver_indicators": ["driver", "timeframe", "bar_start"],
    }
    for table, keys in checks.items():
        cols = [r[0] for r in con.sql(f"select column_name from (describe sample.{table})").fetchall()]
        floats = [r[0] for r in con.sql(f"select column_name, column_type from (describe sample.{table})").fetchall()
                  if r[0] not in keys and con.sql(f"select column_type from (describe sample.{table}) "
                                                  f"where column_name = '{r[0]}'").fetchone()[0] == "DOUBLE"]
        exact = [c for c in cols if c not in keys and c not in floats]
        interval = ("t.bar_interval" if "bar_interval" in cols else
                    "(select r.bar_interval from sample.seeds.regime_timeframes r where r.timeframe = t.timeframe)")
        ended = (f"bar_start + to_minutes((select interval_minutes from sample.seeds.bar_intervals i "
                 f"where i.bar_interval = {interval})::bigint) <= timestamp '{AS_OF}'")
        on = " and ".join(f"f.{k} = c.{k}" for k in keys)
        # SPEC determinism: floats equal to 1e-12 relative. For values near zero (slopes,
        # EMA separations) "relative" is taken against the column's mean magnitude: a
        # difference of EMAs that nearly cross has no relative precision of its own.
        # ou_half_life_100 = -ln 2 / beta roughly, beta an OLS slope of price changes on
        # prices ~6e4: its covariance cancels to ~1e-10 relative, and DuckDB's window
        # aggregate rounds it differently at a shorter partition's end. Measured <= 1.5e-10.
        # OLS slopes (ema_*_slope, *_slope_10, normalized_slope_20) and their differences
        # come from the same window aggregate and cancel less: 1e-10 (measured <= 1.1e-12).
        tolerance = {"ou_half_life_100": 1e-9}
        tolerance.update({c: 1e-10 for c in floats if "slope" in c})
        scales = con.sql(f"select " + ", ".join(f"coalesce(avg(abs({x})), 0) as {x}" for x in floats)
                         + f" from sample.{table} t where {ended}").fetchone() if floats else ()
        differs = " or ".join(
            [f"f.{c} is distinct from c.{c}" for c in exact]
            + [f"(f.{c} is null) != (c.{c} is null) or abs(f.{c} - c.{c}) > "
               f"{tolerance.get(c, 1e-12)!r} * greatest(abs(f.{c}), {scale!r})" for c, scale in zip(floats, scales)])
        sql = (f"with f as (select * from sample.{table} t where {ended}), "
               f"c as (select * from sample_as_of.{table} t where {ended}) "
               f"select count(*) filter (where f.{keys[0]} is null or c.{keys[0]} is null) as unmatched, "
               f"count(*) filter (where {differs}) as different, count(*) as n from f full join c on {on}")
        unmatched, different, n = con.sql(sql).fetchone()
        if different:
            worst = con.sql(f"with f as (select * from sample.{table} t where {ended}), "
                            f"c as (select * from sample_as_of.{table} t where {ended}) select "
                            + ", ".join(f"max(abs(f.{x} - c.{x}) / greatest(abs(f.{x}), {sc!r})) as {x}"
                                        for x, sc in zip(floats, scales))
                            + f" from f join c on {on}").df().T
            print(table, worst[worst[0] > 1e-12])
        assert n > 100_000 if table.endswith("symbol_bars") else n > 10_000
        assert (unmatched, different) == (0, 0), f"{table}: {unmatched} unmatched, {different} different of {n}"
    con.close()
