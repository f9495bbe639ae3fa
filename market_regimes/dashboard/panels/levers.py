"""Panel: the A and E levers over time per bucket and execution timeframe (docs/levers.md).

One chart per bucket x execution timeframe of ``marts.fct_levers``: the levers A and
E in [0, 1], bars where the levers are degraded (BTC or ALT not
used at meso) marked below the lines. Hovering a bar lists each driver's contribution
to A and to E from ``marts.fct_lever_contributions`` (summed over the driver's
micro/meso/macro rows; stale and missing rows contribute 0) and the used / stale /
missing row counts. Without the contributions table the lines are drawn alone.
Intraday execution timeframes show their most recent ``max_intraday_bars`` bars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data import axis_holes, break_gaps, display_limit, epoch_ms, query, relation_exists, window_note
from ..settings import Settings
from ..style import BUCKET_ORDER, EXECUTION_TIMEFRAME_ORDER, make_figure, order_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "A / E levers per bucket and execution timeframe"
SOURCE = "marts.fct_levers"
CONTRIBUTIONS = "marts.fct_lever_contributions"
OPTIONAL = (CONTRIBUTIONS,)
# The bucket's own driver is shown under this name in the hover.
BUCKET_DRIVER_LABEL = "bucket"
# Hover order of the drivers (others follow alphabetically).
HOVER_DRIVER_ORDER = ("BTC", "ALT", BUCKET_DRIVER_LABEL, "BTC.d", "USDT.d")
# Height at which degraded bars are ticked (below the [0, 1] lever range), and the y range.
DEGRADED_Y = -0.04
LEVER_AXIS_RANGE = [-0.08, 1.02]
LEVER_COLOURS = {"A": "#1f77b4", "E": "#d62728", "degraded": "#7f7f7f"}


def subtitle(settings: Settings) -> str:
    """One line under the title: what is drawn and the downsampling."""
    return (
        f"A and E of {SOURCE}; hover: per-driver contributions from {CONTRIBUTIONS} "
        f"(sum over timeframes). Pick a bucket x execution timeframe; {window_note(settings)}."
    )


def _levers(con, settings: Settings):
    combos = query(con, f"select distinct bucket, execution_timeframe from {SOURCE}")
    keys = sorted(
        zip(combos["bucket"], combos["execution_timeframe"]),
        key=lambda k: (order_key(BUCKET_ORDER)(k[0]), order_key(EXECUTION_TIMEFRAME_ORDER)(k[1])),
    )
    for bucket, exec_tf in keys:
        limit = display_limit(exec_tf, settings)
        cap = "" if limit is None else f"order by bar_start desc limit {int(limit)}"
        frame = query(
            con,
            f"""
            select * from (
                select bar_start, a_value, e_value, position_size_frac, is_degraded, n_used, n_stale, n_missing
                from {SOURCE} where bucket = ? and execution_timeframe = ? {cap})
            order by bar_start""",
            [bucket, exec_tf],
        )
        yield bucket, exec_tf, limit, frame


def _contributions(con, bucket: str, exec_tf: str, first_bar):
    """Per bar x driver: sum of contribution_a / contribution_e, pivoted to one row per bar."""
    frame = query(
        con,
        f"""
        select bar_start, case when driver = bucket then ? else driver end as driver,
               sum(contribution_a) as a, sum(contribution_e) as e
        from {CONTRIBUTIONS}
        where bucket = ? and execution_timeframe = ? and bar_start >= ?
        group by all""",
        [BUCKET_DRIVER_LABEL, bucket, exec_tf, first_bar],
    )
    if frame.empty:
        return None, []
    drivers = sorted(frame["driver"].unique(), key=order_key(HOVER_DRIVER_ORDER))
    wide = frame.pivot(index="bar_start", columns="driver", values=["a", "e"])
    return wide, drivers


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per bucket x execution timeframe; None when ``marts.fct_levers`` is missing.

    The hover of the A line carries the whole breakdown (per driver: contribution to A and
    to E; row counts) so the per-bar numbers are stored once (float32 customdata).
    """
    if not relation_exists(con, SOURCE):
        return None
    with_contributions = relation_exists(con, CONTRIBUTIONS)
    figures = []
    for bucket, exec_tf, limit, levers in _levers(con, settings):
        if levers.empty:
            continue
        shown = f"last {len(levers):,} bars" if limit is not None else f"{len(levers):,} bars"
        first, last = levers["bar_start"].iloc[0], levers["bar_start"].iloc[-1]
        holes = axis_holes(levers["bar_start"], exec_tf, settings)
        levers = break_gaps(levers, exec_tf)
        x = epoch_ms(levers["bar_start"])
        custom = levers[["n_used", "n_stale", "n_missing"]].to_numpy(dtype="float32")
        lines = []
        wide, drivers = _contributions(con, bucket, exec_tf, first) if with_contributions else (None, [])
        if wide is not None:
            wide = wide.reindex(levers["bar_start"])
            pairs = np.stack(
                [wide["a"][drivers].to_numpy(dtype="float32"), wide["e"][drivers].to_numpy(dtype="float32")], axis=2
            ).reshape(len(levers), -1)
            custom = np.hstack([custom, pairs])
            lines = [
                f"{d}: A %{{customdata[{3 + 2 * i}]:+.3f}} · E %{{customdata[{4 + 2 * i}]:+.3f}}"
                for i, d in enumerate(drivers)
            ]
        detail = "".join(f"<br>  {line}" for line in lines)
        rows = "<br>  rows used %{customdata[0]:.0f} · stale %{customdata[1]:.0f} · missing %{customdata[2]:.0f}"
        traces = [
            {
                "type": "scatter",
                "x": x,
                "y": levers["a_value"].to_numpy(dtype="float32"),
                "mode": "lines",
                "name": "A",
                "customdata": custom,
                "line": {"color": LEVER_COLOURS["A"], "width": 1.5, "shape": "hv"},
                "hovertemplate": f"<b>A %{{y:.3f}}</b>{detail}{rows}<extra></extra>",
            },
            {
                "type": "scatter",
                "x": x,
                "y": levers["e_value"].to_numpy(dtype="float32"),
                "mode": "lines",
                "name": "E",
                "line": {"color": LEVER_COLOURS["E"], "width": 1.5, "shape": "hv"},
                "hovertemplate": "<b>E %{y:.3f}</b><extra></extra>",
            },
        ]
        degraded = levers["is_degraded"].eq(True).to_numpy()
        if degraded.any():
            traces.append(
                {
                    "type": "scatter",
                    "x": x[degraded],
                    "y": np.full(int(degraded.sum()), DEGRADED_Y),
                    "mode": "markers",
                    "name": "degraded",
                    "hoverinfo": "skip",
                    "marker": {"symbol": "line-ns-open", "color": LEVER_COLOURS["degraded"]},
                }
            )
        figures.append(
            make_figure(
                f"{bucket} · execution {exec_tf} — {shown}, {first:%Y-%m-%d} .. {last:%Y-%m-%d} UTC",
                label=f"{bucket} · {exec_tf}",
                height=settings.figure_height,
                traces=traces,
                time_axis=True,
                holes=holes,
                hovermode="x unified",
                yaxis={"title": "lever value", "range": LEVER_AXIS_RANGE},
            )
        )
    return figures
