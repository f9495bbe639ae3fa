"""The runs behind the volatility family's dbt Python models (fct_volatility_regimes,
fct_symbol_turbulence, fct_strategy_fit; docs/volatility-regimes.md): each function takes
the dbt session (a DuckDB connection), the model's refs as DuckDB relations, its own stored
table on an incremental run (None on a full build) and its config values, reads the engine
inputs with the SQL of :mod:`market_regimes.adapters.volatility_sql`, calls the pure engine
(:mod:`market_regimes.engines.volatility_frames`) and returns the rows to write as an Arrow
table. The Python models only declare their refs and config and call these; the temporary
views they register (``_volatility_*``, ``_turbulence_*``, ``_strategy_fit_*``) live in the
session's temp catalog."""

from __future__ import annotations

import pandas as pd

from market_regimes.adapters import delete_sections, temp_table
from market_regimes.adapters import volatility_sql as q
from market_regimes.engines.volatility_config import VolatilityConfig
from market_regimes.engines.volatility_frames import (
    attach_driver_turbulence,
    attach_symbol_turbulence,
    driver_turbulence,
    empty_frontier,
    hmm_lookback_clean_returns,
    strategy_fit_rows,
    symbol_turbulence_rows,
    turbulence_rows,
    turbulence_rows_after,
    volatility_regime_rows,
)
from market_regimes.frames import arrow_table, relation_frame

__all__ = ["strategy_fit_table", "symbol_turbulence_table", "volatility_config", "volatility_regimes_table"]


def volatility_config(config_rows) -> VolatilityConfig:
    """The typed config from the rows (key, value) of seed volatility_config (a relation)."""
    rows = config_rows.df()
    return VolatilityConfig.from_mapping(dict(zip(rows["key"], rows["value"])))


def volatility_regimes_table(
    session,
    *,
    config_rows,
    listed,
    prepared,
    drivers,
    symbol_turbulence,
    stored,
    bar_intervals: str,
    turbulence_driver_kinds: str,
):
    """fct_volatility_regimes' rows for this run.

    Every segment (series_part) continues after its own last stored row (idx,
    segment_clean_returns) from a look-back of its bars that holds hmm_lookback_clean_returns
    clean returns up to that row (volatility_regime_rows(frontier=...): the same rows as a
    full build); segments without rows are computed whole. Turbulence is cross-sectional:
    the drivers' column comes from every turbulence driver's history (an incremental run
    computes it only after the last stored turbulence of a cross-section whose stored rows
    are still the full computation's: volatility_frames.turbulence_rows_after over the
    stored driver rows' sections; any other cross-section whole), the symbols' from
    fct_symbol_turbulence; every stored row whose turbulence differs from them (a member
    joined, a lagging member filled its bars) is returned again.

    Args:
        session: the dbt session. config_rows: seed volatility_config. listed, prepared:
            int_indicator_series_listed, int_indicator_bars_prepared. drivers: dim_drivers.
            symbol_turbulence: fct_symbol_turbulence. stored: the model's own table on an
            incremental run, else None. bar_intervals: comma-separated intervals (var
            volatility_bar_intervals). turbulence_driver_kinds: comma-separated driver kinds
            in the drivers' turbulence cross-section.
    """
    cfg = volatility_config(config_rows)
    session.register("_volatility_series", listed)
    session.register("_volatility_bars", prepared)
    session.register("_volatility_drivers", drivers)
    session.register("_volatility_symbol_turbulence", symbol_turbulence)
    kinds = [k.strip() for k in str(turbulence_driver_kinds).split(",") if k.strip()]
    series = relation_frame(session.sql(q.series_sql("_volatility_series", bar_intervals)))
    session.register("_volatility_listed", series)
    frontier = empty_frontier()
    if stored is not None:
        session.register("_volatility_stored", stored)
        frontier = relation_frame(session.sql(q.stored_state_sql("_volatility_stored")))
        minutes = dict(zip(series["series_part"], series["interval_minutes"]))
        frontier["need"] = [hmm_lookback_clean_returns(cfg, int(minutes.get(p, 1440))) for p in frontier["series_part"]]
    session.register("_volatility_frontier", frontier)
    columns = "b.series_part, b.idx, b.bar_start, b.log_return"
    lookback = q.lookback_bars_sql(
        "_volatility_listed", "_volatility_bars", "_volatility_frontier", float(cfg.toxic_abs_log_return), columns
    )
    bars = relation_frame(session.sql(lookback))
    frontier = frontier[["series_part", "last_idx", "clean_returns", "rv_vol_regime"]]
    rows = volatility_regime_rows(bars, cfg, series=series, frontier=frontier)
    # turbulence: drivers of the configured kinds over their whole history (a cross-section);
    # an incremental run computes only the joint bars after a stored cross-section that is
    # still the full computation's (turbulence_rows_after), the others whole
    returns = relation_frame(
        session.sql(q.driver_returns_sql("_volatility_listed", "_volatility_bars", "_volatility_drivers", kinds))
    )
    sections = (
        None if stored is None else relation_frame(session.sql(q.stored_driver_sections_sql("_volatility_stored")))
    )
    drivers_turbulence, continued = driver_turbulence(returns, cfg, sections)
    symbol_turb = relation_frame(symbol_turbulence)
    rows = attach_symbol_turbulence(attach_driver_turbulence(rows, drivers_turbulence), symbol_turb)
    if stored is None:
        return arrow_table(rows)
    # stored rows whose turbulence is no longer the cross-section's: written again (of a
    # continued cross-section only its rows after the last stored turbulence can be)
    session.register("_volatility_driver_turbulence", drivers_turbulence)
    session.register("_volatility_turbulence_continued", continued)
    stale = relation_frame(
        session.sql(
            q.stale_turbulence_sql(
                "_volatility_stored",
                "_volatility_driver_turbulence",
                "_volatility_symbol_turbulence",
                "_volatility_turbulence_continued",
            )
        )
    )
    if not len(stale):
        return arrow_table(rows)
    stale = stale[list(rows.columns)].astype(rows.dtypes.to_dict())
    stale = attach_symbol_turbulence(attach_driver_turbulence(stale, drivers_turbulence), symbol_turb)
    return arrow_table(pd.concat([rows, stale], ignore_index=True))


