"""Panel: pooled regime findings across assets (``reports.rpt_regime_findings``).

One chart per detector x bar interval x sample (out-of-sample views first): top, the pooled
mean forward return of each regime as grouped bars, one bar per horizon, with the 95%
calendar-block-bootstrap interval as error bars; bottom, the pooled mean forward realized
vol the same way. Each regime's x label carries its share of the asset-bars. The title
lists the detector's contrasts at the longest horizon: the separation with its interval, a
tick when it has the expected sign and excludes 0, and the share of assets where it has the
expected sign. Hover: n (asset-bars), assets, share of bars, interval. Shown only when the
report exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import query, relation_exists
from ..settings import Settings
from ..style import DETECTOR_ORDER, FALLBACK_COLOURS, REGIME_ORDER, make_figure, order_key

if TYPE_CHECKING:  # plotly is imported when a figure is made (style.make_figure)
    import plotly.graph_objects as go

TITLE = "Pooled regime findings across assets"
SOURCE = "reports.rpt_regime_findings"
# Vertical share of the chart (paper coordinates) for returns (top) and realized vol (bottom).
RETURN_DOMAIN = [0.42, 0.92]
VOL_DOMAIN = [0.0, 0.34]
# Label order: the house order, then the labels of the HMM and the grid verdicts.
ORDER = (*REGIME_ORDER, "low", "high", "RANGE_OK", "RANGE_WEAK", "TRANSITION", "TREND")
VIEW_DETECTOR_ORDER = (*DETECTOR_ORDER, "grid_verdict")
SAMPLE_ORDER = ("out_of_sample", "all")
METRIC_LABELS = {"forward_return": "return", "forward_abs_return": "|return|", "forward_rv": "vol"}


def subtitle(settings: Settings) -> str:
    """One line under the title."""
    return (
        f"Pooled over every asset a detector labels, from {SOURCE}: mean forward return (top) and realized "
        f"vol (bottom) per regime and horizon with 95% calendar-block-bootstrap intervals; the title checks "
        f"each detector's contrast (✓ = expected sign, interval excludes 0). Pick a detector x interval x "
        f"sample."
    )


def view_key(detector: str, bar_interval: str, sample: str):
    """Views by detector (uptrend, trend_vol, volatility_hmm, volatility_quadrant, grid_verdict,
    others after), bar interval (longest first), out_of_sample before all."""
    minutes = {"1d": 0, "4h": 1, "1h": 2, "15m": 3, "5m": 4, "1m": 5}
    return (
        order_key(VIEW_DETECTOR_ORDER)(str(detector)),
        minutes.get(str(bar_interval), 9),
        str(bar_interval),
        order_key(SAMPLE_ORDER)(str(sample)),
    )


def share_text(share: float) -> str:
    """A regime's share of the asset-bars for its x label: whole percent, one decimal below 1%."""
    return f"{share:.0%}" if not share < 0.01 else f"{share:.1%}"


def contrast_lines(rows: pd.DataFrame) -> list[str]:
    """One title line per contrast x metric with a hypothesis, at the longest horizon:
    ``name · metric (h bars): +0.12% [-0.05%, +0.30%] ✓ · 83% of 6 assets``."""
    lines = []
    rows = rows[rows["expected_sign"].notna()]
    if rows.empty:
        return lines
    longest = rows["horizon_bars"].max()
    for row in rows[rows["horizon_bars"] == longest].itertuples(index=False):
        mark = "✓" if pd.notna(row.is_separated_as_expected) and bool(row.is_separated_as_expected) else "✗"
        sign = "+" if row.expected_sign > 0 else "−"
        share = (
            ""
            if pd.isna(row.share_series_expected_sign)
            else f" · {row.share_series_expected_sign:.0%} of {row.n_series_compared} assets"
        )
        lines.append(
            f"{row.regime} · {METRIC_LABELS.get(row.metric, row.metric)} ({row.horizon_bars} bars, "
            f"expected {sign}): {row.mean:+.2%} [{row.ci_low:+.2%}, {row.ci_high:+.2%}] {mark}{share}"
        )
    return lines


