"""Assemble the panels into ONE self-contained HTML file and write it.

The page inlines the plotly.js bundle (no network is needed to open it: no script,
stylesheet or font is loaded from anywhere), one ``<section>`` per shown panel with its
title, subtitle and, when it has several views, a ``<select>`` that shows one view and
hides the others (a few lines of inline JS; ``<page>#<panel>-<n>`` opens view n of a
panel, and picking a view puts its id in the address). Each chart's figure JSON sits in a
``<script type="application/json">`` and is drawn by ``Plotly.newPlot`` when its view is
first shown, so a panel with hundreds of views costs one drawing at load. The plotly
template is emitted once for all charts instead of once per chart.
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
label.view-picker { font-size: 13px; }
select.view-select { font-size: 13px; margin: 0 0 6px 6px; max-width: 60ch; }
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
  // a link to <page>#<panel>-<n> opens that view
  const wanted = decodeURIComponent(location.hash.slice(1));
  document.querySelectorAll('section.panel').forEach(function (section) {
    const select = section.querySelector('select.view-select');
    if (select) {
      if (wanted && Array.from(select.options).some(function (o) { return o.value === wanted; })) {
        select.value = wanted;
      }
      select.addEventListener('change', function () {
        show(select);
        history.replaceState(null, '', '#' + select.value);
      });
      show(select);
    } else {
      section.querySelectorAll('div.view').forEach(function (div) { render(div.id); });
    }
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
    options = [(f"{name}-{i}", label) for i, label in enumerate(labels)]
    groups = [label.split(LABEL_SEPARATOR, 1)[0] for label in labels]
    grouped = len(labels) > OPTGROUP_MIN_VIEWS and len(set(groups)) > 1
    parts = [f'<label class="view-picker">View ({len(labels)}):<select class="view-select" '
             f'id="{name}-select" aria-label="view">']
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
    parts.append("</select></label>")
    return "".join(parts)


def _section(result: PanelResult) -> str:
    name = result.name
    labels = [view_label(fig, f"view {i + 1}") for i, fig in enumerate(result.figures)]
    out = [f'<section class="panel" id="panel-{name}" data-source="{html.escape(result.source)}">',
           f"<h2>{html.escape(result.title)}</h2>",
           f'<p class="subtitle">{html.escape(result.subtitle)}</p>']
    if len(result.figures) > 1:
        out.append(_view_selector(name, labels))
    for i, fig in enumerate(result.figures):
        view_id = f"{name}-{i}"
        out.append(f'<div class="view" id="{view_id}" data-label="{html.escape(labels[i])}"></div>')
        out.append(f'<script type="application/json" id="{view_id}-fig">{figure_json(fig)}</script>')
    out.append("</section>")
    return "\n".join(out)


def render_html(results: list[PanelResult], db_label: str, settings: Settings,
                generated_at: datetime | None = None) -> str:
    """The whole page as a string: the shown panels in order, the skipped ones named in the footer."""
    generated_at = generated_at or datetime.now(timezone.utc)
    shown = [r for r in results if r.shown]
    skipped = [r for r in results if not r.shown]
    template = pio.templates[TEMPLATE].to_plotly_json()
    nav = " ".join(f'<a href="#panel-{r.name}">{html.escape(r.title)}</a>' for r in shown)
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
        *(_section(r) for r in shown),
        "</main><footer>",
    ]
    if skipped:
        items = "".join(f"<li>{html.escape(r.title)}: <code>{html.escape(r.source)}</code> "
                        f"{'is missing' if r.figures is None else 'has no rows'}</li>" for r in skipped)
        parts.append(f'<p>Panels not shown:</p><ul id="skipped-panels">{items}</ul>')
    parts += [
        f"<p>Intraday series: most recent {settings.max_intraday_bars:,} bars (--max-intraday-bars).</p>",
        "</footer>",
        f'<script type="application/json" id="plotly-template">{_script_safe(to_json_plotly(template))}'
        "</script>",
        f'<script type="application/json" id="plotly-config">{json.dumps(PLOTLY_CONFIG)}</script>',
        f'<script type="text/javascript">{_JS}</script>',
        "</body></html>",
    ]
    return "\n".join(parts)


def _label(db: Path) -> str:
    """The warehouse path as shown in the page: relative to the project directory when inside it."""
    try:
        return str(db.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(db)


def write_dashboard(db_path: str | os.PathLike, out_path: str | os.PathLike, settings: Settings = Settings(),
                    panels=PANELS, log: Callable[[str], None] | None = None) -> WriteResult:
    """Read the warehouse at ``db_path`` (read-only, closed before writing) and write the page to ``out_path``.

    The parent directory of ``out_path`` is created; the file is replaced atomically.
    Raises FileNotFoundError when ``db_path`` does not exist (it is never created).
    """
    started = time.perf_counter()
    db = Path(db_path)
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no warehouse file (build it first with `make run`, or pass --db / set "
                                f"MARKET_REGIMES_DB)")
    con = duckdb.connect(str(db), read_only=True)
    try:
        results = build_panels(con, settings, panels, log)
    finally:
        con.close()
    page = render_html(results, _label(db), settings)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return WriteResult(path=out, size_bytes=out.stat().st_size, panels=results,
                       seconds=time.perf_counter() - started)
