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
    import pandas as pd

    from market_regimes.adapters.volatility_sql import series_sql
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import turbulence_rows, turbulence_rows_after
    from market_regimes.frames import arrow_table

    config_rows = dbt.ref("volatility_config").df()
    cfg = VolatilityConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    listed = dbt.ref("int_indicator_series_listed")
    prepared = dbt.ref("int_indicator_bars_prepared")
    session.register("_turbulence_series", listed)
    session.register("_turbulence_bars", prepared)
    intervals = dbt.config.get("bar_intervals")
    session.register("_turbulence_listed", session.sql(series_sql("_turbulence_series", intervals)).df())
    toxic = float(cfg.toxic_abs_log_return)
    # members are named `driver` and the cross-section `timeframe` (exchange|interval) for turbulence_rows
    session.execute(f"""
        create or replace temp table _turbulence_clean as
        select s.symbol as driver, s.exchange || '|' || s.bar_interval as timeframe, b.bar_start, b.log_return
        from _turbulence_listed s join _turbulence_bars b using (series_part)
        where s.series_type = 'symbol' and isfinite(b.log_return) and abs(b.log_return) <= {toxic!r}""")
    starts = "select null::varchar as timeframe, null::timestamp as from_bar_start, 0 as joint_before where false"
    if dbt.is_incremental:
        this = str(dbt.this)
        stored = session.sql(f"""
            select exchange || '|' || bar_interval as timeframe, count(*) as stored_rows,
                   max(bar_start) as last_bar_start, max(turbulence_symbols) as members
            from {this} group by all""").df()
        session.register("_turbulence_stored", stored)
        # a cross-section whose stored rows are still the full computation's (same members, as
        # many joint bars with a full window up to its last stored row) is read from the
        # window-th joint bar before its next row: turbulence_rows_after continues it
        starts = f"""
            with members as (
                select timeframe, count(distinct driver) as members from _turbulence_clean group by timeframe
            ),
            joint as (
                select c.timeframe, c.bar_start
                from _turbulence_clean c join members m using (timeframe)
                group by c.timeframe, c.bar_start, m.members having count(distinct c.driver) = m.members
            ),
            back as (
                select j.timeframe, j.bar_start, st.stored_rows, st.members as stored_members,
                       row_number() over (partition by j.timeframe order by j.bar_start desc) as back,
                       count(*) over (partition by j.timeframe) as joint_upto
                from joint j join _turbulence_stored st using (timeframe)
                where j.bar_start <= st.last_bar_start
            )
            select b.timeframe, b.bar_start as from_bar_start, b.joint_upto - {int(cfg.turbulence_window_bars)} as joint_before
            from back b join members m using (timeframe)
            where b.back = {int(cfg.turbulence_window_bars)} and m.members = b.stored_members
              and b.joint_upto - {int(cfg.turbulence_window_bars)} = b.stored_rows"""
    session.execute(f"create or replace temp table _turbulence_starts as {starts}")
    bars = session.sql("""
        select 'driver' as series_type, c.driver, c.timeframe, c.bar_start, c.log_return
        from _turbulence_clean c left join _turbulence_starts st using (timeframe)
        where st.from_bar_start is null or c.bar_start >= st.from_bar_start""").df()
    if dbt.is_incremental:
        stored = stored.merge(
            session.sql("select timeframe, joint_before from _turbulence_starts").df(), how="left", on="timeframe"
        )
        stored["joint_before"] = stored["joint_before"].fillna(0).astype("int64")
        turb, replace = turbulence_rows_after(bars, cfg, stored)
        for section in replace:  # recomputed whole: its stored rows go (some may no longer exist)
            exchange, interval = section.split("|")
            session.execute(f"delete from {this} where exchange = ? and bar_interval = ?", [exchange, interval])
    else:
        turb = turbulence_rows(bars, cfg)
    key = turb["timeframe"].astype(str).str.split("|", n=1, expand=True) if len(turb) else None
    return arrow_table(
        pd.DataFrame(
            {
                "exchange": pd.Series([] if key is None else key[0], dtype="string"),
                "bar_interval": pd.Series([] if key is None else key[1], dtype="string"),
                "bar_start": turb["bar_start"].to_numpy().astype("datetime64[us]"),
                "turbulence": turb["turbulence"].to_numpy(dtype="float64"),
                "turbulence_symbols": turb["turbulence_drivers"].to_numpy(dtype="int64"),
            }
        )
    )
