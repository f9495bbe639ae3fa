"""Benchmark of ``market-regimes now``: how long "what regime are we in now" takes.

Prints one JSON document: ``seconds`` = best of ``--repeat`` (default 3) wall times of the
installed console script ``market-regimes now --json --db DB`` run as a process (Python
start-up, imports, read-only open, the queries, JSON out), ``query_seconds`` = best of
as many in-process :func:`market_regimes.current.current_regimes` calls on one open
connection, and ``db``, ``rows`` (rows per section).

Usage: python benchmarks/cli_now.py [DB] [--repeat N]
(DB default: $MARKET_REGIMES_DB, else warehouse/market_regimes.duckdb in the project.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from market_regimes.cli import resolve_db
from market_regimes.current import current_regimes

SCRIPT = Path(sys.executable).parent / "market-regimes"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON document; exit code 1 when a run fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", help="DuckDB warehouse (opened read-only)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported (default 3)")
    args = parser.parse_args(argv)
    db = resolve_db(args.db).resolve()
    walls = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        proc = subprocess.run([str(SCRIPT), "now", "--json", "--db", str(db)], capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
    rows = {key: len(records) for key, records in json.loads(proc.stdout).items()}
    con = duckdb.connect(str(db), read_only=True)
    try:
        queries = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            current_regimes(con)
            queries.append(time.perf_counter() - started)
    finally:
        con.close()
    print(
        json.dumps(
            {
                "seconds": round(min(walls), 3),
                "query_seconds": round(min(queries), 3),
                "db": str(db),
                "repeat": args.repeat,
                "rows": rows,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
