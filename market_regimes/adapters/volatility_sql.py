"""SQL of the volatility family's dbt Python models (fct_volatility_regimes,
fct_strategy_fit, fct_symbol_turbulence; docs/volatility-regimes.md): the inputs of
market_regimes.engines.volatility_frames read from the warehouse, and the look-back an
incremental run reads from its own stored rows. Relation names are the caller's
(registered DuckDB views); every function returns SQL text and raises ValueError on a bar
interval list that is not plain tokens."""

from __future__ import annotations

__all__ = [
    "NO_STARTS_SQL",
    "bars_from_starts_sql",
    "bars_sql",
    "clean_symbol_returns_sql",
    "continuation_starts_sql",
    "driver_returns_sql",
    "input_sql",
    "lookback_bars_sql",
    "new_bar_keys_sql",
    "series_sql",
    "stale_turbulence_sql",
    "stored_driver_sections_sql",
    "stored_sections_sql",
    "segment_turbulence_sql",
    "stored_state_sql",
    "strategy_fit_frontier_sql",
]


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
    series_part, idx. Portable SQL (DuckDB and Spark: the Spark jobs of fct_strategy_fit and
    fct_volatility_regimes run it as written): a clean return is one with abs(r) <= the toxic bound, which NULL, NaN
    and infinities are not on either engine."""
    return f"""
        with f as (
            select f.* from {frontier} f
            where exists (select 1 from {bars} b where b.series_part = f.series_part and b.idx > f.last_idx)
        ),
        back as (
            select b.series_part, b.idx, f.need,
                   sum(case when abs(b.log_return) <= {float(toxic_abs_log_return)!r}
                            then 1 else 0 end) over (partition by b.series_part order by b.idx desc) as clean_back
            from {bars} b join f using (series_part)
            where b.idx <= f.last_idx and b.idx > f.last_idx - f.need - floor(f.need / 4) - 16
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


def stored_state_sql(stored: str) -> str:
    """fct_volatility_regimes' stored state per segment, from relation `stored` (the model's
    own table): series_part, last_idx, clean_returns (segment_clean_returns of the last row)
    and rv_vol_regime (its label, where the realized-vol hysteresis continues). Portable SQL
    (DuckDB and Spark: the Spark job of fct_volatility_regimes runs it as written): max_by,
    DuckDB's arg_max under the name both engines know."""
    return f"""
        select series_part, max(idx) as last_idx, max_by(segment_clean_returns, idx) as clean_returns,
               max_by(rv_vol_regime, idx) as rv_vol_regime
        from {stored} group by series_part"""


def driver_returns_sql(listed: str, bars: str, drivers: str, kinds: list[str]) -> str:
    """Every bar's log return of the drivers whose kind (relation `drivers`: driver, kind,
    i.e. dim_drivers) is one of `kinds`, as turbulence_rows reads them (series_type,
    driver, timeframe, bar_start, log_return). A kind that is not a plain token is left out.
    Portable SQL (DuckDB and Spark)."""
    kind_list = ", ".join(f"'{k}'" for k in kinds if k.isalnum()) or "''"
    return f"""
        select 'driver' as series_type, s.driver, s.timeframe, b.bar_start, b.log_return
        from {listed} s join {bars} b using (series_part)
        where s.series_type = 'driver'
          and s.driver in (select driver from {drivers} where kind in ({kind_list}))"""


def stored_driver_sections_sql(stored: str) -> str:
    """Per timeframe of the stored driver rows of fct_volatility_regimes (relation `stored`)
    with a turbulence value: timeframe, stored_rows (the distinct bars with a value),
    last_bar_start (the last of them) and members (the largest turbulence_drivers), as
    volatility_frames.turbulence_rows_after reads its stored cross-sections. Portable SQL
    (DuckDB and Spark)."""
    return f"""
        select timeframe, count(distinct bar_start) as stored_rows, max(bar_start) as last_bar_start,
               max(turbulence_drivers) as members
        from {stored}
        where series_type = 'driver' and turbulence is not null
        group by timeframe"""


def stale_turbulence_sql(stored: str, driver_turbulence: str, symbol_turbulence: str, continued: str) -> str:
    """The stored rows (relation `stored`) whose turbulence or member count is no longer the
    cross-section's: drivers against `driver_turbulence` (timeframe, bar_start, turbulence,
    turbulence_drivers), except a continued cross-section's rows up to its last stored
    turbulence (relation `continued`: timeframe, last_bar_start; `driver_turbulence` holds
    only its rows after it); symbols against `symbol_turbulence` (fct_symbol_turbulence).
    Portable SQL (DuckDB and Spark: `is distinct from` is both engines' null-safe
    inequality)."""
    return f"""
        select t.* from {stored} t
        left join {driver_turbulence} d on d.timeframe = t.timeframe and d.bar_start = t.bar_start
        left join {continued} c on c.timeframe = t.timeframe
        where t.series_type = 'driver' and (c.last_bar_start is null or t.bar_start > c.last_bar_start)
          and (t.turbulence is distinct from d.turbulence or t.turbulence_drivers is distinct from d.turbulence_drivers)
        union all
        select t.* from {stored} t
        left join {symbol_turbulence} u
          on u.exchange = t.exchange and u.bar_interval = t.bar_interval and u.bar_start = t.bar_start
        where t.series_type = 'symbol'
          and (t.turbulence is distinct from u.turbulence or t.turbulence_drivers is distinct from u.turbulence_symbols)"""


def new_bar_keys_sql(lookback: str, listed: str, frontier: str) -> str:
    """The keys of the bars a run of fct_volatility_regimes writes new rows for, for
    segment_turbulence_sql: the bars of relation `lookback` (lookback_bars_sql's rows:
    series_part, idx, bar_start) after their segment's last stored row (relation `frontier`:
    series_part, last_idx; a segment without one: every bar), with the segment's
    series_type, timeframe, exchange and bar_interval (relation `listed`, series_sql's rows).
    Portable SQL (DuckDB and Spark)."""
    return f"""
        select b.series_part, s.series_type, s.timeframe, s.exchange, s.bar_interval, b.bar_start
        from {lookback} b join {listed} s on s.series_part = b.series_part
        left join {frontier} f on f.series_part = b.series_part
        where f.last_idx is null or b.idx > f.last_idx"""


def segment_turbulence_sql(keys: str, driver_turbulence: str, symbol_turbulence: str) -> str:
    """The turbulence of each segment's cross-section at the bars of relation `keys`
    (series_part, series_type, timeframe, exchange, bar_interval, bar_start: rows of
    fct_volatility_regimes to fill): driver rows from `driver_turbulence` (timeframe,
    bar_start, turbulence, turbulence_drivers: the drivers' cross-section of the timeframe),
    symbol rows from `symbol_turbulence` (fct_symbol_turbulence: exchange, bar_interval,
    bar_start, turbulence, turbulence_symbols). One row per key with a value, columns
    series_part, series_type, timeframe, exchange, bar_interval, bar_start, turbulence,
    members (the cross-section's member count); keys off the joint calendar have none. What
    the Spark job of fct_volatility_regimes hands each segment's group, so that the group
    attaches turbulence as the DuckDB adapter does (volatility_frames.attach_driver_turbulence
    / attach_symbol_turbulence) without the whole cross-section tables. Portable SQL (DuckDB
    and Spark)."""
    return f"""
        select k.series_part, k.series_type, k.timeframe, k.exchange, k.bar_interval, k.bar_start,
               d.turbulence, d.turbulence_drivers as members
        from {keys} k join {driver_turbulence} d on d.timeframe = k.timeframe and d.bar_start = k.bar_start
        where k.series_type = 'driver'
        union all
        select k.series_part, k.series_type, k.timeframe, k.exchange, k.bar_interval, k.bar_start,
               u.turbulence, u.turbulence_symbols as members
        from {keys} k join {symbol_turbulence} u
          on u.exchange = k.exchange and u.bar_interval = k.bar_interval and u.bar_start = k.bar_start
        where k.series_type = 'symbol'"""


def strategy_fit_frontier_sql(stored: str | None, listed: str, bars: str, need: int) -> str:
    """fct_strategy_fit's frontier for lookback_bars_sql: per stored segment (relation
    `stored`, the model's own table; None in a full build: no rows) its series_part, the
    idx and bar_start of its last stored row, and the clean returns its next rows need."""
    if stored is None:
        return (
            "select 0::ubigint as series_part, 0::bigint as last_idx, null::timestamp as last_bar_start, "
            "0::bigint as need where false"
        )
    return f"""
        select s.series_part, b.idx as last_idx, t.last_bar_start, cast({int(need)} as bigint) as need
        from (select series_id, segment_id, max(bar_start) as last_bar_start from {stored} group by series_id, segment_id) t
        join {listed} s on s.series_id = t.series_id and s.segment_id = t.segment_id
        join {bars} b on b.series_part = s.series_part and b.bar_start = t.last_bar_start"""


def clean_symbol_returns_sql(listed: str, bars: str, toxic_abs_log_return: float) -> str:
    """fct_symbol_turbulence's input: the clean log returns (finite, |r| <= the toxic bound)
    of every symbol series, members named `driver` and each cross-section (exchange |
    bar_interval) `timeframe`, as turbulence_rows reads them. Portable SQL (DuckDB and
    Spark: the Spark job of fct_symbol_turbulence runs it as written): a clean return is
    one with abs(r) <= the toxic bound, which NULL, NaN and infinities are not on either
    engine."""
    return f"""
        select s.symbol as driver, s.exchange || '|' || s.bar_interval as timeframe, b.bar_start, b.log_return
        from {listed} s join {bars} b using (series_part)
        where s.series_type = 'symbol' and abs(b.log_return) <= {float(toxic_abs_log_return)!r}"""


def stored_sections_sql(stored: str) -> str:
    """Per stored cross-section of fct_symbol_turbulence (relation `stored`): timeframe
    (exchange|bar_interval), stored_rows, last_bar_start, members (the largest member count).
    Portable SQL (DuckDB and Spark)."""
    return f"""
        select exchange || '|' || bar_interval as timeframe, count(*) as stored_rows,
               max(bar_start) as last_bar_start, max(turbulence_symbols) as members
        from {stored} group by exchange, bar_interval"""


#: the starts of a full build (none: every cross-section read whole); portable SQL
NO_STARTS_SQL = (
    "select cast(null as string) as timeframe, cast(null as timestamp) as from_bar_start, "
    "cast(0 as bigint) as joint_before where false"
)


def continuation_starts_sql(clean: str, stored: str, window_bars: int) -> str:
    """Where each stored cross-section continues: one whose stored rows are still the full
    computation's (the same members, as many joint bars with a full window up to its last
    stored row) is read from the window-th joint bar before its next row (from_bar_start;
    joint_before = the joint bars before it); the others are not listed (recomputed whole).
    `clean`: clean_symbol_returns_sql's rows; `stored`: stored_sections_sql's. Portable SQL
    (DuckDB and Spark)."""
    w = int(window_bars)
    return f"""
        with members as (
            select timeframe, count(distinct driver) as members from {clean} group by timeframe
        ),
        joint as (
            select c.timeframe, c.bar_start
            from {clean} c join members m using (timeframe)
            group by c.timeframe, c.bar_start, m.members having count(distinct c.driver) = m.members
        ),
        back as (
            select j.timeframe, j.bar_start, st.stored_rows, st.members as stored_members,
                   row_number() over (partition by j.timeframe order by j.bar_start desc) as back,
                   count(*) over (partition by j.timeframe) as joint_upto
            from joint j join {stored} st using (timeframe)
            where j.bar_start <= st.last_bar_start
        )
        select b.timeframe, b.bar_start as from_bar_start, b.joint_upto - {w} as joint_before
        from back b join members m using (timeframe)
        where b.back = {w} and m.members = b.stored_members
          and b.joint_upto - {w} = b.stored_rows"""


def bars_from_starts_sql(clean: str, starts: str) -> str:
    """The clean returns a turbulence run reads: each cross-section from its start (relation
    `starts`: timeframe, from_bar_start) or whole when it has none. Portable SQL (DuckDB and
    Spark)."""
    return f"""
        select 'driver' as series_type, c.driver, c.timeframe, c.bar_start, c.log_return
        from {clean} c left join {starts} st using (timeframe)
        where st.from_bar_start is null or c.bar_start >= st.from_bar_start"""
