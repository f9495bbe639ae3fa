"""DuckDB side of landing: pick new files from a ``read_blob`` relation, append ledger rows.

This module knows DuckDB (the warehouse engine) but not dbt: the dbt Python models in
``python_models/raw/`` are thin adapters that hand it their source relation and
connection.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

from .ledger import DTYPES, LAYOUT_SPECS, existing_version_sql, iter_landed

_ARROW_TYPES = {"object": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
                "datetime64[us]": pa.timestamp("us")}


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of raw.<table> (the ledger columns, see ``ledger.LAYOUT_SPECS``)."""
    return pa.schema([(c, _ARROW_TYPES[DTYPES[c]]) for c in LAYOUT_SPECS[table].columns])


def relative_source_file(filename: str, landing_dir: str) -> str:
    """Path of a landed file relative to the landing directory, with forward slashes."""
    rel = os.path.relpath(os.path.abspath(filename), os.path.abspath(landing_dir))
    return rel.replace(os.sep, "/")


def land_table(con, table: str, files, landing_dir: str, this: str | None) -> pa.Table:
    """Land every file of ``files`` whose content hash is not yet in ``this``.

    Args:
        con: DuckDB connection (the dbt session).
        table: raw table kind: ``klines``, ``dominance`` or ``daily``.
        files: DuckDB relation over ``read_blob(glob)`` (columns filename, content).
        landing_dir: the landing directory the globs are rooted at.
        this: the existing raw table's name for incremental runs, or None (first build).
    Returns:
        Arrow table of new ledger rows (possibly empty) with :func:`arrow_schema`.
    """
    con.register("_landing_files", files.project("filename, content, sha256(content) as content_hash"))
    where = ""
    if this is not None:
        where = f"where content_hash not in (select distinct content_hash from {this})"
    new = con.sql(f"select filename, content, content_hash from _landing_files {where} order by filename").fetchall()
    blobs = []
    seen = set()
    for filename, content, content_hash in new:
        name = os.path.basename(filename)
        if name.startswith(".") or content_hash in seen:
            continue  # hidden/temporary files; the same bytes twice in one batch land once
        seen.add(content_hash)
        blobs.append((relative_source_file(filename, landing_dir), bytes(content), content_hash))

    def existing(keys: pd.DataFrame):
        if this is None:
            return None
        con.register("_landing_keys", keys)
        try:
            return con.sql(existing_version_sql(table, this, "_landing_keys")).df()
        finally:
            con.unregister("_landing_keys")

    loaded_at = pd.Timestamp(datetime.now(timezone.utc).replace(tzinfo=None)).floor("us")
    started = time.perf_counter()
    schema = arrow_schema(table)
    tables, counts = [], {"landed": 0, "rejected": 0, "collapsed": 0}
    for frame in iter_landed(table, blobs, loaded_at, existing):
        for status, n in frame["status"].value_counts().items():
            counts[status] += int(n)
        tables.append(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
        del frame  # keep one series in pandas at a time; Arrow holds the rest compactly
    con.unregister("_landing_files")
    if blobs:  # progress for the person watching `dbt build`
        print(f"[landing] raw.{table}: {len(blobs)} new file(s), {sum(counts.values()):,} rows read, "
              f"{counts['landed']:,} landed, {counts['rejected']:,} rejected, {counts['collapsed']:,} collapsed "
              f"in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return pa.concat_tables(tables) if tables else schema.empty_table()
