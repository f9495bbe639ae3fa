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
    session.execute("""
        create or replace temp table _grid_walk_frontier as
        select s.series_part, s.carry_idx, p.last_pivot_idx
        from (select series_part, max(idx) as carry_idx from _grid_walk_stored group by series_part) as s
        left join (select series_part, max(pivot_idx) as last_pivot_idx from _grid_walk_stored
                   where pivot_idx is not null group by series_part) as p using (series_part)
    """)
    tail = session.sql("""
        select b.*, f.carry_idx
        from _grid_walk_bars as b
        left join _grid_walk_frontier as f using (series_part)
        where f.carry_idx is null
           or (b.series_part in (select series_part from _grid_walk_bars as n
                                 join _grid_walk_frontier as g using (series_part) where n.idx > g.carry_idx)
               and b.idx >= greatest(0, least(coalesce(f.last_pivot_idx, 0), f.carry_idx + 2 - b.window_bars)))
    """).df()
    pivots = session.sql("""
        select s.series_part, s.idx, s.pivot_idx, s.pivot_kind
        from _grid_walk_stored as s
        join _grid_walk_frontier as f using (series_part)
        where s.pivot_idx is not null and s.pivot_idx >= least(coalesce(f.last_pivot_idx, 0), f.carry_idx)
                                                         - (select max(window_bars) from _grid_walk_bars)
    """).df()
    return arrow_table(grid_range_rows_by_window(tail, seed, pivots))
