"""The project's generic data test not_null_columns (macros/tests/generic_tests.sql), compiled
by dbt and run on hand-made rows: it fails with one row per column holding NULLs."""

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
        work / "compile.duckdb",
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
