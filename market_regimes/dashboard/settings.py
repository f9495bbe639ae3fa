"""Dashboard configuration: paths, display limits and bar-interval arithmetic.

Everything a user may want to change is a field of :class:`Settings` (the CLI exposes
each one as an option); module constants are the documented defaults.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from market_regimes.settings import DB_ENV, DEFAULT_DB, PROJECT_DIR  # noqa: F401 (re-exported)

DEFAULT_OUT = "reports/regimes.html"

# Most recent bars shown per intraday series (bar interval shorter than a day). 2,000
# hourly bars are ~83 days, 2,000 5-minute bars ~7 days; daily series are shown whole
# (the sample's longest is ~1,100 days). Keeps the file a few MB and the page responsive.
DEFAULT_MAX_INTRADAY_BARS = 2000
# A series whose bars are shorter than this many minutes is "intraday" (capped above).
DAY_MINUTES = 1440
# Pixel height of one chart.
DEFAULT_FIGURE_HEIGHT = 460
# A hole in a series' bars is cut out of its time axis (plotly rangebreaks) when it lasts
# longer than BOTH this many bars (the default of the dbt var max_gap_bars, the same hole
# that starts a new segment and breaks the drawn line) AND DEFAULT_AXIS_GAP_MIN_HOURS. So a
# daily series loses holes of more than 24 days, an hourly or 5-minute one holes of more
# than 2 days (the sample's 16-month hole between 2023-12 and 2025-04 in every series);
# shorter holes stay on the axis as visible blanks. 0 bars: never cut.
DEFAULT_AXIS_GAP_BARS = 24
DEFAULT_AXIS_GAP_MIN_HOURS = 48.0

_UNIT_MINUTES = {"m": 1, "h": 60, "d": DAY_MINUTES, "w": 7 * DAY_MINUTES}


@dataclass(frozen=True)
class Settings:
    """Display options shared by every panel.

    max_intraday_bars: the most recent bars shown per intraday series (>= 1).
    figure_height: height of one chart in pixels (>= 100).
    axis_gap_bars, axis_gap_min_hours: a hole between two consecutive bars shown in a
        chart is cut out of its time axis when it is longer than ``axis_gap_bars`` bar
        intervals and longer than ``axis_gap_min_hours`` hours (both must hold), so the
        axis shows only spans with data; the hover and tick labels keep the true times.
        The minimum stops short outages of fine-grained series (2 hours of 5-minute bars)
        from chopping the axis; the bar multiple keeps daily series whole across a missed
        day or two. ``axis_gap_bars`` 0 turns the cutting off (>= 0; hours >= 0).

    Raises ValueError on out-of-range values.
    """

    max_intraday_bars: int = DEFAULT_MAX_INTRADAY_BARS
    figure_height: int = DEFAULT_FIGURE_HEIGHT
    axis_gap_bars: int = DEFAULT_AXIS_GAP_BARS
    axis_gap_min_hours: float = DEFAULT_AXIS_GAP_MIN_HOURS

    def __post_init__(self) -> None:
        if self.max_intraday_bars < 1:
            raise ValueError(f"max_intraday_bars must be >= 1, got {self.max_intraday_bars}")
        if self.figure_height < 100:
            raise ValueError(f"figure_height must be >= 100 pixels, got {self.figure_height}")
        if self.axis_gap_bars < 0:
            raise ValueError(f"axis_gap_bars must be >= 0 (0: never cut holes), got {self.axis_gap_bars}")
        if not self.axis_gap_min_hours >= 0:
            raise ValueError(f"axis_gap_min_hours must be >= 0, got {self.axis_gap_min_hours}")


def interval_minutes(bar_interval: str) -> int:
    """Minutes in a bar interval label: ``"5m"`` -> 5, ``"1h"`` -> 60, ``"1d"`` -> 1440.

    Accepts ``<n><unit>`` with unit m, h, d or w (case-insensitive, as in seeds.bar_intervals).
    Raises ValueError for anything else.
    """
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", str(bar_interval).lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"unknown bar interval {bar_interval!r} (expected e.g. 5m, 1h, 1d)")
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def is_intraday(bar_interval: str) -> bool:
    """True when bars of ``bar_interval`` are shorter than a day (their display is capped)."""
    return interval_minutes(bar_interval) < DAY_MINUTES


def resolve_path(path: str | os.PathLike | None, env: str | None = None, default: str | None = None) -> Path:
    """The file to use: ``path`` as given (relative to the working directory), else env var
    ``env``, else ``default`` (both relative to the project directory, like dbt's profile).

    Raises ValueError when all three are empty.
    """
    if path:
        return Path(path)
    chosen = (os.environ.get(env) if env else None) or default
    if not chosen:
        raise ValueError("no path given and no default")
    p = Path(chosen)
    return p if p.is_absolute() else PROJECT_DIR / p
