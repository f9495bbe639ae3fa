"""market_regimes.compare on two hand-made warehouse files."""

from __future__ import annotations

import duckdb
import pytest

from market_regimes.compare import compare_warehouses, main

ROWS = [("BTC", "1h", 1, 100.0, 0.5), ("BTC", "1h", 2, 101.0, -0.25), ("ETH", "1h", 1, 10.0, None)]


def _warehouse(path, rows=ROWS, extra_table=False):
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct_x (driver varchar, timeframe varchar, idx int, close double, slope double)")
    con.executemany("insert into marts.fct_x values (?, ?, ?, ?, ?)", rows)
    if extra_table:
        con.execute("create table marts.fct_only_here as select 1 as a")
    con.close()
    return path


@pytest.fixture
def left(tmp_path):
    return _warehouse(tmp_path / "left.duckdb")


def _diff(tmp_path, left, rows):
    right = _warehouse(tmp_path / f"right{len(list(tmp_path.glob('right*')))}.duckdb", rows)
    (d,) = compare_warehouses(left, right, ["marts"])
    return d


def test_identical_builds_are_equal(tmp_path, left):
    d = _diff(tmp_path, left, list(reversed(ROWS)))  # row order is not part of a table
    assert d.equal and (d.left_rows, d.only_left, d.only_right) == (3, 0, 0)


def test_a_float_within_tolerance_is_equal_and_its_worst_difference_reported(tmp_path, left):
    rows = [*ROWS[:1], ("BTC", "1h", 2, 101.0 * (1 + 4e-16), -0.25), ROWS[2]]
    d = _diff(tmp_path, left, rows)
    assert d.equal and (d.only_left, d.only_right, d.unmatched) == (1, 1, 0)
    # relative to max(|value|, mean |close| = 211 / 3)
    assert d.worst["close"] == pytest.approx(abs(101.0 * (1 + 4e-16) - 101.0) / 101.0, rel=1e-6)
    assert d.worst["slope"] == 0.0


def test_a_float_over_tolerance_a_null_and_a_missing_row_are_different(tmp_path, left):
    d = _diff(tmp_path, left, [*ROWS[:1], ("BTC", "1h", 2, 101.0 * (1 + 1e-9), -0.25), ROWS[2]])
    assert not d.equal and d.over_tolerance == ["close"]
    d = _diff(tmp_path, left, [*ROWS[:2], ("ETH", "1h", 1, 10.0, 0.0)])
    assert not d.equal and d.over_tolerance == ["slope"]
    d = _diff(tmp_path, left, ROWS[:2])
    assert not d.equal and (d.left_rows, d.right_rows, d.only_left, d.unmatched) == (3, 2, 1, 1)


def test_cli_exit_status_and_a_table_on_one_side(tmp_path, left, capsys):
    right = _warehouse(tmp_path / "right.duckdb", extra_table=True)
    assert main([str(left), str(right), "--schemas", "marts"]) == 1
    out = capsys.readouterr().out
    assert "marts.fct_x: equal, 3 vs 3 rows" in out
    assert "marts.fct_only_here: DIFFERENT, -1 vs 0 rows" in out
    assert "2 tables compared, 1 different: marts.fct_only_here" in out
    assert main([str(left), str(tmp_path / "missing.duckdb")]) == 2


def test_a_table_that_became_a_view_is_compared_by_content(tmp_path, left):
    """A model whose rows moved to another table keeps its name as a view of it: compared by
    content (equal, then different after a changed row); views on both sides are skipped."""
    right = tmp_path / "moved.duckdb"
    con = duckdb.connect(str(right))
    con.execute("create schema marts; create schema intermediate")
    con.execute(
        "create table intermediate.int_x (driver varchar, timeframe varchar, idx int, close double, slope double)"
    )
    con.executemany("insert into intermediate.int_x values (?, ?, ?, ?, ?)", ROWS)
    con.execute("create view marts.fct_x as select * from intermediate.int_x")
    con.execute("create view marts.only_views as select 1 as a")
    con.close()
    (d,) = compare_warehouses(left, right, ["marts"])
    assert d.table == "marts.fct_x" and d.equal and (d.left_rows, d.right_rows) == (3, 3)
    con = duckdb.connect(str(right))
    con.execute("update intermediate.int_x set close = 99.0 where idx = 2")
    con.close()
    (d,) = compare_warehouses(left, right, ["marts"])
    assert not d.equal and d.over_tolerance == ["close"]


