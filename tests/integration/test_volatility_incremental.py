"""The incremental fct_volatility_regimes, fct_strategy_fit and fct_symbol_turbulence
(docs/volatility-regimes.md, "Incremental runs") on the bundled sample.

On the session's updated copy of the sample build (conftest.sample_updated: the exchange's
next export, every live series advanced one day, 24 hourly bars and a daily bar, is landed
and `dbt run --select ... +fct_volatility_regimes +fct_strategy_fit` runs incrementally). Each of the
three tables must then hold exactly the rows that the model's full computation gives on the
updated warehouse's inputs (the model run in-process with is_incremental false, compared
row for row in DuckDB: every value bit for bit, NULLs equal). The full dbt build of the same
landing is left to benchmarks/update.py and the report (too slow for CI); the full
computation here reads the same input tables. A second test cuts the stored volatility rows
back to a bar inside the drivers' joint calendar, so that the drivers' turbulence continues
after its stored cross-sections (an update of the sample adds no joint driver bar).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.helpers import PROJECT

pytestmark = pytest.mark.integration

REFS = {
    "volatility_config": "seeds.volatility_config",
    "int_indicator_series_listed": "intermediate.int_indicator_series_listed",
    "int_indicator_bars_prepared": "intermediate.int_indicator_bars_prepared",
    "dim_drivers": "marts.dim_drivers",
    "fct_symbol_turbulence": "marts.fct_symbol_turbulence",
}
MODELS = ["fct_symbol_turbulence", "fct_volatility_regimes", "fct_strategy_fit"]


class _Config(dict):
    def __call__(self, **_):
        pass


class _FullRun:
    """The `dbt` argument of a Python model for an in-process full computation."""

    is_incremental = False

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str):
        self.con, self.this = con, f"marts.{name}"
        self.config = _Config(bar_intervals="1d,1h", turbulence_driver_kinds="single,composite")

    def ref(self, name: str):
        return self.con.table(REFS[name])


def full_computation(db: Path, name: str) -> pa.Table:
    """The model's rows of a full build, as the model returns them (an Arrow table, typed as
    the warehouse stores them: frames.arrow_table)."""
    spec = importlib.util.spec_from_file_location(name, PROJECT / "python_models" / "marts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = module.model(_FullRun(con, name), con)
        return rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
    finally:
        con.close()


@pytest.fixture(scope="module")
def updated(sample_updated):
    """{"db": the sample build after one incremental update, "before": row counts before it}
    (conftest.sample_updated)."""
    return {"db": sample_updated["db"], "before": sample_updated["before"]}


@pytest.fixture(scope="module")
def full_rows(updated):
    """name -> the model's full computation on the updated warehouse's inputs (computed once)."""
    cache = {}

    def get(name: str) -> pa.Table:
        if name not in cache:
            cache[name] = full_computation(updated["db"], name)
        return cache[name]

    return get


def _differences(
    con: duckdb.DuckDBPyConnection, table: str, want: pa.Table, where: str = "true"
) -> tuple[int, int, int]:
    """(rows stored in `table`, rows not in `want`, rows of `want` missing), as multisets,
    over the rows of both that satisfy `where` (the stored count is of all rows)."""
    con.register("want", want)
    columns = ", ".join(f'"{c}"' for c in want.column_names)
    stored = int(con.sql(f"select count(*) from {table}").fetchone()[0])
    extra = int(
        con.sql(
            f"select count(*) from (select {columns} from {table} where {where} "
            f"except all select {columns} from want where {where})"
        ).fetchone()[0]
    )
    missing = int(
        con.sql(
            f"select count(*) from (select {columns} from want where {where} "
            f"except all select {columns} from {table} where {where})"
        ).fetchone()[0]
    )
    return stored, extra, missing


@pytest.mark.parametrize("name", MODELS)
def test_incremental_update_equals_the_full_computation(updated, full_rows, name):
    want = full_rows(name)
    con = duckdb.connect(str(updated["db"]), read_only=True)
    try:
        stored, extra, missing = _differences(con, f"marts.{name}", want)
    finally:
        con.close()
    assert (stored, extra, missing) == (want.num_rows, 0, 0)
    if name != "fct_symbol_turbulence":  # the sample's symbol cross-sections (joint calendars) end in 2023/2025
        assert stored > updated["before"][name]  # the update added rows: the run continued the stored ones


class _IncrementalRun(_FullRun):
    is_incremental = True


def test_a_continued_driver_turbulence_equals_the_full_computation(updated, full_rows, monkeypatch):
    """The drivers' turbulence ends in December 2023 on the sample (the composites' Binance
    era), so an update adds no joint bar to it. Here the stored fct_volatility_regimes rows
    are cut back to 2023-12-29 (every row from that bar on, as a revision rewind does), the
    model runs incrementally in-process and its rows are applied as dbt's delete+insert on
    (series_part, idx) does: the table must then equal the full computation, bit for bit,
    with both driver cross-sections continued after their last stored turbulence
    (volatility_frames.turbulence_rows_after: none recomputed whole) and their joint bars
    after the cut computed."""
    import market_regimes.engines.volatility_frames as engine

    seen = []
    after = engine.turbulence_rows_after  # called by volatility_frames.driver_turbulence

    def recorded(bars, cfg, stored):
        rows, replace = after(bars, cfg, stored)
        seen.append((sorted(stored["timeframe"]), replace, rows))
        return rows, replace

    monkeypatch.setattr(engine, "turbulence_rows_after", recorded)
    name = "fct_volatility_regimes"
    spec = importlib.util.spec_from_file_location(name, PROJECT / "python_models" / "marts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    want = full_rows(name)
    con = duckdb.connect(str(updated["db"]))
    try:
        con.begin()  # rolled back at the end: the updated warehouse stays as the update left it
        con.execute(f"delete from marts.{name} where bar_start >= timestamp '2023-12-29'")
        rows = module.model(_IncrementalRun(con, name), con)
        con.register("new_rows", rows)
        con.execute(
            f"delete from marts.{name} t using new_rows n where t.series_part = n.series_part and t.idx = n.idx"
        )
        con.execute(f"insert into marts.{name} by name select * from new_rows")
        # the rows the run could change: from the cut on, and any it wrote (the rest are the
        # updated warehouse's, equal to the full computation: the test above)
        touched = (
            "(bar_start >= timestamp '2023-12-29' or (series_part, idx) in (select (series_part, idx) from new_rows))"
        )
        stored, extra, missing = _differences(con, f"marts.{name}", want, touched)
    finally:
        con.rollback()
        con.close()
    assert (stored, extra, missing) == (want.num_rows, 0, 0)
    [(timeframes, replace, continued)] = seen
    assert timeframes == ["macro", "meso"] and replace == []
    # the joint bars after the cut: 2023-12-29 daily, 2023-12-29 00:00 .. 2023-12-30 19:00 hourly
    counts = continued.groupby("timeframe")["bar_start"].count().to_dict()
    assert counts == {"macro": 1, "meso": 24 + 20}
