def model(dbt, session):
    """Volatility / spectral regimes per driver and symbol x final bar (see
    docs/volatility-regimes.md): HMM vol regime, wavelet energies, direction, quadrant, toxic flag, turbulence.
    Thin adapter: the detector is market_regimes.engines.volatility (no dbt inside), the
    table logic market_regimes.engines.volatility_frames; constants are the rows of seed
    volatility_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import (attach_symbol_turbulence, bars_sql, series_sql,
                                                          volatility_regime_rows)

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    session.register("_volatility_series", dbt.ref("int_indicator_series_listed"))
    session.register("_volatility_bars", dbt.ref("int_indicator_bars_prepared"))
    intervals = dbt.config.get("bar_intervals")
    series = session.sql(series_sql("_volatility_series", intervals)).df()
    bars = session.sql(bars_sql("_volatility_series", "_volatility_bars", intervals)).df()
    kinds = [k.strip() for k in str(dbt.config.get("turbulence_driver_kinds")).split(",") if k.strip()]
    drivers = dbt.ref("dim_drivers").df()
    rows = volatility_regime_rows(bars, cfg, series=series,
                                  turbulence_drivers=drivers.loc[drivers["kind"].isin(kinds), "driver"].tolist())
    # symbol rows: the turbulence of their exchange x interval cross-section (marts.fct_symbol_turbulence)
    return attach_symbol_turbulence(rows, dbt.ref("fct_symbol_turbulence").df())
