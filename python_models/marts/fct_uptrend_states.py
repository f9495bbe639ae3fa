def model(dbt, session):
    """Uptrend Engine states, flags and scores per driver x timeframe x final bar (docs/uptrend-engine.md).
    Thin adapter: the engine is market_regimes.engines.uptrend_engine (no dbt inside); its
    constants are the rows of seed uptrend_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.uptrend_config import UptrendConfig
    from market_regimes.engines.uptrend_frames import ENGINE_INPUTS, uptrend_state_rows

    # the refs as temporary views of this session, to join them in SQL
    session.register("_uptrend_series", dbt.ref("int_indicator_series_listed"))
    session.register("_uptrend_prepared", dbt.ref("int_indicator_bars_prepared"))
    session.register("_uptrend_smoothed", dbt.ref("int_indicators_smoothed"))
    session.register("_uptrend_windowed", dbt.ref("int_indicators_windowed"))
    session.register("_uptrend_driver_bars", dbt.ref("fct_driver_bars"))
    config_rows = dbt.ref("uptrend_config").df()
    cfg = UptrendConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    bars = session.sql(f"""
        select s.driver, s.timeframe, s.segment_id, b.bar_start, b.close, d.volume, {", ".join(ENGINE_INPUTS)}
        from _uptrend_series s
        join _uptrend_prepared b using (series_part)
        join _uptrend_smoothed m using (series_part, idx)
        join _uptrend_windowed w using (series_part, idx)
        join _uptrend_driver_bars d
          on d.driver = s.driver and d.timeframe = s.timeframe and d.bar_start = b.bar_start
        where s.series_type = 'driver'
    """).df()
    return uptrend_state_rows(bars, cfg)
