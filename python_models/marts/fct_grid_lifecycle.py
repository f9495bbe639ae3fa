def model(dbt, session):
    """The grid lifecycle per grid and 1h bar (docs/grid-lifecycle.md): state, placement,
    gate progress, triggers, state changes and notifications of every configured grid
    version (seed grid_configs via int_grid_configs_validated) and of a virtual grid per
    series that follows the recommendations on its own. Thin adapter:
    market_regimes.adapters.grid_models.grid_lifecycle_table runs the engine
    market_regimes.engines.grid_lifecycle (no dbt inside) on fct_grid_lifecycle_bars; its
    constants are the rows of seed grid_lifecycle_config. Incremental: every walk
    continues from the engine state stored on its last row; a walk never rescans its history."""
    dbt.config(materialized="incremental", incremental_strategy="delete+insert", unique_key=["grid_id", "bar_start"])
    from market_regimes.adapters.grid_models import grid_lifecycle_table

    return grid_lifecycle_table(
        session,
        config_rows=dbt.ref("grid_lifecycle_config"),
        configs=dbt.ref("int_grid_configs_validated"),
        bars=dbt.ref("fct_grid_lifecycle_bars"),
        stored=session.table(str(dbt.this)) if dbt.is_incremental else None,
    )
