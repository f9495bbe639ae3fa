def model(dbt, session):
    """Swing range, traversal counts and holdout containment per grid series and bar
    (docs/grid-regimes.md), with the swing pivot confirmed at each bar (pivot_idx,
    pivot_kind: the state an incremental run continues from). Thin adapter: the engine is
    market_regimes.engines.grid_ranges (no dbt inside); its inputs are the model
    int_grid_engine_bars_selected, its constants the rows of seed grid_config.
    Incremental: a series already stored is read from the bar its continuation needs on
    (the last stored pivot's bar, or the window of the first new bar, whichever is earlier)
    and only its bars after the last stored one are written; new series are walked whole."""
    # append_new_columns: a warehouse built before pivot_idx / pivot_kind existed gets the columns (NULL on
    # its old rows: with no stored pivot a series is walked from its first bar again, exactly)
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_part", "idx"],
        on_schema_change="append_new_columns",
    )
    from market_regimes.adapters import grid_sql as q
    from market_regimes.adapters import temp_table
    from market_regimes.engines.grid_ranges import grid_range_rows_by_window
    from market_regimes.frames import arrow_table

    seed = dbt.ref("grid_config").df()
    seed = dict(zip(seed["key"], seed["value"]))
    bars = dbt.ref("int_grid_engine_bars_selected")
    if not dbt.is_incremental:
        return arrow_table(grid_range_rows_by_window(bars.df(), seed))

    # the stored state: each series' last bar and its stored pivots (a table from before the
    # pivot columns has none: every stored series is then walked from its first bar again)
    stored = session.table(str(dbt.this))
    if "pivot_idx" not in stored.columns:
        stored = stored.select("series_part, idx, null::bigint as pivot_idx, null::bigint as pivot_kind")
    session.register("_grid_walk_bars", bars)
    session.register("_grid_walk_stored", stored)
    temp_table(session, "_grid_walk_frontier", q.range_walk_frontier_sql("_grid_walk_stored"))
    tail = session.sql(q.range_walk_tail_sql("_grid_walk_bars", "_grid_walk_frontier")).df()
    pivots = session.sql(q.range_walk_pivots_sql("_grid_walk_stored", "_grid_walk_frontier", "_grid_walk_bars")).df()
    return arrow_table(grid_range_rows_by_window(tail, seed, pivots))
