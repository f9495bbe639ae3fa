"""Support for the dbt Python models (the adapters in python_models/), kept out of the pure
engines (market_regimes.engines: DataFrames in, DataFrames out, no SQL): the SQL an
incremental model runs against its own stored table (``this``) to find where each series
continues. That SQL cannot be an upstream dbt model (a model cannot read its own output
upstream of itself), so it lives here, beside the adapters that run it."""


def temp_table(con, name: str, select_sql: str) -> None:
    """Materialise `select_sql` as the temporary table `name` of DuckDB connection `con` (the
    dbt session): an input read more than once per run, kept out of the warehouse's schemas
    (a temporary table lives in the connection's temp catalog and goes with it)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"temp_table: bad table name {name!r}")
    con.execute(f"create or replace temp table {name} as {select_sql}")


def delete_sections(con, table: str, sections) -> None:
    """Delete the rows of each cross-section ``exchange|bar_interval`` of `sections` from
    `table` (fct_symbol_turbulence: a section recomputed whole)."""
    for section in sections:
        exchange, interval = section.split("|")
        con.execute(f"delete from {table} where exchange = ? and bar_interval = ?", [exchange, interval])


def stored_engine_states_sql(stored: str) -> str:
    """The stored rows of relation `stored` (an engine model's own table) that carry an
    engine state (fct_uptrend_states, fct_grid_lifecycle: the last row of each walk, and
    checkpoints)."""
    return f"select * from {stored} where engine_state is not null"
