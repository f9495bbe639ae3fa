def model(dbt, session):
    """Swing range, traversal counts and holdout containment per grid series and bar
    (docs/grid-regimes.md). Thin adapter: the engine is
    market_regimes.engines.grid_ranges (no dbt inside); its inputs are the model
    int_grid_engine_bars_selected, its constants the rows of seed grid_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.grid_ranges import grid_range_rows_by_window

    seed = dbt.ref("grid_config").df()
    bars = dbt.ref("int_grid_engine_bars_selected").df()
    return grid_range_rows_by_window(bars, dict(zip(seed["key"], seed["value"])))
