"""Panel: grid range regimes per grid series (``marts.fct_grid_regimes``, docs/grid-regimes.md).

One chart per grid series (exchange x symbol x bar interval): top, the close with the
discovered range [support, resistance] as a filled band and the background shaded by
verdict (RANGE_OK green, RANGE_WEAK yellow, TREND red, TRANSITION orange; bars without a
verdict, the warm-up, unshaded); bottom, the verdict's confidence (0-1). The unified
hover names the verdict and the step that decided it (``decided_by``), the close, the
range, the confidence and the five scores (0-100, rounded to integers). Intraday series
show their most recent ``max_intraday_bars`` bars, at most :data:`MAX_BARS`.

The panel has one view per grid series (104 on the sample: every symbol at 1h and 4h),
several times the views of the other time-series panels, so its figures are kept compact
(plotly serialises numpy arrays as base64 typed arrays): the shading is one heatmap cell
per verdict run (a layout shape per run would cost ~250 bytes; the cell also carries the
verdict's hover), the y values are float32, the hover scores uint8, and a series without
holes gets ``x0``/``dx`` instead of an array of times per trace: ~37 bytes a bar. At
2,000 bars a series the panel would add ~7.5 MB to the sample's page (14 MB without it,
kept under 20 MB by tests/integration/test_dashboard.py); :data:`MAX_BARS` keeps it near
3.9 MB.
"""

from __future__ import annotations

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
SCORES = (("trend_score", "trend"), ("mean_rev_score", "mean-rev"), ("range_quality_score", "range quality"),
          ("vol_change_score", "vol change"), ("grid_capacity", "capacity"))
COLUMNS = ("bar_start", "verdict", "decided_by", "confidence", *(c for c, _ in SCORES), "support", "resistance",
           "close")
# Series listed first in the selector (the rest alphabetically).
SYMBOL_ORDER = ("BTCUSDT", "ETHUSDT")
# Vertical share of the chart (paper coordinates) for price (top) and confidence (bottom).
PRICE_DOMAIN = [0.36, 1.0]
CONFIDENCE_DOMAIN = [0.0, 0.3]
# Share of the price span added below and above it (the shading fills the price pane).
PRICE_PAD = 0.04
PRICE_COLOUR, BAND_LINE_COLOUR, CONFIDENCE_COLOUR = "#1f3b57", "#5b8fbf", "#9467bd"
BAND_FILL = "rgba(91, 143, 191, 0.22)"
SEP = " · "
PRICE_HOVER = "%{y:,.6g}<extra></extra>"


def subtitle(settings: Settings) -> str:
    """One line under the title: what is drawn and the downsampling."""
    shades = ", ".join(f"{v} {c}" for v, c in zip(VERDICT_COLOURS, ("green", "yellow", "red", "orange")))
    return (f"Per grid series (exchange x symbol x bar interval) of {SOURCE}: close with the discovered range "
            f"[support, resistance] (band); background = verdict ({shades}; unshaded: no verdict yet); bottom: "
            f"the verdict's confidence (0-1). The hover names decided_by and the five scores (0-100, rounded). "
            f"Pick a series; {shown_note(settings)}.")


def shown_bars(bar_interval: str, settings: Settings) -> int | None:
    """Bars shown of a series of ``bar_interval``: the most recent ``max_intraday_bars`` of an
    intraday series, at most :data:`MAX_BARS`; None (all) for daily and longer bars."""
    limit = display_limit(bar_interval, settings)
    return limit if limit is None or MAX_BARS is None else min(limit, MAX_BARS)


def shown_note(settings: Settings) -> str:
    """Subtitle fragment that states the intraday downsampling of this panel."""
    if MAX_BARS is None or settings.max_intraday_bars <= MAX_BARS:
        return window_note(settings)
    return (f"intraday series show their most recent {MAX_BARS:,} bars (this panel's cap, below "
            f"--max-intraday-bars {settings.max_intraday_bars:,}: it has a view per grid series); daily series "
            f"are shown whole")


def series_key(exchange: str, symbol: str, bar_interval: str) -> tuple:
    """Sort key of the views: exchange, then BTC / ETH before the other symbols, then the
    interval from long to short (4h before 1h, as the levers panel)."""
    return (str(exchange), order_key(SYMBOL_ORDER)(symbol), order_key(EXECUTION_TIMEFRAME_ORDER)(bar_interval))


def view_label(exchange: str, symbol: str, bar_interval: str) -> str:
    """The selector text of a series: ``binance · BTCUSDT (1h)``."""
    return f"{exchange}{SEP}{symbol} ({bar_interval})"


