"""CLI: ``python -m market_regimes.dashboard [--db PATH] [--out PATH] [--max-intraday-bars N] ...``.

--db   DuckDB warehouse (default: env MARKET_REGIMES_DB, else warehouse/market_regimes.duckdb,
       relative to the project directory); opened read-only.
--out  the HTML file to write (default reports/regimes.html in the project directory).
--max-intraday-bars  most recent bars shown per intraday series (default 2000).
--figure-height      chart height in pixels (default 460).
--axis-gap-bars, --axis-gap-min-hours  a hole in a chart's bars longer than both this many
       bars and this many hours is cut out of its time axis (defaults 24 bars, 48 hours;
       --axis-gap-bars 0 keeps every hole on the axis). See Settings.

Prints one progress line per panel, then the output path and size. Exit code 1 with a
message on stderr when the warehouse file is missing or cannot be opened (another
process holds DuckDB's write lock), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from .settings import (
    DB_ENV,
    DEFAULT_AXIS_GAP_BARS,
    DEFAULT_AXIS_GAP_MIN_HOURS,
    DEFAULT_DB,
    DEFAULT_FIGURE_HEIGHT,
    DEFAULT_MAX_INTRADAY_BARS,
    DEFAULT_OUT,
    Settings,
    resolve_path,
)
from .writer import write_dashboard


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m market_regimes.dashboard",
        description="Write the regime dashboard: one self-contained HTML file.",
    )
    parser.add_argument("--db", help=f"DuckDB warehouse (default: ${DB_ENV} or {DEFAULT_DB})")
    parser.add_argument("--out", help=f"HTML file to write (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--max-intraday-bars",
        type=int,
        default=DEFAULT_MAX_INTRADAY_BARS,
        help=f"most recent bars shown per intraday series (default: {DEFAULT_MAX_INTRADAY_BARS})",
    )
    parser.add_argument(
        "--figure-height",
        type=int,
        default=DEFAULT_FIGURE_HEIGHT,
        help=f"chart height in pixels (default: {DEFAULT_FIGURE_HEIGHT})",
    )
    parser.add_argument(
        "--axis-gap-bars",
        type=int,
        default=DEFAULT_AXIS_GAP_BARS,
        help="cut a hole in a chart's bars out of its time axis when it is longer than this many "
        f"bars (and than --axis-gap-min-hours); 0: never (default: {DEFAULT_AXIS_GAP_BARS})",
    )
    parser.add_argument(
        "--axis-gap-min-hours",
        type=float,
        default=DEFAULT_AXIS_GAP_MIN_HOURS,
        help="a hole cut from the time axis must also be longer than this many hours (default: "
        f"{DEFAULT_AXIS_GAP_MIN_HOURS:g})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parse_args(argv)
    try:
        settings = Settings(
            max_intraday_bars=args.max_intraday_bars,
            figure_height=args.figure_height,
            axis_gap_bars=args.axis_gap_bars,
            axis_gap_min_hours=args.axis_gap_min_hours,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    db = resolve_path(args.db, DB_ENV, DEFAULT_DB)
    out = resolve_path(args.out, None, DEFAULT_OUT)
    print(f"Dashboard from {db}:", flush=True)
    try:
        result = write_dashboard(db, out, settings, log=lambda line: print(line, flush=True))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.IOException as exc:  # e.g. a dbt build holds the write lock
        print(f"error: cannot open {db} read-only: {exc}", file=sys.stderr)
        return 1
    shown = sum(1 for p in result.panels if p.shown)
    print(
        f"Wrote {result.path} ({result.size_bytes / 1e6:.1f} MB, {shown}/{len(result.panels)} panels) "
        f"in {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
