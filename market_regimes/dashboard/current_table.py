"""The "current regimes" summary at the top of the dashboard.

The numbers come from :func:`market_regimes.current.current_regimes` (the same readings
``market-regimes now`` prints): the latest bar of every regime series. They are laid out
as four cards:

* **Uptrend state**: driver x timeframe matrix; per cell the state S0..S4 of the latest
  bar, the flags raised on it (buy, rebuy, trim, exit), since when the state holds and
  for how many bars, and the bar it was read from ("as of");
* **A / E levers**: bucket x execution timeframe matrix; A and E (as bars and numbers),
  the position size, degraded readings flagged;
* **Trend x vol**: one row per market: regime, since when (days), price, MA, vol;
* **HMM vol regime / quadrant**: driver x timeframe matrix of the driver series; the
  symbol series (one per exchange x symbol x interval, ~100 on the sample) are listed in
  a folded table below with a filter box.

Each cell links to its chart (``#<panel>-<n>``) when the page has that view. A section
whose mart is missing (or empty) says so; when :func:`current_regimes` fails (a mart
without a documented column: a stale build) the summary shows the error instead of
breaking the whole page.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..current import SECTION_BY_KEY, current_regimes
from .settings import DAY_MINUTES, interval_minutes
from .style import (
    BUCKET_ORDER,
    DRIVER_ORDER,
    EXECUTION_TIMEFRAME_ORDER,
    MARKET_REGIME_COLOURS,
    QUADRANT_COLOURS,
    STATE_COLOURS,
    TIMEFRAME_ORDER,
    colour_map,
    order_key,
)

# HTML id of the summary section (the page's header links to it).
SECTION_ID = "current-regimes"
TITLE = "Current regimes"
# Colours of the vol_regime labels of the HMM (high = red, low = green).
VOL_REGIME_COLOURS = {"low": "#2ca02c", "high": "#d62728"}
# Uptrend flags shown as badges, in this order: column -> badge text.
UPTREND_FLAGS = {"buy_flag": "buy", "rebuy_flag": "rebuy", "trim_flag": "trim", "emergency_exit": "exit"}
# The panels whose views the cells link to (by view label, see _find_view).
PRICE_PANEL, LEVERS_PANEL, MARKET_PANEL, VOLATILITY_PANEL = (
    "price_regimes",
    "levers",
    "market_regimes",
    "volatility_regimes",
)

# panel name -> {view label: view id}; see :func:`view_index`.
ViewIndex = Mapping[str, Mapping[str, str]]


@dataclass
class CurrentRegimes:
    """What the summary shows: the section frames of ``current_regimes`` (key -> frame),
    or ``error`` (a message) when reading them failed."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    error: str | None = None


def load(con: duckdb.DuckDBPyConnection) -> CurrentRegimes:
    """Read the current regimes through ``con``; a DuckDB error becomes ``error`` (the page still renders)."""
    try:
        return CurrentRegimes(frames=current_regimes(con))
    except duckdb.Error as exc:
        return CurrentRegimes(error=f"{type(exc).__name__}: {exc}")


def view_index(results) -> dict[str, dict[str, str]]:
    """panel name -> {view label: view id} over the shown panels (writer.PanelResult list),
    so summary cells can link to their charts."""
    from .style import view_label

    return {
        r.name: {view_label(fig, f"view {i + 1}"): f"{r.name}-{i}" for i, fig in enumerate(r.figures)}
        for r in results
        if r.shown
    }


def _find_view(views: ViewIndex | None, panel: str, label: str, prefix: bool = False) -> str | None:
    """The id of the view of ``panel`` labelled ``label`` (or, with ``prefix``, whose label
    starts with ``label`` + " (", as "BTC · macro (1d)" for "BTC · macro")."""
    labels = (views or {}).get(panel, {})
    if not prefix:
        return labels.get(label)
    for text, view_id in labels.items():
        if text.startswith(f"{label} ("):
            return view_id
    return None