def _rows(con, bar_interval: str, limit: int | None) -> pd.DataFrame:
    """Every series of one interval, its most recent ``limit`` bars (all when None), in time order."""
    cap = ("" if limit is None else
           f"qualify row_number() over (partition by exchange, symbol order by bar_start desc) <= {int(limit)}")
    return query(con, f"""
        select exchange, symbol, {", ".join(COLUMNS)}
        from {SOURCE} where bar_interval = ? {cap}
        order by exchange, symbol, bar_start""", [bar_interval])


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


def verdict_runs(rows: pd.DataFrame, bar_interval: str) -> tuple[np.ndarray, ...]:
    """Runs of equal (verdict, decided_by) over the bars, as :func:`data.runs` finds them
    (a run breaks at a change, at a bar without verdict and at a hole in the bars), in
    numpy (data.runs' pandas groupby costs ~10 ms a call, a second over this panel).

    Returns (verdict, decided_by, start, end) arrays, one element per run: start = epoch
    ms of the first bar, end = epoch ms of the last bar + one interval.
    """
    verdicts = rows["verdict"].to_numpy(dtype=object)
    decided = rows["decided_by"].fillna("").to_numpy(dtype=object)
    starts = epoch_ms(rows["bar_start"])
    step = interval_minutes(bar_interval) * 60_000.0
    present = rows["verdict"].notna().to_numpy()
    if not present.any():
        empty = np.array([], dtype=object)
        return empty, empty, np.array([]), np.array([])
    new = np.ones(len(rows), dtype=bool)
    new[1:] = ((verdicts[1:] != verdicts[:-1]) | (decided[1:] != decided[:-1]) | (np.diff(starts) != step)
               | ~present[:-1])
    first = np.flatnonzero(new & present)
    # each run ends before the next break (or at the last bar); a run holds bars with a verdict only
    following = np.append(np.flatnonzero(new), len(rows))
    last = following[np.searchsorted(following, first, side="right")] - 1
    return verdicts[first], decided[first], starts[first], starts[last] + step


def verdict_shading(rows: pd.DataFrame, bar_interval: str, low: float, high: float, holes=()) -> list[dict]:
    """Background shading that also carries the verdict's hover: a one-row heatmap over the
    price pane [low, high] with one cell per run of (verdict, decided_by)
    (:func:`verdict_runs`), from the run's first bar to the end of its last, coloured by
    verdict; a stretch without verdict (warm-up, a hole) is an empty cell, neither drawn nor
    hovered. Then one legend-only entry per verdict shown. ``holes``: the holes cut out of
    the time axis (data.axis_holes); plotly drops heatmap cell edges inside a cut hole, so
    an edge at a hole's start (the end of the run before it) is drawn 1 ms earlier.

    A heatmap cell is hovered exactly while the pointer is over it (bars, the other choice,
    take hover from up to half their trace's smallest position spacing beyond their edges,
    so the unified hover listed a neighbouring run too), and costs a few bytes a run
    instead of a layout shape (~250 bytes) a run.
    """
    verdicts, decided, start, end = verdict_runs(rows, bar_interval)
    if not len(verdicts):
        return []
    shown = sorted(set(verdicts), key=order_key(tuple(VERDICT_COLOURS)))
    code = {v: i for i, v in enumerate(shown)}
    edges, z, custom = [float(start[0])], [], []
    for i, (verdict, by, a, b) in enumerate(zip(verdicts, decided, start, end)):
        if i and a > edges[-1]:  # no verdict between the previous run and this one
            edges.append(float(a))
            z.append(np.nan)
            custom.append(["", ""])
        edges.append(float(b))
        z.append(code[verdict])
        custom.append([verdict, by or "none"])
    edges = np.asarray(edges)
    for hole_start, hole_end in holes:
        a, b = epoch_ms(pd.Series([hole_start, hole_end]))
        edges[(edges >= a) & (edges < b)] = a - 1.0
    colours = [VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR) for v in shown]
    # a step colour scale: code i (zmin -0.5, zmax n - 0.5) gets colours[i]
    scale = [[bound, colour] for i, colour in enumerate(colours)
             for bound in (i / len(colours), (i + 1) / len(colours))]
    rank = {v: i for i, v in enumerate(VERDICT_COLOURS)}
    traces = [{"type": "heatmap", "x": edges, "y": [low, high], "z": [np.asarray(z, dtype=np.float32)],
               "customdata": [custom], "zmin": -0.5, "zmax": len(colours) - 0.5, "colorscale": scale,
               "showscale": False, "opacity": SHADE_OPACITY, "hoverongaps": False, "name": "verdict",
               "hovertemplate": f"<b>%{{customdata[0]}}</b>{SEP}decided_by %{{customdata[1]}}<extra></extra>"}]
    for verdict, colour in zip(shown, colours):
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": verdict,
                       "legendrank": rank.get(verdict, len(rank)), "hoverinfo": "skip",
                       "marker": {"symbol": "square", "size": 12, "color": colour, "opacity": 0.6}})
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
            {"type": "scatter", **part, "y": _f4(drawn["support"].iloc[first:stop]), "name": "support",
             "mode": "lines", "legendgroup": "range", "showlegend": False,
             "line": {"color": BAND_LINE_COLOUR, "width": 0.8}, "hovertemplate": f"support {PRICE_HOVER}"},
            {"type": "scatter", **part, "y": _f4(drawn["resistance"].iloc[first:stop]),
             "name": "range [support, resistance]" if n == 0 else "resistance", "mode": "lines",
             "legendgroup": "range", "showlegend": n == 0, "fill": "tonexty", "fillcolor": BAND_FILL,
             "line": {"color": BAND_LINE_COLOUR, "width": 0.8}, "hovertemplate": f"resistance {PRICE_HOVER}"}]
    return traces


