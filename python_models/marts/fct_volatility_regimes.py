def model(dbt, session):
    """Volatility / spectral regimes per driver and symbol x final bar: HMM vol regime,
    wavelet energies, direction, quadrant, toxic flag, turbulence (docs/volatility-regimes.md;
    columns, formulas and the incremental rule in _volatility__models.yml). Thin adapter:
    market_regimes.adapters.volatility_models.volatility_regimes_table runs the pure engine
    market_regimes.engines.volatility_frames; constants are the rows of seed volatility_config.
    Revisions: meta revision_rewind = from_bar_start (macros/indicators/revisions.sql)."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_part", "idx"],
        meta={"revision_rewind": "from_bar_start"},
    )
    from market_regimes.adapters.volatility_models import volatility_regimes_table

    return volatility_regimes_table(
        session,
        config_rows=dbt.ref("volatility_config"),
        listed=dbt.ref("int_indicator_series_listed"),
        prepared=dbt.ref("int_indicator_bars_prepared"),
        drivers=dbt.ref("dim_drivers"),
        symbol_turbulence=dbt.ref("fct_symbol_turbulence"),
        stored=session.table(str(dbt.this)) if dbt.is_incremental else None,
        bar_intervals=dbt.config.get("bar_intervals"),
        turbulence_driver_kinds=dbt.config.get("turbulence_driver_kinds"),
    )
