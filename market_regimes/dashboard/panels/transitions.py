"""Panel: regime transition matrices per detector and series (``reports.rpt_regime_transitions``).

One heatmap per detector x series x bar interval: rows = from_regime, columns =
to_regime, cell = probability (annotated), hover with the number of transitions and the
mean run length of the from-regime; the title carries the whipsaw rate (regime changes
per 100 bars). Shown only when the report exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import query, relation_exists
from ..settings import Settings
from ..style import DETECTOR_ORDER, DRIVER_ORDER, REGIME_ORDER, TIMEFRAME_ORDER, make_figure, order_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Regime transition matrices"
SOURCE = "reports.rpt_regime_transitions"
HEATMAP_SCALE = "Blues"


def subtitle(settings: Settings) -> str:
    """One line under the title."""
    return (
        f"P(next regime | regime) from {SOURCE}, per detector x series; hover: transitions counted and "
        f"mean run length (bars). Pick a detector x series."
    )


def series_sort_key(detector: str, series_id: str, bar_interval: str):
    """Views are ordered by detector (style.DETECTOR_ORDER), then driver series (ids
    ``driver|timeframe``, drivers in style.DRIVER_ORDER) before symbol series
    (``exchange|symbol|interval``), then series id and bar interval."""
    parts = str(series_id).split("|")
    timeframe = parts[1] if len(parts) == 2 else ""
    return (
        order_key(DETECTOR_ORDER)(str(detector)),
        len(parts) > 2,
        order_key(DRIVER_ORDER)(parts[0]),
        order_key(TIMEFRAME_ORDER)(timeframe),
        str(series_id),
        str(bar_interval),
    )


def regime_order(values) -> list[str]:
    """Regime labels in style.REGIME_ORDER (S0..S4, trend x vol, HMM, quadrants), others alphabetically after."""
    return sorted({str(v) for v in values}, key=order_key(REGIME_ORDER))


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per detector x series x bar interval; None when the report is missing."""
    if not relation_exists(con, SOURCE):
        return None
    frame = query(
        con,
        f"""
        select detector, series_id, bar_interval, from_regime, to_regime, n_transitions, probability,
               mean_run_bars, whipsaw_per_100_bars
        from {SOURCE}""",
    )
    figures = []
    groups = frame.groupby(["detector", "series_id", "bar_interval"], dropna=False, sort=False)
    for key in sorted(groups.groups, key=lambda k: series_sort_key(*k)):
        detector, series_id, interval = key
        part = groups.get_group(key)
        regimes = regime_order(list(part["from_regime"]) + list(part["to_regime"]))
        index = {r: i for i, r in enumerate(regimes)}
        size = len(regimes)
        prob = np.full((size, size), np.nan)
        custom = np.full((size, size, 2), np.nan)
        for row in part.itertuples(index=False):
            i, j = index[str(row.from_regime)], index[str(row.to_regime)]
            prob[i, j] = row.probability
            custom[i, j] = (row.n_transitions, row.mean_run_bars)
        whipsaw = part["whipsaw_per_100_bars"].dropna()
        rate = f" — whipsaw {whipsaw.iloc[0]:.2f} changes / 100 bars" if whipsaw.nunique() == 1 else ""
        heatmap = {
            "type": "heatmap",
            "z": prob,
            "x": regimes,
            "y": regimes,
            "customdata": custom,
            "colorscale": HEATMAP_SCALE,
            "zmin": 0,
            "zmax": 1,
            "texttemplate": "%{z:.2f}",
            "colorbar": {"title": {"text": "probability"}},
            "hovertemplate": "%{y} → %{x}<br>probability %{z:.3f}<br>transitions %{customdata[0]:,.0f}"
            "<br>mean run %{customdata[1]:.1f} bars<extra></extra>",
        }
        label = f"{detector} · {series_id} ({interval})"
        figures.append(
            make_figure(
                f"{label}{rate}",
                label=label,
                height=settings.figure_height,
                traces=[heatmap],
                xaxis={"title": "to regime"},
                yaxis={"title": "from regime", "autorange": "reversed"},
            )
        )
    return figures
