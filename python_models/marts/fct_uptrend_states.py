def model(dbt, session):
    """Uptrend Engine states, flags and scores per driver x timeframe x final bar
    (docs/uptrend-engine.md). Thin adapter: market_regimes.adapters.uptrend_models.
    uptrend_states_table runs the engine market_regimes.engines.uptrend_engine (no dbt
    inside) on the joined indicator inputs; its constants are the rows of seed
    uptrend_config. Incremental: every segment continues from the latest engine state
    stored on its rows (its last row and checkpoint rows); after a revision (meta
    revision_rewind = from_bar_start) from its last checkpoint left."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["driver", "timeframe", "bar_start"],
    )
    from market_regimes.adapters.uptrend_models import uptrend_states_table

    return uptrend_states_table(
        session,
        config_rows=dbt.ref("uptrend_config"),
        series=dbt.ref("int_indicator_series_listed"),
        prepared=dbt.ref("int_indicator_bars_prepared"),
        smoothed=dbt.ref("int_indicators_smoothed"),
        windowed=dbt.ref("int_indicators_windowed"),
        driver_bars=dbt.ref("fct_driver_bars"),
        stored=session.table(str(dbt.this)) if dbt.is_incremental else None,
    )
