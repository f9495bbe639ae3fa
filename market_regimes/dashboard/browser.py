"""Open the dashboard in headless Chromium, offline: a PNG screenshot or the rendered DOM.

Used by the tests (the page must render with no network) and to refresh the README's
picture: ``python -m market_regimes.dashboard.browser reports/regimes.html docs/img/dashboard.png``
(1400 x 2000 pixels by default: the current-regimes summary and the first chart).

Chromium runs with a fresh empty profile, no background networking, and every request
sent to a dead proxy (127.0.0.1:9), so anything the page tried to fetch would fail; the
file is opened through ``file://``. ``--virtual-time-budget`` lets the page's scripts
(plotly drawing) finish before the capture. Needs Debian's ``chromium`` (``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Browser window (= screenshot) size in pixels: tall enough for the summary and the first chart.
WINDOW_SIZE = (1400, 2000)
# Virtual milliseconds the page may run before the capture (plotly draws in well under 1 s).
VIRTUAL_TIME_BUDGET_MS = 5000
# Wall seconds before a stuck Chromium is killed.
TIMEOUT_S = 300
# Every proxied request goes here: the discard port on loopback, nothing listens.
DEAD_PROXY = "127.0.0.1:9"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    f"--proxy-server={DEAD_PROXY}",
    "--proxy-bypass-list=<-loopback>",
)


def find_chromium() -> str | None:
    """Path of the Chromium binary, or None when it is not installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(
    html: Path, extra: list[str], chromium: str | None, window_size: tuple[int, int] = WINDOW_SIZE, fragment: str = ""
) -> subprocess.CompletedProcess:
    binary = chromium or find_chromium()
    if not binary:
        raise FileNotFoundError("chromium not found (apt-get install -y --no-install-recommends chromium)")
    page = Path(html).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no such HTML file")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window_size[0]},{window_size[1]}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            *extra,
            page.as_uri() + (f"#{fragment}" if fragment else ""),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def screenshot(html: Path, png: Path, chromium: str | None = None, window_size: tuple[int, int] = WINDOW_SIZE) -> Path:
    """Render ``html`` and write a ``window_size`` PNG of the top of the page to ``png``.

    Raises FileNotFoundError (no Chromium / no page), RuntimeError (Chromium failed or wrote nothing).
    """
    out = Path(png).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    _run(html, [f"--screenshot={out}"], chromium, window_size)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot to {out}")
    return out


def dump_dom(html: Path, chromium: str | None = None, fragment: str = "") -> str:
    """Render ``html`` (``#fragment`` appended to its URL) and return the DOM after the
    scripts ran (Chromium's ``--dump-dom``).

    Raises FileNotFoundError (no Chromium / no page), RuntimeError (Chromium failed).
    """
    return _run(html, ["--dump-dom"], chromium, fragment=fragment).stdout


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m market_regimes.dashboard.browser PAGE.html OUT.png [--width W --height H]``."""
    parser = argparse.ArgumentParser(
        prog="python -m market_regimes.dashboard.browser",
        description="Screenshot a dashboard page in headless Chromium (offline).",
    )
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=WINDOW_SIZE[0])
    parser.add_argument("--height", type=int, default=WINDOW_SIZE[1])
    args = parser.parse_args(argv)
    try:
        out = screenshot(args.html, args.png, window_size=(args.width, args.height))
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
