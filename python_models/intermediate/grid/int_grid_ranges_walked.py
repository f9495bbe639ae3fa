def model(dbt, session):
    """Swing range, traversal counts and holdout containment per grid series and bar
    (docs/grid-regimes.md), with the swing pivot confirmed at each bar (pivot_idx,
    pivot_kind: the state an incremental run continues from). Thin adapter:
    market_regimes.adapters.grid_models.grid_ranges_walked_table runs the engine
    market_regimes.engines.grid_ranges (no dbt inside) on int_grid_engine_bars_selected;
    constants: the rows of seed grid_config. Incremental: only a stored series' bars after
    its last stored one are written; new series are walked whole."""
    # append_new_columns: a warehouse built before pivot_idx / pivot_kind existed gets the columns (NULL on
    # its old rows: with no stored pivot a series is walked from its first bar again, exactly)
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_part", "idx"],
        on_schema_change="append_new_columns",
    )
    from market_regimes.adapters.grid_models import grid_ranges_walked_table

    return grid_ranges_walked_table(
        session,
        config_rows=dbt.ref("grid_config"),
        bars=dbt.ref("int_grid_engine_bars_selected"),
        stored=session.table(str(dbt.this)) if dbt.is_incremental else None,
    )
