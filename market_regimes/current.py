"""The current regimes: the latest row of every regime series of the marts.

:func:`current_regimes` answers "what regime are we in now" from an open DuckDB
connection to a built warehouse (read-only is enough). Pure queries: it neither opens
nor closes the connection and writes nothing. Used by ``market-regimes now`` and the
dashboard's "current regimes" table.

Every time is a naive ``datetime64`` in UTC (as every warehouse time), the bar OPEN
(``bar_start``) of the bar a value belongs to. "Since" columns give the bar open of the
first bar of the current run of the same label: the latest bar whose label differs from
the previous bar's label, or where the detector (re)started (its ``prev_*`` is NULL,
e.g. at a segment's first bar).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

# Display order of drivers, regime timeframes, buckets and execution timeframes; values
# not listed sort after the listed ones, alphabetically.
DRIVER_ORDER = ["BTC", "ALT", "nano", "small", "mid", "big", "BTC.d", "USDT.d"]
TIMEFRAME_ORDER = ["micro", "meso", "macro"]
BUCKET_ORDER = ["nano", "small", "mid", "big"]
EXECUTION_TIMEFRAME_ORDER = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"]


@dataclass(frozen=True)
class Section:
    """One section of :func:`current_regimes`: its key, source mart, title and columns."""

    key: str
    source: str
    title: str
    columns: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "uptrend_states",
        "marts.fct_uptrend_states",
        "Uptrend Engine state per driver x timeframe",
        (
            "driver",
            "timeframe",
            "bar_interval",
            "bar_start",
            "state",
            "prev_state",
            "state_since",
            "bars_in_state",
            "buy_flag",
            "rebuy_flag",
            "trim_flag",
            "emergency_exit",
            "exit_reason",
            "ts_score",
            "s3_start_ts",
        ),
    ),
    Section(
        "levers",
        "marts.fct_levers",
        "A/E levers and position size per bucket x execution timeframe",
        (
            "bucket",
            "execution_timeframe",
            "bar_start",
            "a_value",
            "e_value",
            "position_size_frac",
            "is_degraded",
            "n_used",
            "n_stale",
            "n_missing",
        ),
    ),
    Section(
        "market_regimes",
        "marts.fct_market_regimes",
        "Daily trend x volatility regime per market",
        (
            "market",
            "bar_start",
            "regime",
            "trend",
            "vol",
            "regime_since",
            "days_in_regime",
            "price",
            "ma",
            "vol_value",
            "prev_regime",
        ),
    ),
    Section(
        "volatility_regimes",
        "marts.fct_volatility_regimes",
        "HMM volatility regime and quadrant per driver / symbol series",
        (
            "series_type",
            "series_id",
            "driver",
            "timeframe",
            "exchange",
            "symbol",
            "bar_interval",
            "bar_start",
            "vol_regime",
            "hmm_p_high_vol",
            "vol_regime_since",
            "direction",
            "quadrant",
            "quadrant_since",
            "turbulence",
            "is_toxic",
        ),
    ),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}


def _order(column: str, values: list[str]) -> str:
    """SQL sort expressions: listed values first in list order, the rest alphabetically."""
    listed = "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"
    return f"coalesce(array_position({listed}, {column}), {len(values) + 1}), {column}"


def _relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, _, name = relation.partition(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _uptrend_sql(con: duckdb.DuckDBPyConnection) -> str:
    interval = (
        "(select bar_interval from seeds.regime_timeframes r where r.timeframe = u.timeframe)"
        if _relation_exists(con, "seeds.regime_timeframes")
        else "cast(null as varchar)"
    )
    return f"""
        with latest as (
            select driver, timeframe, max(bar_start) as bar_start,
                   max(bar_start) filter (where prev_state is distinct from state) as change_start
            from marts.fct_uptrend_states group by driver, timeframe
        ),
        current_state as (
            select u.*, l.change_start from marts.fct_uptrend_states u
            join latest l using (driver, timeframe, bar_start)
        ),
        counted as (
            select u.driver, u.timeframe, min(u.bar_start) as state_since, count(*) as bars_in_state
            from marts.fct_uptrend_states u
            join current_state c on u.driver = c.driver and u.timeframe = c.timeframe
                 and u.bar_start >= coalesce(c.change_start, c.bar_start)
            group by u.driver, u.timeframe
        )
        select u.driver, u.timeframe, {interval} as bar_interval, u.bar_start, u.state, u.prev_state,
               n.state_since, n.bars_in_state, u.buy_flag, u.rebuy_flag, u.trim_flag, u.emergency_exit,
               u.exit_reason, u.ts_score, u.s3_start_ts
        from current_state u join counted n using (driver, timeframe)
        order by {_order("u.driver", DRIVER_ORDER)}, {_order("u.timeframe", TIMEFRAME_ORDER)}
    """


def _levers_sql(con: duckdb.DuckDBPyConnection) -> str:
    return f"""
        with latest as (
            select bucket, execution_timeframe, max(bar_start) as bar_start
            from marts.fct_levers group by bucket, execution_timeframe
        )
        select f.bucket, f.execution_timeframe, f.bar_start, f.a_value, f.e_value, f.position_size_frac,
               f.is_degraded, f.n_used, f.n_stale, f.n_missing
        from marts.fct_levers f join latest l using (bucket, execution_timeframe, bar_start)
        order by {_order("f.bucket", BUCKET_ORDER)}, {_order("f.execution_timeframe", EXECUTION_TIMEFRAME_ORDER)}
    """


def _market_sql(con: duckdb.DuckDBPyConnection) -> str:
    return """
        with latest as (
            select market, max(bar_start) as bar_start,
                   max(bar_start) filter (where prev_regime is distinct from regime) as change_start
            from marts.fct_market_regimes group by market
        ),
        counted as (
            select m.market, min(m.bar_start) as regime_since, count(*) as days_in_regime
            from marts.fct_market_regimes m join latest l
                 on m.market = l.market and m.bar_start >= coalesce(l.change_start, l.bar_start)
            group by m.market
        )
        select m.market, m.bar_start, m.regime, m.trend, m.vol, n.regime_since, n.days_in_regime, m.price,
               m.ma, m.vol_value, m.prev_regime
        from marts.fct_market_regimes m join latest l using (market, bar_start) join counted n using (market)
        order by m.market
    """


def _volatility_sql(con: duckdb.DuckDBPyConnection) -> str:
    return f"""
        with latest as (
            select series_id, max(bar_start) as bar_start,
                   max(bar_start) filter (where prev_vol_regime is distinct from vol_regime) as vol_change,
                   max(bar_start) filter (where prev_quadrant is distinct from quadrant) as quadrant_change
            from marts.fct_volatility_regimes group by series_id
        )
        select v.series_type, v.series_id, v.driver, v.timeframe, v.exchange, v.symbol, v.bar_interval,
               v.bar_start, v.vol_regime, v.hmm_p_high_vol,
               case when v.vol_regime is not null then coalesce(l.vol_change, v.bar_start) end as vol_regime_since,
               v.direction, v.quadrant,
               case when v.quadrant is not null then coalesce(l.quadrant_change, v.bar_start) end as quadrant_since,
               v.turbulence, v.is_toxic
        from marts.fct_volatility_regimes v join latest l using (series_id, bar_start)
        order by case v.series_type when 'driver' then 0 else 1 end, {_order("v.driver", DRIVER_ORDER)},
                 {_order("v.timeframe", TIMEFRAME_ORDER)}, v.exchange, v.symbol, v.bar_interval
    """


_QUERIES = {
    "uptrend_states": _uptrend_sql,
    "levers": _levers_sql,
    "market_regimes": _market_sql,
    "volatility_regimes": _volatility_sql,
}


def current_regimes(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The latest regime readings of the warehouse behind ``con``, one DataFrame per section.

    Returns a dict with these keys (in this order; see :data:`SECTIONS` for each section's
    source mart and title), one row per series, columns exactly as listed:

    - ``"uptrend_states"`` (marts.fct_uptrend_states): one row per driver x timeframe, its
      latest bar: driver, timeframe, bar_interval (seed regime_timeframes, e.g. "1h"; None
      when the seed is absent), bar_start, state (S0..S4), prev_state, state_since (bar
      open of the first bar of the current run of ``state``), bars_in_state (bars in that
      run, the latest included; int), buy_flag, rebuy_flag, trim_flag, emergency_exit
      (booleans), exit_reason, ts_score (0..1), s3_start_ts.
    - ``"levers"`` (marts.fct_levers): one row per bucket x execution_timeframe, its latest
      lever bar: bucket, execution_timeframe, bar_start, a_value, e_value (fractions
      0..1), position_size_frac (fraction of the bucket's allocation), is_degraded, n_used,
      n_stale, n_missing (counts of the 15 contributions).
    - ``"market_regimes"`` (marts.fct_market_regimes): one row per market, its latest day:
      market, bar_start, regime (e.g. uptrend_low_vol), trend, vol, regime_since,
      days_in_regime (int), price, ma (price units), vol_value, prev_regime.
    - ``"volatility_regimes"`` (marts.fct_volatility_regimes): one row per series_id
      (driver|timeframe or exchange|symbol|bar_interval), its latest bar: series_type,
      series_id, driver, timeframe, exchange, symbol, bar_interval, bar_start, vol_regime
      (high / low / None), hmm_p_high_vol (probability 0..1), vol_regime_since, direction
      (up / down / none), quadrant (CRISIS / EXPANSION / NORMAL / QUIET / None),
      quadrant_since (None where the label is None), turbulence, is_toxic.

    Times (bar_start and every ``*_since``, s3_start_ts) are naive datetime64 in UTC, bar
    opens. Rows are sorted drivers BTC, ALT, buckets, dominance; timeframes micro, meso,
    macro; buckets nano..big; execution timeframes short to long. A section whose mart is
    not in the warehouse (a partial build) is an empty DataFrame with the same columns.

    Raises duckdb.Error when a mart exists but lacks a documented column (a stale build).
    """
    out: dict[str, pd.DataFrame] = {}
    for section in SECTIONS:
        if not _relation_exists(con, section.source):
            out[section.key] = pd.DataFrame(columns=list(section.columns))
            continue
        frame = con.execute(_QUERIES[section.key](con)).df()
        out[section.key] = frame[list(section.columns)].reset_index(drop=True)
    return out


def as_of(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The latest ``bar_start`` of a section frame (naive UTC), or None when it is empty."""
    if frame.empty or "bar_start" not in frame:
        return None
    value = pd.to_datetime(frame["bar_start"]).max()
    return None if pd.isna(value) else value
