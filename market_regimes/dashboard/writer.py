"""Assemble the panels into ONE self-contained HTML file and write it.

The page inlines the plotly.js bundle (no network is needed to open it: no script,
stylesheet or font is loaded from anywhere). On top, the "current regimes" summary
(:mod:`market_regimes.dashboard.current_table`: the latest state, levers and regimes,
each cell linking to its chart); then one ``<section>`` per shown panel with its title,
subtitle and, when it has several views, a ``<select>`` that shows one view and hides the
others, with a filter box next to it: typing hides the options that do not contain every
typed word (case-insensitive, the option group's name included) and shows the first
match. A few lines of inline JS do it; ``<page>#<panel>-<n>`` opens view n of a panel (at
load and on every change of the address, e.g. a click in the summary), and picking a view
puts its id in the address. Each chart's figure JSON sits in a ``<script
type="application/json">`` and is drawn by ``Plotly.newPlot`` when its view is first
shown, so a panel with hundreds of views costs one drawing at load. The plotly template
is emitted once for all charts instead of once per chart.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import plotly.io as pio
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs

from . import current_table
from .current_table import CurrentRegimes
from .panels import PANELS, PanelResult, build_panels
from .settings import PROJECT_DIR, Settings
from .style import TEMPLATE, view_label

PAGE_TITLE = "market-regimes — regime dashboard"
# A view selector groups its options by the label's first part ("detector · series")
# once a panel has more views than this.
OPTGROUP_MIN_VIEWS = 12
LABEL_SEPARATOR = " · "
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       background: #f6f7f9; color: #1d2733; }
header { background: #1f3b57; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 2px 0; font-size: 13px; opacity: .9; }
header nav a { color: #cfe3ff; margin-right: 14px; font-size: 13px; }
main { padding: 8px 24px 24px 24px; }
section.panel { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }
section.panel h2 { margin: 0 0 4px 0; font-size: 18px; }
p.subtitle { margin: 0 0 8px 0; font-size: 13px; color: #4b5b6b; }
p.source { margin: 0 0 8px 0; font-size: 12px; color: #6b7b8b; }
div.view-picker { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 0 0 6px 0; font-size: 13px; }
select.view-select { font-size: 13px; max-width: 60ch; }
input.view-filter, input.row-filter { font-size: 13px; width: 30ch; padding: 2px 6px; border: 1px solid #b8c4d0;
       border-radius: 4px; }
input.no-match { border-color: #d62728; background: #fff3f3; }
span.filter-count { font-size: 12px; color: #6b7b8b; margin-left: 6px; }
section.current { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }
section.current h2 { margin: 0 0 4px 0; font-size: 18px; }
div.current-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 12px; }
div.card { border: 1px solid #e4e9ef; border-radius: 6px; padding: 8px 10px; overflow-x: auto; }
div.card h3 { margin: 0 0 6px 0; font-size: 15px; }
div.card h3 span.source { font-weight: normal; font-size: 11px; color: #6b7b8b; margin-left: 6px; }
table.current-table { border-collapse: collapse; font-size: 12px; width: 100%; }
table.current-table th, table.current-table td { border-bottom: 1px solid #eef1f5; padding: 4px 6px; text-align: left;
       vertical-align: top; }
table.current-table thead th { color: #4b5b6b; font-weight: 600; }
table.current-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.current-table td.empty { color: #b0bac4; text-align: center; }
table.current-table a.to-view { color: inherit; text-decoration: none; display: block; }
table.current-table a.to-view:hover { background: #f0f5fb; }
span.chip { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-weight: 600;
       font-size: 11px; line-height: 17px; }
span.chip.none { background: #c5ccd3; }
span.flag { display: inline-block; margin-left: 4px; padding: 0 4px; border: 1px solid #8c8c8c; border-radius: 3px;
       font-size: 10px; line-height: 14px; color: #4b5b6b; }
span.flag-exit, span.flag-degraded { border-color: #d62728; color: #d62728; }
div.since { color: #1d2733; font-size: 11px; margin-top: 2px; }
div.asof, td.asof { color: #8a98a6; font-size: 10px; font-weight: normal; }
div.asof.stale { color: #b35c00; }
div.lever { display: flex; align-items: center; gap: 4px; font-size: 11px; }
span.lever-name { width: 1.2em; font-weight: 600; }
span.lever-track { flex: 1; min-width: 40px; height: 7px; background: #eef1f5; border-radius: 2px; }
span.lever-fill { display: block; height: 7px; border-radius: 2px; }
div.lever-a span.lever-fill { background: #1f77b4; }
div.lever-e span.lever-fill { background: #d62728; }
span.lever-value { font-variant-numeric: tabular-nums; }
details.symbols { margin-top: 8px; font-size: 13px; }
details.symbols summary { cursor: pointer; margin-bottom: 6px; }
p.error { color: #d62728; }
p.empty-note { color: #6b7b8b; font-size: 12px; }
footer { padding: 0 24px 24px 24px; font-size: 12px; color: #4b5b6b; }
code { font-size: 12px; }
"""

