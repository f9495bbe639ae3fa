def model(dbt, session):
    """Trend / mean-reversion fit per driver and symbol series at each UTC day's close
    (docs/volatility-regimes.md): Hurst (R/S), AR(1) of returns, trend_fit, mean_reversion_fit.
    Thin adapter over market_regimes.engines.volatility_frames.strategy_fit_rows;
    constants are the rows of seed volatility_config.

    Incremental: every segment continues after its own last stored row from a look-back
    that starts at the hurst_window_bars-th last clean bar at or before it (a row's
    values use the trailing hurst_window_bars / ar1_window_bars clean returns and the bars
    between them only, so these are the full build's rows); segments without rows are
    computed whole. Revisions: meta revision_rewind = from_bar_start."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_id", "bar_start"],
        meta={"revision_rewind": "from_bar_start"},
    )
    from market_regimes.adapters.volatility_sql import lookback_bars_sql, series_sql, strategy_fit_frontier_sql
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import strategy_fit_rows
    from market_regimes.frames import arrow_table

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    listed = dbt.ref("int_indicator_series_listed")
    prepared = dbt.ref("int_indicator_bars_prepared")
    session.register("_strategy_fit_series", listed)
    session.register("_strategy_fit_bars", prepared)
    intervals = dbt.config.get("bar_intervals")
    series = session.sql(series_sql("_strategy_fit_series", intervals)).df()
    session.register("_strategy_fit_listed", series)
    need = max(cfg.hurst_window_bars, cfg.ar1_window_bars)
    stored = str(dbt.this) if dbt.is_incremental else None
    frontier_sql = strategy_fit_frontier_sql(stored, "_strategy_fit_listed", "_strategy_fit_bars", need)
    frontier = session.sql(frontier_sql).df()
    session.register("_strategy_fit_frontier", frontier)
    bars = session.sql(
        lookback_bars_sql(
            "_strategy_fit_listed",
            "_strategy_fit_bars",
            "_strategy_fit_frontier",
            cfg.toxic_abs_log_return,
            "b.series_part, b.bar_start, b.log_return",
        )
    ).df()
    rows = strategy_fit_rows(bars, cfg, series=series)
    if not len(frontier):
        return arrow_table(rows)
    last = series.merge(frontier, on="series_part")[["series_id", "segment_id", "last_bar_start"]]
    out = rows.merge(
        last.astype({"series_id": "string", "segment_id": "int64", "last_bar_start": "datetime64[us]"}),
        how="left",
        on=["series_id", "segment_id"],
    )
    keep = out["last_bar_start"].isna() | (out["bar_start"] > out["last_bar_start"])
    return arrow_table(rows[keep.to_numpy()].reset_index(drop=True))
