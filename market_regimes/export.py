"""Export a warehouse table or a SELECT query to CSV or Parquet (``market-regimes export``).

Pure functions over an open DuckDB connection (read-only is enough: DuckDB's ``COPY ...
TO`` writes the file, not the database). The connection is neither opened nor closed here.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

# Schemas whose tables may be exported by name, in lookup order for an unqualified name.
EXPORT_SCHEMAS = ("marts", "reports", "seeds")
FORMATS = ("csv", "parquet")
_QUERY_START = re.compile(r"^\s*\(*\s*(select|with|from|values|pivot|unpivot|table)\b", re.IGNORECASE)


class UnknownTableError(LookupError):
    """``name`` is not a table or view of :data:`EXPORT_SCHEMAS`; ``available`` lists those
    that are (``schema.name``, sorted)."""

    def __init__(self, name: str, available: list[str]):
        self.name = name
        self.available = available
        listing = ", ".join(available) if available else "none (is the warehouse built?)"
        super().__init__(f"unknown table {name!r}; available tables: {listing}")


def is_query(text: str) -> bool:
    """True when ``text`` reads as a query rather than a table name: it starts (after
    whitespace and opening parentheses) with SELECT, WITH, FROM, VALUES, PIVOT, UNPIVOT or
    TABLE, case-insensitive."""
    return bool(_QUERY_START.match(text))


def available_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of :data:`EXPORT_SCHEMAS` in the connected database, as sorted
    ``schema.name`` strings (marts first, then reports, then seeds)."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema in (?, ?, ?) "
        "order by array_position(?, table_schema), table_name",
        [*EXPORT_SCHEMAS, list(EXPORT_SCHEMAS)],
    ).fetchall()
    return [f"{schema}.{name}" for schema, name in rows]


def resolve_table(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The ``schema.name`` of the table ``name`` (``fct_levers`` or ``marts.fct_levers``;
    case-insensitive). An unqualified name is looked up in marts, then reports, then seeds.

    Raises:
        UnknownTableError: no such table or view in :data:`EXPORT_SCHEMAS`.
    """
    available = available_tables(con)
    wanted = name.strip().strip('"').lower()
    by_lower = {t.lower(): t for t in available}
    if "." in wanted:
        if wanted in by_lower:
            return by_lower[wanted]
    else:
        for schema in EXPORT_SCHEMAS:
            if f"{schema}.{wanted}" in by_lower:
                return by_lower[f"{schema}.{wanted}"]
    raise UnknownTableError(name, available)


def default_output(name: str, fmt: str, directory: Path) -> Path:
    """``directory/<name>.<fmt>``: ``name`` without its schema (``marts.fct_levers`` ->
    ``fct_levers.parquet``), ``query`` for a query."""
    stem = name.rpartition(".")[2] or "query"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    return directory / f"{stem}.{fmt}"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_sql(con: duckdb.DuckDBPyConnection, name_or_query: str, force_query: bool = False) -> tuple[str, str]:
    """The SELECT to export and a label for it: ``(sql, "schema.name")`` for a table name,
    ``(sql, "query")`` for a query (:func:`is_query`, or ``force_query``; one trailing ``;``
    is dropped).

    Raises:
        UnknownTableError: a name that is not a table of :data:`EXPORT_SCHEMAS`.
    """
    if force_query or is_query(name_or_query):
        return name_or_query.strip().rstrip(";").strip(), "query"
    table = resolve_table(con, name_or_query)
    schema, _, rel = table.partition(".")
    return f"select * from {_quote_identifier(schema)}.{_quote_identifier(rel)}", table


def export(con: duckdb.DuckDBPyConnection, sql: str, path: Path, fmt: str = "parquet") -> int:
    """Write the rows of ``sql`` to ``path`` in ``fmt`` (``csv``: comma-separated with a
    header line, timestamps as ``YYYY-MM-DD HH:MM:SS`` in UTC; ``parquet``: typed columns,
    timestamps naive UTC) with DuckDB's COPY; creates the parent directory; overwrites an
    existing file. Returns the number of rows written.

    Raises:
        ValueError: ``fmt`` not in :data:`FORMATS`.
        duckdb.Error: the query fails (bad SQL, unknown column, ...) or the file cannot be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    options = "format csv, header" if fmt == "csv" else "format parquet"
    target = str(path).replace("'", "''")
    row = con.execute(f"copy ({sql}) to '{target}' ({options})").fetchone()
    return int(row[0]) if row else 0
