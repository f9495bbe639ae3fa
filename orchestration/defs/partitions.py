"""The daily partitions of the bar-local rollup assets, starting at the first landed bar.

A partition is one UTC day ``[day 00:00, day+1 00:00)`` of ``bar_start``. The first
partition is the day of the earliest bar the warehouse holds, so the UI shows no empty
partitions before the data (the bundled sample starts 2021-04-04, not at a fixed 2017
date); the last is today (``end_offset=1``: the current, still open day).

The start date, in order of precedence:
1. env ``MARKET_REGIMES_PARTITION_START`` (``YYYY-MM-DD``), when set;
2. the earliest ``bar_start`` of the two rollup tables in the warehouse (DuckDB file of
   env ``MARKET_REGIMES_DB``), read read-only when the code location loads; the date is
   then remembered in ``<DAGSTER_HOME>/partition_start.json`` per warehouse file;
3. the remembered date, when the warehouse cannot be read (not built yet, or a build
   holds its lock) — so a run worker loading the code during a build sees the same
   partitions as the UI;
4. ``DEFAULT_START`` (2017-01-01, before the first Binance spot candle) when nothing is
   known yet: build the warehouse once (``make run``) and reload the code location.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from dagster import DailyPartitionsDefinition

from .resources import PROJECT_DIR, WarehouseResource

DEFAULT_START = "2017-01-01"
ROLLUP_TABLES = ("intermediate.int_symbol_bars_rolled_up", "intermediate.int_dominance_bars_rolled_up")


def _memory_file() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_DIR / ".dagster") / "partition_start.json"


def first_bar_date(db_path: Path) -> str | None:
    """``YYYY-MM-DD`` of the earliest bar_start in the rollup tables of ``db_path``; None when
    the file, the tables or their rows are missing or the file cannot be opened (locked)."""
    if not db_path.is_file():
        return None
    try:
        import duckdb

        con = duckdb.connect(str(db_path), read_only=True)
    except Exception:  # a writer holds the file, or it is not a DuckDB file
        return None
    try:
        known = {
            f"{s}.{t}" for s, t in con.sql("select table_schema, table_name from information_schema.tables").fetchall()
        }
        tables = [t for t in ROLLUP_TABLES if t in known]
        if not tables:
            return None
        first = con.sql(" union all ".join(f"select min(bar_start) as b from {t}" for t in tables)).fetchall()
        days = [row[0].date() for row in first if row[0] is not None]
        return min(days).isoformat() if days else None
    finally:
        con.close()


def partition_start(db_path: Path | None = None) -> str:
    """The first partition key (``YYYY-MM-DD``), by the precedence of the module doc."""
    if os.environ.get("MARKET_REGIMES_PARTITION_START"):
        return date.fromisoformat(os.environ["MARKET_REGIMES_PARTITION_START"]).isoformat()
    db = db_path or WarehouseResource().db_path()
    memory = _memory_file()
    try:
        remembered = json.loads(memory.read_text()) if memory.is_file() else {}
    except ValueError:
        remembered = {}
    found = first_bar_date(db)
    if found is None:
        return remembered.get(str(db), DEFAULT_START)
    if remembered.get(str(db)) != found:
        try:
            memory.parent.mkdir(parents=True, exist_ok=True)
            memory.write_text(json.dumps({**remembered, str(db): found}, indent=1))
        except OSError:
            pass  # a read-only DAGSTER_HOME only loses the memory
    return found


daily_partitions = DailyPartitionsDefinition(start_date=partition_start(), end_offset=1)