def _half_lives(path, values):
    con = duckdb.connect(str(path))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.w (series_part ubigint, idx bigint, ou_half_life_100 double)")
    con.executemany("insert into intermediate.w values (1, ?, ?)", list(enumerate(values)))
    con.close()
    return path


def test_a_half_life_is_compared_as_its_reciprocal(tmp_path):
    """ou_half_life_100 is -ln 2 over a slope: 2e-9 relative on a half-life of 2 million bars
    is a slope difference of 1e-15 of the column's mean reciprocal (0.0175): equal; the same
    2e-9 on a typical half-life (30 bars) is over the 1e-9 tolerance; an infinite half-life
    (slope >= 0) compares as 0."""
    left = _half_lives(tmp_path / "l.duckdb", [2.0e6, 30.0, float("inf"), 100.0])
    far = _half_lives(tmp_path / "far.duckdb", [2.0e6 * (1 + 2e-9), 30.0, float("inf"), 100.0])
    (d,) = compare_warehouses(left, far, ["intermediate"])
    mean_reciprocal = (1 / 2.0e6 + 1 / 30.0 + 0.0 + 1 / 100.0) / 4
    assert d.equal
    assert d.worst["ou_half_life_100"] == pytest.approx(
        abs(1 / (2.0e6 * (1 + 2e-9)) - 1 / 2.0e6) / mean_reciprocal, rel=1e-3
    )
    near = _half_lives(tmp_path / "near.duckdb", [2.0e6, 30.0 * (1 + 2e-9), float("inf"), 100.0])
    (d,) = compare_warehouses(left, near, ["intermediate"])
    assert not d.equal and d.over_tolerance == ["ou_half_life_100"]


def _lifecycle_inputs(path, atr: list[float], schema: str = "reports", table: str = "rpt_grid_lifecycle_inputs"):
    con = duckdb.connect(str(path))
    con.execute(f"create schema {schema}")
    con.execute(f"create table {schema}.{table} (walk_id varchar, atr_14 double)")
    con.executemany(f"insert into {schema}.{table} values (?, ?)", [(f"w{i}", v) for i, v in enumerate(atr)])
    con.close()
    return path


def test_a_10_digit_rounding_tie_flip_is_equal_in_the_lifecycle_inputs_only(tmp_path):
    """rpt_grid_lifecycle_inputs.atr_14 is fct_grid_lifecycle_bars' atr_14 rounded to 10
    significant digits: a tie flipped by the last bits of the Wilder recursion (measured between
    two full builds: 0.8258135707 vs 0.8258135706) is one unit of the 10th digit, within 1e-9;
    the same difference in another table's atr_14 is over its 1e-12."""
    values = [0.8258135707, 1.5, 2.25]
    flipped = [0.8258135706, 1.5, 2.25]
    (d,) = compare_warehouses(
        _lifecycle_inputs(tmp_path / "l.duckdb", values), _lifecycle_inputs(tmp_path / "r.duckdb", flipped), ["reports"]
    )
    assert d.equal and 0 < d.worst["atr_14"] < 1e-9
    other = {"schema": "intermediate", "table": "int_indicators_smoothed"}
    (d,) = compare_warehouses(
        _lifecycle_inputs(tmp_path / "l2.duckdb", values, **other),
        _lifecycle_inputs(tmp_path / "r2.duckdb", flipped, **other),
        ["intermediate"],
    )
    assert not d.equal and d.over_tolerance == ["atr_14"]
