"""Everything the warehouse knows about one symbol or driver at a moment, or over a range.

The logic behind ``market-regimes analyze`` (docs/analyze.md). Pure reads: every function
takes an open DuckDB connection to a built warehouse (read-only is enough), runs
parameterised queries filtered on the symbol / driver and the time range, and returns
plain JSON-ready dicts (timestamps as ISO-8601 UTC strings ``2022-06-13T11:00:00Z``,
NaN as None). It neither opens nor closes the connection and writes nothing; the text
formatting at the end turns those dicts into the command's output. The JSON Schema of
the dicts is ``market_regimes/analyze_schema.json`` (:func:`load_schema`).

**Which bar answers for a moment T.** A bar is known once it has ENDED: the answer at T is
the last bar with ``bar_start + interval <= T`` (the warehouse keeps final bars only:
docs/bars-and-drivers.md, "Finality and segments"). So at T = 2022-06-13 12:00 the 1h
answer is the bar 11:00-12:00 and the daily answer the day that ended at midnight. Every
section is read the same way at its own interval: the grid verdict and lifecycle on the
1h bar, the 4h verdict of the last ended 4h bar, the Uptrend states at each regime
timeframe's interval (seed regime_timeframes), the levers at each execution timeframe
(seed execution_timeframe_multipliers; a lever bar describes [t, t + X) and is known at
its close), the HMM rows at their series' interval, the trend x vol regime per day.

**When there is no answer** (:class:`AnalyzeError`, exit code 2 in the CLI): an unknown
symbol / driver / timeframe; T before the series' first ended bar; T after its data (the
bar that ended last by T is missing and the series has no later bar); T inside a gap
between two segments (docs/bars-and-drivers.md: everything restarts after such a gap, so
the bar before it does not describe T); the answering bar has no verdict / state yet
(warm-up). A short outage inside a segment is answered by the last bar before it, and
the output says how many bars are missing (``bars_missing``).

**Staleness** of a context row: ``is_stale`` when the row ended more than ``stale_bars``
(seed levers_config, 3) bars of its interval before T: the levers' own definition of a
stale driver state (docs/levers.md), read at T instead of at the lever bar's close.

Batch summaries (:func:`summarize_symbol`, :func:`summarize_driver`) cover the bars that
ENDED inside [A, B]: ``bar_start >= A`` and ``bar_start + interval <= B``.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

SCHEMA_PATH = Path(__file__).with_name("analyze_schema.json")
SCHEMA_VERSION = 1

# The grid family's intervals (var grid_bar_intervals): verdicts, recommendations and the
# lifecycle run on the fine interval; the coarse one is the 1h rows' coarse_verdict.
GRID_INTERVAL = "1h"
COARSE_INTERVAL = "4h"
VERDICTS = ("RANGE_OK", "RANGE_WEAK", "TREND", "TRANSITION")
UPTREND_STATES = ("S0", "S1", "S2", "S3", "S4")
LIFECYCLE_STATES = ("DISABLED", "PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT", "EXITED")
QUADRANTS = ("CRISIS", "EXPANSION", "NORMAL", "QUIET")
REQUIRED_DRIVERS = ("BTC", "ALT")  # the context drivers of every answer (seed drivers: is_required)
PRIMARY_RANGE_METHOD = "quantile"
RANGE_METHODS = ("quantile", "donchian", "swing")
SCORES = ("trend_score", "mean_rev_score", "range_quality_score", "vol_change_score", "grid_capacity")

# Presentation of the batch summaries (not model thresholds: they only bin what the marts
# hold): the quantile levels and the equal-width bins of a 0..1 distribution (confidence,
# TS score); the last bin is closed on the right.
SUMMARY_QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
UNIT_BIN_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

# Columns of the per-bar rows of a batch (CSV --out and the JSON's "bars").
SYMBOL_BAR_COLUMNS = (
    "exchange",
    "symbol",
    "bar_interval",
    "bar_start",
    "bar_end",
    "segment_id",
    "verdict",
    "decided_by",
    "confidence",
    "capacity_limited",
    *SCORES,
    "support",
    "resistance",
    "close",
    "coarse_bar_start",
    "coarse_verdict",
    "coarse_confidence",
    "virtual_grid_state",
)
# the Uptrend Engine fields of a driver bar, in output order (driver context and --driver answers)
UPTREND_STATE_FIELDS = (
    "state",
    "prev_state",
    "state_since",
    "buy_flag",
    "rebuy_flag",
    "trim_flag",
    "emergency_exit",
    "exit_reason",
    "ts_score",
    "ox",
    "dx",
    "edx",
)
# a driver bar's CSV columns: its key, the Uptrend fields above but state_since (a batch
# row is one bar, not a span), then its volatility regime
DRIVER_BAR_COLUMNS = (
    "driver",
    "timeframe",
    "bar_interval",
    "bar_start",
    "bar_end",
    *(field for field in UPTREND_STATE_FIELDS if field != "state_since"),
    "vol_regime",
    "hmm_p_high_vol",
    "quadrant",
)


class AnalyzeError(Exception):
    """No answer for the request: unknown symbol / driver / timeframe, a moment outside the
    data or before warm-up, bad arguments. The message is one line; ``code`` is the exit
    code the CLI uses (2)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- time