def symbol_turbulence_table(session, *, config_rows, listed, prepared, this: str | None, bar_intervals: str):
    """fct_symbol_turbulence's rows for this run.

    Full build: every exchange x interval cross-section of the clean symbol returns
    (volatility_frames.turbulence_rows over the joint calendar). Incremental (``this`` =
    the model's table name): a cross-section whose stored rows are still the full
    computation's (same member count, same number of joint bars up to its last stored row;
    checked in SQL over the clean returns) is read from the turbulence_window_bars-th joint
    bar before its next row only and gets the rows after its last stored bar
    (volatility_frames.turbulence_rows_after); any other is deleted from ``this`` here and
    recomputed whole.

    Args:
        session: the dbt session. config_rows: seed volatility_config. listed, prepared:
            int_indicator_series_listed, int_indicator_bars_prepared. this: the model's
            table (incremental run) or None. bar_intervals: var volatility_bar_intervals.
    """
    cfg = volatility_config(config_rows)
    session.register("_turbulence_series", listed)
    session.register("_turbulence_bars", prepared)
    session.register(
        "_turbulence_listed", relation_frame(session.sql(q.series_sql("_turbulence_series", bar_intervals)))
    )
    clean = q.clean_symbol_returns_sql("_turbulence_listed", "_turbulence_bars", cfg.toxic_abs_log_return)
    temp_table(session, "_turbulence_clean", clean)
    if this is None:
        bars = relation_frame(session.sql(q.bars_from_starts_sql("_turbulence_clean", f"({q.NO_STARTS_SQL})")))
        return arrow_table(symbol_turbulence_rows(turbulence_rows(bars, cfg)))
    stored = relation_frame(session.sql(q.stored_sections_sql(this)))
    session.register("_turbulence_stored", stored)
    starts = q.continuation_starts_sql("_turbulence_clean", "_turbulence_stored", cfg.turbulence_window_bars)
    temp_table(session, "_turbulence_starts", starts)
    bars = relation_frame(session.sql(q.bars_from_starts_sql("_turbulence_clean", "_turbulence_starts")))
    stored = stored.merge(
        relation_frame(session.table("_turbulence_starts").project("timeframe, joint_before")),
        on="timeframe",
        how="left",
    )
    stored["joint_before"] = stored["joint_before"].fillna(0).astype("int64")
    turb, replace = turbulence_rows_after(bars, cfg, stored)
    delete_sections(session, this, replace)  # recomputed whole: its stored rows go (some may no longer exist)
    return arrow_table(symbol_turbulence_rows(turb))


def strategy_fit_table(session, *, config_rows, listed, prepared, this: str | None, bar_intervals: str):
    """fct_strategy_fit's rows for this run.

    Every segment continues after its own last stored row from a look-back that starts at
    the hurst_window_bars-th last clean bar at or before it (a row's values use the trailing
    hurst_window_bars / ar1_window_bars clean returns and the bars between them only, so
    these are the full build's rows); segments without rows are computed whole.

    Args:
        session: the dbt session. config_rows: seed volatility_config. listed, prepared:
            int_indicator_series_listed, int_indicator_bars_prepared. this: the model's
            table (incremental run) or None. bar_intervals: var volatility_bar_intervals.
    """
    cfg = volatility_config(config_rows)
    session.register("_strategy_fit_series", listed)
    session.register("_strategy_fit_bars", prepared)
    series = relation_frame(session.sql(q.series_sql("_strategy_fit_series", bar_intervals)))
    session.register("_strategy_fit_listed", series)
    need = max(cfg.hurst_window_bars, cfg.ar1_window_bars)
    frontier = relation_frame(
        session.sql(q.strategy_fit_frontier_sql(this, "_strategy_fit_listed", "_strategy_fit_bars", need))
    )
    session.register("_strategy_fit_frontier", frontier)
    lookback = q.lookback_bars_sql(
        "_strategy_fit_listed",
        "_strategy_fit_bars",
        "_strategy_fit_frontier",
        cfg.toxic_abs_log_return,
        "b.series_part, b.bar_start, b.log_return",
    )
    rows = strategy_fit_rows(relation_frame(session.sql(lookback)), cfg, series=series)
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
