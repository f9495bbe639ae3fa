"""Panel: trend x volatility regimes per configured market (``marts.fct_market_regimes``,
docs/trend-vol-regimes.md).

One chart per market: top, the daily price and its moving average with the background
shaded by regime (uptrend/downtrend x low/high vol); bottom, the vol reading with the
market's high/low thresholds from ``seeds.trend_vol_markets`` when that seed exists.
Daily rows, shown whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import axis_holes, break_gaps, epoch_ms, query, relation_exists, runs
from ..settings import Settings
from ..style import MARKET_REGIME_COLOURS, colour_map, make_figure, order_key, shading

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Trend x volatility regimes per market"
SOURCE = "marts.fct_market_regimes"
THRESHOLDS = "seeds.trend_vol_markets"
OPTIONAL = (THRESHOLDS,)
# fct_market_regimes has one row per day.
BAR_INTERVAL = "1d"
# Vertical share of the chart (paper coordinates) for price (top) and vol (bottom).
PRICE_DOMAIN = [0.36, 1.0]
VOL_DOMAIN = [0.0, 0.3]
PRICE_COLOUR, MA_COLOUR, VOL_COLOUR = "#1f3b57", "#ff7f0e", "#9467bd"


def subtitle(settings: Settings) -> str:
    """One line under the title."""
    return (
        f"Daily price and moving average (top, background = regime) and the vol reading with its "
        f"thresholds (bottom), from {SOURCE}. Pick a market."
    )


def _thresholds(con) -> dict[str, tuple[float, float]]:
    if not relation_exists(con, THRESHOLDS):
        return {}
    rows = query(con, f"select market, vol_low_threshold, vol_high_threshold from {THRESHOLDS}")
    return {m: (lo, hi) for m, lo, hi in zip(rows["market"], rows["vol_low_threshold"], rows["vol_high_threshold"])}


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per market; None when ``marts.fct_market_regimes`` is missing."""
    if not relation_exists(con, SOURCE):
        return None
    frame = query(
        con, f"select market, bar_start, price, ma, vol_value, regime from {SOURCE} order by market, bar_start"
    )
    thresholds = _thresholds(con)
    figures = []
    for market, rows in frame.groupby("market", sort=True):
        rows = rows.reset_index(drop=True)
        regimes = sorted(rows["regime"].dropna().unique(), key=order_key(tuple(MARKET_REGIME_COLOURS)))
        shapes = shading(runs(rows, "regime", BAR_INTERVAL), colour_map(regimes, MARKET_REGIME_COLOURS))
        annotations = []
        for name, level in zip(("low", "high"), thresholds.get(market, ())):
            shapes.append(
                {
                    "type": "line",
                    "xref": "x domain",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y2",
                    "y0": level,
                    "y1": level,
                    "line": {"dash": "dash", "width": 1, "color": "#555"},
                }
            )
            annotations.append(
                {
                    "xref": "x domain",
                    "x": 1,
                    "xanchor": "right",
                    "yref": "y2",
                    "y": level,
                    "yanchor": "bottom" if name == "high" else "top",
                    "showarrow": False,
                    "text": f"vol {name} {level:g}",
                    "font": {"size": 11},
                }
            )
        first, last = rows["bar_start"].iloc[0], rows["bar_start"].iloc[-1]
        days = len(rows)
        holes = axis_holes(rows["bar_start"], BAR_INTERVAL, settings)
        rows = break_gaps(rows, BAR_INTERVAL)
        x = epoch_ms(rows["bar_start"])
        traces = [
            {
                "type": "scatter",
                "x": x,
                "y": rows["price"].to_numpy(dtype=float),
                "name": "price",
                "mode": "lines",
                "line": {"color": PRICE_COLOUR, "width": 1.4},
                "customdata": rows["regime"].to_numpy(),
                "hovertemplate": "price %{y:,.6g} · %{customdata}<extra></extra>",
            },
            {
                "type": "scatter",
                "x": x,
                "y": rows["ma"].to_numpy(dtype=float),
                "name": "moving average",
                "mode": "lines",
                "line": {"color": MA_COLOUR, "width": 1.2, "dash": "dot"},
                "hovertemplate": "MA %{y:,.6g}<extra></extra>",
            },
            {
                "type": "scatter",
                "x": x,
                "y": rows["vol_value"].to_numpy(dtype=float),
                "name": "vol",
                "yaxis": "y2",
                "mode": "lines",
                "line": {"color": VOL_COLOUR, "width": 1.2},
                "hovertemplate": "vol %{y:.4g}<extra></extra>",
            },
        ]
        # price on top, vol below, one shared date axis
        figures.append(
            make_figure(
                f"{market} — {days:,} days, {first:%Y-%m-%d} .. {last:%Y-%m-%d}",
                label=market,
                height=settings.figure_height,
                traces=traces,
                time_axis=True,
                holes=holes,
                hovermode="x unified",
                xaxis={"anchor": "y2"},
                yaxis={"domain": PRICE_DOMAIN, "title": {"text": "price"}},
                yaxis2={"domain": VOL_DOMAIN, "anchor": "x", "title": {"text": "vol"}},
                shapes=shapes,
                annotations=annotations,
            )
        )
    return figures
