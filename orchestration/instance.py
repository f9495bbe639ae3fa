"""The local Dagster instance folder (DAGSTER_HOME) the UI, the backfill and ``market-regimes build`` share.

``python -m orchestration.instance [DIR]`` creates it (default: env DAGSTER_HOME, else
``<project>/.dagster``) with a ``dagster.yaml`` when it has none: storage stays Dagster's
default (SQLite files in the folder); telemetry is off (this machine reaches no network)
and the UI's first-visit newsletter dialog is off, so a fresh UI opens on the asset graph.
An existing ``dagster.yaml`` is never changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DAGSTER_YAML = """\
# Written by market-regimes (orchestration/instance.py) because this folder had none.
# Storage: Dagster's default (SQLite files in this folder). Edit freely; it is not rewritten.
telemetry:
  enabled: false
nux:
  enabled: false
"""


def dagster_home() -> Path:
    """env DAGSTER_HOME, else ``<project>/.dagster`` (what the Makefile sets)."""
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_DIR / ".dagster")


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Create ``home`` (default :func:`dagster_home`) and its ``dagster.yaml`` if missing; return it."""
    home = Path(home) if home else dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


if __name__ == "__main__":
    print(ensure_dagster_home(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
