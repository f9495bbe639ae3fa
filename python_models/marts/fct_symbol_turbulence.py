def model(dbt, session):
    """Turbulence of the cross-section of the symbols of each exchange and bar interval
    (docs/bars-and-drivers.md, "Symbol turbulence"; the formula and the incremental rule in
    _bars__models.yml): one row per exchange x bar_interval x bar on the cross-section's
    joint calendar once the window is full; the same computation as the drivers' column of
    fct_volatility_regimes. Thin adapter:
    market_regimes.adapters.volatility_models.symbol_turbulence_table over the engine
    market_regimes.engines.volatility_frames; constants: seed volatility_config. Revisions:
    meta revision_rewind = from_bar_start."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["exchange", "bar_interval", "bar_start"],
        meta={"revision_rewind": "from_bar_start"},
    )
    from market_regimes.adapters.volatility_models import symbol_turbulence_table

    return symbol_turbulence_table(
        session,
        config_rows=dbt.ref("volatility_config"),
        listed=dbt.ref("int_indicator_series_listed"),
        prepared=dbt.ref("int_indicator_bars_prepared"),
        this=str(dbt.this) if dbt.is_incremental else None,
        bar_intervals=dbt.config.get("bar_intervals"),
    )
