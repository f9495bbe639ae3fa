"""Panel: forward returns by regime per detector (``reports.rpt_regime_forward_returns``).

One chart per detector x series x bar interval: top, the mean forward return of each
regime as grouped bars, one bar per horizon (5/10/20 bars on the sample); bottom, the
mean forward realized vol the same way. Hover: n, mean, median, win rate, t-stat. The
report's returns are fractions (0.01 = 1%) and are shown as percentages. Shown only
when the report exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import query, relation_exists
from ..settings import Settings
from ..style import FALLBACK_COLOURS, make_figure
from .transitions import regime_order, series_sort_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Forward returns by regime"
SOURCE = "reports.rpt_regime_forward_returns"
# Vertical share of the chart (paper coordinates) for returns (top) and realized vol (bottom).
RETURN_DOMAIN = [0.42, 1.0]
VOL_DOMAIN = [0.0, 0.34]


def subtitle(settings: Settings) -> str:
    """One line under the title."""
    return (
        f"Mean forward return (top) and mean forward realized vol (bottom) per regime and horizon, from "
        f"{SOURCE}; hover: n, median, win rate, t-stat. Pick a detector x series."
    )


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per detector x series x bar interval; None when the report is missing."""
    if not relation_exists(con, SOURCE):
        return None
    frame = query(
        con,
        f"""
        select detector, series_id, bar_interval, regime, horizon_bars, n, mean_return, median_return,
               win_rate, t_stat, mean_forward_rv, median_forward_rv
        from {SOURCE} order by horizon_bars""",
    )
    figures = []
    groups = frame.groupby(["detector", "series_id", "bar_interval"], dropna=False, sort=False)
    for key in sorted(groups.groups, key=lambda k: series_sort_key(*k)):
        detector, series_id, interval = key
        part = groups.get_group(key)
        regimes = regime_order(part["regime"])
        traces = []
        for i, (horizon, rows) in enumerate(part.groupby("horizon_bars", sort=True)):
            rows = rows.set_index(rows["regime"].astype(str)).reindex(regimes)
            colour = FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]
            custom = rows[["n", "median_return", "win_rate", "t_stat", "median_forward_rv"]].to_numpy(dtype=float)
            traces.append(
                {
                    "type": "bar",
                    "x": regimes,
                    "y": rows["mean_return"].to_numpy(dtype=float),
                    "name": f"{horizon} bars",
                    "legendgroup": str(horizon),
                    "marker": {"color": colour},
                    "customdata": custom,
                    "hovertemplate": f"%{{x}} · {horizon} bars<br>mean %{{y:.2%}} · median %{{customdata[1]:.2%}}"
                    "<br>win rate %{customdata[2]:.0%} · t %{customdata[3]:.2f}"
                    "<br>n %{customdata[0]:,.0f}<extra></extra>",
                }
            )
            traces.append(
                {
                    "type": "bar",
                    "x": regimes,
                    "y": rows["mean_forward_rv"].to_numpy(dtype=float),
                    "yaxis": "y2",
                    "name": f"{horizon} bars",
                    "legendgroup": str(horizon),
                    "showlegend": False,
                    "marker": {"color": colour, "opacity": 0.6},
                    "customdata": custom,
                    "hovertemplate": f"%{{x}} · {horizon} bars<br>mean forward RV %{{y:.4g}}"
                    "<br>median %{customdata[4]:.4g}<extra></extra>",
                }
            )
        # two stacked y axes over one shared x axis (make_subplots costs ~50 ms a figure)
        fig = make_figure(
            f"{detector} · {series_id} ({interval})",
            label=f"{detector} · {series_id} ({interval})",
            height=settings.figure_height,
            traces=traces,
            barmode="group",
            xaxis={"anchor": "y2"},
            yaxis={"domain": RETURN_DOMAIN, "title": {"text": "mean fwd return"}, "tickformat": ".1%"},
            yaxis2={"domain": VOL_DOMAIN, "title": {"text": "mean fwd RV"}, "anchor": "x"},
        )
        figures.append(fig)
    return figures
