"""Print a summary of what a build put in the warehouse (used by ``make run``).

Usage: ``python -m market_regimes.summary [path/to/warehouse.duckdb]``

Opens the DuckDB file read-only (and closes it), so it never blocks a later build.
Exit code 1 when the file or the marts are missing.
"""

from __future__ import annotations

import os
import sys

import duckdb

from market_regimes.settings import warehouse_path

SCHEMAS = ("raw", "staging", "intermediate", "marts", "reports", "seeds")


def _table(rows: list[tuple], headers: list[str]) -> str:
    cells = [headers] + [
        ["" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summarize(path: str) -> str:
    """Return the summary text for the warehouse at ``path``.

    Raises:
        FileNotFoundError: no DuckDB file at ``path``.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no warehouse file (run `make run` first)")
    con = duckdb.connect(path, read_only=True)
    try:
        out = [f"Warehouse: {path}"]
        tables = con.sql(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_schema in {SCHEMAS} order by 1, 2"
        ).fetchall()
        rows = []
        for schema, name, kind in tables:
            n = con.sql(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            rows.append((f"{schema}.{name}", "view" if kind == "VIEW" else "table", n))
        out += ["", "Relations built:", _table(rows, ["relation", "kind", "rows"])]
        files = con.sql(
            "select layout, count(*), sum(rows_read), sum(rows_landed), sum(rows_rejected), sum(duplicates_collapsed) "
            "from raw.landing_files group by 1 order by 1"
        ).fetchall()
        out += ["", "Landing:", _table(files, ["layout", "files", "read", "landed", "rejected", "collapsed"])]
        rejects = con.sql(
            "select reason, count(*) from raw.rejected_rows group by 1 order by 2 desc limit 10"
        ).fetchall()
        if rejects:
            out += ["", "Quarantined rows by reason (raw.rejected_rows):", _table(rejects, ["reason", "rows"])]
        drivers = con.sql(
            "select driver, timeframe, bar_interval, count(*), min(bar_start), max(bar_start), max(segment_id), "
            "count(*) filter (where not is_final) from marts.fct_driver_bars group by 1, 2, 3 "
            "order by array_position(['BTC','ALT','nano','small','mid','big','BTC.d','USDT.d'], driver), "
            "array_position(['micro','meso','macro'], timeframe)"
        ).fetchall()
        out += [
            "",
            "Regime drivers (marts.fct_driver_bars):",
            _table(drivers, ["driver", "timeframe", "interval", "bars", "first", "last", "segments", "provisional"]),
        ]
        recon = con.sql(
            "select exchange, sum(n_bars_compared), sum(n_matches), sum(n_mismatches) "
            "from reports.rpt_rollup_reconciliation group by 1 order by 1"
        ).fetchall()
        out += [
            "",
            "Rollups vs the exchange's own candles (reports.rpt_rollup_reconciliation):",
            _table(recon, ["exchange", "bars compared", "exact matches", "mismatches"]),
        ]
        return "\n".join(out)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else warehouse_path()
    try:
        print(summarize(path))
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"summary failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
