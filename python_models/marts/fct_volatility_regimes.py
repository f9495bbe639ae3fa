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

    from market_regimes.adapters.volatility_sql import lookback_bars_sql, series_sql
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import (
        attach_driver_turbulence,
        attach_symbol_turbulence,
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
    frontier = pd.DataFrame(
        {
            "series_part": pd.Series([], dtype="uint64"),
            "last_idx": pd.Series([], dtype="int64"),
            "clean_returns": pd.Series([], dtype="int64"),
            "rv_vol_regime": pd.Series([], dtype="string"),
            "need": pd.Series([], dtype="int64"),
        }
    )
    if dbt.is_incremental:
        session.register("_volatility_stored", session.table(str(dbt.this)))
        frontier = session.sql("""
            select series_part, max(idx) as last_idx, arg_max(segment_clean_returns, idx) as clean_returns,
                   arg_max(rv_vol_regime, idx) as rv_vol_regime
            from _volatility_stored group by series_part""").df()
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
    stats = {}
    rows = volatility_regime_rows(
        bars,
        cfg,
        series=series,
        stats=stats,
        frontier=frontier[["series_part", "last_idx", "clean_returns", "rv_vol_regime"]],
    )
    # turbulence: drivers of the configured kinds, from their whole history (a cross-section)
    kind_list = ", ".join(f"'{k}'" for k in kinds if k.isalnum()) or "''"
    driver_returns = session.sql(f"""
        select 'driver' as series_type, s.driver, s.timeframe, b.bar_start, b.log_return
        from _volatility_listed s join _volatility_bars b using (series_part)
        where s.series_type = 'driver'
          and s.driver in (select driver from _volatility_drivers where kind in ({kind_list}))""").df()
    driver_turbulence = turbulence_rows(driver_returns, cfg)
    symbol_turb = session.sql("select * from _volatility_symbol_turbulence").df()
    rows = attach_symbol_turbulence(attach_driver_turbulence(rows, driver_turbulence), symbol_turb)
    if not dbt.is_incremental:
        return arrow_table(rows)
    # stored rows whose turbulence is no longer the cross-section's: written again
    session.register("_volatility_driver_turbulence", driver_turbulence)
    stale = session.sql("""
        select t.* from _volatility_stored t
        left join _volatility_driver_turbulence d on d.timeframe = t.timeframe and d.bar_start = t.bar_start
        where t.series_type = 'driver'
          and (t.turbulence is distinct from d.turbulence or t.turbulence_drivers is distinct from d.turbulence_drivers)
        union all
        select t.* from _volatility_stored t
        left join _volatility_symbol_turbulence u
          on u.exchange = t.exchange and u.bar_interval = t.bar_interval and u.bar_start = t.bar_start
        where t.series_type = 'symbol'
          and (t.turbulence is distinct from u.turbulence or t.turbulence_drivers is distinct from u.turbulence_symbols)
    """).df()
    if not len(stale):
        return arrow_table(rows)
    stale = stale[list(rows.columns)].astype(rows.dtypes.to_dict())
    stale = attach_symbol_turbulence(attach_driver_turbulence(stale, driver_turbulence), symbol_turb)
    return arrow_table(pd.concat([rows, stale], ignore_index=True))
