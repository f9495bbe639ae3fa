"""The regime dashboard: ONE self-contained HTML file of plotly charts (docs/dashboard.md).

``python -m market_regimes.dashboard [--db PATH] [--out reports/regimes.html]`` (``make
report``) reads the warehouse read-only and writes the page; the Dagster asset
``reports/regimes_dashboard`` does the same (orchestration/defs/report.py).

Layout: ``current_table`` renders the "current regimes" summary on top of the page (from
:func:`market_regimes.current.current_regimes`); ``panels/`` holds one module per panel,
each fed by one mart (see :mod:`market_regimes.dashboard.panels` for the contract and the
registry); ``writer`` assembles them into the page (plotly.js inlined, so it opens
offline; searchable view selectors); ``settings`` holds the options (intraday display
window, the holes cut out of time axes) and defaults; ``style`` the colours, orderings
and figure defaults; ``data`` the shared query helpers; ``browser`` renders the page in
headless Chromium (tests, the README picture). A panel whose mart is missing is left out
and named in the page footer.
"""

from .settings import DEFAULT_MAX_INTRADAY_BARS, Settings

__all__ = ["DEFAULT_MAX_INTRADAY_BARS", "Settings", "WriteResult", "render_html", "write_dashboard"]
_FROM_WRITER = ("WriteResult", "render_html", "write_dashboard")


def __getattr__(name: str):
    # the writer (and plotly, ~1 s to import) loads on first use, not with the package
    if name in _FROM_WRITER:
        from . import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
