"""Colours, orderings and figure defaults shared by the panels (presentation only).

Regime colours go from red (bearish) over amber to green (bullish); an unknown regime
gets the next colour of :data:`FALLBACK_COLOURS`, so a new detector renders without
edits here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .data import X_FORMAT

if TYPE_CHECKING:
    import plotly.graph_objects as go

# Uptrend Engine states (docs/uptrend-engine.md): S0 no trend / exit, S1 early, S2 above the 333 EMA,
# S3 confirmed uptrend, S4 watch only.
STATE_COLOURS = {"S0": "#d62728", "S1": "#ff9f1c", "S2": "#9ccc65", "S3": "#2ca02c", "S4": "#8c8c8c"}
# Trend x vol regimes (docs/trend-vol-regimes.md).
MARKET_REGIME_COLOURS = {
    "uptrend_low_vol": "#2ca02c",
    "uptrend_high_vol": "#9ccc65",
    "downtrend_low_vol": "#ff9f1c",
    "downtrend_high_vol": "#d62728",
}
# Volatility quadrants (docs/volatility-regimes.md): CRISIS high vol + down, EXPANSION high vol + up/none,
# NORMAL low vol + up/down, QUIET low vol + no direction.
QUADRANT_COLOURS = {"QUIET": "#7f9fbf", "NORMAL": "#2ca02c", "EXPANSION": "#ff9f1c", "CRISIS": "#d62728"}
# Display order of regime labels in the report panels (others follow alphabetically).
REGIME_ORDER = (*STATE_COLOURS, *MARKET_REGIME_COLOURS, "low_vol", "high_vol", "QUIET", "NORMAL", "EXPANSION", "CRISIS")
# Detectors in the report panels' view lists (others follow alphabetically).
DETECTOR_ORDER = ("uptrend", "trend_vol", "volatility_rv", "volatility_hmm", "volatility_quadrant")
FALLBACK_COLOURS = ("#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
# Opacity of the regime background shading.
SHADE_OPACITY = 0.18
# The dotted vertical line drawn where a hole is cut out of a time axis (its label names the hole).
HOLE_LINE = {"color": "#6b7b8b", "width": 1, "dash": "dot"}

DRIVER_ORDER = ("BTC", "ALT", "nano", "small", "mid", "big", "BTC.d", "USDT.d")
TIMEFRAME_ORDER = ("macro", "meso", "micro")
BUCKET_ORDER = ("nano", "small", "mid", "big")
EXECUTION_TIMEFRAME_ORDER = ("1d", "4h", "1h", "15m", "5m", "1m")

# d3 time format of hover labels on date axes (UTC values, shown as stored).
HOVER_TIME_FORMAT = "%Y-%m-%d %H:%M"
# The plotly template every chart uses (emitted once in the page, see writer).
TEMPLATE = "plotly_white"


def order_key(order: tuple[str, ...]):
    """Sort key: members of ``order`` by position, anything else after them alphabetically."""
    rank = {v: i for i, v in enumerate(order)}
    return lambda v: (rank.get(v, len(rank)), str(v))


def colour_map(values, known: dict[str, str]) -> dict[str, str]:
    """A colour per value: from ``known`` where present, else the fallback palette in turn."""
    out, spare = {}, 0
    for v in values:
        if v in known:
            out[v] = known[v]
        else:
            out[v] = FALLBACK_COLOURS[spare % len(FALLBACK_COLOURS)]
            spare += 1
    return out


def shading(runs, colours: dict[str, str], yref: str = "y domain", xref: str = "x") -> list[dict]:
    """Background rectangles (layout shapes) shading a chart per regime run.

    ``runs``: DataFrame with value, start, end (data.runs). One rectangle per run spans
    the full height of the axis ``yref`` (a ``"y<n> domain"`` reference) below the traces;
    the first rectangle of each value carries its legend entry (ordered as ``colours``).
    """
    seen: set[str] = set()
    shapes = []
    rank = {v: i for i, v in enumerate(colours)}
    for value, start, end in zip(runs["value"], runs["start"], runs["end"]):
        first = value not in seen
        seen.add(value)
        shapes.append(
            {
                "type": "rect",
                "xref": xref,
                "yref": yref,
                "x0": pd.Timestamp(start).strftime(X_FORMAT),
                "x1": pd.Timestamp(end).strftime(X_FORMAT),
                "y0": 0,
                "y1": 1,
                "legendrank": rank[value],
                "fillcolor": colours[value],
                "opacity": SHADE_OPACITY,
                "line": {"width": 0},
                "layer": "below",
                "showlegend": first,
                "legendgroup": str(value),
                "name": str(value),
            }
        )
    return shapes


def rangebreaks(holes) -> list[dict]:
    """plotly ``xaxis.rangebreaks`` cutting the ``holes`` (data.axis_holes: (start, end)
    pairs) out of a date axis: the axis jumps from each start to its end, while hover
    labels and ticks keep showing the true times."""
    return [{"bounds": [pd.Timestamp(a).strftime(X_FORMAT), pd.Timestamp(b).strftime(X_FORMAT)]} for a, b in holes]


def hole_marks(holes, yref: str = "paper") -> list[dict]:
    """One dotted vertical line per cut hole, at the first bar after it, labelled with the
    span without data (``no data 2023-12-31 .. 2025-04-01``), over the full height of ``yref``."""
    marks = []
    for a, b in holes:
        a, b = pd.Timestamp(a), pd.Timestamp(b)
        days = (b - a) / pd.Timedelta(days=1)
        span = f"{days:,.0f} days" if days >= 2 else f"{days * 24:,.0f} hours"
        marks.append(
            {
                "type": "line",
                "name": "hole",
                "xref": "x",
                "yref": yref,
                "x0": b.strftime(X_FORMAT),
                "x1": b.strftime(X_FORMAT),
                "y0": 0,
                "y1": 1,
                "line": HOLE_LINE,
                "layer": "above",
                "label": {
                    "text": f"no data {a:%Y-%m-%d} .. {b:%Y-%m-%d} ({span})",
                    "textangle": -90,
                    "textposition": "end",
                    "xanchor": "right",
                    "font": {"size": 10, "color": "#4b5b6b"},
                },
            }
        )
    return marks


def make_figure(
    title: str, label: str, height: int, traces: list[dict], time_axis: bool = False, holes=(), **layout
) -> go.Figure:
    """A figure with the house layout: ``title`` on top, ``label`` (the text of the panel's
    view selector) in ``layout.meta.label``, the ``traces`` (plotly trace dicts with a
    ``type``); ``time_axis``: the x axis is a date axis fed with epoch milliseconds
    (data.epoch_ms). ``holes`` ((start, end) pairs from data.axis_holes, time axis only)
    are cut out of the x axis (:func:`rangebreaks`) and marked by a dotted line each
    (:func:`hole_marks`, after the ``shapes`` given).

    ``layout``: further top-level layout properties (no ``a_b`` shorthand); a dict value is
    merged into the house default of the same name (``legend``, ``xaxis``). Built in one
    validated constructor call: adding traces and layout afterwards is ~3-7x slower, which
    shows over the hundreds of views of the report panels.
    """
    import plotly.graph_objects as go  # here, not at import: loading the Dagster code location stays lean

    spec = {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 40},
        "meta": {"label": label},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    }
    if time_axis:
        spec["xaxis"] = {"type": "date", "hoverformat": HOVER_TIME_FORMAT}
    for key, value in layout.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    if time_axis and holes:
        spec["xaxis"] = {**spec["xaxis"], "rangebreaks": rangebreaks(holes)}
        spec["shapes"] = [*spec.get("shapes", ()), *hole_marks(holes)]
    return go.Figure(data=traces, layout=spec)


def view_label(fig: go.Figure, default: str) -> str:
    """The selector text of a figure (``layout.meta.label``), else ``default``."""
    meta = fig.layout.meta
    if isinstance(meta, dict) and meta.get("label"):
        return str(meta["label"])
    return default