_JS = """
(function () {
  const TEMPLATE = JSON.parse(document.getElementById('plotly-template').textContent);
  const CONFIG = JSON.parse(document.getElementById('plotly-config').textContent);
  function render(id) {
    const div = document.getElementById(id);
    if (!div) { return; }
    if (div.dataset.rendered) { Plotly.Plots.resize(div); return; }
    const fig = JSON.parse(document.getElementById(id + '-fig').textContent);
    fig.layout = fig.layout || {};
    fig.layout.template = TEMPLATE;
    Plotly.newPlot(div, fig.data, fig.layout, CONFIG);
    div.dataset.rendered = '1';
  }
  function show(select) {
    for (const option of select.options) {
      const div = document.getElementById(option.value);
      if (div) { div.hidden = option.value !== select.value; }
    }
    render(select.value);
  }
  function pick(select, value) {
    select.value = value;
    show(select);
    history.replaceState(null, '', '#' + value);
  }
  // every whitespace-separated word of the filter must occur in the text (case-insensitive)
  function matches(text, query) {
    const words = query.toLowerCase().split(/\\s+/).filter(Boolean);
    text = text.toLowerCase();
    return words.every(function (w) { return text.includes(w); });
  }
  function countText(shown, total, query) {
    if (!query.trim()) { return ''; }
    return shown ? shown + ' of ' + total + ' match' : 'no match';
  }
  // hide (and disable) the options of a view selector that do not match its filter box;
  // when the view on screen no longer matches, show the first match
  function filterViews(select, input) {
    const query = input.value;
    let first = null, shown = 0;
    for (const option of select.options) {
      const group = option.parentElement.tagName === 'OPTGROUP' ? option.parentElement.label : '';
      const ok = matches(option.text + ' ' + group, query);
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok) { shown += 1; first = first || option; }
    }
    select.querySelectorAll('optgroup').forEach(function (g) {
      g.hidden = !Array.from(g.children).some(function (o) { return !o.hidden; });
    });
    input.classList.toggle('no-match', shown === 0);
    const count = document.getElementById(select.dataset.panel + '-count');
    if (count) { count.textContent = countText(shown, select.options.length, query); }
    const current = select.options[select.selectedIndex];
    if (first && (!current || current.hidden)) { pick(select, first.value); }
  }
  // open the view with this id (in whichever panel has it); false when there is none
  function openView(id, scroll) {
    const div = document.getElementById(id);
    if (!id || !div || !div.classList.contains('view')) { return false; }
    const select = div.closest('section.panel').querySelector('select.view-select');
    if (select) {
      const option = Array.from(select.options).find(function (o) { return o.value === id; });
      const input = document.getElementById(select.dataset.panel + '-filter');
      if (option && option.hidden && input) { input.value = ''; filterViews(select, input); }
      select.value = id;
      show(select);
    } else {
      render(id);
    }
    if (scroll) { div.scrollIntoView(); }
    return true;
  }
  // a link to <page>#<panel>-<n> opens that view
  const wanted = decodeURIComponent(location.hash.slice(1));
  document.querySelectorAll('section.panel').forEach(function (section) {
    const select = section.querySelector('select.view-select');
    if (select) {
      if (wanted && Array.from(select.options).some(function (o) { return o.value === wanted; })) {
        select.value = wanted;
      }
      select.addEventListener('change', function () { pick(select, select.value); });
      const input = document.getElementById(select.dataset.panel + '-filter');
      if (input) {
        input.addEventListener('input', function () { filterViews(select, input); });
        input.addEventListener('keydown', function (event) {
          if (event.key === 'Escape') { input.value = ''; filterViews(select, input); }
        });
      }
      show(select);
    } else {
      section.querySelectorAll('div.view').forEach(function (div) { render(div.id); });
    }
  });
  // the links of the summary (and any other #<panel>-<n> link) open their view
  window.addEventListener('hashchange', function (event) {
    openView(decodeURIComponent(new URL(event.newURL).hash.slice(1)), true);
  });
  // filter boxes over table rows (the summary's symbol series)
  document.querySelectorAll('input.row-filter').forEach(function (input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) { return; }
    input.addEventListener('input', function () {
      const rows = table.tBodies[0].rows;
      let shown = 0;
      for (const row of rows) {
        // cell by cell: textContent would glue "0.91" and "down" into a "1d" match
        const text = Array.from(row.cells, function (cell) { return cell.textContent; }).join(' ');
        row.hidden = !matches(text, input.value);
        if (!row.hidden) { shown += 1; }
      }
      input.classList.toggle('no-match', shown === 0);
      const count = document.getElementById(input.id.replace(/-filter$/, '-count'));
      if (count) { count.textContent = countText(shown, rows.length, input.value); }
    });
  });
})();
"""


