"""The regime dashboard end to end: warehouse -> one HTML file -> headless Chromium, offline.

The page is built from the sample build (session fixture ``sample_db``) and from the
tiny hand-made warehouse of tests/unit/test_dashboard.py (every panel's mart present, or
one missing), then opened by Debian's Chromium through ``file://`` with every network
request sent to a dead proxy (market_regimes.dashboard.browser): each shown panel must
have its title and at least one drawn plotly trace in the rendered DOM, and the
screenshot must not be blank. Chromium is installed with apt when missing (we are root
in CI); a non-root run without Chromium fails, naming the apt command.

User actions (typing into a filter box, clicking a link of the summary) are played by a
script appended to a copy of the page (:func:`with_script`), which runs after the page's
own scripts; the DOM Chromium dumps afterwards shows their effect.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from market_regimes.current import current_regimes
from market_regimes.dashboard import Settings, write_dashboard
from market_regimes.dashboard.browser import dump_dom, find_chromium, screenshot
from market_regimes.dashboard.panels import PANELS, panel_name
from tests.helpers import PROJECT, HtmlTags, dbt
from tests.unit.test_dashboard import make_tiny_warehouse

pytestmark = pytest.mark.integration

APT_TIMEOUT_S = 1200
# A sensible size for the sample's page (plotly.js alone is ~4.8 MB).
MAX_SAMPLE_REPORT_BYTES = 20_000_000
# A blank or unstyled page has a handful of colours; text anti-aliasing alone gives ~1,400
# on the sample page with plotly removed, the drawn page ~3,600.
MIN_SCREENSHOT_COLOURS = 2000
# Share of clearly coloured pixels (max - min channel > COLOURED_SPREAD) below the page
# header: ~0.6% with plotly removed (text, links), ~13% with the charts drawn.
COLOURED_SPREAD = 24
MIN_COLOURED_SHARE = 0.03
HEADER_ROWS = 200
# An element plotly draws per trace: "trace" (scatter, bar) or "hm" (heatmap image).
TRACE_CLASS = re.compile(r'class="(?:[^"]*\s)?(?:trace|hm)(?:\s[^"]*)?"')


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Chromium; installs Debian's package with apt-get when missing (as root; a
    non-root run without Chromium fails, naming the command to run)."""
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail(
            "chromium is not installed and installing it needs root: "
            "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", f"DPkg::Lock::Timeout={APT_TIMEOUT_S}"]  # another apt may be running
    # both pytest-xdist workers may get here at once: one installs, the other waits and finds it
    with open(Path(tempfile.gettempdir()) / "market_regimes_chromium_install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find_chromium()
        if found:
            return found
        started = time.perf_counter()
        for cmd in (
            ["apt-get", *wait, "update"],
            ["apt-get", *wait, "install", "-y", "--no-install-recommends", "chromium"],
        ):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
            assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    found = find_chromium()
    assert found, "apt-get installed chromium but no chromium binary was found"
    print(f"\ninstalled chromium with apt-get in {time.perf_counter() - started:.1f} s")
    return found


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to (height, width, channels) uint8.

    A small reader so the test needs no imaging package. Raises ValueError for other PNG kinds.
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, chunks, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour_type}, interlace {interlace})")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        offset = y * (stride + 1)
        kind = raw[offset]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=offset + 1)
        if kind == 0:  # None
            cur = line.copy()
        elif kind == 1:  # Sub: running sum per channel
            cur = (line.reshape(width, bpp).cumsum(axis=0, dtype=np.uint64) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prev
        elif kind in (3, 4):  # Average, Paeth: sequential along the row
            filt, up, rec = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                left = rec[i - bpp] if i >= bpp else 0
                if kind == 3:
                    pred = (left + up[i]) >> 1
                else:
                    corner = up[i - bpp] if i >= bpp else 0
                    p = left + up[i] - corner
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
                rec[i] = (filt[i] + pred) & 255
            cur = np.array(rec, dtype=np.uint8)
        else:
            raise ValueError(f"{path}: bad filter type {kind} on row {y}")
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def assert_not_blank(png: Path) -> None:
    pixels = png_pixels(png)[:, :, :3].astype(np.int32)
    codes = (pixels[:, :, 0] << 16) | (pixels[:, :, 1] << 8) | pixels[:, :, 2]
    colours = len(np.unique(codes))
    body = pixels[HEADER_ROWS:]
    coloured = float(((body.max(axis=2) - body.min(axis=2)) > COLOURED_SPREAD).mean())
    assert colours > MIN_SCREENSHOT_COLOURS, f"{png}: only {colours} distinct colours"
    assert coloured > MIN_COLOURED_SHARE, f"{png}: only {coloured:.2%} coloured pixels below the header"


def sections(dom: str) -> dict[str, str]:
    """Panel name -> the HTML of its <section> in a page or a dumped DOM."""
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<section class="panel" id="panel-([a-z_]+)".*?</section>', dom, re.S)
    }


