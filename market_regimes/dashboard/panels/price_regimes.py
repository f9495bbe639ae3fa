"""Panel: driver price with Uptrend Engine state shading and state-change markers.

One chart per driver x timeframe that has states: the close of ``marts.fct_driver_bars``
(a line), the background shaded by the state S0..S4 of ``marts.fct_uptrend_states`` on
each bar (unshaded where the engine has no state: warm-up, provisional bars), and a
marker at every state change of ``marts.fct_regime_events`` (detector ``uptrend``) with
from -> to state and reason on hover. Intraday series show their most recent
``max_intraday_bars`` bars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import all_exist, axis_holes, break_gaps, display_limit, epoch_ms, query, relation_exists, runs, window_note
from ..settings import Settings
from ..style import DRIVER_ORDER, STATE_COLOURS, TIMEFRAME_ORDER, colour_map, make_figure, order_key, shading

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Driver price with uptrend-state shading"
SOURCE = "marts.fct_uptrend_states"
REQUIRES = ("marts.fct_driver_bars",)
EVENTS = "marts.fct_regime_events"
OPTIONAL = (EVENTS,)
DETECTOR = "uptrend"
LINE_COLOUR = "#1f3b57"


def subtitle(settings: Settings) -> str:
    """One line under the title: what is drawn and the downsampling."""
    return (
        f"Close of {REQUIRES[0]}; background = state S0..S4 of {SOURCE}; markers = state changes "
        f"({EVENTS}, detector {DETECTOR}). Pick a driver x timeframe; {window_note(settings)}."
    )


def _series(con) -> list[tuple[str, str, str]]:
    rows = query(
        con,
        f"""
        select distinct s.driver, s.timeframe, b.bar_interval
        from {SOURCE} s join {REQUIRES[0]} b using (driver, timeframe, bar_start)""",
    )
    keys = sorted(
        zip(rows["driver"], rows["timeframe"], rows["bar_interval"]),
        key=lambda r: (order_key(DRIVER_ORDER)(r[0]), order_key(TIMEFRAME_ORDER)(r[1])),
    )
    return keys


def _bars(con, driver: str, timeframe: str, limit: int | None):
    cap = "" if limit is None else f"order by bar_start desc limit {int(limit)}"
    return query(
        con,
        f"""
        with shown as (
            select bar_start, close from {REQUIRES[0]}
            where driver = ? and timeframe = ? {cap})
        select shown.bar_start, shown.close, s.state
        from shown left join {SOURCE} s on s.driver = ? and s.timeframe = ? and s.bar_start = shown.bar_start
        order by shown.bar_start""",
        [driver, timeframe, driver, timeframe],
    )


def _events(con, driver: str, timeframe: str, first_bar):
    return query(
        con,
        f"""
        select e.bar_start, e.from_state, e.to_state, e.reason, b.close
        from {EVENTS} e join {REQUIRES[0]} b
          on b.driver = e.entity and b.timeframe = e.timeframe and b.bar_start = e.bar_start
        where e.detector = ? and e.entity = ? and e.timeframe = ? and e.bar_start >= ?
        order by e.bar_start""",
        [DETECTOR, driver, timeframe, first_bar],
    )


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per driver x timeframe with states; None when a source relation is missing.

    Markers are left out (the rest still drawn) when ``marts.fct_regime_events`` is missing.
    """
    if not all_exist(con, SOURCE, *REQUIRES):
        return None
    with_events = relation_exists(con, EVENTS)
    figures = []
    for driver, timeframe, interval in _series(con):
        limit = display_limit(interval, settings)
        bars = _bars(con, driver, timeframe, limit)
        if bars.empty:
            continue
        shown = f"last {len(bars):,} bars" if limit is not None else f"{len(bars):,} bars"
        states = sorted(bars["state"].dropna().unique(), key=order_key(tuple(STATE_COLOURS)))
        drawn = break_gaps(bars, interval)
        traces = [
            {
                "type": "scatter",
                "x": epoch_ms(drawn["bar_start"]),
                "y": drawn["close"].to_numpy(dtype=float),
                "mode": "lines",
                "name": "close",
                "line": {"color": LINE_COLOUR, "width": 1.4},
                "customdata": drawn["state"].fillna("none").to_numpy(),
                "hovertemplate": "%{x}<br>close %{y:,.6g}<br>state %{customdata}<extra></extra>",
            }
        ]
        events = _events(con, driver, timeframe, bars["bar_start"].iloc[0]) if with_events else None
        if events is not None and not events.empty:
            colours = colour_map(sorted(set(events["to_state"])), STATE_COLOURS)
            traces.append(
                {
                    "type": "scatter",
                    "x": epoch_ms(events["bar_start"]),
                    "y": events["close"].to_numpy(dtype=float),
                    "mode": "markers",
                    "name": "state change",
                    "marker": {
                        "size": 8,
                        "symbol": "diamond",
                        "line": {"width": 1, "color": "#222"},
                        "color": [colours[s] for s in events["to_state"]],
                    },
                    "text": [
                        f"{a} → {b} ({r})"
                        for a, b, r in zip(events["from_state"], events["to_state"], events["reason"])
                    ],
                    "hovertemplate": "%{x}<br>%{text}<extra></extra>",
                }
            )
        figures.append(
            make_figure(
                f"{driver} · {timeframe} ({interval}) — {shown}, "
                f"{bars['bar_start'].iloc[0]:%Y-%m-%d} .. {bars['bar_start'].iloc[-1]:%Y-%m-%d} UTC",
                label=f"{driver} · {timeframe} ({interval})",
                height=settings.figure_height,
                traces=traces,
                time_axis=True,
                holes=axis_holes(bars["bar_start"], interval, settings),
                yaxis={"title": "close"},
                hovermode="x",
                shapes=shading(runs(bars, "state", interval), colour_map(states, STATE_COLOURS)),
            )
        )
    return figures