def format_time(value, bar_interval: str | None = None) -> str:
    """A bar time as shown in the table: ``YYYY-MM-DD`` for bars of a day or longer,
    else ``YYYY-MM-DD HH:MM``; an empty string for a missing value. Without a (valid)
    interval, the time is dropped when it is midnight."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    try:
        daily = bar_interval is not None and interval_minutes(bar_interval) >= DAY_MINUTES
    except ValueError:
        daily = False
    if daily or (bar_interval is None and stamp == stamp.normalize()):
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M}"


def _e(value) -> str:
    """HTML-escaped text of a value; missing values (None, NaN, NaT) are empty."""
    return "" if _missing(value) else html.escape(str(value))


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _true(value) -> bool:
    return not _missing(value) and bool(value)


def _chip(value, colours: Mapping[str, str]) -> str:
    if _missing(value):
        return '<span class="chip none">none</span>'
    colour = colour_map([value], dict(colours))[value]
    return f'<span class="chip" style="background:{colour}">{_e(value)}</span>'


def _link(inner: str, view_id: str | None) -> str:
    return f'<a class="to-view" href="#{_e(view_id)}">{inner}</a>' if view_id else inner


def _number(value, fmt: str) -> str:
    return "" if _missing(value) else format(float(value), fmt)


@dataclass
class Cell:
    """One cell of a matrix card: its ``<td>`` attributes, content, the bar it was read
    from (``bar_start``, formatted for ``interval``) and the chart view it links to."""

    attrs: str
    inner: str
    bar_start: object
    interval: str | None
    view_id: str | None = None


def _stale(cell: Cell, latest) -> bool:
    """True when the cell was read from a bar more than one bar interval before ``latest``
    (any earlier bar when its interval is unknown)."""
    if _missing(cell.bar_start) or latest is None:
        return False
    behind = latest - pd.Timestamp(cell.bar_start)
    try:
        return behind > pd.Timedelta(minutes=interval_minutes(cell.interval))
    except (TypeError, ValueError):
        return behind > pd.Timedelta(0)


def _matrix(
    rows: list[str], columns: list[str], cells: Mapping[tuple[str, str], Cell], corner: str, table_id: str
) -> str:
    """A rows x columns table of cells. Each column header carries the latest bar of its
    cells ("as of"); a cell read from a bar more than one interval older names its own
    (class ``asof stale``)."""
    latest = {}
    for col in columns:
        stamps = [
            (pd.Timestamp(c.bar_start), c.interval)
            for (_, c2), c in cells.items()
            if c2 == col and not _missing(c.bar_start)
        ]
        latest[col] = max(stamps, key=lambda t: t[0]) if stamps else (None, None)
    head = "".join(
        f'<th scope="col">{_e(c)}<div class="asof">'
        f"{'as of ' + format_time(*latest[c]) if latest[c][0] is not None else ''}</div></th>"
        for c in columns
    )
    body = []
    for row in rows:
        tds = []
        for col in columns:
            cell = cells.get((row, col))
            if cell is None:
                tds.append('<td class="empty">—</td>')
                continue
            inner = cell.inner
            if _stale(cell, latest[col][0]):
                inner += f'<div class="asof stale">as of {format_time(cell.bar_start, cell.interval)}</div>'
            tds.append(f"<td {cell.attrs}>{_link(inner, cell.view_id)}</td>")
        body.append(f'<tr><th scope="row">{_e(row)}</th>{"".join(tds)}</tr>')
    return (
        f'<table class="current-table" id="{table_id}"><thead><tr><th>{_e(corner)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _card(key: str, card_id: str, heading: str, frame: pd.DataFrame, body: Callable[[pd.DataFrame], str]) -> str:
    source = SECTION_BY_KEY[key].source if key in SECTION_BY_KEY else key
    if frame is None or frame.empty:
        content = f'<p class="empty-note">No rows: <code>{_e(source)}</code> is missing or empty.</p>'
    else:
        content = body(frame)
    return (
        f'<div class="card" id="{card_id}"><h3>{_e(heading)} <span class="source">{_e(source)}</span></h3>'
        f"{content}</div>"
    )


def uptrend_card(frame: pd.DataFrame, views: ViewIndex | None = None) -> str:
    """The driver x timeframe matrix of the latest Uptrend Engine states (frame: section
    ``uptrend_states`` of current_regimes)."""

    def body(frame: pd.DataFrame) -> str:
        cells = {}
        for row in frame.itertuples(index=False):
            interval = row.bar_interval if not _missing(row.bar_interval) else None
            flags = "".join(
                f'<span class="flag flag-{text}">{text}</span>'
                for column, text in UPTREND_FLAGS.items()
                if _true(getattr(row, column, None))
            )
            label = f"{row.driver} · {row.timeframe}"
            bars = "" if _missing(row.bars_in_state) else f" · {int(row.bars_in_state):,} bars"
            since = (
                ""
                if _missing(row.state_since)
                else f'<div class="since">since {format_time(row.state_since, interval)}{bars}</div>'
            )
            inner = f"{_chip(row.state, STATE_COLOURS)}{flags}{since}"
            cells[(row.driver, row.timeframe)] = Cell(
                f'class="cell" data-series="{_e(label)}" data-state="{_e(row.state)}"',
                inner,
                row.bar_start,
                interval,
                _find_view(views, PRICE_PANEL, label, prefix=True),
            )
        drivers = sorted(set(frame["driver"]), key=order_key(DRIVER_ORDER))
        timeframes = sorted(set(frame["timeframe"]), key=order_key(TIMEFRAME_ORDER))
        return _matrix(drivers, timeframes, cells, "driver", "current-uptrend-table")

    return _card("uptrend_states", "current-uptrend", "Uptrend state", frame, body)


def levers_card(frame: pd.DataFrame, views: ViewIndex | None = None) -> str:
    """The bucket x execution timeframe matrix of the latest A / E levers (frame: section
    ``levers`` of current_regimes)."""

    def body(frame: pd.DataFrame) -> str:
        cells = {}
        for row in frame.itertuples(index=False):
            label = f"{row.bucket} · {row.execution_timeframe}"
            bars = "".join(
                f'<div class="lever lever-{name.lower()}"><span class="lever-name">{name}</span>'
                f'<span class="lever-track"><span class="lever-fill" style="width:{100 * min(max(v, 0), 1):.0f}%">'
                f'</span></span><span class="lever-value">{v:.2f}</span></div>'
                for name, v in (("A", float(row.a_value)), ("E", float(row.e_value)))
                if not pd.isna(v)
            )
            degraded = '<span class="flag flag-degraded">degraded</span>' if _true(row.is_degraded) else ""
            size = _number(row.position_size_frac, ".1%")
            inner = f'{bars}<div class="since">size {size}{degraded}</div>'
            cells[(row.bucket, row.execution_timeframe)] = Cell(
                f'class="cell" data-series="{_e(label)}" data-a="{float(row.a_value):.4f}" '
                f'data-e="{float(row.e_value):.4f}"',
                inner,
                row.bar_start,
                row.execution_timeframe,
                _find_view(views, LEVERS_PANEL, label),
            )
        buckets = sorted(set(frame["bucket"]), key=order_key(BUCKET_ORDER))
        timeframes = sorted(set(frame["execution_timeframe"]), key=order_key(EXECUTION_TIMEFRAME_ORDER))
        return _matrix(buckets, timeframes, cells, "bucket", "current-levers-table")

    return _card("levers", "current-levers", "A / E levers", frame, body)


def market_card(frame: pd.DataFrame, views: ViewIndex | None = None) -> str:
    """One row per market: the latest trend x vol regime (frame: section ``market_regimes``)."""

    def body(frame: pd.DataFrame) -> str:
        rows = []
        for row in frame.itertuples(index=False):
            days = "" if _missing(row.days_in_regime) else f" · {int(row.days_in_regime):,} days"
            rows.append(
                f'<tr data-series="{_e(row.market)}" data-regime="{_e(row.regime)}">'
                f'<th scope="row">{_link(_e(row.market), _find_view(views, MARKET_PANEL, str(row.market)))}</th>'
                f'<td>{_chip(row.regime, MARKET_REGIME_COLOURS)}<div class="since">since '
                f"{format_time(row.regime_since, '1d')}{days}</div></td>"
                f'<td class="num">{_number(row.price, ",.6g")}</td><td class="num">{_number(row.ma, ",.6g")}</td>'
                f'<td class="num">{_number(row.vol_value, ",.4g")}</td>'
                f'<td class="asof">{format_time(row.bar_start, "1d")}</td></tr>'
            )
        return (
            '<table class="current-table" id="current-market-table"><thead><tr><th>market</th><th>regime</th>'
            "<th>price</th><th>MA</th><th>vol</th><th>as of</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    return _card("market_regimes", "current-market", "Trend x vol", frame, body)


def _vol_cell(row) -> str:
    interval = row.bar_interval if not _missing(row.bar_interval) else None
    p = _number(row.hmm_p_high_vol, ".2f")
    direction = "" if _missing(row.direction) else f", {_e(row.direction)}"
    return (
        f'{_chip(row.quadrant, QUADRANT_COLOURS)} <span class="since">since '
        f"{format_time(row.quadrant_since, interval)}</span>"
        f'<div class="since">{_chip(row.vol_regime, VOL_REGIME_COLOURS)} vol (p {p}{direction}) since '
        f"{format_time(row.vol_regime_since, interval)}</div>"
    )


def volatility_card(frame: pd.DataFrame, views: ViewIndex | None = None) -> str:
    """The driver x timeframe matrix of the latest HMM vol regime and quadrant of the
    driver series, then the symbol series in a folded, filterable table (frame: section
    ``volatility_regimes`` of current_regimes)."""

    def body(frame: pd.DataFrame) -> str:
        drivers = frame[frame["series_type"] == "driver"]
        symbols = frame[frame["series_type"] != "driver"]
        parts = []
        if not drivers.empty:
            cells = {}
            for row in drivers.itertuples(index=False):
                label = f"{row.driver} · {row.timeframe}"
                cells[(row.driver, row.timeframe)] = Cell(
                    f'class="cell" data-series="{_e(label)}" data-quadrant="{_e(row.quadrant)}" '
                    f'data-vol-regime="{_e(row.vol_regime)}"',
                    _vol_cell(row),
                    row.bar_start,
                    row.bar_interval if not _missing(row.bar_interval) else None,
                    _find_view(views, VOLATILITY_PANEL, label, prefix=True),
                )
            parts.append(
                _matrix(
                    sorted(set(drivers["driver"]), key=order_key(DRIVER_ORDER)),
                    sorted(set(drivers["timeframe"]), key=order_key(TIMEFRAME_ORDER)),
                    cells,
                    "driver",
                    "current-volatility-table",
                )
            )
        if not symbols.empty:
            rows = []
            for row in symbols.itertuples(index=False):
                interval = row.bar_interval if not _missing(row.bar_interval) else None
                rows.append(
                    f'<tr data-series="{_e(row.series_id)}"><th scope="row">{_e(row.series_id)}</th>'
                    f"<td>{_chip(row.quadrant, QUADRANT_COLOURS)}</td>"
                    f"<td>{format_time(row.quadrant_since, interval)}</td>"
                    f"<td>{_chip(row.vol_regime, VOL_REGIME_COLOURS)}</td>"
                    f'<td class="num">{_number(row.hmm_p_high_vol, ".2f")}</td>'
                    f"<td>{'' if _missing(row.direction) else _e(row.direction)}</td>"
                    f"<td>{format_time(row.vol_regime_since, interval)}</td>"
                    f'<td class="asof">{format_time(row.bar_start, interval)}</td></tr>'
                )
            parts.append(
                f'<details class="symbols"><summary>Symbol series ({len(symbols):,})</summary>'
                '<input type="search" class="row-filter" id="current-symbols-filter" data-table="current-symbols-table"'
                ' placeholder="filter: e.g. binance 1h crisis" aria-label="filter symbol series" autocomplete="off">'
                '<span class="filter-count" id="current-symbols-count"></span>'
                '<table class="current-table" id="current-symbols-table"><thead><tr><th>series</th><th>quadrant</th>'
                "<th>since</th><th>vol</th><th>hmm_p_high_vol</th><th>direction</th><th>vol since</th><th>as of</th>"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
            )
        return "".join(parts)

    return _card(
        "volatility_regimes", "current-volatility", "Vol regime / quadrant (hmm_p_high_vol: the HMM)", frame, body
    )


def render(current: CurrentRegimes, views: ViewIndex | None = None) -> str:
    """The summary ``<section>`` (id :data:`SECTION_ID`): the four cards, or the error."""
    intro = (
        '<p class="subtitle">The latest bar of every regime series (as <code>market-regimes now</code> '
        "prints them): &quot;since&quot; is the first bar of the current run of the label, &quot;as of&quot; "
        "the bar it was read from (UTC bar opens). A cell opens its chart.</p>"
    )
    out = [f'<section class="current" id="{SECTION_ID}"><h2>{TITLE}</h2>', intro]
    if current.error:
        out.append(
            f'<p class="error" id="current-error">The current regimes could not be read: '
            f"<code>{_e(current.error)}</code></p>"
        )
    else:
        frames = current.frames
        out.append('<div class="current-grid">')
        out.append(uptrend_card(frames.get("uptrend_states"), views))
        out.append(levers_card(frames.get("levers"), views))
        out.append(market_card(frames.get("market_regimes"), views))
        out.append(volatility_card(frames.get("volatility_regimes"), views))
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)
