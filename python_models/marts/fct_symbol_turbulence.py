def model(dbt, session):
    """Turbulence of the cross-section of the symbols of each exchange and bar interval
    (docs/bars-and-drivers.md, "Symbol turbulence"): one row per exchange x bar_interval x
    bar on the cross-section's joint calendar once the window is full.

    The same computation as the drivers' turbulence column of fct_volatility_regimes, on
    the same inputs: the final primary symbol bars' segment log returns of the intervals of
    var volatility_bar_intervals (int_indicator_series_listed / int_indicator_bars_prepared,
    read with volatility_frames.series_sql / bars_sql), clean returns only (|r| <=
    toxic_abs_log_return), the bars where every symbol of the cross-section has one (joint
    calendar), and volatility_frames.turbulence_rows (vol.turbulence: squared Mahalanobis
    distance from the mean and covariance of the turbulence_window_bars joint bars before
    the bar, pseudo-inverse). turbulence_rows groups a cross-section by its `timeframe` and
    names its members `driver`: here the cross-section key is the exchange x interval and
    the members are the symbols. Constants: seed volatility_config."""
    dbt.config(materialized="table")
    import pandas as pd

    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import bars_sql, series_sql, turbulence_rows

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    session.register("_turbulence_series", dbt.ref("int_indicator_series_listed"))
    session.register("_turbulence_bars", dbt.ref("int_indicator_bars_prepared"))
    intervals = dbt.config.get("bar_intervals")
    series = session.sql(series_sql("_turbulence_series", intervals)).df()
    series = series[series["series_type"] == "symbol"]
    bars = session.sql(bars_sql("_turbulence_series", "_turbulence_bars", intervals)).df()
    bars = bars.merge(series[["series_part", "exchange", "symbol", "bar_interval"]], on="series_part",
                      validate="many_to_one")
    sections = {f"{e}|{i}": (e, i) for e, i in bars[["exchange", "bar_interval"]].drop_duplicates().itertuples(index=False)}
    turb = turbulence_rows(pd.DataFrame({
        "series_type": "driver", "driver": bars["symbol"], "timeframe": bars["exchange"] + "|" + bars["bar_interval"],
        "bar_start": bars["bar_start"], "log_return": bars["log_return"]}), cfg)
    exchange, interval = zip(*[sections[k] for k in turb["timeframe"]]) if len(turb) else ((), ())
    return pd.DataFrame({
        "exchange": pd.Series(exchange, dtype="string"), "bar_interval": pd.Series(interval, dtype="string"),
        "bar_start": turb["bar_start"].to_numpy(), "turbulence": turb["turbulence"].to_numpy(),
        "turbulence_symbols": turb["turbulence_drivers"].to_numpy(dtype="int64"),
    })
