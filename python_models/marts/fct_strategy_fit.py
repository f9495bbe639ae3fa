def model(dbt, session):
    """Trend / mean-reversion fit per driver and symbol series at each UTC day's close
    (docs/volatility-regimes.md): Hurst (R/S), AR(1) of returns, trend_fit, mean_reversion_fit.
    Thin adapter over market_regimes.engines.volatility_frames.strategy_fit_rows;
    constants are the rows of seed volatility_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import bars_sql, series_sql, strategy_fit_rows

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    session.register("_strategy_fit_series", dbt.ref("int_indicator_series_listed"))
    session.register("_strategy_fit_bars", dbt.ref("int_indicator_bars_prepared"))
    intervals = dbt.config.get("bar_intervals")
    series = session.sql(series_sql("_strategy_fit_series", intervals)).df()
    bars = session.sql(bars_sql("_strategy_fit_series", "_strategy_fit_bars", intervals)).df()
    return strategy_fit_rows(bars, cfg, series=series)