def _figure(exchange: str, symbol: str, interval: str, rows: pd.DataFrame, limit: int | None,
            settings: Settings) -> go.Figure:
    """The chart of one series from its shown rows (time order)."""
    prices = rows[["close", "support", "resistance"]].to_numpy(dtype=float, na_value=np.nan)
    finite = prices[np.isfinite(prices)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = (high - low) * PRICE_PAD or abs(high) * PRICE_PAD or 1.0
    low, high = low - pad, high + pad
    holes = axis_holes(rows["bar_start"], interval, settings)
    drawn = break_gaps(rows, interval)
    x = x_spec(drawn["bar_start"], interval)
    traces = [
        *verdict_shading(rows, interval, low, high, holes),
        *band(drawn, x),
        {"type": "scatter", **x, "y": _f4(drawn["close"]), "name": "close", "mode": "lines",
         "line": {"color": PRICE_COLOUR, "width": 1.4}, "hovertemplate": f"close {PRICE_HOVER}"},
        {"type": "scatter", **x, "y": _f4(drawn["confidence"]), "name": "confidence", "yaxis": "y2",
         "mode": "lines", "line": {"color": CONFIDENCE_COLOUR, "width": 1.2}, "customdata": _scores(drawn),
         "hovertemplate": ("confidence %{y:.2f}<br>"
                           + SEP.join(f"{label} %{{customdata[{i}]}}" for i, (_, label) in enumerate(SCORES))
                           + "<extra></extra>")},
    ]
    first, last = rows["bar_start"].iloc[0], rows["bar_start"].iloc[-1]
    shown = f"last {len(rows):,} bars" if limit is not None else f"{len(rows):,} bars"
    latest = rows.dropna(subset=["verdict"])
    now = (f"{SEP}latest {latest['verdict'].iloc[-1]} ({latest['confidence'].iloc[-1]:.2f})"
           if not latest.empty else f"{SEP}no verdict yet")
    # price on top, confidence below, one shared date axis (the unified hover's header is bar_start)
    return make_figure(
        f"{exchange}{SEP}{symbol} ({interval}) — {shown}, {first:%Y-%m-%d} .. {last:%Y-%m-%d} UTC{now}",
        label=view_label(exchange, symbol, interval), height=settings.figure_height, traces=traces,
        time_axis=True, holes=holes, hovermode="x unified", hoversubplots="axis", xaxis={"anchor": "y2"},
        yaxis={"domain": PRICE_DOMAIN, "range": [low, high], "title": {"text": "close"}},
        yaxis2={"domain": CONFIDENCE_DOMAIN, "anchor": "x", "range": [0, 1], "title": {"text": "confidence"}})


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per grid series (exchange x symbol x bar_interval, ordered by
    :func:`series_key`); None when ``marts.fct_grid_regimes`` is missing."""
    if not relation_exists(con, SOURCE):
        return None
    intervals = [r[0] for r in con.execute(f"select distinct bar_interval from {SOURCE}").fetchall()]
    parts = []
    for interval in intervals:
        limit = shown_bars(interval, settings)
        frame = _rows(con, interval, limit)
        for (exchange, symbol), rows in frame.groupby(["exchange", "symbol"], sort=False):
            parts.append((series_key(exchange, symbol, interval), exchange, symbol, interval, limit,
                          rows.reset_index(drop=True)))
    parts.sort(key=lambda p: p[0])
    return [_figure(exchange, symbol, interval, rows, limit, settings)
            for _, exchange, symbol, interval, limit, rows in parts]