def parse_timestamp(text: str) -> datetime:
    """A moment in UTC as a naive datetime.

    Accepts ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS]`` and ISO-8601 forms
    (``2022-06-13T12:00``, ``2022-06-13T12:00:00Z``, ``...+02:00``). Without an offset the
    time is UTC; with one it is converted to UTC.

    Raises:
        AnalyzeError: the text is not such a timestamp.
    """
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise AnalyzeError(
            f"error: cannot read the time {text!r}: use 'YYYY-MM-DD HH:MM' (UTC) or ISO-8601, "
            f"e.g. '2022-06-13 12:00' or '2022-06-13T12:00:00Z'"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def iso(value: datetime | None) -> str | None:
    """A naive-UTC datetime as ``2022-06-13T11:00:00Z`` (None stays None)."""
    return None if value is None else value.isoformat() + "Z"


def show_time(value: datetime | str | None) -> str:
    """``2022-06-13 11:00`` from a datetime or an :func:`iso` string ('' for None; seconds
    shown only when not zero)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))


def _json_value(value: Any) -> Any:
    """DuckDB Python values as JSON values: datetimes ISO UTC, NaN / inf None, structs
    and lists recursively."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


# --------------------------------------------------------------------------- queries


def _rows(con: Any, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _one(con: Any, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    rows = _rows(con, sql, params)
    return rows[0] if rows else None


def interval_lengths(con: Any) -> dict[str, timedelta]:
    """Bar length per interval code from seed bar_intervals (``{"1h": 1 hour, ...}``)."""
    return {
        code: timedelta(minutes=int(minutes))
        for code, minutes in con.execute("select bar_interval, interval_minutes from seeds.bar_intervals").fetchall()
    }


def _config_value(con: Any, seed: str, key: str) -> float:
    row = con.execute(f"select value from seeds.{seed} where key = ?", [key]).fetchone()
    if row is None:
        raise AnalyzeError(f"error: seed {seed} has no row {key!r} (a stale build?)", code=1)
    return float(row[0])


class _Reader:
    """The connection plus the seeds every section needs, read once per request."""

    def __init__(self, con: Any, at: datetime):
        self.con = con
        self.at = at
        self.lengths = interval_lengths(con)
        self.timeframes = dict(con.execute("select timeframe, bar_interval from seeds.regime_timeframes").fetchall())
        self.stale_bars = _config_value(con, "levers_config", "stale_bars")

    def length(self, interval: str) -> timedelta:
        if interval not in self.lengths:
            raise AnalyzeError(f"error: bar interval {interval!r} is not in seed bar_intervals", code=1)
        return self.lengths[interval]

    def cutoff(self, interval: str) -> datetime:
        """The latest bar_start of a bar of ``interval`` that ended by the request time."""
        return self.at - self.length(interval)

    def ended(self, row: dict[str, Any], interval: str) -> dict[str, Any]:
        """``row`` with bar_end and is_stale (ended more than stale_bars bars before T)."""
        end = row["bar_start"] + self.length(interval)
        row["bar_end"] = end
        row["is_stale"] = (self.at - end) > self.length(interval) * self.stale_bars
        return row


# --------------------------------------------------------------------------- grid sections


def _grid_row_at(con: Any, symbol: str, interval: str, cutoff: datetime) -> dict[str, Any] | None:
    return _one(
        con,
        """
        select * exclude (series_part, idx) from marts.fct_grid_regimes
        where symbol = ? and bar_interval = ? and bar_start <= ?
        order by bar_start desc, exchange limit 1""",
        [symbol, interval, cutoff],
    )


def _verdict_section(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": row["verdict"],
        "decided_by": row["decided_by"],
        "confidence": row["confidence"],
        "capacity_limited": row["capacity_limited"],
        **{s: row[s] for s in SCORES},
        "support": row["support"],
        "resistance": row["resistance"],
        "close": row["close"],
        "competing_verdicts": [
            {"verdict": c["verdict"], "support": c["support"]} for c in (row["competing_verdicts"] or [])
        ],
        "decision_factors": [
            {"feature": f["feature"], "value": f["value"], "rank": f["rank"], "supports": f["supports"]}
            for f in (row["decision_factors"] or [])
        ],
    }


def _known_symbols(con: Any) -> list[str]:
    return [r[0] for r in con.execute("select distinct symbol from marts.fct_grid_regimes order by symbol").fetchall()]


def resolve_symbol(con: Any, symbol: str) -> str:
    """The symbol as stored (exact, else upper-cased) when it has a grid series.

    Raises AnalyzeError naming a few known symbols otherwise."""
    for candidate in dict.fromkeys((symbol, symbol.upper())):
        if con.execute("select 1 from marts.fct_grid_regimes where symbol = ? limit 1", [candidate]).fetchone():
            return candidate
    known = _known_symbols(con)
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    raise AnalyzeError(
        f"error: unknown symbol {symbol!r}: no grid series in marts.fct_grid_regimes ({len(known)} symbols: {shown})"
    )


def _locate_grid_bar(reader: _Reader, symbol: str) -> dict[str, Any]:
    """The grid row answering for T: the last ended 1h bar, checked against the data span,
    segment gaps and warm-up (module docstring). Raises AnalyzeError."""
    con, at, step = reader.con, reader.at, reader.length(GRID_INTERVAL)
    row = _grid_row_at(con, symbol, GRID_INTERVAL, reader.cutoff(GRID_INTERVAL))
    when = show_time(at)
    if row is None:
        first = con.execute(
            "select min(bar_start) from marts.fct_grid_regimes where symbol = ? and bar_interval = ?",
            [symbol, GRID_INTERVAL],
        ).fetchone()[0]
        raise AnalyzeError(
            f"error: {when} UTC is before the data of {symbol}: its first {GRID_INTERVAL} bar "
            f"{show_time(first)} ends at {show_time(first + step)} UTC"
        )
    end = row["bar_start"] + step
    following = _one(
        con,
        """
        select exchange, segment_id, bar_start from marts.fct_grid_regimes
        where symbol = ? and bar_interval = ? and bar_start > ? order by bar_start limit 1""",
        [symbol, GRID_INTERVAL, row["bar_start"]],
    )
    missing = int((at - end) / step)  # ended bars after the answering one, up to T
    if missing and following is None:
        raise AnalyzeError(
            f"error: {when} UTC is after the data of {symbol}: its last {GRID_INTERVAL} bar "
            f"{show_time(row['bar_start'])} ended at {show_time(end)} UTC"
        )
    if missing and (following["exchange"], following["segment_id"]) != (row["exchange"], row["segment_id"]):
        raise AnalyzeError(
            f"error: no data of {symbol} at {when} UTC: it falls in a gap between segments, from "
            f"{show_time(end)} ({row['exchange']}, segment {row['segment_id']}) to "
            f"{show_time(following['bar_start'])} ({following['exchange']}, segment "
            f"{following['segment_id']})"
        )
    if row["verdict"] is None:
        first = con.execute(
            """
            select min(bar_start) from marts.fct_grid_regimes where symbol = ? and exchange = ? and segment_id = ?
            and bar_interval = ? and verdict is not null""",
            [symbol, row["exchange"], row["segment_id"], GRID_INTERVAL],
        ).fetchone()[0]
        tail = (
            f"its first verdict in this segment is at the bar {show_time(first)} (ends {show_time(first + step)})"
            if first
            else "this segment never warms up"
        )
        raise AnalyzeError(
            f"error: {symbol} has no grid verdict yet at {when} UTC: the {GRID_INTERVAL} bar "
            f"{show_time(row['bar_start'])} is in the warm-up; {tail}"
        )
    row["bar_end"] = end
    row["bars_missing"] = missing
    return row


def _coarse_section(reader: _Reader, row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("coarse_bar_start") is None:
        return None
    coarse = _one(
        reader.con,
        """
        select * exclude (series_part, idx) from marts.fct_grid_regimes
        where symbol = ? and exchange = ? and bar_interval = ? and bar_start = ?""",
        [row["symbol"], row["exchange"], COARSE_INTERVAL, row["coarse_bar_start"]],
    )
    if coarse is None:
        return None
    out = {
        "bar_interval": COARSE_INTERVAL,
        "bar_start": coarse["bar_start"],
        "bar_end": coarse["bar_start"] + reader.length(COARSE_INTERVAL),
    }
    out.update(_verdict_section(coarse))
    return out


def _ranges_section(con: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    ranges = _one(
        con,
        """
        select * from marts.fct_grid_ranges
        where symbol = ? and exchange = ? and bar_interval = ? and bar_start = ?""",
        [row["symbol"], row["exchange"], row["bar_interval"], row["bar_start"]],
    )
    if ranges is None:
        return None
    return {
        "primary_method": PRIMARY_RANGE_METHOD,
        "methods": [
            {
                "method": m,
                "support": ranges[f"{m}_support"],
                "resistance": ranges[f"{m}_resistance"],
                "support_fit": ranges[f"{m}_support_fit"],
                "resistance_fit": ranges[f"{m}_resistance_fit"],
            }
            for m in RANGE_METHODS
        ],
        **{
            k: ranges[k]
            for k in (
                "method_agreement",
                "range_mid",
                "width_pct",
                "width_atr",
                "width_rw",
                "traversals",
                "containment_k",
            )
        },
    }


def _configured_grids(con: Any, symbol: str) -> list[dict[str, Any]]:
    return _rows(
        con,
        """
        select grid_id, exchange, valid_from, lower, upper, levels, allocation_frac, enabled
        from seeds.grid_configs where symbol = ? order by grid_id, valid_from""",
        [symbol],
    )


def _recommendations(con: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
    return _rows(
        con,
        """
        select grid_id, exchange, valid_from, lower, upper, levels, allocation_frac, enabled, is_price_inside,
               overlap, exit_state, rule, recommendation, is_actionable, suggested_lower, suggested_upper,
               suggested_levels, suggested_allocation_frac, suggested_spacing
        from marts.fct_grid_recommendations where symbol = ? and bar_start = ? order by grid_id""",
        [row["symbol"], row["bar_start"]],
    )


def _gate_requirements(con: Any) -> dict[str, float]:
    keys = ("gate_1_bars", "gate_2_bars", "gate_3_bars")
    found = dict(
        con.execute("select key, value from seeds.grid_lifecycle_config where key in (?, ?, ?)", list(keys)).fetchall()
    )
    return {k: int(float(found[k])) if k in found else None for k in keys}


def _lifecycle_section(con: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every grid of the symbol at the bar: state, since when, placement, probation and
    exit counters, restart-gate progress (fct_restart_gates, while a stop awaits a
    restart) and the last notification up to the bar."""
    grids = _rows(
        con,
        """
        select l.grid_id, l.grid_kind, l.walk_id, l.state, l.lower, l.upper, l.levels, l.allocation_frac,
               l.restart_permitted, l.stop_reason, l.probation_bars, l.round_trips, l.warning_conditions,
               l.latest_triggers, l.mandatory_triggers, l.fired_triggers, l.half_life_baseline, l.quiet_bars
        from marts.fct_grid_lifecycle l where l.symbol = ? and l.exchange = ? and l.bar_start = ?
        order by l.grid_kind desc, l.grid_id""",
        [row["symbol"], row["exchange"], row["bar_start"]],
    )
    if not grids:
        return []
    required = _gate_requirements(con)
    ids = [g["grid_id"] for g in grids]
    marks = ", ".join("?" * len(ids))
    changes = {
        r["grid_id"]: r
        for r in _rows(
            con,
            f"""
        select grid_id, bar_start, from_state, to_state, reason, triggers from marts.fct_exit_states
        where grid_id in ({marks}) and bar_start <= ?
        qualify row_number() over (partition by grid_id order by bar_start desc, change_seq desc) = 1""",
            [*ids, row["bar_start"]],
        )
    }
    gates = {
        r["grid_id"]: r
        for r in _rows(
            con,
            f"""
        select grid_id, state, stop_reason, gate_1_bars, gate_2_bars, gate_3_bars, gates_passed, bars_since_stop,
               time_floor_bars, post_stop_lower, post_stop_upper, restart_permitted
        from marts.fct_restart_gates where grid_id in ({marks}) and bar_start = ?""",
            [*ids, row["bar_start"]],
        )
    }
    notes = {
        r["grid_id"]: r
        for r in _rows(
            con,
            f"""
        select grid_id, bar_start, state, is_sent, suppressed_reason from marts.fct_exit_notifications
        where grid_id in ({marks}) and bar_start <= ?
        qualify row_number() over (partition by grid_id order by bar_start desc) = 1""",
            [*ids, row["bar_start"]],
        )
    }
    out = []
    for g in grids:
        change = changes.get(g["grid_id"])
        gate = gates.get(g["grid_id"])
        note = notes.get(g["grid_id"])
        item = {k: g[k] for k in ("grid_id", "grid_kind", "walk_id", "state")}
        item["state_since"] = change["bar_start"] if change and change["to_state"] == g["state"] else None
        item["last_change"] = (
            None
            if change is None
            else {
                "bar_start": change["bar_start"],
                "from_state": change["from_state"],
                "to_state": change["to_state"],
                "reason": change["reason"],
                "triggers": json.loads(change["triggers"]) if change["triggers"] else [],
            }
        )
        item.update(
            {
                k: g[k]
                for k in (
                    "lower",
                    "upper",
                    "levels",
                    "allocation_frac",
                    "restart_permitted",
                    "stop_reason",
                    "probation_bars",
                    "round_trips",
                    "warning_conditions",
                    "latest_triggers",
                    "mandatory_triggers",
                    "half_life_baseline",
                    "quiet_bars",
                )
            }
        )
        item["fired_triggers"] = [t for t in (g["fired_triggers"] or "").split(",") if t]
        item["restart_gates"] = (
            None
            if gate is None
            else {
                "gate_1_bars": gate["gate_1_bars"],
                "gate_1_required_bars": required["gate_1_bars"],
                "gate_2_bars": gate["gate_2_bars"],
                "gate_2_required_bars": required["gate_2_bars"],
                "gate_3_bars": gate["gate_3_bars"],
                "gate_3_required_bars": required["gate_3_bars"],
                "gates_passed": gate["gates_passed"],
                "bars_since_stop": gate["bars_since_stop"],
                "time_floor_bars": gate["time_floor_bars"],
                "post_stop_lower": gate["post_stop_lower"],
                "post_stop_upper": gate["post_stop_upper"],
                "restart_permitted": gate["restart_permitted"],
            }
        )
        item["last_notification"] = (
            None if note is None else {k: note[k] for k in ("bar_start", "state", "is_sent", "suppressed_reason")}
        )
        out.append(item)
    return out


# --------------------------------------------------------------------------- context sections


def _bucket_of(con: Any, symbol: str) -> str | None:
    found = con.execute("select bucket from seeds.token_buckets where symbol = ?", [symbol]).fetchone()
    return found[0] if found else None


def _lever_buckets(con: Any) -> list[str]:
    return [
        r[0]
        for r in con.execute("""
        select driver from marts.dim_drivers where kind = 'composite' and driver in (select distinct bucket
        from seeds.token_buckets) order by driver""").fetchall()
    ]


def _drivers(con: Any) -> list[str]:
    return [r[0] for r in con.execute("select driver from marts.dim_drivers").fetchall()]


def _ordered_timeframes(reader: _Reader) -> list[str]:
    return sorted(reader.timeframes, key=lambda tf: reader.length(reader.timeframes[tf]))


def _uptrend_row(reader: _Reader, driver: str, timeframe: str) -> dict[str, Any]:
    interval = reader.timeframes[timeframe]
    row = _one(
        reader.con,
        """
        with cur as (
            select * from marts.fct_uptrend_states where driver = ? and timeframe = ? and bar_start <= ?
            order by bar_start desc limit 1)
        select cur.driver, cur.timeframe, cur.bar_start, cur.state, cur.prev_state,
               (select max(u.bar_start) from marts.fct_uptrend_states u
                where u.driver = cur.driver and u.timeframe = cur.timeframe and u.bar_start <= cur.bar_start
                  and u.prev_state is distinct from u.state) as state_since,
               cur.buy_flag, cur.rebuy_flag, cur.trim_flag, cur.emergency_exit, cur.exit_reason, cur.ts_score,
               cur.ox, cur.dx, cur.edx
        from cur""",
        [driver, timeframe, reader.cutoff(interval)],
    )
    if row is None:
        return {
            "driver": driver,
            "timeframe": timeframe,
            "bar_interval": interval,
            "bar_start": None,
            "bar_end": None,
            **dict.fromkeys(UPTREND_STATE_FIELDS),
            "is_stale": None,
        }
    row["bar_interval"] = interval
    reader.ended(row, interval)
    return {
        k: row[k]
        for k in (
            "driver",
            "timeframe",
            "bar_interval",
            "bar_start",
            "bar_end",
            *UPTREND_STATE_FIELDS,
            "is_stale",
        )
    }


def _lever_rows(reader: _Reader, buckets: list[str]) -> list[dict[str, Any]]:
    if not buckets:
        return []
    timeframes = [
        r[0]
        for r in reader.con.execute(
            "select distinct execution_timeframe from seeds.execution_timeframe_multipliers"
        ).fetchall()
    ]
    timeframes.sort(key=reader.length)
    marks = ", ".join("?" * len(buckets))
    out = []
    for tf in timeframes:
        found = {
            r["bucket"]: r
            for r in _rows(
                reader.con,
                f"""
            select bucket, execution_timeframe, bar_start, a_value, e_value, position_size_frac, intent_a, intent_e,
                   is_degraded, n_used, n_stale, n_missing
            from marts.fct_levers where execution_timeframe = ? and bucket in ({marks}) and bar_start <= ?
            qualify row_number() over (partition by bucket order by bar_start desc) = 1""",
                [tf, *buckets, reader.cutoff(tf)],
            )
        }
        for bucket in buckets:
            if bucket in found:
                out.append(reader.ended(found[bucket], tf))
    return out


def _vol_row(reader: _Reader, series_id: str, interval: str) -> dict[str, Any] | None:
    row = _one(
        reader.con,
        """
        select series_type, series_id, driver, timeframe, exchange, symbol, bar_interval, bar_start, vol_regime,
               hmm_vol_regime, hmm_p_high_vol, hmm_p_low_vol * (1 - hmm_stay_prob_low) + hmm_p_high_vol * hmm_stay_prob_high as hmm_p_high_vol_next,
               direction, quadrant, turbulence, is_toxic
        from marts.fct_volatility_regimes where series_id = ? and bar_start <= ?
        order by bar_start desc limit 1""",
        [series_id, reader.cutoff(interval)],
    )
    return None if row is None else reader.ended(row, interval)


def _vol_rows(
    reader: _Reader, drivers: list[str], symbol: str | None = None, exchange: str | None = None
) -> list[dict[str, Any]]:
    series: list[tuple[str, str]] = []
    if symbol is not None:
        series += [
            (sid, interval)
            for sid, interval in reader.con.execute(
                """
            select distinct series_id, bar_interval from marts.fct_volatility_regimes
            where series_type = 'symbol' and symbol = ? and exchange = ?""",
                [symbol, exchange],
            ).fetchall()
        ]
        series.sort(key=lambda s: reader.length(s[1]))
    for driver in drivers:
        for tf in _ordered_timeframes(reader):
            series.append((f"{driver}|{tf}", reader.timeframes[tf]))
    rows = [_vol_row(reader, sid, interval) for sid, interval in series]
    return [r for r in rows if r is not None]


def _market_rows(reader: _Reader) -> list[dict[str, Any]]:
    out = []
    for (market,) in reader.con.execute("select market from seeds.trend_vol_markets order by market").fetchall():
        row = _one(
            reader.con,
            """
            select market, bar_start, regime, trend, vol, price, ma, vol_value, prev_regime
            from marts.fct_market_regimes where market = ? and bar_start <= ? order by bar_start desc limit 1""",
            [market, reader.cutoff("1d")],
        )
        if row is None:
            row = {
                "market": market,
                "bar_start": None,
                "bar_end": None,
                "regime": None,
                "trend": None,
                "vol": None,
                "price": None,
                "ma": None,
                "vol_value": None,
                "prev_regime": None,
                "is_stale": None,
            }
        else:
            reader.ended(row, "1d")
        out.append(row)
    return out


def _context(
    reader: _Reader,
    drivers: list[str],
    lever_buckets: list[str],
    symbol: str | None = None,
    exchange: str | None = None,
) -> dict[str, Any]:
    drivers = list(dict.fromkeys(drivers))
    return {
        "uptrend_states": [_uptrend_row(reader, d, tf) for d in drivers for tf in _ordered_timeframes(reader)],
        "levers": _lever_rows(reader, lever_buckets),
        "volatility": _vol_rows(reader, drivers, symbol, exchange),
        "markets": _market_rows(reader),
    }


# --------------------------------------------------------------------------- --at


def analyze_symbol(con: Any, symbol: str, at: datetime) -> dict[str, Any]:
    """Everything about ``symbol`` at ``at`` (naive UTC), as a JSON-ready dict (kind
    ``symbol_at``; analyze_schema.json).

    Sections: ``bar`` (the answering 1h bar: exchange, bar_start, bar_end, segment_id,
    bars_missing), ``grid_verdict`` (verdict, decided_by, confidence 0-1, the five scores
    0-100, support / resistance / close in price units, competing verdicts, decision
    factors), ``coarse_verdict`` (the same for the last ended 4h bar, or None),
    ``ranges`` (S / R of the three methods on the whole window and the fit part, the
    range statistics), ``configured_grids`` (the symbol's rows of seed grid_configs),
    ``recommendations`` (fct_grid_recommendations of the grids in force at the bar),
    ``lifecycle`` (every grid of the series at the bar), ``context`` (Uptrend states of
    BTC, ALT and the symbol's bucket at every regime timeframe, the bucket's levers at
    every execution timeframe — every bucket's when the symbol has no lever bucket (the
    majors) — HMM rows of the symbol's series and those drivers, trend x vol of every
    configured market), each read at its own last ended bar.

    Raises:
        AnalyzeError: unknown symbol, ``at`` before the data, after it, in a gap between
            segments, or before the warm-up ends (module docstring).
    """
    symbol = resolve_symbol(con, symbol)
    reader = _Reader(con, at)
    row = _locate_grid_bar(reader, symbol)
    bucket = _bucket_of(con, symbol)
    lever_buckets = _lever_buckets(con)
    own = bucket if bucket in lever_buckets else None
    drivers = [d for d in REQUIRED_DRIVERS if d in _drivers(con)] + ([own] if own else [])
    result = {
        "kind": "symbol_at",
        "schema_version": SCHEMA_VERSION,
        "requested_at": at,
        "symbol": symbol,
        "bar": {
            "exchange": row["exchange"],
            "symbol": symbol,
            "bar_interval": GRID_INTERVAL,
            "bar_start": row["bar_start"],
            "bar_end": row["bar_end"],
            "segment_id": row["segment_id"],
            "bars_missing": row["bars_missing"],
        },
        "grid_verdict": _verdict_section(row),
        "coarse_verdict": _coarse_section(reader, row),
        "ranges": _ranges_section(con, row),
        "configured_grids": _configured_grids(con, symbol),
        "recommendations": _recommendations(con, row),
        "lifecycle": _lifecycle_section(con, row),
        "context": {
            "bucket": bucket,
            "bucket_has_levers": own is not None,
            **_context(reader, drivers, [own] if own else lever_buckets, symbol, row["exchange"]),
        },
    }
    return _json_value(result)


def resolve_driver(con: Any, driver: str, timeframe: str) -> tuple[str, str]:
    """(driver, timeframe) as stored (case-insensitive match on seed drivers /
    regime_timeframes). Raises AnalyzeError for an unknown one, listing the known ones."""
    drivers = _drivers(con)
    match = [d for d in drivers if d == driver] or [d for d in drivers if d.lower() == driver.lower()]
    if not match:
        raise AnalyzeError(f"error: unknown driver {driver!r} (marts.dim_drivers: {', '.join(drivers)})")
    timeframes = [r[0] for r in con.execute("select timeframe from seeds.regime_timeframes").fetchall()]
    tf = [t for t in timeframes if t.lower() == timeframe.lower()]
    if not tf:
        raise AnalyzeError(f"error: unknown timeframe {timeframe!r} (seed regime_timeframes: {', '.join(timeframes)})")
    return match[0], tf[0]


def _locate_driver_bar(reader: _Reader, driver: str, timeframe: str) -> dict[str, Any]:
    con, at = reader.con, reader.at
    interval = reader.timeframes[timeframe]
    step = reader.length(interval)
    when = show_time(at)
    have = [
        r[0]
        for r in con.execute(
            "select distinct timeframe from marts.fct_uptrend_states where driver = ? order by timeframe", [driver]
        ).fetchall()
    ]
    if timeframe not in have:
        raise AnalyzeError(
            f"error: driver {driver} has no {timeframe} Uptrend states in the warehouse "
            f"(it has: {', '.join(have) or 'none'})"
        )
    row = _uptrend_row(reader, driver, timeframe)
    bars = "select min(bar_start), max(bar_start) from marts.fct_driver_bars where driver = ? and timeframe = ?"
    if row["bar_start"] is None:
        first = con.execute(bars, [driver, timeframe]).fetchone()[0]
        if first is None or at < first + step:
            raise AnalyzeError(
                f"error: {when} UTC is before the data of {driver} {timeframe}"
                + (f": its first bar {show_time(first)} ends at {show_time(first + step)} UTC" if first else "")
            )
        state = con.execute(
            "select min(bar_start) from marts.fct_uptrend_states where driver = ? and timeframe = ?",
            [driver, timeframe],
        ).fetchone()[0]
        raise AnalyzeError(
            f"error: {driver} {timeframe} has no Uptrend state yet at {when} UTC (warm-up: its first "
            f"state is at the bar {show_time(state)}, ending {show_time(state + step)} UTC)"
        )
    end = row["bar_end"]
    missing = int((at - end) / step)
    following = _one(
        con,
        """
        select bar_start from marts.fct_uptrend_states where driver = ? and timeframe = ? and bar_start > ?
        order by bar_start limit 1""",
        [driver, timeframe, row["bar_start"]],
    )
    if missing and following is None:
        raise AnalyzeError(
            f"error: {when} UTC is after the data of {driver} {timeframe}: its last bar "
            f"{show_time(row['bar_start'])} ended at {show_time(end)} UTC"
        )
    if missing:
        segments = con.execute(
            """
            select bar_start, segment_id from marts.fct_driver_bars where driver = ? and timeframe = ?
            and bar_start in (?, ?)""",
            [driver, timeframe, row["bar_start"], following["bar_start"]],
        ).fetchall()
        if len({seg for _, seg in segments}) > 1:
            # T after the next segment's first bar ended: that segment is still warming up
            resumed = con.execute(
                """
                select min(bar_start) from marts.fct_driver_bars where driver = ? and timeframe = ? and bar_start > ?
                """,
                [driver, timeframe, row["bar_start"]],
            ).fetchone()[0]
            if resumed is not None and at >= resumed + step:
                raise AnalyzeError(
                    f"error: {driver} {timeframe} has no Uptrend state yet at {when} UTC (warm-up "
                    f"after a gap: its data resumed with the bar {show_time(resumed)}, its first "
                    f"state is at the bar {show_time(following['bar_start'])}, ending "
                    f"{show_time(following['bar_start'] + step)} UTC)"
                )
            raise AnalyzeError(
                f"error: no data of {driver} {timeframe} at {when} UTC: it falls in a gap between "
                f"segments, from {show_time(end)} to {show_time(resumed or following['bar_start'])}"
            )
    row["bars_missing"] = missing
    return row


def analyze_driver(con: Any, driver: str, timeframe: str, at: datetime) -> dict[str, Any]:
    """Everything about a regime driver at ``at`` (naive UTC), as a JSON-ready dict (kind
    ``driver_at``): ``bar`` (the driver's last ended bar at ``timeframe``), ``uptrend`` (its
    Uptrend state, flags and scores there, state_since), ``context`` (Uptrend states of
    the driver, BTC and ALT at every timeframe; the levers of the driver's bucket when it
    is a lever bucket, else of every bucket; HMM rows of those drivers; trend x vol of the
    configured markets).

    Raises:
        AnalyzeError: unknown driver or timeframe, no states at that timeframe, ``at``
            before the data / the warm-up, after the data or in a gap between segments.
    """
    driver, timeframe = resolve_driver(con, driver, timeframe)
    reader = _Reader(con, at)
    row = _locate_driver_bar(reader, driver, timeframe)
    lever_buckets = _lever_buckets(con)
    drivers = [driver] + [d for d in REQUIRED_DRIVERS if d in _drivers(con)]
    result = {
        "kind": "driver_at",
        "schema_version": SCHEMA_VERSION,
        "requested_at": at,
        "driver": driver,
        "timeframe": timeframe,
        "bar": {
            "driver": driver,
            "timeframe": timeframe,
            "bar_interval": row["bar_interval"],
            "bar_start": row["bar_start"],
            "bar_end": row["bar_end"],
            "bars_missing": row["bars_missing"],
        },
        "uptrend": {k: row[k] for k in UPTREND_STATE_FIELDS},
        "context": {
            "bucket_has_levers": driver in lever_buckets,
            **_context(reader, drivers, [driver] if driver in lever_buckets else lever_buckets),
        },
    }
    return _json_value(result)


# --------------------------------------------------------------------------- summary arithmetic (pure)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ascending values by linear interpolation between
    order statistics (Hyndman and Fan type 7: numpy's default, DuckDB's quantile_cont).
    Raises ValueError on an empty sequence."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def label_distribution(labels: Iterable[str | None], order: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Count and share of every non-None label: ``[{"label", "count", "share"}]``, labels of
    ``order`` first (also with count 0), then any other label alphabetically. share =
    count / number of non-None labels (fraction; 0 when there are none)."""
    counts: dict[str, int] = {}
    for label in labels:
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    total = sum(counts.values())
    names = list(order) + sorted(k for k in counts if k not in order)
    return [{"label": k, "count": counts.get(k, 0), "share": counts.get(k, 0) / total if total else 0.0} for k in names]


def transition_counts(labels: Sequence[str | None], starts: Sequence[bool] | None = None) -> list[dict[str, Any]]:
    """Counts of (label at bar i-1 -> label at bar i) over consecutive bars, stays
    included: ``[{"from", "to", "count"}]`` sorted by from, to. A pair is skipped when
    either label is None (warm-up) or ``starts[i]`` is true (bar i starts a new segment:
    nothing carries over a segment boundary)."""
    counts: dict[tuple[str, str], int] = {}
    for i in range(1, len(labels)):
        if (starts is not None and starts[i]) or labels[i - 1] is None or labels[i] is None:
            continue
        key = (labels[i - 1], labels[i])
        counts[key] = counts.get(key, 0) + 1
    return [{"from": a, "to": b, "count": n} for (a, b), n in sorted(counts.items())]


def unit_distribution(values: Iterable[float | None]) -> dict[str, Any]:
    """Distribution of values in [0, 1] (confidence, TS score), None / NaN left out:
    ``{"n", "mean", "min", "max", "quantiles": [{"q", "value"}], "bins": [{"lower",
    "upper", "count", "share"}]}`` over :data:`SUMMARY_QUANTILES` and the equal-width bins
    of :data:`UNIT_BIN_EDGES` (each bin [lower, upper), the last [lower, upper]; values
    outside [0, 1] fall in no bin). With no value: n 0 and None statistics."""
    data = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    n = len(data)
    bins = []
    for i, (lo, hi) in enumerate(zip(UNIT_BIN_EDGES, UNIT_BIN_EDGES[1:])):
        last = i == len(UNIT_BIN_EDGES) - 2
        count = sum(1 for v in data if lo <= v < hi or (last and v == hi))
        bins.append({"lower": lo, "upper": hi, "count": count, "share": count / n if n else 0.0})
    return {
        "n": n,
        "mean": sum(data) / n if n else None,
        "min": data[0] if n else None,
        "max": data[-1] if n else None,
        "quantiles": [{"q": q, "value": quantile(data, q) if n else None} for q in SUMMARY_QUANTILES],
        "bins": bins,
    }


def summarize_bars(
    bars: Sequence[dict[str, Any]], label_key: str, order: Sequence[str], value_key: str, start_of_run: Sequence[bool]
) -> dict[str, Any]:
    """The label part of a batch summary from per-bar dicts sorted by time: ``bars``
    (count), ``labelled_bars`` (non-None label), ``distribution``
    (:func:`label_distribution`), ``transitions`` (:func:`transition_counts`),
    ``changes`` (transitions whose from differs from to; count), and ``value``
    (:func:`unit_distribution` of ``value_key`` over all labelled bars) with
    ``value_by_label`` (the same per label of the distribution that occurs)."""
    labels = [b[label_key] for b in bars]
    transitions = transition_counts(labels, start_of_run)
    distribution = label_distribution(labels, order)
    return {
        "bars": len(bars),
        "labelled_bars": sum(1 for x in labels if x is not None),
        "distribution": distribution,
        "transitions": transitions,
        "changes": sum(t["count"] for t in transitions if t["from"] != t["to"]),
        "value": unit_distribution(b[value_key] for b in bars if b[label_key] is not None),
        "value_by_label": {
            d["label"]: unit_distribution(b[value_key] for b in bars if b[label_key] == d["label"])
            for d in distribution
            if d["count"]
        },
    }


# --------------------------------------------------------------------------- --from / --to


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise AnalyzeError(f"error: --to ({show_time(end)}) must be after --from ({show_time(start)})")


def symbol_bars(
    con: Any, symbol: str, start: datetime, end: datetime, lengths: dict[str, timedelta] | None = None
) -> list[dict[str, Any]]:
    """The 1h bars of ``symbol`` that ended inside [start, end] (bar_start >= start,
    bar_start + 1h <= end), oldest first, with the columns of :data:`SYMBOL_BAR_COLUMNS`
    (virtual_grid_state: the state of the series' virtual grid after the bar). Raw
    DuckDB values (datetimes)."""
    step = (lengths or interval_lengths(con))[GRID_INTERVAL]
    rows = _rows(
        con,
        """
        select g.exchange, g.symbol, g.bar_interval, g.bar_start, g.segment_id, g.verdict, g.decided_by, g.confidence,
               g.capacity_limited, g.trend_score, g.mean_rev_score, g.range_quality_score, g.vol_change_score,
               g.grid_capacity, g.support, g.resistance, g.close, g.coarse_bar_start, g.coarse_verdict,
               g.coarse_confidence, l.state as virtual_grid_state
        from marts.fct_grid_regimes g
        left join marts.fct_grid_lifecycle l
          on l.grid_id = 'virtual|' || g.exchange || '|' || g.symbol and l.bar_start = g.bar_start
             and l.symbol = ? and l.bar_start between ? and ?
        where g.symbol = ? and g.bar_interval = ? and g.bar_start between ? and ?
        order by g.bar_start, g.exchange""",
        [symbol, start, end - step, symbol, GRID_INTERVAL, start, end - step],
    )
    for row in rows:
        row["bar_end"] = row["bar_start"] + step
    return [{c: row[c] for c in SYMBOL_BAR_COLUMNS} for row in rows]


def summarize_symbol(con: Any, symbol: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Batch summary of ``symbol`` over the 1h bars that ended inside [start, end]
    (kind ``symbol_batch``): ``verdicts`` (:func:`summarize_bars` of the verdict with the
    confidence distribution), ``coarse_verdicts`` (the 4h verdict each 1h bar carried),
    ``lifecycle_states`` (bars per grid and state), ``lifecycle_events`` (fct_exit_states
    rows in the range, oldest first) and their counts per grid and new state,
    ``notifications`` (fct_exit_notifications rows) and their counts per grid, state and
    sent / suppressed, ``recommendations`` (bars per configured grid and
    recommendation), ``bars`` (the per-bar rows, :data:`SYMBOL_BAR_COLUMNS`).

    Raises:
        AnalyzeError: unknown symbol, end <= start, no ended 1h bar of the symbol in the
            range, or no verdict in it (warm-up).
    """
    _check_range(start, end)
    symbol = resolve_symbol(con, symbol)
    lengths = interval_lengths(con)
    step = lengths[GRID_INTERVAL]
    bars = symbol_bars(con, symbol, start, end, lengths)
    span = f"[{show_time(start)}, {show_time(end)}] UTC"
    if not bars:
        first, last = con.execute(
            "select min(bar_start), max(bar_start) from marts.fct_grid_regimes where symbol = ? and bar_interval = ?",
            [symbol, GRID_INTERVAL],
        ).fetchone()
        raise AnalyzeError(
            f"error: no {GRID_INTERVAL} bar of {symbol} ended in {span} (its data: "
            f"{show_time(first)} to {show_time(last + step)} UTC, with gaps between segments)"
        )
    if all(b["verdict"] is None for b in bars):
        raise AnalyzeError(f"error: {symbol} has no grid verdict in {span}: all {len(bars)} bars are in the warm-up")
    starts = [
        i == 0 or (b["exchange"], b["segment_id"]) != (bars[i - 1]["exchange"], bars[i - 1]["segment_id"])
        for i, b in enumerate(bars)
    ]
    last_start = end - step
    states = _rows(
        con,
        """
        select grid_id, grid_kind, state, count(*) as bars from marts.fct_grid_lifecycle
        where symbol = ? and bar_start between ? and ? group by all""",
        [symbol, start, last_start],
    )
    rank = {s: i for i, s in enumerate(LIFECYCLE_STATES)}
    states.sort(key=lambda r: (r["grid_kind"] != "virtual", r["grid_id"], rank.get(r["state"], len(rank)), r["state"]))
    events = _rows(
        con,
        """
        select grid_id, grid_kind, bar_start, change_seq, from_state, to_state, reason, triggers
        from marts.fct_exit_states where symbol = ? and bar_start between ? and ?
        order by bar_start, grid_id, change_seq""",
        [symbol, start, last_start],
    )
    for e in events:
        e["triggers"] = json.loads(e["triggers"]) if e["triggers"] else []
    notes = _rows(
        con,
        """
        select grid_id, grid_kind, bar_start, state, is_sent, suppressed_reason, fired_triggers
        from marts.fct_exit_notifications where symbol = ? and bar_start between ? and ?
        order by bar_start, grid_id""",
        [symbol, start, last_start],
    )
    recs = _rows(
        con,
        """
        select grid_id, recommendation, count(*) as bars from marts.fct_grid_recommendations
        where symbol = ? and bar_start between ? and ? group by all order by grid_id, recommendation""",
        [symbol, start, last_start],
    )
    result = {
        "kind": "symbol_batch",
        "schema_version": SCHEMA_VERSION,
        "symbol": symbol,
        "from": start,
        "to": end,
        "bar_interval": GRID_INTERVAL,
        "first_bar_start": bars[0]["bar_start"],
        "last_bar_start": bars[-1]["bar_start"],
        "exchanges": sorted({b["exchange"] for b in bars}),
        "verdicts": summarize_bars(bars, "verdict", VERDICTS, "confidence", starts),
        "coarse_verdicts": label_distribution((b["coarse_verdict"] for b in bars), VERDICTS),
        "lifecycle_states": states,
        "lifecycle_events": events,
        "lifecycle_event_counts": _counts(events, ("grid_id", "to_state")),
        "notifications": notes,
        "notification_counts": _counts(notes, ("grid_id", "state", "is_sent")),
        "recommendations": recs,
        "bars": bars,
    }
    return _json_value(result)


def _counts(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """``[{key...: value, "count": n}]`` per distinct combination of ``keys``, sorted."""
    counts: dict[tuple, int] = {}
    for r in rows:
        k = tuple(r[x] for x in keys)
        counts[k] = counts.get(k, 0) + 1
    return [{**dict(zip(keys, k)), "count": n} for k, n in sorted(counts.items(), key=lambda kv: str(kv[0]))]


def driver_bars(
    con: Any, driver: str, timeframe: str, start: datetime, end: datetime, lengths: dict[str, timedelta] | None = None
) -> list[dict[str, Any]]:
    """The Uptrend rows of driver x timeframe whose bar ended inside [start, end], oldest
    first, with the HMM label of the driver's series at the same bar
    (:data:`DRIVER_BAR_COLUMNS`). Raw DuckDB values."""
    interval = con.execute(
        "select bar_interval from seeds.regime_timeframes where timeframe = ?", [timeframe]
    ).fetchone()[0]
    step = (lengths or interval_lengths(con))[interval]
    rows = _rows(
        con,
        """
        select u.driver, u.timeframe, u.bar_start, u.state, u.prev_state, u.buy_flag, u.rebuy_flag, u.trim_flag,
               u.emergency_exit, u.exit_reason, u.ts_score, u.ox, u.dx, u.edx, v.vol_regime, v.hmm_p_high_vol, v.quadrant
        from marts.fct_uptrend_states u
        left join marts.fct_volatility_regimes v
          on v.series_id = ? and v.bar_start = u.bar_start and v.bar_start between ? and ?
        where u.driver = ? and u.timeframe = ? and u.bar_start between ? and ?
        order by u.bar_start""",
        [f"{driver}|{timeframe}", start, end - step, driver, timeframe, start, end - step],
    )
    for row in rows:
        row["bar_interval"] = interval
        row["bar_end"] = row["bar_start"] + step
    return [{c: row[c] for c in DRIVER_BAR_COLUMNS} for row in rows]


def summarize_driver(con: Any, driver: str, timeframe: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Batch summary of a driver x timeframe over its bars that ended inside [start, end]
    (kind ``driver_batch``): ``states`` (:func:`summarize_bars` of the Uptrend state with
    the TS score distribution; a segment restart — prev_state NULL — breaks the
    transitions), ``flags`` (bars with each flag set; count), ``vol_regimes`` and
    ``quadrants`` (distributions of the driver series' HMM labels), ``bars`` (the per-bar
    rows, :data:`DRIVER_BAR_COLUMNS`).

    Raises:
        AnalyzeError: unknown driver / timeframe, end <= start, no state in the range.
    """
    _check_range(start, end)
    driver, timeframe = resolve_driver(con, driver, timeframe)
    bars = driver_bars(con, driver, timeframe, start, end)
    if not bars:
        raise AnalyzeError(
            f"error: no ended {timeframe} Uptrend state of {driver} in [{show_time(start)}, {show_time(end)}] UTC"
        )
    starts = [i == 0 or b["prev_state"] is None for i, b in enumerate(bars)]
    result = {
        "kind": "driver_batch",
        "schema_version": SCHEMA_VERSION,
        "driver": driver,
        "timeframe": timeframe,
        "from": start,
        "to": end,
        "bar_interval": bars[0]["bar_interval"],
        "first_bar_start": bars[0]["bar_start"],
        "last_bar_start": bars[-1]["bar_start"],
        "states": summarize_bars(bars, "state", UPTREND_STATES, "ts_score", starts),
        "flags": {f: sum(1 for b in bars if b[f]) for f in ("buy_flag", "rebuy_flag", "trim_flag", "emergency_exit")},
        "vol_regimes": label_distribution((b["vol_regime"] for b in bars), ("low", "high")),
        "quadrants": label_distribution((b["quadrant"] for b in bars), QUADRANTS),
        "bars": bars,
    }
    return _json_value(result)


# --------------------------------------------------------------------------- output


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every ``--json`` output (analyze_schema.json)."""
    return json.loads(SCHEMA_PATH.read_text())


def write_csv(bars: Sequence[dict[str, Any]], path: Path, columns: Sequence[str]) -> int:
    """The per-bar rows of a batch summary (JSON-ready dicts) to ``path`` as CSV with a
    header of ``columns``; None as an empty field, booleans true / false. Returns the rows
    written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for bar in bars:
            writer.writerow(
                ["" if bar[c] is None else str(bar[c]).lower() if isinstance(bar[c], bool) else bar[c] for c in columns]
            )
    return len(bars)


def fmt_num(value: Any, kind: str = "g") -> str:
    """A number for the text output: ``price`` (thousands separators, 2 decimals from
    1,000, else 6 significant digits), ``score`` (1 decimal), ``frac`` (3 decimals),
    ``pct`` (percent, 1 decimal), ``int``, ``g`` (4 significant digits); '-' for None,
    booleans yes / no, text as is."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if kind == "price":
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.6g}"
    if kind == "score":
        return f"{value:.1f}"
    if kind == "frac":
        return f"{value:.3f}"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "int":
        return f"{int(value):d}"
    return f"{value:.4g}"


def text_table(rows: Sequence[Sequence[str]], header: Sequence[str], indent: str = "  ") -> str:
    """Rows of cell strings as an aligned table under ``header`` and a dashed rule."""
    cells = [list(header)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, (indent + "  ".join("-" * w for w in widths)).rstrip())
    return "\n".join(lines)


def _flags(row: dict[str, Any]) -> str:
    return (
        ",".join(
            f.removesuffix("_flag") for f in ("buy_flag", "rebuy_flag", "trim_flag", "emergency_exit") if row.get(f)
        )
        or "-"
    )


def _verdict_lines(v: dict[str, Any], indent: str = "  ") -> list[str]:
    scores = "  ".join(
        f"{label} {fmt_num(v[key], 'score')}"
        for label, key in (
            ("TrendScore", "trend_score"),
            ("MeanRevScore", "mean_rev_score"),
            ("RQS", "range_quality_score"),
            ("VolChangeScore", "vol_change_score"),
            ("GridCapacity", "grid_capacity"),
        )
    )
    limited = " (capacity limited)" if v["capacity_limited"] else ""
    lines = [
        f"{indent}verdict      {v['verdict']}{limited}, decided by {v['decided_by']}, "
        f"confidence {fmt_num(v['confidence'], 'frac')}",
        f"{indent}scores       {scores}",
        f"{indent}price        close {fmt_num(v['close'], 'price')}, range [{fmt_num(v['support'], 'price')}, "
        f"{fmt_num(v['resistance'], 'price')}]",
        f"{indent}competing    "
        + ", ".join(f"{c['verdict']} {fmt_num(c['support'], 'score')}" for c in v["competing_verdicts"]),
    ]
    for i, f in enumerate(v["decision_factors"]):
        lines.append(
            f"{indent}{'factors' if i == 0 else '':<13}{f['feature']} = {fmt_num(f['value'])} "
            f"(rank {fmt_num(f['rank'], 'frac')}, {'supports' if f['supports'] else 'opposes'})"
        )
    return lines


def _context_text(ctx: dict[str, Any], at: str) -> list[str]:
    out = [
        f"Regime context at {show_time(at)} UTC (each series at its last bar ended by then; "
        f"'stale' = ended more than stale_bars bars before)"
    ]
    out.append("  Uptrend states (marts.fct_uptrend_states)")
    out.append(
        text_table(
            [
                [
                    u["driver"],
                    u["timeframe"],
                    show_time(u["bar_start"]) or "none",
                    u["state"] or "-",
                    show_time(u["state_since"]),
                    _flags(u) if u["state"] else "-",
                    fmt_num(u["ts_score"], "frac"),
                    "stale" if u["is_stale"] else "",
                ]
                for u in ctx["uptrend_states"]
            ],
            ["driver", "timeframe", "bar", "state", "since", "flags", "TS", ""],
            "    ",
        )
    )
    title = (
        "  A/E levers of the bucket (marts.fct_levers)"
        if ctx["bucket_has_levers"]
        else "  A/E levers of every bucket (marts.fct_levers; no lever bucket of its own)"
    )
    out.append(title)
    out.append(
        text_table(
            [
                [
                    lv["bucket"],
                    lv["execution_timeframe"],
                    show_time(lv["bar_start"]),
                    fmt_num(lv["a_value"], "frac"),
                    fmt_num(lv["e_value"], "frac"),
                    fmt_num(lv["position_size_frac"], "frac"),
                    fmt_num(lv["is_degraded"]),
                    "stale" if lv["is_stale"] else "",
                ]
                for lv in ctx["levers"]
            ],
            ["bucket", "exec", "bar", "A", "E", "size", "degraded", ""],
            "    ",
        )
        if ctx["levers"]
        else "    (no lever bar ended by then)"
    )
    out.append(
        "  Volatility regime (configured detector; hmm = the HMM's label and probabilities) and quadrant "
        "(marts.fct_volatility_regimes)"
    )
    out.append(
        text_table(
            [
                [
                    v["series_id"],
                    show_time(v["bar_start"]),
                    v["vol_regime"] or "-",
                    v["hmm_vol_regime"] or "-",
                    fmt_num(v["hmm_p_high_vol"], "frac"),
                    fmt_num(v["hmm_p_high_vol_next"], "frac"),
                    v["direction"] or "-",
                    v["quadrant"] or "-",
                    "stale" if v["is_stale"] else "",
                ]
                for v in ctx["volatility"]
            ],
            ["series", "bar", "vol", "hmm", "hmm p_high", "hmm p_high_next", "direction", "quadrant", ""],
            "    ",
        )
        if ctx["volatility"]
        else "    (no row ended by then)"
    )
    out.append("  Trend x volatility per market (marts.fct_market_regimes, daily)")
    out.append(
        text_table(
            [
                [
                    m["market"],
                    show_time(m["bar_start"]) or "none",
                    m["regime"] or "-",
                    fmt_num(m["price"], "price"),
                    fmt_num(m["ma"], "price"),
                    fmt_num(m["vol_value"]),
                    "stale" if m["is_stale"] else "",
                ]
                for m in ctx["markets"]
            ],
            ["market", "day", "regime", "price", "ma", "vol", ""],
            "    ",
        )
        if ctx["markets"]
        else "    (no market configured in seed trend_vol_markets)"
    )
    return out


def _lifecycle_text(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for g in items:
        since = f" since {show_time(g['state_since'])}" if g["state_since"] else ""
        out.append(f"  {g['grid_id']} ({g['grid_kind']}): {g['state']}{since}")
        if g["last_change"]:
            c = g["last_change"]
            out.append(
                f"    last change  {show_time(c['bar_start'])} {c['from_state'] or 'start'} -> {c['to_state']} "
                f"({c['reason']})"
            )
        out.append(
            f"    placement    [{fmt_num(g['lower'], 'price')}, {fmt_num(g['upper'], 'price')}], "
            f"{fmt_num(g['levels'], 'int')} levels, allocation {fmt_num(g['allocation_frac'], 'frac')}"
        )
        out.append(
            f"    this bar     warning conditions {g['warning_conditions']}, LATEST triggers "
            f"{g['latest_triggers']}, MANDATORY triggers {g['mandatory_triggers']}; fired: "
            f"{', '.join(g['fired_triggers']) or 'none'}"
        )
        if g["state"] == "PROBATION":
            out.append(f"    probation    {g['probation_bars']} bars, {g['round_trips']} round trips")
        gates = g["restart_gates"]
        if gates:

            def gate(k: int) -> str:
                need = gates[f"gate_{k}_required_bars"]
                return f"gate {k} {gates[f'gate_{k}_bars']}/{fmt_num(need, 'int')}"

            out.append(
                f"    restart      stopped ({g['stop_reason']}) {gates['bars_since_stop']} bars ago; "
                f"{gate(1)}, {gate(2)}, {gate(3)} bars; {gates['gates_passed']} of 3 passed; "
                f"time floor {gates['time_floor_bars']} bars; restart permitted: "
                f"{fmt_num(gates['restart_permitted'])}"
            )
            out.append(
                f"    post-stop    range [{fmt_num(gates['post_stop_lower'], 'price')}, "
                f"{fmt_num(gates['post_stop_upper'], 'price')}]"
            )
        else:
            out.append(f"    restart      permitted: {fmt_num(g['restart_permitted'])}")
        n = g["last_notification"]
        if n:
            sent = "sent" if n["is_sent"] else f"suppressed: {n['suppressed_reason']}"
            out.append(f"    notified     {n['state']} at {show_time(n['bar_start'])} ({sent})")
    return out


def format_symbol_at(result: dict[str, Any]) -> str:
    """:func:`analyze_symbol` output as readable text, one block per section."""
    b = result["bar"]
    lines = [
        f"{result['symbol']} on {b['exchange']}: {b['bar_interval']} bar {show_time(b['bar_start'])} - "
        f"{show_time(b['bar_end'])} UTC, the last bar ended at or before {show_time(result['requested_at'])} UTC "
        f"(segment {b['segment_id']})"
    ]
    if b["bars_missing"]:
        lines.append(f"  note: the {b['bars_missing']} bar(s) after it are missing (an outage inside the segment)")
    lines += ["", "Grid verdict (marts.fct_grid_regimes)", *_verdict_lines(result["grid_verdict"])]
    c = result["coarse_verdict"]
    lines.append(
        f"  4h verdict   {c['verdict']}, confidence {fmt_num(c['confidence'], 'frac')} (4h bar "
        f"{show_time(c['bar_start'])} - {show_time(c['bar_end'])})"
        if c and c["verdict"]
        else "  4h verdict   none (the 4h series is not warm)"
    )
    r = result["ranges"]
    if r:
        lines += [
            "",
            "Ranges (marts.fct_grid_ranges; whole window, fit part = without the holdout)",
            text_table(
                [
                    [
                        m["method"] + (" (primary)" if m["method"] == r["primary_method"] else ""),
                        fmt_num(m["support"], "price"),
                        fmt_num(m["resistance"], "price"),
                        fmt_num(m["support_fit"], "price"),
                        fmt_num(m["resistance_fit"], "price"),
                    ]
                    for m in r["methods"]
                ],
                ["method", "support", "resistance", "support_fit", "resistance_fit"],
            ),
            f"  method agreement {fmt_num(r['method_agreement'], 'frac')}; width {fmt_num(r['width_pct'], 'pct')} "
            f"of mid, {fmt_num(r['width_atr'])} ATR, {fmt_num(r['width_rw'])} x a random walk's range; "
            f"traversals {fmt_num(r['traversals'], 'int')}; containment_K {fmt_num(r['containment_k'], 'frac')}",
        ]
    lines += ["", "Configured grids (seed grid_configs, marts.fct_grid_recommendations)"]
    if result["recommendations"]:
        lines.append(
            text_table(
                [
                    [
                        g["grid_id"],
                        f"[{fmt_num(g['lower'], 'price')}, {fmt_num(g['upper'], 'price')}]",
                        fmt_num(g["levels"], "int"),
                        fmt_num(g["enabled"]),
                        fmt_num(g["is_price_inside"]),
                        fmt_num(g["overlap"], "frac"),
                        g["exit_state"] or "-",
                        g["rule"],
                        g["recommendation"] + (" (act)" if g["is_actionable"] else ""),
                        (
                            f"[{fmt_num(g['suggested_lower'], 'price')}, {fmt_num(g['suggested_upper'], 'price')}]"
                            f" x{fmt_num(g['suggested_levels'], 'int')}"
                            if g["suggested_lower"] is not None
                            else ""
                        ),
                    ]
                    for g in result["recommendations"]
                ],
                [
                    "grid",
                    "grid range",
                    "levels",
                    "enabled",
                    "inside",
                    "overlap",
                    "exit state",
                    "rule",
                    "recommendation",
                    "suggested",
                ],
            )
        )
    else:
        versions = ", ".join(
            f"{g['grid_id']} on {g['exchange']} from {show_time(g['valid_from'])}" for g in result["configured_grids"]
        )
        lines.append(
            "  none in force at this bar"
            + (
                f" (versions of {result['symbol']}: {versions})"
                if versions
                else f" (none configured for {result['symbol']})"
            )
        )
    lines += [
        "",
        "Grid lifecycle (marts.fct_grid_lifecycle, fct_exit_states, fct_restart_gates, fct_exit_notifications)",
    ]
    lines += _lifecycle_text(result["lifecycle"]) or ["  no grid of this series at the bar"]
    bucket = result["context"]["bucket"]
    lines += ["", f"Bucket of {result['symbol']} (seed token_buckets): {bucket or 'none'}"]
    lines += _context_text(result["context"], result["requested_at"])
    return "\n".join(lines)


def format_driver_at(result: dict[str, Any]) -> str:
    """:func:`analyze_driver` output as readable text."""
    b, u = result["bar"], result["uptrend"]
    lines = [
        f"{result['driver']} {result['timeframe']}: {b['bar_interval']} bar {show_time(b['bar_start'])} - "
        f"{show_time(b['bar_end'])} UTC, the last bar ended at or before {show_time(result['requested_at'])} UTC"
    ]
    if b["bars_missing"]:
        lines.append(f"  note: the {b['bars_missing']} bar(s) after it are missing")
    lines += [
        "",
        "Uptrend Engine (marts.fct_uptrend_states)",
        f"  state        {u['state']} since {show_time(u['state_since'])} (previous bar: {u['prev_state'] or '-'})",
        f"  flags        {_flags(u)}" + (f", exit reason {u['exit_reason']}" if u["exit_reason"] else ""),
        f"  scores       TS {fmt_num(u['ts_score'], 'frac')}  OX {fmt_num(u['ox'], 'frac')}  "
        f"DX {fmt_num(u['dx'], 'frac')}  EDX {fmt_num(u['edx'], 'frac')}",
        "",
    ]
    lines += _context_text(result["context"], result["requested_at"])
    return "\n".join(lines)


def _distribution_lines(rows: list[dict[str, Any]], indent: str = "    ") -> str:
    return text_table(
        [[d["label"], str(d["count"]), fmt_num(d["share"], "pct")] for d in rows], ["label", "bars", "share"], indent
    )


def _matrix_lines(transitions: list[dict[str, Any]], order: Sequence[str], indent: str = "    ") -> str:
    labels = [x for x in order if any(t["from"] == x or t["to"] == x for t in transitions)]
    labels += sorted(({t["from"] for t in transitions} | {t["to"] for t in transitions}) - set(labels))
    counts = {(t["from"], t["to"]): t["count"] for t in transitions}
    return text_table(
        [[a] + [str(counts.get((a, b), 0)) for b in labels] for a in labels], ["from \\ to"] + labels, indent
    )


def _value_lines(name: str, dist: dict[str, Any], by_label: dict[str, dict[str, Any]]) -> list[str]:
    header = ["", "n", "mean", "min"] + [f"p{round(100 * q)}" for q in SUMMARY_QUANTILES] + ["max"]

    def row(label: str, d: dict[str, Any]) -> list[str]:
        return (
            [label, str(d["n"]), fmt_num(d["mean"], "frac"), fmt_num(d["min"], "frac")]
            + [fmt_num(q["value"], "frac") for q in d["quantiles"]]
            + [fmt_num(d["max"], "frac")]
        )

    lines = [
        f"  {name} distribution",
        text_table([row("all", dist)] + [row(k, v) for k, v in by_label.items()], header, "    "),
        text_table(
            [
                [
                    f"[{lo['lower']:.1f}, {lo['upper']:.1f}{']' if i == len(dist['bins']) - 1 else ')'}",
                    str(lo["count"]),
                    fmt_num(lo["share"], "pct"),
                ]
                for i, lo in enumerate(dist["bins"])
            ],
            [f"{name} bin", "bars", "share"],
            "    ",
        ),
    ]
    return lines


def format_symbol_batch(result: dict[str, Any]) -> str:
    """:func:`summarize_symbol` output as readable text (the per-bar rows are left out:
    --out FILE.csv writes them)."""
    v = result["verdicts"]
    lines = [
        f"{result['symbol']}: {v['bars']} {result['bar_interval']} bars ended in [{show_time(result['from'])}, "
        f"{show_time(result['to'])}] UTC (bars {show_time(result['first_bar_start'])} to "
        f"{show_time(result['last_bar_start'])}; {', '.join(result['exchanges'])}); "
        f"{v['labelled_bars']} with a verdict",
        "",
        "Verdicts (marts.fct_grid_regimes)",
        _distribution_lines(v["distribution"]),
        f"  transitions ({v['changes']} changes)",
        _matrix_lines(v["transitions"], VERDICTS),
        *_value_lines("confidence", v["value"], v["value_by_label"]),
        "  4h verdict carried by the 1h bars",
        _distribution_lines(result["coarse_verdicts"])
        if any(d["count"] for d in result["coarse_verdicts"])
        else "    (none: the 4h series is not warm on these bars)",
        "",
        "Lifecycle (marts.fct_grid_lifecycle): bars per grid and state",
    ]
    lines.append(
        text_table(
            [[s["grid_id"], s["state"], str(s["bars"])] for s in result["lifecycle_states"]],
            ["grid", "state", "bars"],
            "    ",
        )
        if result["lifecycle_states"]
        else "    (none)"
    )
    lines.append(f"  state changes (marts.fct_exit_states): {len(result['lifecycle_events'])}")
    if result["lifecycle_events"]:
        lines.append(
            text_table(
                [
                    [show_time(e["bar_start"]), e["grid_id"], e["from_state"] or "start", e["to_state"], e["reason"]]
                    for e in result["lifecycle_events"]
                ],
                ["bar", "grid", "from", "to", "reason"],
                "    ",
            )
        )
    n = result["notification_counts"]
    sent = sum(c["count"] for c in n if c["is_sent"])
    lines.append(
        f"  exit notifications (marts.fct_exit_notifications): {sent} sent, "
        f"{sum(c['count'] for c in n) - sent} suppressed"
    )
    if n:
        lines.append(
            text_table(
                [[c["grid_id"], c["state"], "sent" if c["is_sent"] else "suppressed", str(c["count"])] for c in n],
                ["grid", "state", "", "count"],
                "    ",
            )
        )
    if result["recommendations"]:
        lines += [
            "  configured-grid recommendations (marts.fct_grid_recommendations): bars",
            text_table(
                [[r["grid_id"], r["recommendation"], str(r["bars"])] for r in result["recommendations"]],
                ["grid", "recommendation", "bars"],
                "    ",
            ),
        ]
    return "\n".join(lines)


def format_driver_batch(result: dict[str, Any]) -> str:
    """:func:`summarize_driver` output as readable text."""
    s = result["states"]
    flags = ", ".join(f"{k.removesuffix('_flag')} {v}" for k, v in result["flags"].items())
    lines = [
        f"{result['driver']} {result['timeframe']}: {s['bars']} {result['bar_interval']} bars ended in "
        f"[{show_time(result['from'])}, {show_time(result['to'])}] UTC (bars "
        f"{show_time(result['first_bar_start'])} to {show_time(result['last_bar_start'])})",
        "",
        "Uptrend states (marts.fct_uptrend_states)",
        _distribution_lines(s["distribution"]),
        f"  transitions ({s['changes']} changes)",
        _matrix_lines(s["transitions"], UPTREND_STATES),
        *_value_lines("TS score", s["value"], s["value_by_label"]),
        f"  flags (bars): {flags}",
        "",
        "Volatility regime (vol_regime, marts.fct_volatility_regimes)",
        _distribution_lines(result["vol_regimes"]),
        "  quadrant",
        _distribution_lines(result["quadrants"]),
    ]
    return "\n".join(lines)


def format_text(result: dict[str, Any]) -> str:
    """Any analyze result as text, by its ``kind``."""
    return {
        "symbol_at": format_symbol_at,
        "driver_at": format_driver_at,
        "symbol_batch": format_symbol_batch,
        "driver_batch": format_driver_batch,
    }[result["kind"]](result)