@dataclass
class WriteResult:
    """The written file: path, size in bytes, the panel results and the wall seconds."""

    path: Path
    size_bytes: int
    panels: list[PanelResult]
    seconds: float


def figure_json(fig) -> str:
    """A figure as compact JSON without its template (the page supplies one), safe inside <script>."""
    spec = fig.to_plotly_json()
    spec.get("layout", {}).pop("template", None)
    return _script_safe(pio.to_json(spec, validate=False, pretty=False))


def _script_safe(text: str) -> str:
    # "</" would end the <script> element early; "<\\/" is the same JSON string.
    return text.replace("</", "<\\/")


def _view_selector(name: str, labels: list[str]) -> str:
    """The view picker of a panel: a filter box (id ``<name>-filter``) that narrows the
    options of the ``<select>`` (id ``<name>-select``), and a match count (``<name>-count``)."""
    options = [(f"{name}-{i}", label) for i, label in enumerate(labels)]
    groups = [label.split(LABEL_SEPARATOR, 1)[0] for label in labels]
    grouped = len(labels) > OPTGROUP_MIN_VIEWS and len(set(groups)) > 1
    example = html.escape(" ".join(labels[0].replace(LABEL_SEPARATOR, " ").split()[:2]))
    parts = [
        f'<div class="view-picker"><label for="{name}-select">View ({len(labels)}):</label>'
        f'<input type="search" class="view-filter" id="{name}-filter" data-panel="{name}" '
        f'placeholder="type to filter, e.g. {example}" aria-label="filter the views" autocomplete="off">'
        f'<select class="view-select" id="{name}-select" data-panel="{name}" aria-label="view">'
    ]
    current = None
    for (value, label), group in zip(options, groups):
        if grouped and group != current:
            if current is not None:
                parts.append("</optgroup>")
            parts.append(f'<optgroup label="{html.escape(group)}">')
            current = group
        parts.append(f'<option value="{value}">{html.escape(label)}</option>')
    if grouped:
        parts.append("</optgroup>")
    parts.append(f'</select><span class="filter-count" id="{name}-count"></span></div>')
    return "".join(parts)


def _section(result: PanelResult) -> str:
    name = result.name
    labels = [view_label(fig, f"view {i + 1}") for i, fig in enumerate(result.figures)]
    out = [
        f'<section class="panel" id="panel-{name}" data-source="{html.escape(result.source)}">',
        f"<h2>{html.escape(result.title)}</h2>",
        f'<p class="subtitle">{html.escape(result.subtitle)}</p>',
    ]
    if len(result.figures) > 1:
        out.append(_view_selector(name, labels))
    for i, fig in enumerate(result.figures):
        view_id = f"{name}-{i}"
        out.append(f'<div class="view" id="{view_id}" data-label="{html.escape(labels[i])}"></div>')
        out.append(f'<script type="application/json" id="{view_id}-fig">{figure_json(fig)}</script>')
    out.append("</section>")
    return "\n".join(out)


