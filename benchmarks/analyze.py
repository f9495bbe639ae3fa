"""Benchmark of ``market-regimes analyze``: one moment and a week-long batch of one symbol.

Prints one JSON document with the wall times (best of ``--repeat``, default 3) of the
installed console script run as a process (Python start-up, imports, read-only open, the
queries, output): ``at_seconds`` for ``analyze --symbol BTCUSDT --at "2022-06-13 12:00"
--json``, ``at_text_seconds`` for the same as text, ``week_seconds`` for ``--from
2022-06-06 --to 2022-06-13`` and ``month_seconds`` for ``--from 2022-05-13 --to
2022-06-13``; plus every run's wall time and ``db``. The acceptance bounds of the command
are 3 s for a moment and 10 s for a week.

Usage: python benchmarks/analyze.py [DB] [--repeat N] [--symbol S]
(DB default: $MARKET_REGIMES_DB, else warehouse/market_regimes.duckdb in the project.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from market_regimes.cli import resolve_db

SCRIPT = Path(sys.executable).parent / "market-regimes"
AT = "2022-06-13 12:00"


def wall(args: list[str], db: Path) -> float:
    """Wall seconds of one console-script run; raises RuntimeError when it fails."""
    started = time.perf_counter()
    proc = subprocess.run([str(SCRIPT), "analyze", *args, "--db", str(db)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"market-regimes analyze {' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", help="DuckDB warehouse (opened read-only)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per call; the best is reported (default 3)")
    parser.add_argument("--symbol", default="BTCUSDT")
    args = parser.parse_args(argv)
    db = resolve_db(args.db).resolve()
    calls = {
        "at_seconds": ["--symbol", args.symbol, "--at", AT, "--json"],
        "at_text_seconds": ["--symbol", args.symbol, "--at", AT],
        "week_seconds": ["--symbol", args.symbol, "--from", "2022-06-06", "--to", "2022-06-13"],
        "month_seconds": ["--symbol", args.symbol, "--from", "2022-05-13", "--to", "2022-06-13"],
    }
    out: dict = {"db": str(db), "repeat": args.repeat, "runs": {}}
    for name, call in calls.items():
        runs = [round(wall(call, db), 3) for _ in range(args.repeat)]
        out["runs"][name] = runs
        out[name] = min(runs)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
