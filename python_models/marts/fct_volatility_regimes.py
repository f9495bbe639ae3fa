def model(dbt, session):
    """Volatility / spectral regimes per driver and symbol x final bar (see
    docs/volatility-regimes.md): HMM vol regime, wavelet energies, direction, quadrant, toxic flag, turbulence.
    Thin adapter: the detector is market_regimes.engines.volatility (no dbt inside), the
    table logic market_regimes.engines.volatility_frames; constants are the rows of seed
    volatility_config.

    Incremental (docs/volatility-regimes.md, "Incremental runs"): every segment
    (series_part) continues after its own last stored row (idx, segment_clean_returns)
    from a look-back of its bars that holds hmm_lookback_clean_returns clean returns up
    to that row (volatility_regime_rows(frontier=...): the same rows as a full build);
    segments without rows are computed whole. Turbulence is cross-sectional: the drivers'
    column is recomputed from every turbulence driver's history each run, the symbols'
    comes from fct_symbol_turbulence, and every stored row whose turbulence differs from
    them (a member joined, a lagging member filled its bars) is written again. Revisions:
    meta revision_rewind = from_bar_start (macros/indicators/revisions.sql)."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["series_part", "idx"],
        meta={"revision_rewind": "from_bar_start"},
    )
    import pandas as pd

    from market_regimes.adapters.volatility_sql import (
        driver_returns_sql,
        lookback_bars_sql,
        series_sql,
        stale_turbulence_sql,
        stored_state_sql,
    )
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import (
        attach_driver_turbulence,
        attach_symbol_turbulence,
        empty_frontier,
        hmm_lookback_clean_returns,
        turbulence_rows,
        volatility_regime_rows,
    )
    from market_regimes.frames import arrow_table

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    listed = dbt.ref("int_indicator_series_listed")
    prepared = dbt.ref("int_indicator_bars_prepared")
    drivers = dbt.ref("dim_drivers")
    symbol_turbulence = dbt.ref("fct_symbol_turbulence")
    session.register("_volatility_series", listed)
    session.register("_volatility_bars", prepared)
    session.register("_volatility_drivers", drivers)
    session.register("_volatility_symbol_turbulence", symbol_turbulence)
    intervals = dbt.config.get("bar_intervals")
    kinds = [k.strip() for k in str(dbt.config.get("turbulence_driver_kinds")).split(",") if k.strip()]
    series = session.sql(series_sql("_volatility_series", intervals)).df()
    session.register("_volatility_listed", series)
    toxic = float(cfg.toxic_abs_log_return)
    frontier = empty_frontier()
    if dbt.is_incremental:
        session.register("_volatility_stored", session.table(str(dbt.this)))
        frontier = session.sql(stored_state_sql("_volatility_stored")).df()
        minutes = dict(zip(series["series_part"], series["interval_minutes"]))
        frontier["need"] = [hmm_lookback_clean_returns(cfg, int(minutes.get(p, 1440))) for p in frontier["series_part"]]
    session.register("_volatility_frontier", frontier)
    bars = session.sql(
        lookback_bars_sql(
            "_volatility_listed",
            "_volatility_bars",
            "_volatility_frontier",
            toxic,
            "b.series_part, b.idx, b.bar_start, b.log_return",
        )
    ).df()
    rows = volatility_regime_rows(
        bars, cfg, series=series, frontier=frontier[["series_part", "last_idx", "clean_returns", "rv_vol_regime"]]
    )
    # turbulence: drivers of the configured kinds, from their whole history (a cross-section)
    returns = driver_returns_sql("_volatility_listed", "_volatility_bars", "_volatility_drivers", kinds)
    driver_returns = session.sql(returns).df()
    driver_turbulence = turbulence_rows(driver_returns, cfg)
    symbol_turb = symbol_turbulence.df()
    rows = attach_symbol_turbulence(attach_driver_turbulence(rows, driver_turbulence), symbol_turb)
    if not dbt.is_incremental:
        return arrow_table(rows)
    # stored rows whose turbulence is no longer the cross-section's: written again
    session.register("_volatility_driver_turbulence", driver_turbulence)
    stale = session.sql(
        stale_turbulence_sql("_volatility_stored", "_volatility_driver_turbulence", "_volatility_symbol_turbulence")
    ).df()
    if not len(stale):
        return arrow_table(rows)
    stale = stale[list(rows.columns)].astype(rows.dtypes.to_dict())
    stale = attach_symbol_turbulence(attach_driver_turbulence(stale, driver_turbulence), symbol_turb)
    return arrow_table(pd.concat([rows, stale], ignore_index=True))
