def model(dbt, session):
    """Trend x volatility regime per seed market x final day (docs/trend-vol-regimes.md).
    Thin adapter: the detector is market_regimes.engines.trend_vol (no dbt inside), walked
    over the days of int_market_days_prepared (final days, segments, MA and vol reading,
    computed in SQL) by market_regimes.engines.trend_vol_frames, which also validates the
    seed against the landed series; markets are the rows of seed trend_vol_markets."""
    dbt.config(materialized="table")
    from market_regimes.engines.trend_vol import load_markets
    from market_regimes.engines.trend_vol_frames import INPUT_COLUMNS, market_regime_rows
    from market_regimes.frames import arrow_table, relation_frame

    markets = load_markets(dbt.ref("trend_vol_markets").df().to_dict("records"))
    days = dbt.ref("int_market_days_prepared")
    # every landed day ignoring as_of: validates the seed, so an early as_of build of a valid seed passes
    landed_days = dbt.ref("stg_landing__daily_series_days")
    return arrow_table(
        market_regime_rows(
            markets,
            relation_frame(days.project(", ".join(INPUT_COLUMNS))),
            relation_frame(landed_days),
            max_gap_bars=dbt.config.get("max_gap_bars"),
            missing_series=dbt.config.get("missing_series"),
        )
    )