def assert_panels_rendered(dom: str, expected: list[str]) -> None:
    """Exactly the ``expected`` panels are on the page, each with its title and a drawn trace."""
    found = sections(dom)
    assert sorted(found) == sorted(expected)
    titles = {panel_name(p): p.TITLE for p in PANELS}
    for name, html in found.items():
        assert f"<h2>{titles[name]}</h2>" in html, name
        assert 'class="main-svg"' in html, f"{name}: plotly drew nothing"
        assert TRACE_CLASS.search(html), f"{name}: no plotly trace in the rendered DOM"


def with_script(page: Path, script: str, out: Path) -> Path:
    """A copy of ``page`` at ``out`` with ``script`` run after the page's own scripts (a user's actions)."""
    text = Path(page).read_text(encoding="utf-8")
    assert text.endswith("</body></html>")
    out.write_text(text.removesuffix("</body></html>") + f"<script>{script}</script></body></html>", encoding="utf-8")
    return out


def type_into(input_id: str, text: str) -> str:
    """JS that types ``text`` into the input ``input_id`` (sets the value, fires ``input``)."""
    return (
        f"(function () {{ const i = document.getElementById({input_id!r}); i.value = {text!r}; "
        "i.dispatchEvent(new Event('input', {bubbles: true})); })();"
    )


def options(dom: str, select_id: str) -> list[tuple[str, str, bool]]:
    """(value, text, hidden) of every option of a <select> in a dumped DOM."""
    select = re.search(rf'<select [^>]*id="{select_id}".*?</select>', dom, re.S).group(0)
    return [
        (value, text, "hidden" in attrs)
        for attrs, value, text in re.findall(r'<option( value="([^"]+)"[^>]*)>([^<]*)</option>', select)
    ]


def view_tag(dom: str, view_id: str) -> str:
    """The opening tag of a view's div in a dumped DOM."""
    return re.search(rf'<div class="view[^"]*" id="{view_id}"[^>]*>', dom).group(0)


def element_text(dom: str, element_id: str) -> str:
    """The text of a leaf element (no child elements) with this id."""
    return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom).group(1)


