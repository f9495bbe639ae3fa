def model(dbt, session):
    """Uptrend Engine states per driver x timeframe x final bar (SPEC §6). Thin adapter:
    the engine is market_regimes.engines (no dbt inside)."""
    dbt.config(materialized="table")
    from market_regimes.engines.uptrend_frames import ENGINE_INPUTS, uptrend_state_rows

    # the refs as temporary views of this session, to join them in SQL
    dbt.ref("int_indicator_series_listed").create_view("_uptrend_series", replace=True)
    dbt.ref("int_indicator_bars_prepared").create_view("_uptrend_prepared", replace=True)
    dbt.ref("int_indicators_smoothed").create_view("_uptrend_smoothed", replace=True)
    dbt.ref("int_indicators_windowed").create_view("_uptrend_windowed", replace=True)
    bars = session.sql(f"""
        select s.driver, s.timeframe, s.segment_id, b.bar_start, b.close, {", ".join(ENGINE_INPUTS)}
        from _uptrend_series s
        join _uptrend_prepared b using (series_part)
        join _uptrend_smoothed m using (series_part, idx)
        join _uptrend_windowed w using (series_part, idx)
        where s.series_type = 'driver'
    """).df()
    bootstrap = str(dbt.config.get("bootstrap_to_s3")).lower() in ("true", "1")
    return uptrend_state_rows(bars, bootstrap)