def render_html(
    results: list[PanelResult],
    db_label: str,
    settings: Settings,
    generated_at: datetime | None = None,
    current: CurrentRegimes | None = None,
) -> str:
    """The whole page as a string: the "current regimes" summary when ``current`` is given
    (current_table.load), the shown panels in order, the skipped ones named in the footer."""
    generated_at = generated_at or datetime.now(timezone.utc)
    shown = [r for r in results if r.shown]
    skipped = [r for r in results if not r.shown]
    template = pio.templates[TEMPLATE].to_plotly_json()
    links = [(f"#{current_table.SECTION_ID}", current_table.TITLE)] if current is not None else []
    links += [(f"#panel-{r.name}", r.title) for r in shown]
    nav = " ".join(f'<a href="{href}">{html.escape(text)}</a>' for href, text in links)
    summary = [current_table.render(current, current_table.view_index(shown))] if current is not None else []
    charts = sum(len(r.figures) for r in shown)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(PAGE_TITLE)}</title>",
        f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        "<header>",
        "<h1>Regime dashboard</h1>",
        f"<p>Warehouse <code>{html.escape(db_label)}</code> · generated {generated_at:%Y-%m-%d %H:%M} UTC · "
        f"{len(shown)} panels, {charts} charts · all times UTC · works offline (plotly.js inlined)</p>",
        f"<nav>{nav}</nav>",
        "</header><main>",
        *summary,
        *(_section(r) for r in shown),
        "</main><footer>",
    ]
    if skipped:
        items = "".join(
            f"<li>{html.escape(r.title)}: <code>{html.escape(r.source)}</code> "
            f"{'is missing' if r.figures is None else 'has no rows'}</li>"
            for r in skipped
        )
        parts.append(f'<p>Panels not shown:</p><ul id="skipped-panels">{items}</ul>')
    parts += [
        f"<p>Intraday series: most recent {settings.max_intraday_bars:,} bars (--max-intraday-bars).</p>",
        f'<p id="axis-holes">{html.escape(_holes_note(settings))}</p>',
        "</footer>",
        f'<script type="application/json" id="plotly-template">{_script_safe(to_json_plotly(template))}</script>',
        f'<script type="application/json" id="plotly-config">{json.dumps(PLOTLY_CONFIG)}</script>',
        f'<script type="text/javascript">{_JS}</script>',
        "</body></html>",
    ]
    return "\n".join(parts)


def _holes_note(settings: Settings) -> str:
    """The footer line saying which holes in the data the time axes skip."""
    if settings.axis_gap_bars == 0:
        return "Time axes show every hole in the data (--axis-gap-bars 0)."
    return (
        f"Time axes skip holes in the data longer than {settings.axis_gap_bars} bars and "
        f"{settings.axis_gap_min_hours:g} hours (a dotted line marks each; --axis-gap-bars, "
        "--axis-gap-min-hours); hover labels and ticks show the true times."
    )


def _label(db: Path) -> str:
    """The warehouse path as shown in the page: relative to the project directory when inside it."""
    try:
        return str(db.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(db)


def write_dashboard(
    db_path: str | os.PathLike,
    out_path: str | os.PathLike,
    settings: Settings = Settings(),
    panels=PANELS,
    log: Callable[[str], None] | None = None,
) -> WriteResult:
    """Read the warehouse at ``db_path`` (read-only, closed before writing) and write the page to ``out_path``:
    the current-regimes summary, then the ``panels``.

    The parent directory of ``out_path`` is created; the file is replaced atomically.
    Raises FileNotFoundError when ``db_path`` does not exist (it is never created).
    """
    started = time.perf_counter()
    db = Path(db_path)
    if not db.is_file():
        raise FileNotFoundError(
            f"{db}: no warehouse file (build it first with `make run`, or pass --db / set MARKET_REGIMES_DB)"
        )
    con = duckdb.connect(str(db), read_only=True)
    try:
        current = current_table.load(con)
        if log:
            log(
                f"  {'current regimes':<20} "
                + (
                    f"error: {current.error}"
                    if current.error
                    else ", ".join(f"{k} {len(f)}" for k, f in current.frames.items())
                )
            )
        results = build_panels(con, settings, panels, log)
    finally:
        con.close()
    page = render_html(results, _label(db), settings, current=current)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return WriteResult(path=out, size_bytes=out.stat().st_size, panels=results, seconds=time.perf_counter() - started)
