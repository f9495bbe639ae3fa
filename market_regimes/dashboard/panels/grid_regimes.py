"""Panel: grid range regimes per grid series (``marts.fct_grid_regimes``, docs/grid-regimes.md).

One chart per grid series (exchange x symbol x bar interval): top, the close with the
discovered range [support, resistance] as a filled band and the background shaded by
verdict (RANGE_OK green, RANGE_WEAK yellow, TREND red, TRANSITION orange; bars without a
verdict, the warm-up, unshaded); bottom, the verdict's confidence (0-1). The unified
hover names the verdict and the step that decided it (``decided_by``), the close, the
range, the confidence and the five scores (0-100, rounded to integers). Intraday series
show their most recent ``max_intraday_bars`` bars, at most :data:`MAX_BARS`.

The 1h views also show the lifecycle of the series' virtual grid (grid_id
``virtual|<exchange>|<symbol>``, docs/grid-lifecycle.md; the lifecycle walks 1h bars only,
so the 4h views never show it): from ``marts.fct_grid_lifecycle``, its placement as two
thin magenta step lines (lower, upper; legend ``grid [lower, upper]``) on the bars where
it runs (PROBATION, NORMAL, WARNING, LATEST_ACCEPTABLE_EXIT, MANDATORY_EXIT) and NaN on the
others, so the lines stop while it is DISABLED or EXITED, its state on a second line of
the verdict's hover (``virtual grid NORMAL``) and its state after the last bar in the
title; from ``marts.fct_exit_states``, a marker at the close of each state change in the
view: enable / restart (to PROBATION) a green triangle, exit (to EXITED, any reason) a
red x, an escalation to WARNING / LATEST_ACCEPTABLE_EXIT / MANDATORY_EXIT a small yellow /
orange / dark red dot (de-escalations are not marked), the hover giving from -> to
state, the reason and the names of the triggers that fired. Either mart missing (or
without rows of the series): that part is left out; without both the views are exactly
as before. Views with lifecycle traces get a taller top margin for a second legend row.

The panel has one view per grid series (104 on the sample: every symbol at 1h and 4h),
several times the views of the other time-series panels, so its figures are kept compact
(plotly serialises numpy arrays as base64 typed arrays): the shading is one heatmap cell
per verdict run (a layout shape per run would cost ~250 bytes; the cell also carries the
verdict's hover), the y values are float32, the hover scores uint8, and a series without
holes gets ``x0``/``dx`` instead of an array of times per trace: ~37 bytes a bar. At
2,000 bars a series the panel would add ~7.5 MB to the sample's page (14 MB without it,
kept under 20 MB by tests/integration/test_dashboard.py); :data:`MAX_BARS` keeps it near
3.9 MB. The lifecycle keeps to the same discipline: the placement lines are float32 on the
view's x0 / dx and span only the bars from the first to the last running one (~10.7 bytes
a bar for the pair, so at most ~11 kB a 1h view at 1,000 bars), the markers exist only at
the changes (~230 bytes a kind shown plus ~120 a change with its hover text, the times as
float64 of those bars only), and the state in the hover splits the verdict cells where
it changes (~50 bytes a state run). On the unit-test fixture (100 bars, the grid running
on 58 of 65, 7 changes of 5 kinds) a 1h view grows from 5.7 to 10.0 kB; on the sample's
52 1h views at most ~0.6-0.7 MB (estimated: a grid running across every window).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import axis_holes, break_gaps, display_limit, epoch_ms, query, relation_exists, window_note
from ..settings import Settings, interval_minutes
from ..style import EXECUTION_TIMEFRAME_ORDER, SHADE_OPACITY, make_figure, order_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Grid range regimes"
SOURCE = "marts.fct_grid_regimes"
# The grid lifecycle (docs/grid-lifecycle.md), drawn on the 1h views when built: per bar
# state and placement, and the state-change history. Either missing: that part is left out.
LIFECYCLE = "marts.fct_grid_lifecycle"
EXIT_STATES = "marts.fct_exit_states"
OPTIONAL = (LIFECYCLE, EXIT_STATES)
# The interval the lifecycle walks (1h bars only): the views of other intervals never show it.
LIFECYCLE_INTERVAL = "1h"
# States in which a grid is placed and trading: its [lower, upper] is drawn on these bars only.
RUNNING_STATES = ("PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT")
# Event markers per to_state of a change (marts.fct_exit_states): legend name and marker.
# WARNING / LATEST_ACCEPTABLE_EXIT / MANDATORY_EXIT are marked when entered upwards (any
# reason but de_escalation); PROBATION is an enable or restart, EXITED an exit of any reason.
EVENT_MARKERS = {
    "PROBATION": ("grid start", {"symbol": "triangle-up", "size": 11, "color": "#2ca02c"}),
    "EXITED": ("grid exit", {"symbol": "x", "size": 10, "color": "#d62728"}),
    "WARNING": ("→ WARNING", {"symbol": "circle", "size": 7, "color": "#ffd700"}),
    "LATEST_ACCEPTABLE_EXIT": ("→ LATEST", {"symbol": "circle", "size": 7, "color": "#ff7f0e"}),
    "MANDATORY_EXIT": ("→ MANDATORY", {"symbol": "circle", "size": 7, "color": "#8b0000"}),
}
# Top margin (pixels) of a view with lifecycle traces: room for a second row of legend
# entries under the title (the house margin is 60).
LIFECYCLE_MARGIN_TOP = 95
LIFECYCLE_TITLE_PAD = 10
MARKER_OUTLINE = {"width": 0.6, "color": "#222"}
# Most recent bars shown per intraday grid series, below --max-intraday-bars (which still
# applies when smaller): 1,000 bars are ~42 days of 1h bars (six 168-hour range windows),
# ~167 days of 4h bars. None: --max-intraday-bars alone. Daily series are shown whole.
MAX_BARS: int | None = 1000
# Verdicts in display (legend) order with their shading: green, light yellow, red, orange
# (green and red of style.py's regime colours; at SHADE_OPACITY the palette's amber
# #ff9f1c could hardly be told from a yellow, so orange is the page's MA orange).
VERDICT_COLOURS = {"RANGE_OK": "#2ca02c", "RANGE_WEAK": "#ffd700", "TREND": "#d62728", "TRANSITION": "#ff7f0e"}
# Shading colour of a verdict outside VERDICT_COLOURS (a later verdict renders without edits).
OTHER_VERDICT_COLOUR = "#8c8c8c"
# The five scores (0-100) shown in the hover, (column, hover label), in the mart's order.
SCORES = (
    ("trend_score", "trend"),
    ("mean_rev_score", "mean-rev"),
    ("range_quality_score", "range quality"),
    ("vol_change_score", "vol change"),
    ("grid_capacity", "capacity"),
)
COLUMNS = (
    "bar_start",
    "verdict",
    "decided_by",
    "confidence",
    *(c for c, _ in SCORES),
    "support",
    "resistance",
    "close",
)
# Series listed first in the selector (the rest alphabetically).
SYMBOL_ORDER = ("BTCUSDT", "ETHUSDT")
# Vertical share of the chart (paper coordinates) for price (top) and confidence (bottom).
PRICE_DOMAIN = [0.36, 1.0]
CONFIDENCE_DOMAIN = [0.0, 0.3]
# Share of the price span added below and above it (the shading fills the price pane).
PRICE_PAD = 0.04
PRICE_COLOUR, BAND_LINE_COLOUR, CONFIDENCE_COLOUR = "#1f3b57", "#5b8fbf", "#9467bd"
# The virtual grid's placement lines (magenta: apart from the verdict shading and the band).
GRID_LINE_COLOUR = "#c2185b"
BAND_FILL = "rgba(91, 143, 191, 0.22)"
SEP = " · "
PRICE_HOVER = "%{y:,.6g}<extra></extra>"


def subtitle(settings: Settings) -> str:
    """One line under the title: what is drawn and the downsampling."""
    shades = ", ".join(f"{v} {c}" for v, c in zip(VERDICT_COLOURS, ("green", "yellow", "red", "orange")))
    return (
        f"Per grid series (exchange x symbol x bar interval) of {SOURCE}: close with the discovered range "
        f"[support, resistance] (band); background = verdict ({shades}; unshaded: no verdict yet); bottom: "
        f"the verdict's confidence (0-1). The hover names decided_by and the five scores (0-100, rounded). "
        f"Pick a series; {shown_note(settings)}."
    )


def shown_bars(bar_interval: str, settings: Settings) -> int | None:
    """Bars shown of a series of ``bar_interval``: the most recent ``max_intraday_bars`` of an
    intraday series, at most :data:`MAX_BARS`; None (all) for daily and longer bars."""
    limit = display_limit(bar_interval, settings)
    return limit if limit is None or MAX_BARS is None else min(limit, MAX_BARS)


def shown_note(settings: Settings) -> str:
    """Subtitle fragment that states the intraday downsampling of this panel."""
    if MAX_BARS is None or settings.max_intraday_bars <= MAX_BARS:
        return window_note(settings)
    return (
        f"intraday series show their most recent {MAX_BARS:,} bars (this panel's cap, below "
        f"--max-intraday-bars {settings.max_intraday_bars:,}: it has a view per grid series); daily series "
        f"are shown whole"
    )


def series_key(exchange: str, symbol: str, bar_interval: str) -> tuple:
    """Sort key of the views: exchange, then BTC / ETH before the other symbols, then the
    interval from long to short (4h before 1h, as the levers panel)."""
    return (str(exchange), order_key(SYMBOL_ORDER)(symbol), order_key(EXECUTION_TIMEFRAME_ORDER)(bar_interval))


def view_label(exchange: str, symbol: str, bar_interval: str) -> str:
    """The selector text of a series: ``binance · BTCUSDT (1h)``."""
    return f"{exchange}{SEP}{symbol} ({bar_interval})"


def _rows(con, bar_interval: str, limit: int | None, lifecycle: bool = False) -> pd.DataFrame:
    """Every series of one interval, its most recent ``limit`` bars (all when None), in time order.

    ``lifecycle``: also the state, lower and upper of the series' virtual grid (grid_id
    ``virtual|<exchange>|<symbol>``) at each bar (columns grid_state, grid_lower, grid_upper;
    null where the lifecycle has no row).
    """
    cap = (
        ""
        if limit is None
        else f"qualify row_number() over (partition by exchange, symbol order by bar_start desc) <= {int(limit)}"
    )
    if not lifecycle:
        return query(
            con,
            f"""
            select exchange, symbol, {", ".join(COLUMNS)}
            from {SOURCE} where bar_interval = ? {cap}
            order by exchange, symbol, bar_start""",
            [bar_interval],
        )
    return query(
        con,
        f"""
        with shown as (
            select exchange, symbol, {", ".join(COLUMNS)}
            from {SOURCE} where bar_interval = ? {cap})
        select shown.*, l.state as grid_state, l.lower as grid_lower, l.upper as grid_upper
        from shown left join {LIFECYCLE} l
          on l.grid_id = 'virtual|' || shown.exchange || '|' || shown.symbol and l.bar_start = shown.bar_start
        order by shown.exchange, shown.symbol, shown.bar_start""",
        [bar_interval],
    )


def _events(con, since) -> pd.DataFrame:
    """The marked state changes (:data:`EVENT_MARKERS`) of every virtual grid from ``since`` on,
    in time order: exchange, symbol, bar_start, from_state, to_state, reason, triggers (JSON text)."""
    states = ", ".join(f"'{s}'" for s in EVENT_MARKERS)
    return query(
        con,
        f"""
        select exchange, symbol, bar_start, from_state, to_state, reason, cast(triggers as varchar) as triggers
        from {EXIT_STATES}
        where grid_id = 'virtual|' || exchange || '|' || symbol and bar_start >= ? and to_state in ({states})
          and coalesce(reason, '') <> 'de_escalation'
        order by exchange, symbol, bar_start, change_seq""",
        [since],
    )


def x_spec(starts: pd.Series, bar_interval: str) -> dict:
    """The x of every trace of a chart: ``{"x0", "dx"}`` (epoch ms) when the bars are evenly
    spaced one interval apart (no array at all), else ``{"x": epoch ms}``."""
    step_ms = interval_minutes(bar_interval) * 60_000.0
    x = epoch_ms(starts)
    if len(x) and np.all(np.diff(x) == step_ms):
        return {"x0": float(x[0]), "dx": step_ms}
    return {"x": x}


def _f4(values: pd.Series) -> np.ndarray:
    """float32 values, NaN where missing (half the bytes of float64; ~7 significant digits)."""
    return values.to_numpy(dtype=float, na_value=np.nan).astype(np.float32)


def _scores(frame: pd.DataFrame) -> np.ndarray:
    """(bars, 5) uint8: the five scores rounded to integers (0 where missing; such bars have
    no confidence, so no hover point)."""
    values = frame[[c for c, _ in SCORES]].to_numpy(dtype=float, na_value=np.nan)
    return np.nan_to_num(np.clip(np.round(values), 0, 255), nan=0.0).astype(np.uint8)


def _run_bounds(rows: pd.DataFrame, bar_interval: str, states: pd.Series | None = None):
    """The runs of :func:`verdict_runs` (also broken where ``states``, the per-bar lifecycle
    state, changes, when given): (first row, start, end) arrays, one element per run."""
    verdicts = rows["verdict"].to_numpy(dtype=object)
    decided = rows["decided_by"].fillna("").to_numpy(dtype=object)
    starts = epoch_ms(rows["bar_start"])
    step = interval_minutes(bar_interval) * 60_000.0
    present = rows["verdict"].notna().to_numpy()
    if not present.any():
        return np.array([], dtype=np.int64), np.array([]), np.array([])
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (
        (verdicts[1:] != verdicts[:-1]) | (decided[1:] != decided[:-1]) | (np.diff(starts) != step) | ~present[:-1]
    )
    if states is not None:
        labels = states.fillna("").to_numpy(dtype=object)
        new[1:] |= labels[1:] != labels[:-1]
    first = np.flatnonzero(new & present)
    # each run ends before the next break (or at the last bar); a run holds bars with a verdict only
    following = np.append(np.flatnonzero(new), len(rows))
    last = following[np.searchsorted(following, first, side="right")] - 1
    return first, starts[first], starts[last] + step


def verdict_runs(rows: pd.DataFrame, bar_interval: str) -> tuple[np.ndarray, ...]:
    """Runs of equal (verdict, decided_by) over the bars, as :func:`data.runs` finds them
    (a run breaks at a change, at a bar without verdict and at a hole in the bars), in
    numpy (data.runs' pandas groupby costs ~10 ms a call, a second over this panel).

    Returns (verdict, decided_by, start, end) arrays, one element per run: start = epoch
    ms of the first bar, end = epoch ms of the last bar + one interval.
    """
    first, start, end = _run_bounds(rows, bar_interval)
    if not len(first):
        empty = np.array([], dtype=object)
        return empty, empty, start, end
    verdicts = rows["verdict"].to_numpy(dtype=object)
    decided = rows["decided_by"].fillna("").to_numpy(dtype=object)
    return verdicts[first], decided[first], start, end


def verdict_shading(
    rows: pd.DataFrame, bar_interval: str, low: float, high: float, holes=(), states: pd.Series | None = None
) -> list[dict]:
    """Background shading that also carries the verdict's hover: a one-row heatmap over the
    price pane [low, high] with one cell per run of (verdict, decided_by)
    (:func:`verdict_runs`), from the run's first bar to the end of its last, coloured by
    verdict; a stretch without verdict (warm-up, a hole) is an empty cell, neither drawn nor
    hovered. Then one legend-only entry per verdict shown. ``holes``: the holes cut out of
    the time axis (data.axis_holes); plotly drops heatmap cell edges inside a cut hole, so
    an edge at a hole's start (the end of the run before it) is drawn 1 ms earlier.
    ``states``: the virtual grid's lifecycle state per bar (1h views with a lifecycle): the
    runs also break where it changes (cells of one colour look as one) and the hover names
    it on a second line (``virtual grid NORMAL``; ``none`` where the lifecycle has no row).

    A heatmap cell is hovered exactly while the pointer is over it (bars, the other choice,
    take hover from up to half their trace's smallest position spacing beyond their edges,
    so the unified hover listed a neighbouring run too), and costs a few bytes a run
    instead of a layout shape (~250 bytes) a run.
    """
    first, start, end = _run_bounds(rows, bar_interval, states)
    if not len(first):
        return []
    verdicts = rows["verdict"].to_numpy(dtype=object)[first]
    decided = rows["decided_by"].fillna("").to_numpy(dtype=object)[first]
    labels = None if states is None else states.fillna("none").to_numpy(dtype=object)[first]
    shown = sorted(set(verdicts), key=order_key(tuple(VERDICT_COLOURS)))
    code = {v: i for i, v in enumerate(shown)}
    edges, z, custom = [float(start[0])], [], []
    for i, (verdict, by, a, b) in enumerate(zip(verdicts, decided, start, end)):
        if i and a > edges[-1]:  # no verdict between the previous run and this one
            edges.append(float(a))
            z.append(np.nan)
            custom.append(["", ""] if labels is None else ["", "", ""])
        edges.append(float(b))
        z.append(code[verdict])
        custom.append([verdict, by or "none"] if labels is None else [verdict, by or "none", labels[i]])
    edges = np.asarray(edges)
    for hole_start, hole_end in holes:
        a, b = epoch_ms(pd.Series([hole_start, hole_end]))
        edges[(edges >= a) & (edges < b)] = a - 1.0
    colours = [VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR) for v in shown]
    # a step colour scale: code i (zmin -0.5, zmax n - 0.5) gets colours[i]
    scale = [
        [bound, colour] for i, colour in enumerate(colours) for bound in (i / len(colours), (i + 1) / len(colours))
    ]
    rank = {v: i for i, v in enumerate(VERDICT_COLOURS)}
    hover = f"<b>%{{customdata[0]}}</b>{SEP}decided_by %{{customdata[1]}}"
    if labels is not None:
        hover += "<br>virtual grid %{customdata[2]}"
    traces = [
        {
            "type": "heatmap",
            "x": edges,
            "y": [low, high],
            "z": [np.asarray(z, dtype=np.float32)],
            "customdata": [custom],
            "zmin": -0.5,
            "zmax": len(colours) - 0.5,
            "colorscale": scale,
            "showscale": False,
            "opacity": SHADE_OPACITY,
            "hoverongaps": False,
            "name": "verdict",
            "hovertemplate": f"{hover}<extra></extra>",
        }
    ]
    for verdict, colour in zip(shown, colours):
        traces.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "name": verdict,
                "legendrank": rank.get(verdict, len(rank)),
                "hoverinfo": "skip",
                "marker": {"symbol": "square", "size": 12, "color": colour, "opacity": 0.6},
            }
        )
    return traces


def part_x(x: dict, first: int, stop: int) -> dict:
    """The x of bars ``first:stop`` of a chart whose x is ``x`` (:func:`x_spec`)."""
    if "x0" in x:
        return {"x0": x["x0"] + first * x["dx"], "dx": x["dx"]}
    return {"x": x["x"][first:stop]}


def band(drawn: pd.DataFrame, x: dict) -> list[dict]:
    """The range band: per stretch of bars with both support and resistance, a support line
    and a resistance line filled down to it (``tonexty`` would join the stretches across a
    gap with a slanted fill, so each stretch gets its own pair); the first pair has the
    legend entry ``range [support, resistance]``."""
    both = (drawn["support"].notna() & drawn["resistance"].notna()).to_numpy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], both.astype(np.int8), [0]])))
    traces = []
    for n, (first, stop) in enumerate(zip(edges[::2], edges[1::2])):
        part = part_x(x, first, stop)
        traces += [
            {
                "type": "scatter",
                **part,
                "y": _f4(drawn["support"].iloc[first:stop]),
                "name": "support",
                "mode": "lines",
                "legendgroup": "range",
                "showlegend": False,
                "line": {"color": BAND_LINE_COLOUR, "width": 0.8},
                "hovertemplate": f"support {PRICE_HOVER}",
            },
            {
                "type": "scatter",
                **part,
                "y": _f4(drawn["resistance"].iloc[first:stop]),
                "name": "range [support, resistance]" if n == 0 else "resistance",
                "mode": "lines",
                "legendgroup": "range",
                "showlegend": n == 0,
                "fill": "tonexty",
                "fillcolor": BAND_FILL,
                "line": {"color": BAND_LINE_COLOUR, "width": 0.8},
                "hovertemplate": f"resistance {PRICE_HOVER}",
            },
        ]
    return traces


def placement(drawn: pd.DataFrame, x: dict) -> list[dict]:
    """The virtual grid's placement: a lower and an upper step line (float32, the legend
    entry ``grid [lower, upper]`` on the upper) with the grid's bounds on the bars
    where it runs (:data:`RUNNING_STATES`) and NaN on the others (DISABLED, EXITED, no
    lifecycle row, a hole), so the lines stop where the grid is off. Only the bars from
    the first to the last running one are sent; none when the grid never runs in the view."""
    running = drawn["grid_state"].isin(RUNNING_STATES).to_numpy()
    if not running.any():
        return []
    where = np.flatnonzero(running)
    first, stop = int(where[0]), int(where[-1]) + 1
    part, on = part_x(x, first, stop), running[first:stop]
    line = {"color": GRID_LINE_COLOUR, "width": 1, "shape": "hv"}
    return [
        {
            "type": "scatter",
            **part,
            "y": np.where(on, _f4(drawn["grid_lower"].iloc[first:stop]), np.float32(np.nan)),
            "name": "grid lower",
            "mode": "lines",
            "legendgroup": "virtual grid",
            "showlegend": False,
            "line": line,
            "hovertemplate": f"grid lower {PRICE_HOVER}",
        },
        {
            "type": "scatter",
            **part,
            "y": np.where(on, _f4(drawn["grid_upper"].iloc[first:stop]), np.float32(np.nan)),
            "name": "grid [lower, upper]",
            "mode": "lines",
            "legendgroup": "virtual grid",
            "line": line,
            "hovertemplate": f"grid upper {PRICE_HOVER}",
        },
    ]


def trigger_names(triggers) -> str:
    """The trigger names of a change's ``triggers`` JSON (list of {trigger, value}), comma-separated
    in their order; ``none`` when there are none (or the text is not such a list)."""
    try:
        items = json.loads(triggers) if isinstance(triggers, str) else []
    except ValueError:
        items = []
    names = (
        [str(t["trigger"]) for t in items if isinstance(t, dict) and t.get("trigger") is not None]
        if isinstance(items, list)
        else []
    )
    return ", ".join(dict.fromkeys(names)) or "none"


def event_markers(events: pd.DataFrame, rows: pd.DataFrame) -> list[dict]:
    """One marker trace per kind of state change of the virtual grid (:data:`EVENT_MARKERS`,
    in that order; kinds without a change in the view left out), a marker at the close of
    each change's bar; changes at bars not shown are dropped. The hover: from -> to state,
    the reason and the names of the triggers that fired at that bar."""
    at = events.merge(rows[["bar_start", "close"]], on="bar_start")
    traces = []
    for to_state, (name, marker) in EVENT_MARKERS.items():
        part = at[at["to_state"] == to_state]
        if part.empty:
            continue
        text = [
            f"{frm if isinstance(frm, str) else 'start'} → <b>{to_state}</b> ({reason})<br>"
            f"triggers: {trigger_names(trig)}"
            for frm, reason, trig in zip(part["from_state"], part["reason"], part["triggers"])
        ]
        traces.append(
            {
                "type": "scatter",
                "x": epoch_ms(part["bar_start"]),
                "y": _f4(part["close"]),
                "mode": "markers",
                "name": name,
                "marker": {**marker, "line": MARKER_OUTLINE},
                "text": text,
                "hovertemplate": "grid %{text}<extra></extra>",
            }
        )
    return traces


def _figure(
    exchange: str,
    symbol: str,
    interval: str,
    rows: pd.DataFrame,
    limit: int | None,
    settings: Settings,
    events: pd.DataFrame | None = None,
) -> go.Figure:
    """The chart of one series from its shown rows (time order). The virtual grid's
    lifecycle is drawn when ``rows`` has a grid_state (:func:`_rows` with lifecycle) with a
    value on some bar, and its ``events`` (:func:`_events`, this series) when given."""
    lifecycle = "grid_state" in rows and rows["grid_state"].notna().any()
    prices = rows[["close", "support", "resistance"]].to_numpy(dtype=float, na_value=np.nan)
    if lifecycle:  # the placement lines stay inside the price pane
        running = rows["grid_state"].isin(RUNNING_STATES).to_numpy()[:, None]
        bounds = rows[["grid_lower", "grid_upper"]].to_numpy(dtype=float, na_value=np.nan)
        prices = np.concatenate([prices, np.where(running, bounds, np.nan)], axis=1)
    finite = prices[np.isfinite(prices)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = (high - low) * PRICE_PAD or abs(high) * PRICE_PAD or 1.0
    low, high = low - pad, high + pad
    holes = axis_holes(rows["bar_start"], interval, settings)
    drawn = break_gaps(rows, interval)
    x = x_spec(drawn["bar_start"], interval)
    lines = placement(drawn, x) if lifecycle else []
    marks = event_markers(events, rows) if events is not None and not events.empty else []
    traces = [
        *verdict_shading(rows, interval, low, high, holes, rows["grid_state"] if lifecycle else None),
        *band(drawn, x),
        *lines,
        {
            "type": "scatter",
            **x,
            "y": _f4(drawn["close"]),
            "name": "close",
            "mode": "lines",
            "line": {"color": PRICE_COLOUR, "width": 1.4},
            "hovertemplate": f"close {PRICE_HOVER}",
        },
        {
            "type": "scatter",
            **x,
            "y": _f4(drawn["confidence"]),
            "name": "confidence",
            "yaxis": "y2",
            "mode": "lines",
            "line": {"color": CONFIDENCE_COLOUR, "width": 1.2},
            "customdata": _scores(drawn),
            "hovertemplate": (
                "confidence %{y:.2f}<br>"
                + SEP.join(f"{label} %{{customdata[{i}]}}" for i, (_, label) in enumerate(SCORES))
                + "<extra></extra>"
            ),
        },
        *marks,
    ]
    first, last = rows["bar_start"].iloc[0], rows["bar_start"].iloc[-1]
    shown = f"last {len(rows):,} bars" if limit is not None else f"{len(rows):,} bars"
    latest = rows.dropna(subset=["verdict"])
    now = (
        f"{SEP}latest {latest['verdict'].iloc[-1]} ({latest['confidence'].iloc[-1]:.2f})"
        if not latest.empty
        else f"{SEP}no verdict yet"
    )
    if lifecycle:
        state = rows["grid_state"].iloc[-1]
        now += f"{SEP}virtual grid {state if isinstance(state, str) else 'none'}"
    extra = {"margin": {"t": LIFECYCLE_MARGIN_TOP}} if lines or marks else {}  # their legend entries
    # price on top, confidence below, one shared date axis (the unified hover's header is bar_start)
    fig = make_figure(
        f"{exchange}{SEP}{symbol} ({interval}) — {shown}, {first:%Y-%m-%d} .. {last:%Y-%m-%d} UTC{now}",
        label=view_label(exchange, symbol, interval),
        height=settings.figure_height,
        traces=traces,
        time_axis=True,
        holes=holes,
        hovermode="x unified",
        hoversubplots="axis",
        xaxis={"anchor": "y2"},
        yaxis={"domain": PRICE_DOMAIN, "range": [low, high], "title": {"text": "close"}},
        yaxis2={"domain": CONFIDENCE_DOMAIN, "anchor": "x", "range": [0, 1], "title": {"text": "confidence"}},
        **extra,
    )
    if extra:  # the title at the top of the taller margin (by default it sits in its middle), legend below
        fig.layout.title.update(y=1, yanchor="top", pad={"t": LIFECYCLE_TITLE_PAD})
    return fig


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per grid series (exchange x symbol x bar_interval, ordered by
    :func:`series_key`); None when ``marts.fct_grid_regimes`` is missing. The 1h views
    also draw their virtual grid's lifecycle: the placement and the state in the hover
    when ``marts.fct_grid_lifecycle`` exists, the change markers when
    ``marts.fct_exit_states`` exists (without them the views are as before)."""
    if not relation_exists(con, SOURCE):
        return None
    with_lifecycle, with_events = relation_exists(con, LIFECYCLE), relation_exists(con, EXIT_STATES)
    intervals = [r[0] for r in con.execute(f"select distinct bar_interval from {SOURCE}").fetchall()]
    parts = []
    for interval in intervals:
        limit = shown_bars(interval, settings)
        lifecycle_view = interval == LIFECYCLE_INTERVAL
        frame = _rows(con, interval, limit, lifecycle=lifecycle_view and with_lifecycle)
        events = _events(con, frame["bar_start"].min()) if lifecycle_view and with_events and not frame.empty else None
        by_series = dict(iter(events.groupby(["exchange", "symbol"], sort=False))) if events is not None else {}
        for (exchange, symbol), rows in frame.groupby(["exchange", "symbol"], sort=False):
            parts.append(
                (
                    series_key(exchange, symbol, interval),
                    exchange,
                    symbol,
                    interval,
                    limit,
                    rows.reset_index(drop=True),
                    by_series.get((exchange, symbol)),
                )
            )
    parts.sort(key=lambda p: p[0])
    return [
        _figure(exchange, symbol, interval, rows, limit, settings, events)
        for _, exchange, symbol, interval, limit, rows, events in parts
    ]
