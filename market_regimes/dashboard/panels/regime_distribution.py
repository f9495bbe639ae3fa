"""Panel: how the bars of every driver x timeframe split over the uptrend states S0..S4.

One horizontal 100%-stacked bar chart over all bars of ``marts.fct_uptrend_states``
(not downsampled): one bar per driver x timeframe, one colour per state, the bar count
and share on hover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import query, relation_exists
from ..settings import Settings
from ..style import DRIVER_ORDER, STATE_COLOURS, TIMEFRAME_ORDER, colour_map, make_figure, order_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Uptrend-state distribution"
SOURCE = "marts.fct_uptrend_states"
# Pixels per driver x timeframe row, plus the chart's title, legend and axis.
ROW_HEIGHT = 26
CHART_CHROME_HEIGHT = 120


def subtitle(settings: Settings) -> str:
    """One line under the title."""
    return f"Share of bars in each state S0..S4 per driver x timeframe, all bars of {SOURCE}."


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """A single figure; None when ``marts.fct_uptrend_states`` is missing, [] when it is empty."""
    if not relation_exists(con, SOURCE):
        return None
    counts = query(
        con,
        f"""
        select driver, timeframe, state, bars, bars / sum(bars) over (partition by driver, timeframe) as share
        from (select driver, timeframe, state, count(*) as bars
              from {SOURCE} where state is not null group by driver, timeframe, state)""",
    )
    if counts.empty:
        return []
    series = sorted(
        set(zip(counts["driver"], counts["timeframe"])),
        key=lambda k: (order_key(DRIVER_ORDER)(k[0]), order_key(TIMEFRAME_ORDER)(k[1])),
        reverse=True,
    )  # plotly draws the first category at the bottom
    labels = {k: f"{k[0]} · {k[1]}" for k in series}
    states = sorted(counts["state"].unique(), key=order_key(tuple(STATE_COLOURS)))
    colours = colour_map(states, STATE_COLOURS)
    traces = []
    for state in states:
        part = counts[counts["state"] == state]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": state,
                "marker": {"color": colours[state]},
                "y": [labels[(d, t)] for d, t in zip(part["driver"], part["timeframe"])],
                "x": part["share"].to_numpy(dtype=float),
                "customdata": part["bars"].to_numpy(),
                "hovertemplate": f"%{{y}}<br>{state}: %{{x:.1%}} (%{{customdata:,}} bars)<extra></extra>",
            }
        )
    fig = make_figure(
        "Share of bars per state",
        label="all drivers",
        traces=traces,
        height=max(settings.figure_height, ROW_HEIGHT * len(series) + CHART_CHROME_HEIGHT),
        barmode="stack",
        legend={"traceorder": "normal"},
        xaxis={"title": "share of bars", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"categoryorder": "array", "categoryarray": [labels[k] for k in series]},
    )
    return [fig]
