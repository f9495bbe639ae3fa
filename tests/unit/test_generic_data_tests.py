"""The project's generic data tests not_null_columns and within_bounds
(macros/tests/generic_tests.sql), compiled by dbt and run on hand-made rows: they fail with
one row per column holding NULLs / values outside the seed's bounds."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import PROJECT, dbt


@pytest.fixture(scope="module")
def compiled_test_sql(tmp_path_factory) -> str:
    """The compiled SQL of fct_regime_deltas' not_null_columns test (dbt shortens its file name)."""
    work = tmp_path_factory.mktemp("generic-tests")
    dbt(
        "compile",
        work / "unused.duckdb",
        PROJECT / "sample" / "landing",
        work,
        extra=["--select", "test_name:not_null_columns,fct_regime_deltas"],
    )
    files = list((work / "target" / "compiled").rglob("not_null_columns_fct_regime_de*.sql"))
    assert len(files) == 1, files
    return files[0].read_text()


def _run(sql: str, rows: list[tuple]) -> list[tuple]:
    """The test's SQL over marts.fct_regime_deltas holding `rows` (driver, timeframe, bar_start,
    state; the other listed columns filled)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_regime_deltas (driver varchar, timeframe varchar, bar_start timestamp, "
        "bar_interval varchar, closed_at timestamp, state varchar, buy_flag boolean, first_dip_buy_flag boolean, "
        "rebuy_flag boolean, trim_flag boolean, has_transition_delta boolean, delta_a_raw double, "
        "delta_e_raw double)"
    )
    for driver, timeframe, bar_start, state in rows:
        con.execute(
            "insert into marts.fct_regime_deltas values "
            "(?, ?, ?, '1h', ?, ?, false, false, false, false, false, 0.1, -0.1)",
            [driver, timeframe, bar_start, bar_start, state],
        )
    return sorted(con.sql(sql).fetchall())


def test_not_null_columns_passes_without_nulls(compiled_test_sql):
    assert "fct_regime_deltas" in compiled_test_sql
    rows = [("BTC", "meso", "2024-01-01 00:00", "S1"), ("ALT", "macro", "2024-01-01 01:00", "S3")]
    assert _run(compiled_test_sql, rows) == []


def test_not_null_columns_names_each_column_with_nulls(compiled_test_sql):
    rows = [
        ("BTC", None, "2024-01-01 00:00", None),
        (None, None, "2024-01-01 01:00", "S3"),
        ("ALT", "meso", "2024-01-01 02:00", "S0"),
    ]
    assert _run(compiled_test_sql, rows) == [("driver", 1), ("state", 1), ("timeframe", 2)]


# ------------------------------------------------------------------ within_bounds


def _compile_oscillator_bounds(work, extra=()) -> str:
    """The compiled SQL of fct_driver_indicators' within_bounds test on the four oscillators
    (bounds quality_thresholds.oscillator_min / oscillator_max); `extra`: more dbt args."""
    select = ["--select", "test_name:within_bounds,fct_driver_indicators", "--indirect-selection", "eager"]
    dbt("compile", work / "unused.duckdb", PROJECT / "sample" / "landing", work, extra=[*select, *extra])
    return _oscillator_bounds_in(work / "target" / "compiled")


def _oscillator_bounds_in(compiled) -> str:
    files = [f for f in compiled.rglob("within_bounds_fct_driver_ind*.sql") if "oscillator_max" in f.read_text()]
    assert len(files) == 1, files
    return files[0].read_text()


@pytest.fixture(scope="module")
def update_run_compiled(tmp_path_factory):
    """The target/compiled folder of one dbt compile with var test_since (an update run) of
    fct_driver_indicators' within_bounds tests and int_indicators_smoothed's unique_combination
    test (one parse for the two update-run tests below)."""
    work = tmp_path_factory.mktemp("update-run-tests")
    select = [
        "--select",
        "test_name:within_bounds,fct_driver_indicators",
        "test_name:unique_combination,int_indicators_smoothed",
        "--indirect-selection",
        "eager",
    ]
    vars_ = ["--vars", '{test_since: "2024-01-02 00:00:00"}']
    dbt("compile", work / "unused.duckdb", PROJECT / "sample" / "landing", work, extra=[*select, *vars_])
    return work / "target" / "compiled"


@pytest.fixture(scope="module")
def oscillator_bounds_sql(tmp_path_factory) -> str:
    return _compile_oscillator_bounds(tmp_path_factory.mktemp("within-bounds"))


def _run_bounds(sql: str, rows: list[tuple], bounds: dict[str, float], bar_start: bool = False) -> list[tuple]:
    """The test's SQL over marts.fct_driver_indicators holding `rows` ([bar_start,] rsi_14,
    adx_14, plus_di_14, minus_di_14) and seeds.quality_thresholds holding `bounds`."""
    con = duckdb.connect()
    con.execute("create schema marts; create schema seeds")
    con.execute("create table seeds.quality_thresholds (key varchar, value double, description varchar)")
    con.executemany("insert into seeds.quality_thresholds values (?, ?, '')", list(bounds.items()))
    columns = ["rsi_14 double", "adx_14 double", "plus_di_14 double", "minus_di_14 double"]
    columns = ["bar_start timestamp", *columns] if bar_start else columns
    con.execute(f"create table marts.fct_driver_indicators ({', '.join(columns)})")
    con.executemany(f"insert into marts.fct_driver_indicators values ({', '.join('?' * len(columns))})", rows)
    return sorted(con.sql(sql).fetchall())


SHIPPED_OSCILLATOR_BOUNDS = {"oscillator_min": 0.0, "oscillator_max": 100.0}


def test_within_bounds_passes_inside_the_bounds_edges_and_nulls_included(oscillator_bounds_sql):
    rows = [(0.0, 100.0, 55.5, None), (None, None, None, None), (100.0, 0.0, 12.0, 99.9)]
    assert _run_bounds(oscillator_bounds_sql, rows, SHIPPED_OSCILLATOR_BOUNDS) == []


def test_within_bounds_counts_the_rows_outside_per_column(oscillator_bounds_sql):
    rows = [(101.0, 50.0, -0.5, 50.0), (100.5, 50.0, 50.0, 50.0), (50.0, 50.0, 50.0, 50.0)]
    assert _run_bounds(oscillator_bounds_sql, rows, SHIPPED_OSCILLATOR_BOUNDS) == [("plus_di_14", 1), ("rsi_14", 2)]
    # the bound is the seed's: a tighter oscillator_max fails a value the shipped one passes
    tight = {**SHIPPED_OSCILLATOR_BOUNDS, "oscillator_max": 60.0}
    assert _run_bounds(oscillator_bounds_sql, [(55.5, 70.0, 1.0, 2.0)], tight) == [("adx_14", 1)]


def test_within_bounds_fails_when_the_seed_lacks_a_bound(oscillator_bounds_sql):
    assert _run_bounds(oscillator_bounds_sql, [(50.0, 50.0, 50.0, 50.0)], {"oscillator_min": 0.0}) == [
        ("bound quality_thresholds.oscillator_max", 1)
    ]


def test_within_bounds_in_an_update_run_checks_the_window_only(update_run_compiled):
    """With var test_since (an update run) dbt hands the test its model as a filtered
    subquery: the compiled SQL must still run, and count only the rows of the window."""
    sql = _oscillator_bounds_in(update_run_compiled)
    rows = [
        ("2024-01-01 00:00", 150.0, 50.0, 50.0, 50.0),  # before the window: not checked
        ("2024-01-02 00:00", 101.0, 50.0, 50.0, 50.0),
        ("2024-01-03 00:00", 50.0, 50.0, 50.0, 50.0),
    ]
    assert _run_bounds(sql, rows, SHIPPED_OSCILLATOR_BOUNDS, bar_start=True) == [("rsi_14", 1)]


def test_a_series_idx_model_in_an_update_run_checks_the_bars_of_the_window(update_run_compiled):
    """A model keyed on the indicator chain's (series_part, idx) without bar_start: with var
    test_since its tests read the rows whose bar in int_indicator_bars_prepared starts in the
    window (a duplicate key of a new row is still found; one of old rows is not read)."""
    files = list(update_run_compiled.rglob("unique_combination_int_indicators_smoothed*.sql"))
    assert len(files) == 1, files
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_indicator_bars_prepared (series_part ubigint, idx bigint, bar_start timestamp)"
    )
    con.execute(
        "insert into intermediate.int_indicator_bars_prepared values "
        "(1, 0, '2024-01-01 00:00'), (1, 1, '2024-01-02 00:00'), (2, 0, '2024-01-01 12:00'), (2, 1, '2024-01-02 12:00')"
    )
    con.execute("create table intermediate.int_indicators_smoothed (series_part ubigint, idx bigint)")
    # duplicates: (1, 0) before the window (not read), (2, 1) in it
    con.execute(
        "insert into intermediate.int_indicators_smoothed values (1, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 1)"
    )
    assert sorted(con.sql(files[0].read_text()).fetchall()) == [(2, 1, 2)]