def _exists(db: Path, relation: str) -> bool:
    schema, name = relation.split(".")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (
            con.execute(
                "select count(*) from information_schema.tables where table_catalog = current_database() "
                "and table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchone()[0]
            > 0
        )
    finally:
        con.close()


def _expected_panels(db: Path) -> list[str]:
    return [panel_name(p) for p in PANELS if all(_exists(db, r) for r in (p.SOURCE, *getattr(p, "REQUIRES", ())))]


# ---- the sample warehouse ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report(sample_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("dashboard") / "regimes.html"
    result = write_dashboard(sample_db, out, Settings(), log=print)
    print(f"sample dashboard: {result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s")
    return result


def test_sample_report_has_a_panel_per_present_mart(sample_db, sample_report):
    shown = [p.name for p in sample_report.panels if p.shown]
    assert shown == _expected_panels(sample_db)
    assert {"price_regimes", "levers", "regime_distribution", "market_regimes"} <= set(shown)
    page = sample_report.path.read_text()
    assert [name for name in sections(page)] == shown
    assert sample_report.size_bytes < MAX_SAMPLE_REPORT_BYTES


def test_sample_report_opens_offline(sample_report):
    page = sample_report.path.read_text()
    parser = HtmlTags()
    parser.feed(page)
    external = [
        (tag, attrs)
        for tag, attrs in parser.tags
        for key in ("src", "href")
        if re.match(r"\s*(https?:)?//", attrs.get(key) or "", re.I)
    ]
    assert external == []
    assert get_plotlyjs() in page  # the bundle itself, inline
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts and all("src" not in attrs for attrs in scripts)
    assert not any(tag == "link" for tag, _ in parser.tags)


def test_chromium_renders_every_sample_panel_offline(sample_report, chromium):
    started = time.perf_counter()
    dom = dump_dom(sample_report.path, chromium)
    print(f"chromium --dump-dom: {time.perf_counter() - started:.1f} s")
    assert_panels_rendered(dom, [p.name for p in sample_report.panels if p.shown])


def test_chromium_screenshot_of_the_sample_is_not_blank(sample_report, chromium, tmp_path):
    png = screenshot(sample_report.path, tmp_path / "dashboard.png", chromium)
    assert_not_blank(png)


@pytest.fixture(scope="module")
def sample_current(sample_db) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        return current_regimes(con)
    finally:
        con.close()


# the symbol-series filter of the summary is typed into (quadrant and interval)
SYMBOL_QUERY = "crisis 1d"


@pytest.fixture(scope="module")
def sample_typed_dom(sample_report, chromium, tmp_path_factory) -> str:
    """The sample page rendered after typing SYMBOL_QUERY into the summary's symbol filter."""
    page = with_script(
        sample_report.path,
        type_into("current-symbols-filter", SYMBOL_QUERY),
        tmp_path_factory.mktemp("typed") / "regimes.html",
    )
    return dump_dom(page, chromium)


def test_sample_summary_shows_the_current_regimes(sample_typed_dom, sample_current):
    dom = sample_typed_dom
    summary = re.search(r'<section class="current" id="current-regimes">.*?</section>', dom, re.S).group(0)
    assert dom.index('id="current-regimes"') < dom.index('<section class="panel"')  # on top of the page
    uptrend = sample_current["uptrend_states"]
    assert len(uptrend) >= 10  # drivers x timeframes of the sample
    for row in uptrend.itertuples():
        match = re.search(
            rf'<td class="cell" data-series="{re.escape(f"{row.driver} · {row.timeframe}")}" '
            rf'data-state="([^"]*)">(.*?)</td>',
            summary,
            re.S,
        )
        assert match, (row.driver, row.timeframe)
        assert match.group(1) == row.state
        since = pd.Timestamp(row.state_since)
        shown = f"{since:%Y-%m-%d}" if row.bar_interval == "1d" else f"{since:%Y-%m-%d %H:%M}"
        assert f"since {shown} · {row.bars_in_state:,} bars" in match.group(2)
        assert 'href="#price_regimes-' in match.group(2)
    levers_ = sample_current["levers"]
    cells = dict(re.findall(r'data-series="([^"]+)" data-a="([0-9.]+)"', summary))
    assert {f"{r.bucket} · {r.execution_timeframe}": f"{r.a_value:.4f}" for r in levers_.itertuples()} == cells
    markets = sample_current["market_regimes"]
    assert re.findall(r'<tr data-series="([^"]+)" data-regime="([^"]+)"', summary) == list(
        zip(markets["market"], markets["regime"])
    )
    vol = sample_current["volatility_regimes"]
    drivers = vol[vol["series_type"] == "driver"]
    quadrants = dict(re.findall(r'data-series="([^"]+)" data-quadrant="([^"]*)"', summary))
    assert quadrants == {
        f"{r.driver} · {r.timeframe}": r.quadrant if isinstance(r.quadrant, str) else "" for r in drivers.itertuples()
    }


def test_sample_symbol_filter_keeps_the_matching_rows(sample_typed_dom, sample_current):
    vol = sample_current["volatility_regimes"]
    symbols = vol[vol["series_type"] != "driver"]
    expected = sorted(symbols.loc[(symbols["quadrant"] == "CRISIS") & (symbols["bar_interval"] == "1d"), "series_id"])
    assert 0 < len(expected) < len(symbols)  # the sample has a few such series
    rows = re.findall(r'<tr data-series="([^"]+)"( hidden="")?>', sample_typed_dom)
    symbol_ids = set(symbols["series_id"])
    assert len([r for r, _ in rows if r in symbol_ids]) == len(symbols)
    assert sorted(r for r, hidden in rows if r in symbol_ids and not hidden) == expected
    count = element_text(sample_typed_dom, "current-symbols-count")
    assert count == f"{len(expected)} of {len(symbols)} match"


def test_sample_daily_chart_skips_the_data_hole(sample_db, sample_typed_dom):
    """BTC macro (daily, the page's first price view) has bars in 2021-04 .. 2023-12 and
    2025-04 .. 2025-07: its x axis jumps over the hole, so no tick falls inside it."""
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        holes = con.execute("""
            select prev + interval 1 day, bar_start from (
                select bar_start, lag(bar_start) over (order by bar_start) as prev
                from marts.fct_driver_bars where driver = 'BTC' and timeframe = 'macro')
            where bar_start - prev > interval 48 hour and bar_start - prev > interval 24 day""").fetchall()
    finally:
        con.close()
    assert len(holes) == 1 and (holes[0][1] - holes[0][0]).days > 365  # the sample's 16-month hole
    start, end = holes[0]
    fig = json.loads(
        re.search(
            r'<script type="application/json" id="price_regimes-0-fig">(.*?)</script>', sample_typed_dom, re.S
        ).group(1)
    )
    assert fig["layout"]["meta"]["label"] == "BTC · macro (1d)"
    assert fig["layout"]["xaxis"]["rangebreaks"] == [{"bounds": [f"{start:%Y-%m-%d %H:%M}", f"{end:%Y-%m-%d %H:%M}"]}]
    drawn = re.search(r'<div class="view[^"]*" id="price_regimes-0".*?<script', sample_typed_dom, re.S).group(0)
    ticks = re.findall(r'<g class="xtick">.*?>([^<]+)</text>', drawn)
    years = {int(y) for t in ticks for y in re.findall(r"\b(20\d\d)\b", t)}
    assert years >= {start.year, end.year} and len(ticks) >= 4, ticks
    inside = [y for y in years if start.year < y < end.year]
    assert inside == [], f"ticks inside the hole: {ticks}"
    assert f"no data {start:%Y-%m-%d} .. {end:%Y-%m-%d}" in drawn  # the hole's mark is drawn


# ---- the tiny warehouse: every panel, and one missing --------------------------------------


@pytest.mark.parametrize(
    "missing",
    [(), ("marts.fct_levers",), ("reports.rpt_regime_forward_returns",)],
    ids=["all_marts", "no_levers", "no_forward_returns"],
)
def test_chromium_renders_the_tiny_warehouse(missing, chromium, tmp_path):
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con, skip=missing)
    con.close()
    result = write_dashboard(db, tmp_path / "regimes.html", Settings(max_intraday_bars=100))
    expected = [panel_name(p) for p in PANELS if p.SOURCE not in missing]
    assert [p.name for p in result.panels if p.shown] == expected
    dom = dump_dom(result.path, chromium)
    assert_panels_rendered(dom, expected)
    for relation in missing:
        assert f"<code>{relation}</code> is missing" in dom


