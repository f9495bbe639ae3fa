def model(dbt, session):
    """Turbulence of the cross-section of the symbols of each exchange and bar interval
    (docs/bars-and-drivers.md, "Symbol turbulence"): one row per exchange x bar_interval x
    bar on the cross-section's joint calendar once the window is full.

    The same computation as the drivers' turbulence column of fct_volatility_regimes, on
    the same inputs: the final primary symbol bars' segment log returns of the intervals of
    var volatility_bar_intervals (int_indicator_series_listed / int_indicator_bars_prepared,
    read with adapters.volatility_sql.series_sql), clean returns only (|r| <=
    toxic_abs_log_return), the bars where every symbol of the cross-section has one (joint
    calendar), and volatility_frames.turbulence_rows (vol.turbulence: squared Mahalanobis
    distance from the mean and covariance of the turbulence_window_bars joint bars before
    the bar, pseudo-inverse). turbulence_rows groups a cross-section by its `timeframe` and
    names its members `driver`: here the cross-section key is the exchange x interval and
    the members are the symbols. Constants: seed volatility_config.

    Incremental (volatility_frames.turbulence_rows_after): a cross-section whose stored rows
    are still the full computation's (same member count, same number of joint bars up to
    its last stored row; checked in SQL over the clean returns) is read from the
    turbulence_window_bars-th joint bar before its next row only and gets the rows after
    its last stored bar, each from its own window; any other (a symbol joined or left, a lagging symbol filled bars) is deleted
    here and recomputed whole. Revisions: meta revision_rewind = from_bar_start."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["exchange", "bar_interval", "bar_start"],
        meta={"revision_rewind": "from_bar_start"},
    )
    from market_regimes.adapters import delete_sections, temp_table
    from market_regimes.adapters import volatility_sql as q
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import symbol_turbulence_rows, turbulence_rows, turbulence_rows_after
    from market_regimes.frames import arrow_table

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    listed = dbt.ref("int_indicator_series_listed")
    prepared = dbt.ref("int_indicator_bars_prepared")
    session.register("_turbulence_series", listed)
    session.register("_turbulence_bars", prepared)
    intervals = dbt.config.get("bar_intervals")
    session.register("_turbulence_listed", session.sql(q.series_sql("_turbulence_series", intervals)).df())
    clean = q.clean_symbol_returns_sql("_turbulence_listed", "_turbulence_bars", cfg.toxic_abs_log_return)
    temp_table(session, "_turbulence_clean", clean)
    if not dbt.is_incremental:
        bars = session.sql(q.bars_from_starts_sql("_turbulence_clean", f"({q.NO_STARTS_SQL})")).df()
        return arrow_table(symbol_turbulence_rows(turbulence_rows(bars, cfg)))
    stored = session.sql(q.stored_sections_sql(str(dbt.this))).df()
    session.register("_turbulence_stored", stored)
    starts = q.continuation_starts_sql("_turbulence_clean", "_turbulence_stored", cfg.turbulence_window_bars)
    temp_table(session, "_turbulence_starts", starts)
    bars = session.sql(q.bars_from_starts_sql("_turbulence_clean", "_turbulence_starts")).df()
    stored = stored.merge(
        session.table("_turbulence_starts").project("timeframe, joint_before").df(), on="timeframe", how="left"
    )
    stored["joint_before"] = stored["joint_before"].fillna(0).astype("int64")
    turb, replace = turbulence_rows_after(bars, cfg, stored)
    delete_sections(session, str(dbt.this), replace)  # recomputed whole: its stored rows go (some may no longer exist)
    return arrow_table(symbol_turbulence_rows(turb))
