def model(dbt, session):
    """Trend x volatility regime per seed market x final day (docs/trend-vol-regimes.md).
    Thin adapter: the detector is market_regimes.engines.trend_vol (no dbt inside), the
    table logic (final days, MA, percentile vol, join, segments, validation) is
    market_regimes.engines.trend_vol_frames; markets are the rows of seed trend_vol_markets."""
    dbt.config(materialized="table")
    from market_regimes.engines.trend_vol import load_markets
    from market_regimes.engines.trend_vol_frames import market_regime_rows
    from market_regimes.frames import arrow_table

    markets = load_markets(dbt.ref("trend_vol_markets").df().to_dict("records"))
    daily = dbt.ref("stg_landing__daily_series")
    # every landed day ignoring as_of: validates the seed, so an early as_of build of a valid seed passes
    landed_days = dbt.ref("stg_landing__daily_series_days")
    closes = daily.project("series, bar_start, close").df()
    landed = landed_days.df()
    return arrow_table(
        market_regime_rows(
            markets,
            closes,
            landed,
            as_of=dbt.config.get("as_of"),
            max_gap_bars=dbt.config.get("max_gap_bars"),
            percentile_window=dbt.config.get("percentile_window"),
            missing_series=dbt.config.get("missing_series"),
        )
    )