def _view(dom: str, view_id: str) -> tuple[str, str]:
    """(opening tag, content) of a view's div in a dumped DOM (content up to its figure JSON)."""
    match = re.search(
        rf'(<div class="view[^"]*" id="{view_id}"[^>]*>)(.*?)<script type="application/json" '
        rf'id="{view_id}-fig"',
        dom,
        re.S,
    )
    assert match, f"no view {view_id}"
    return match.group(1), match.group(2)


def test_a_link_to_a_view_opens_it_and_other_views_wait(chromium, tmp_path):
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con)
    con.close()
    result = write_dashboard(db, tmp_path / "regimes.html", Settings(max_intraday_bars=100))
    dom = dump_dom(result.path, chromium, fragment="price_regimes-1")
    opened_tag, opened = _view(dom, "price_regimes-1")
    other_tag, other = _view(dom, "price_regimes-0")
    assert "hidden" not in opened_tag and 'class="main-svg"' in opened and "BTC · meso (1h)" in opened
    assert "hidden" in other_tag and "main-svg" not in other  # drawn only when picked
    levers_tag, levers_view = _view(dom, "levers-0")  # other panels open on their first view
    assert "hidden" not in levers_tag and 'class="main-svg"' in levers_view


@pytest.fixture()
def tiny_page(tmp_path) -> Path:
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con)
    con.close()
    return write_dashboard(db, tmp_path / "regimes.html", Settings(max_intraday_bars=100)).path


