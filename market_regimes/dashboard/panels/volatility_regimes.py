"""Panel: volatility / spectral regimes per driver series (``marts.fct_volatility_regimes``,
docs/volatility-regimes.md).

One chart per DRIVER series (``series_type = 'driver'``: driver x timeframe; the symbol
series, hundreds of them, are left out of the page): top, the close of
``marts.fct_driver_bars`` (the cumulative log return of the mart's rows when that mart is
missing) with the background shaded by quadrant (CRISIS / EXPANSION / NORMAL / QUIET);
bottom, the filtered probability of the high-vol HMM state, hmm_p_high_vol, with a dashed line
at ``high_vol_prob_threshold`` of ``seeds.volatility_config`` (0.5 when the seed or its
key is missing). The hover names vol_regime, quadrant, direction and spectral_entropy.
Intraday series show their most recent ``max_intraday_bars`` bars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import axis_holes, break_gaps, display_limit, epoch_ms, query, relation_exists, runs, window_note
from ..settings import Settings
from ..style import DRIVER_ORDER, QUADRANT_COLOURS, TIMEFRAME_ORDER, colour_map, make_figure, order_key, shading

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import pandas as pd
    import plotly.graph_objects as go

TITLE = "Volatility regimes (HMM) and quadrants"
SOURCE = "marts.fct_volatility_regimes"
BARS = "marts.fct_driver_bars"
CONFIG = "seeds.volatility_config"
OPTIONAL = (BARS, CONFIG)
SERIES_TYPE = "driver"
THRESHOLD_KEY = "high_vol_prob_threshold"
# vol_regime = high when hmm_p_high_vol >= this; used when the seed (or its key) is missing.
DEFAULT_THRESHOLD = 0.5
# Vertical share of the chart (paper coordinates) for price (top) and hmm_p_high_vol (bottom).
PRICE_DOMAIN = [0.36, 1.0]
PROB_DOMAIN = [0.0, 0.3]
PRICE_COLOUR, PROB_COLOUR = "#1f3b57", "#9467bd"


def subtitle(settings: Settings) -> str:
    """One line under the title: what is drawn and the downsampling."""
    return (
        f"Driver series of {SOURCE} only (the symbol series are too many for a page). Close of {BARS} "
        f"(cumulative log return when missing; background = quadrant) and hmm_p_high_vol of the 2-state HMM "
        f"(bottom; dashed: {THRESHOLD_KEY} of {CONFIG}, {DEFAULT_THRESHOLD:g} when that seed is missing). "
        f"Pick a driver x timeframe; {window_note(settings)}."
    )


def threshold(con) -> tuple[float, bool]:
    """(high_vol_prob_threshold, True when read from the seed); the default when it is missing."""
    if relation_exists(con, CONFIG):
        rows = query(con, f"select value from {CONFIG} where key = ?", [THRESHOLD_KEY])
        if not rows.empty:
            try:
                return float(rows["value"].iloc[0]), True
            except (TypeError, ValueError):
                pass
    return DEFAULT_THRESHOLD, False


def _series(con) -> list[tuple[str, str, str, str]]:
    rows = query(
        con,
        f"select distinct series_id, driver, timeframe, bar_interval from {SOURCE} where series_type = ?",
        [SERIES_TYPE],
    )
    return sorted(
        zip(rows["series_id"], rows["driver"], rows["timeframe"], rows["bar_interval"]),
        key=lambda r: (order_key(DRIVER_ORDER)(r[1]), order_key(TIMEFRAME_ORDER)(r[2]), r[0]),
    )


def _rows(con, series_id: str, limit: int | None, with_close: bool) -> pd.DataFrame:
    cap = "" if limit is None else f"order by bar_start desc limit {int(limit)}"
    close = "b.close" if with_close else "null::double as close"
    join = (
        (
            f"left join {BARS} b on b.driver = shown.driver and b.timeframe = shown.timeframe "
            "and b.bar_start = shown.bar_start"
        )
        if with_close
        else ""
    )
    return query(
        con,
        f"""
        with shown as (
            select driver, timeframe, bar_start, log_return, hmm_p_high_vol, vol_regime, quadrant, direction,
                   spectral_entropy
            from {SOURCE} where series_id = ? and series_type = ? {cap})
        select shown.bar_start, shown.log_return, shown.hmm_p_high_vol, shown.vol_regime, shown.quadrant,
               shown.direction, shown.spectral_entropy, {close}
        from shown {join}
        order by shown.bar_start""",
        [series_id, SERIES_TYPE],
    )


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per driver series; None when ``marts.fct_volatility_regimes`` is missing.

    The top line is the cumulative log return over the shown bars (from 0 at the first)
    instead of the close when ``marts.fct_driver_bars`` is missing.
    """
    if not relation_exists(con, SOURCE):
        return None
    with_close = relation_exists(con, BARS)
    level, from_seed = threshold(con)
    level_text = f"threshold {level:g}" + ("" if from_seed else " (default)")
    figures = []
    for series_id, driver, timeframe, interval in _series(con):
        limit = display_limit(interval, settings)
        rows = _rows(con, series_id, limit, with_close)
        if rows.empty:
            continue
        if with_close:
            top, top_name = rows["close"].to_numpy(dtype=float), "close"
        else:
            returns = rows["log_return"].to_numpy(dtype=float, na_value=np.nan)
            returns = np.where(np.isfinite(returns), returns, 0.0)
            returns[0] = 0.0
            top, top_name = np.cumsum(returns), "cumulative log return"
        rows = rows.assign(top=top)
        shown = f"last {len(rows):,} bars" if limit is not None else f"{len(rows):,} bars"
        quadrants = sorted(rows["quadrant"].dropna().unique(), key=order_key(tuple(QUADRANT_COLOURS)))
        shapes = shading(runs(rows, "quadrant", interval), colour_map(quadrants, QUADRANT_COLOURS))
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
                "name": level_text,
            }
        )
        annotations = [
            {
                "xref": "x domain",
                "x": 1,
                "xanchor": "right",
                "yref": "y2",
                "y": level,
                "yanchor": "bottom",
                "showarrow": False,
                "text": level_text,
                "font": {"size": 11},
            }
        ]
        first, last = rows["bar_start"].iloc[0], rows["bar_start"].iloc[-1]
        holes = axis_holes(rows["bar_start"], interval, settings)
        drawn = break_gaps(rows, interval)
        x = epoch_ms(drawn["bar_start"])
        custom = np.column_stack(
            [
                drawn[c].astype(object).where(drawn[c].notna(), "none").to_numpy()
                for c in ("vol_regime", "quadrant", "direction")
            ]
            + [
                drawn["spectral_entropy"]
                .round(4)
                .astype(object)
                .where(drawn["spectral_entropy"].notna(), None)
                .to_numpy()
            ]
        )
        traces = [
            {
                "type": "scatter",
                "x": x,
                "y": drawn["top"].to_numpy(dtype=float),
                "name": top_name,
                "mode": "lines",
                "line": {"color": PRICE_COLOUR, "width": 1.4},
                "customdata": custom,
                "hovertemplate": (
                    f"{top_name} %{{y:,.6g}}<br>vol_regime %{{customdata[0]}} · quadrant "
                    "%{customdata[1]}<br>direction %{customdata[2]} · spectral_entropy "
                    "%{customdata[3]:.3f}<extra></extra>"
                ),
            },
            {
                "type": "scatter",
                "x": x,
                "y": drawn["hmm_p_high_vol"].to_numpy(dtype=float, na_value=np.nan),
                "name": "hmm_p_high_vol",
                "yaxis": "y2",
                "mode": "lines",
                "line": {"color": PROB_COLOUR, "width": 1.2},
                "hovertemplate": "hmm_p_high_vol %{y:.3f}<extra></extra>",
            },
        ]
        # price on top, hmm_p_high_vol below, one shared date axis (the unified hover's header is bar_start)
        figures.append(
            make_figure(
                f"{series_id} ({interval}) — {shown}, {first:%Y-%m-%d} .. {last:%Y-%m-%d} UTC",
                label=f"{driver} · {timeframe} ({interval})",
                height=settings.figure_height,
                traces=traces,
                time_axis=True,
                holes=holes,
                hovermode="x unified",
                xaxis={"anchor": "y2"},
                yaxis={"domain": PRICE_DOMAIN, "title": {"text": top_name}},
                yaxis2={"domain": PROB_DOMAIN, "anchor": "x", "range": [0, 1], "title": {"text": "hmm_p_high_vol"}},
                shapes=shapes,
                annotations=annotations,
            )
        )
    return figures
