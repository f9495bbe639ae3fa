def model(dbt, session):
    """Trend / mean-reversion fit per driver and symbol series at each UTC day's close
    (docs/volatility-regimes.md): Hurst (R/S), AR(1) of returns, trend_fit,
    mean_reversion_fit. Thin adapter: market_regimes.adapters.volatility_models.
    strategy_fit_table over the engine market_regimes.engines.volatility_frames (every
    segment continues after its own last stored row from the look-back its windows need);
    constants are the rows of seed volatility_config. Revisions: meta revision_rewind =
    from_bar_start."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_id", "bar_start"],
        meta={"revision_rewind": "from_bar_start"},
    )
    from market_regimes.adapters.volatility_models import strategy_fit_table

    return strategy_fit_table(
        session,
        config_rows=dbt.ref("volatility_config"),
        listed=dbt.ref("int_indicator_series_listed"),
        prepared=dbt.ref("int_indicator_bars_prepared"),
        this=str(dbt.this) if dbt.is_incremental else None,
        bar_intervals=dbt.config.get("bar_intervals"),
    )
