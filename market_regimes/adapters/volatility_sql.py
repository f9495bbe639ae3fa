"""SQL of the volatility family's dbt Python models (fct_volatility_regimes,
fct_strategy_fit, fct_symbol_turbulence; docs/volatility-regimes.md): the inputs of
market_regimes.engines.volatility_frames read from the warehouse, and the look-back an
incremental run reads from its own stored rows. Relation names are the caller's
(registered DuckDB views); every function returns SQL text and raises ValueError on a bar
interval list that is not plain tokens."""

from __future__ import annotations

__all__ = ["bars_sql", "input_sql", "lookback_bars_sql", "series_sql"]


def _intervals(bar_intervals: str) -> str:
    wanted = [i.strip() for i in str(bar_intervals).split(",") if i.strip()]
    if not wanted or not all(i.isalnum() for i in wanted):
        raise ValueError(f"volatility frames: bad bar_intervals {bar_intervals!r}")
    return ", ".join(f"'{i}'" for i in wanted)


def input_sql(series: str, bars: str, bar_intervals: str) -> str:
    """SELECT of the one-frame input shape from relations `series`
    (int_indicator_series_listed) and `bars` (int_indicator_bars_prepared), restricted to
    the comma-separated `bar_intervals` (e.g. '1d,1h'). Raises ValueError on an interval
    that is not a plain token."""
    return f"""
        select s.series_type, s.series_id, s.driver, s.timeframe, s.exchange, s.symbol, s.bar_interval,
               s.interval_minutes, cast(s.segment_id as bigint) as segment_id, b.bar_start, b.log_return
        from {series} s join {bars} b using (series_part)
        where s.bar_interval in ({_intervals(bar_intervals)})
        order by s.series_id, s.segment_id, b.bar_start"""


def series_sql(series: str, bar_intervals: str) -> str:
    """SELECT of the `series` frame of the two-frame input (see input_sql)."""
    return f"""
        select s.series_part, s.series_type, s.series_id, s.driver, s.timeframe, s.exchange, s.symbol,
               s.bar_interval, s.interval_minutes, cast(s.segment_id as bigint) as segment_id
        from {series} s
        where s.bar_interval in ({_intervals(bar_intervals)})
        order by s.series_id, s.segment_id"""


def bars_sql(series: str, bars: str, bar_intervals: str) -> str:
    """SELECT of the `bars` frame of the two-frame input (see input_sql)."""
    return f"""
        select b.series_part, b.bar_start, b.log_return
        from {bars} b
        where b.series_part in (select series_part from {series} where bar_interval in ({_intervals(bar_intervals)}))
        order by b.series_part, b.bar_start"""


def lookback_bars_sql(listed: str, bars: str, frontier: str, toxic_abs_log_return: float, columns: str) -> str:
    """SQL: the bars an incremental run of a per-segment model reads (fct_volatility_regimes,
    fct_strategy_fit). ``frontier`` (relation: series_part, last_idx, need) holds each
    stored segment's last stored idx and the clean returns its next rows look back on:
    such a segment is read from its need-th last clean bar at or before last_idx (searched
    in the 3 x need bars before it; from idx 0 when they hold fewer), and left out when it
    has no bar after last_idx; a segment of ``listed`` (series_part) without stored rows is
    read whole. ``columns``: the select list over ``bars`` (alias b), ordered by
    series_part, idx."""
    return f"""
        with f as (
            select f.* from {frontier} f
            where exists (select 1 from {bars} b where b.series_part = f.series_part and b.idx > f.last_idx)
        ),
        back as (
            select b.series_part, b.idx, f.need,
                   sum(case when isfinite(b.log_return) and abs(b.log_return) <= {float(toxic_abs_log_return)!r}
                            then 1 else 0 end) over (partition by b.series_part order by b.idx desc) as clean_back
            from {bars} b join f using (series_part)
            where b.idx <= f.last_idx and b.idx > f.last_idx - f.need - f.need // 4 - 16
        ),
        starts as (
            select series_part, coalesce(max(idx) filter (where clean_back >= need), 0) as from_idx
            from back group by series_part
        ),
        parts as (
            select s.series_part, coalesce(st.from_idx, 0) as from_idx
            from {listed} s left join starts st using (series_part)
            where s.series_part not in (select series_part from {frontier})
               or st.series_part is not null
        )
        select {columns}
        from {bars} b join parts p on p.series_part = b.series_part and b.idx >= p.from_idx
        order by b.series_part, b.idx"""
