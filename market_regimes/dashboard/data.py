"""Small helpers the panels share: relation lookup, queries, display windows and runs.

Time axes carry milliseconds since the epoch (UTC, like every warehouse time) as float64
arrays, which plotly serialises as base64 (~11 bytes a point, vs ~28 for ISO strings) and
plotly.js shows as dates on an axis of type "date". Single timestamps (shape edges) are
``YYYY-MM-DD HH:MM`` strings.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from .settings import Settings, interval_minutes, is_intraday

# A hole of more than this many bars breaks a drawn line (the default of the dbt var
# max_gap_bars, which starts a new segment there).
MAX_GAP_BARS_DRAWN = 24
# strftime format of the x values of time-series charts (UTC).
X_FORMAT = "%Y-%m-%d %H:%M"


def epoch_ms(times: pd.Series) -> np.ndarray:
    """Naive-UTC datetime64 values as float64 milliseconds since 1970-01-01 (x values of a date axis)."""
    return times.to_numpy(dtype="datetime64[ms]").astype("int64").astype("float64")


def relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """True when ``relation`` (``schema.name``, a table or a view) exists in the connected database."""
    schema, _, name = relation.rpartition(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?",
        [schema or "main", name],
    ).fetchone()
    return bool(row and row[0])


def all_exist(con: duckdb.DuckDBPyConnection, *relations: str) -> bool:
    """True when every relation exists (see :func:`relation_exists`)."""
    return all(relation_exists(con, r) for r in relations)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """Run ``sql`` with positional ``?`` parameters and return a DataFrame."""
    return con.execute(sql, params or []).df()


def display_limit(bar_interval: str, settings: Settings) -> int | None:
    """The number of most recent bars shown for a series of ``bar_interval``; None = all."""
    return settings.max_intraday_bars if is_intraday(bar_interval) else None


def window_note(settings: Settings) -> str:
    """Subtitle fragment that states the intraday downsampling."""
    return (
        f"intraday series show their most recent {settings.max_intraday_bars:,} bars "
        f"(--max-intraday-bars); daily series are shown whole"
    )


def break_gaps(frame: pd.DataFrame, bar_interval: str, max_gap_bars: int = MAX_GAP_BARS_DRAWN) -> pd.DataFrame:
    """``frame`` (sorted by ``bar_start``) with an all-null row one interval after every hole
    of more than ``max_gap_bars`` bars, so plotly lines stop at the hole instead of joining
    its ends. Other columns of the inserted rows are null (numbers NaN)."""
    if len(frame) < 2:
        return frame
    step = pd.Timedelta(minutes=interval_minutes(bar_interval))
    starts = frame["bar_start"]
    holes = starts.diff() > step * max_gap_bars
    if not holes.any():
        return frame
    fillers = pd.DataFrame({"bar_start": starts.shift()[holes] + step})
    out = pd.concat([frame, fillers], ignore_index=True)
    return out.sort_values("bar_start", kind="stable").reset_index(drop=True)


def axis_holes(starts: pd.Series, bar_interval: str, settings: Settings) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The holes cut out of a chart's time axis: ``(start, end)`` per hole, in time order.

    ``starts``: the bar starts drawn in the chart (datetime64, sorted ascending). A hole
    between consecutive bars ``a`` and ``b`` is cut when ``b - a`` exceeds both
    ``settings.axis_gap_bars`` bar intervals and ``settings.axis_gap_min_hours`` (see
    :class:`~market_regimes.dashboard.settings.Settings`); it runs from the end of bar
    ``a`` (``a`` + one interval) to the start of ``b``, so every bar keeps its full width.
    Empty when ``axis_gap_bars`` is 0 or there are fewer than two bars.
    """
    if settings.axis_gap_bars == 0 or len(starts) < 2:
        return []
    step = pd.Timedelta(minutes=interval_minutes(bar_interval))
    threshold = max(step * settings.axis_gap_bars, pd.Timedelta(hours=settings.axis_gap_min_hours))
    values = pd.Series(pd.to_datetime(starts.to_numpy())).dropna().reset_index(drop=True)
    gaps = values.diff()
    holes = gaps > threshold
    return [(pd.Timestamp(values[i - 1]) + step, pd.Timestamp(values[i])) for i in holes[holes].index]


def runs(frame: pd.DataFrame, key: str, bar_interval: str) -> pd.DataFrame:
    """Contiguous runs of equal, non-null ``frame[key]`` over time, for background shading.

    ``frame`` has a ``bar_start`` (datetime64) column, sorted ascending. A run breaks when
    the value changes, when it is null, or at a hole in the bars (more than one interval
    between consecutive bars). Returns columns value, start (first bar_start), end (last
    bar_start + one interval), bars (count); an empty frame gives no rows.
    """
    cols = ["value", "start", "end", "bars"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    step = pd.Timedelta(minutes=interval_minutes(bar_interval))
    values = frame[key]
    starts = frame["bar_start"]
    breaks = (values != values.shift()) | (starts.diff() != step) | values.isna()
    run_id = breaks.cumsum()
    grouped = frame.assign(_run=run_id).loc[values.notna()].groupby("_run", sort=True)
    out = grouped.agg(
        value=(key, "first"), start=("bar_start", "first"), last=("bar_start", "last"), bars=("bar_start", "size")
    )
    out["end"] = out["last"] + step
    return out[cols].reset_index(drop=True)