def test_typing_into_a_view_filter_hides_the_other_views(chromium, tiny_page, tmp_path):
    page = with_script(
        tiny_page,
        type_into("price_regimes-filter", "MESO") + type_into("levers-filter", "nothing"),
        tmp_path / "typed.html",
    )
    dom = dump_dom(page, chromium)
    assert options(dom, "price_regimes-select") == [
        ("price_regimes-0", "BTC · macro (1d)", True),
        ("price_regimes-1", "BTC · meso (1h)", False),
    ]
    assert element_text(dom, "price_regimes-count") == "1 of 2 match"
    # the view on screen no longer matched: the first match is shown and drawn instead
    assert "hidden" in view_tag(dom, "price_regimes-0")
    shown = view_tag(dom, "price_regimes-1")
    assert "hidden" not in shown and 'data-rendered="1"' in shown
    # no match: every option hidden, the box marked, the view on screen kept
    assert [hidden for _, _, hidden in options(dom, "levers-select")] == [True, True]
    assert element_text(dom, "levers-count") == "no match"
    assert re.search(r'<input [^>]*class="view-filter no-match"[^>]*id="levers-filter"', dom)
    assert "hidden" not in view_tag(dom, "levers-0")
    # untouched filters leave their panel alone
    assert [hidden for _, _, hidden in options(dom, "volatility_regimes-select")] == [False, False]
    assert element_text(dom, "volatility_regimes-count") == ""


def test_a_summary_cell_opens_its_chart(chromium, tiny_page, tmp_path):
    click = (
        "document.querySelector('#current-uptrend-table td[data-series=\"BTC · meso\"] a').click();"
        "document.querySelector('#current-volatility-table td[data-series=\"BTC · meso\"] a').click();"
    )
    dom = dump_dom(with_script(tiny_page, click, tmp_path / "clicked.html"), chromium)
    for panel in ("price_regimes", "volatility_regimes"):
        opened = view_tag(dom, f"{panel}-1")
        assert "hidden" not in opened and 'data-rendered="1"' in opened, panel
        assert "hidden" in view_tag(dom, f"{panel}-0")
    # the other panels stay on their first view
    assert "hidden" not in view_tag(dom, "levers-0")


def test_blank_check_can_fail(chromium, tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>")
    png = screenshot(page, tmp_path / "blank.png", chromium)
    with pytest.raises(AssertionError, match="distinct colours"):
        assert_not_blank(png)


# ---- the Dagster asset --------------------------------------------------------------------


def test_dagster_asset_writes_the_dashboard(tmp_path):
    from dagster import AssetKey, materialize

    if not (PROJECT / "target" / "manifest.json").exists():  # @dbt_assets reads it at import
        dbt("parse", tmp_path / "unused.duckdb", PROJECT / "sample" / "landing", PROJECT)
    from orchestration.defs.report import dashboard_deps, regimes_dashboard
    from orchestration.defs.resources import WarehouseResource

    assert regimes_dashboard.keys == {AssetKey(["reports", "regimes_dashboard"])}
    deps = dashboard_deps()
    assert AssetKey(["marts", "fct_uptrend_states"]) in deps and AssetKey(["marts", "fct_levers"]) in deps
    assert set(deps) <= set(regimes_dashboard.asset_deps[AssetKey(["reports", "regimes_dashboard"])])
    db = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(db))
    make_tiny_warehouse(con)
    con.close()
    out = tmp_path / "out" / "regimes.html"
    result = materialize(
        [regimes_dashboard],
        resources={"warehouse": WarehouseResource(duckdb_path=str(db))},
        run_config={"ops": {"reports__regimes_dashboard": {"config": {"out_path": str(out)}}}},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("reports__regimes_dashboard")[0].metadata
    assert metadata["size_bytes"].value == out.stat().st_size
    assert metadata["panels_shown"].value == [panel_name(p) for p in PANELS]


def test_chromium_draws_the_grid_panel_and_filters_its_series(chromium, tiny_page, tmp_path):
    """The grid panel (marts.fct_grid_regimes): typing "eth" keeps the ETH series, which is
    drawn with its verdict shading (a heatmap), range band, close and confidence."""
    page = with_script(tiny_page, type_into("grid_regimes-filter", "eth"), tmp_path / "grid.html")
    dom = dump_dom(page, chromium)
    assert options(dom, "grid_regimes-select") == [
        ("grid_regimes-0", "binance · BTCUSDT (4h)", True),
        ("grid_regimes-1", "binance · ETHUSDT (1h)", False),
        ("grid_regimes-2", "binance · ADAUSDT (4h)", True),
    ]
    tag, view = _view(dom, "grid_regimes-1")
    assert "hidden" not in tag and 'data-rendered="1"' in tag
    assert re.search(r'<g class="hm"', view), "no verdict shading drawn"
    assert len(re.findall(r'<g class="trace scatter', view)) >= 4  # support, resistance, close, confidence
    assert "binance · ETHUSDT (1h) — last 100 bars" in view