def build(con, settings: Settings = Settings()) -> list[go.Figure] | None:
    """One figure per detector x bar interval x sample; None when the report is missing."""
    if not relation_exists(con, SOURCE):
        return None
    frame = query(
        con,
        f"""
        select detector, bar_interval, sample, row_kind, regime, metric, horizon_bars, n_series, n_bars,
               share_of_bars, n, mean, ci_low, ci_high, expected_sign, is_separated_as_expected,
               n_series_compared, share_series_expected_sign
        from {SOURCE} order by horizon_bars""",
    )
    figures = []
    groups = frame.groupby(["detector", "bar_interval", "sample"], dropna=False, sort=False)
    for key in sorted(groups.groups, key=lambda k: view_key(*k)):
        detector, interval, sample = key
        part = groups.get_group(key)
        regimes_rows = part[part["row_kind"] == "regime"]
        regimes = sorted({str(r) for r in regimes_rows["regime"]}, key=order_key(ORDER))
        shares = regimes_rows.drop_duplicates("regime").set_index("regime")["share_of_bars"]
        ticks = [f"{r} ({share_text(shares.get(r, np.nan))})" for r in regimes]
        traces = []
        for i, (horizon, rows) in enumerate(regimes_rows.groupby("horizon_bars", sort=True)):
            colour = FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]
            for metric, axis in (("forward_return", "y"), ("forward_rv", "y2")):
                cut = rows[rows["metric"] == metric].set_index(rows.loc[rows["metric"] == metric, "regime"].astype(str))
                cut = cut.reindex(regimes)
                mean = cut["mean"].to_numpy(dtype=float)
                custom = cut[["n", "n_series", "share_of_bars", "ci_low", "ci_high"]].to_numpy(dtype=float)
                fmt = ".2%" if metric == "forward_return" else ".4g"
                traces.append(
                    {
                        "type": "bar",
                        "x": ticks,
                        "y": mean,
                        "yaxis": axis,
                        "name": f"{horizon} bars",
                        "legendgroup": str(horizon),
                        "showlegend": axis == "y",
                        "marker": {"color": colour, "opacity": 1.0 if axis == "y" else 0.6},
                        "error_y": {
                            "type": "data",
                            "symmetric": False,
                            "array": cut["ci_high"].to_numpy(dtype=float) - mean,
                            "arrayminus": mean - cut["ci_low"].to_numpy(dtype=float),
                            "thickness": 1,
                        },
                        "customdata": custom,
                        "hovertemplate": f"%{{x}} · {horizon} bars<br>mean {METRIC_LABELS[metric]} %{{y:{fmt}}} "
                        f"[%{{customdata[3]:{fmt}}}, %{{customdata[4]:{fmt}}}]"
                        "<br>n %{customdata[0]:,.0f} asset-bars · %{customdata[1]:.0f} assets"
                        "<br>share of bars %{customdata[2]:.1%}<extra></extra>",
                    }
                )
        lines = contrast_lines(part[part["row_kind"] == "contrast"])
        label = f"{detector} · {interval} · {sample.replace('_', '-')}"
        title = label + "".join(f"<br><sup>{line}</sup>" for line in lines)
        figures.append(
            make_figure(
                title,
                label=label,
                height=settings.figure_height + 20 * len(lines),
                traces=traces,
                barmode="group",
                margin={"t": 60 + 18 * len(lines)},
                xaxis={"anchor": "y2"},
                yaxis={"domain": RETURN_DOMAIN, "title": {"text": "mean fwd return"}, "tickformat": ".1%"},
                yaxis2={"domain": VOL_DOMAIN, "title": {"text": "mean fwd RV"}, "anchor": "x"},
            )
        )
    return figures
