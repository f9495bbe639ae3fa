def model(dbt, session):
    """The grid lifecycle per grid and 1h bar (docs/grid-lifecycle.md): state, placement,
    gate progress, triggers, state changes and notifications of every configured grid
    version (seed grid_configs via int_grid_configs_validated) and of a virtual grid per
    series that follows the recommendations on its own. Thin adapter: the engine is
    market_regimes.engines.grid_lifecycle (no dbt inside), its constants the rows of seed
    grid_lifecycle_config, its bars the model fct_grid_lifecycle_bars.
    Incremental: every walk continues from the engine state stored on its last row
    (engine_state); that row is rewritten without it, so only the last row of a walk holds
    one. A walk never rescans its history."""
    dbt.config(materialized="incremental", incremental_strategy="delete+insert", unique_key=["grid_id", "bar_start"])
    import pandas as pd

    from market_regimes.adapters import grid_sql as q
    from market_regimes.adapters import stored_engine_states_sql
    from market_regimes.engines.grid_lifecycle import LifecycleConfig
    from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows, stored_states
    from market_regimes.frames import arrow_table, relation_frame

    seed = dbt.ref("grid_lifecycle_config").df()
    cfg = LifecycleConfig.from_rows(seed[["key", "value"]])
    configs = dbt.ref("int_grid_configs_validated").df()
    bars = dbt.ref("fct_grid_lifecycle_bars")
    if not dbt.is_incremental:
        return arrow_table(lifecycle_rows(relation_frame(bars), configs, cfg))  # = bars.df(), faster

    session.register("_lifecycle_bars", bars)
    session.register("_lifecycle_stored", session.table(str(dbt.this)))
    session.register("_lifecycle_configs", dbt.ref("int_grid_configs_validated"))
    last = session.sql(stored_engine_states_sql("_lifecycle_stored")).df()
    # each segment is read after the earliest last stored bar of its walks; the symbols of
    # configured grids whole (a new or back-dated version starts at its valid_from)
    tail = session.sql(q.lifecycle_tail_sql("_lifecycle_bars", "_lifecycle_stored", "_lifecycle_configs")).df()
    rows = lifecycle_rows(tail, configs, cfg, stored_states(last))
    # the previous last row of each continued walk, again, without its engine state
    previous = last[
        last["walk_id"].isin(rows["walk_id"])
        & ~last.set_index(["grid_id", "bar_start"]).index.isin(rows.set_index(["grid_id", "bar_start"]).index)
    ].assign(engine_state=None)
    return arrow_table(pd.concat([rows, previous[list(rows.columns)]], ignore_index=True) if len(previous) else rows)
