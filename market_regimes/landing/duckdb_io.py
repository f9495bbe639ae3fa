"""DuckDB side of landing: pick new files from a ``read_blob`` relation, append ledger rows.

This module knows DuckDB (the warehouse engine) but not dbt: the dbt Python models in
``python_models/raw/`` are thin adapters that hand it their source relation, connection,
plausibility bounds (var ``landing_plausibility``) and batch timestamp.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa

from .ledger import DTYPES, LAYOUT_SPECS, existing_version_sql, iter_landed, previous_close_sql, snapshot_minute_sibling
from .validate import LandingPlausibility

_ARROW_TYPES = {
    "object": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "datetime64[us]": pa.timestamp("us"),
}


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of raw.<table> (the ledger columns, see ``ledger.LAYOUT_SPECS``)."""
    return pa.schema([(c, _ARROW_TYPES[DTYPES[c]]) for c in LAYOUT_SPECS[table].columns])


def _text_array(values: np.ndarray, type_: pa.DataType) -> pa.Array:
    """``pa.array(values, type_, from_pandas=True)`` of an object column (missing -> null),
    converted once per run of equal neighbours and repeated by index: a file's rows share
    source_file, layout, exchange, status ..., and pyarrow converts text object by object.
    Columns of mostly distinct values are converted directly."""
    n = len(values)
    change = np.ones(n, dtype=bool)
    try:
        change[1:] = np.asarray(values[1:] != values[:-1], dtype=bool)
    except TypeError:  # a value without a plain truth value (pd.NA)
        return pa.array(values, type=type_, from_pandas=True)
    starts = np.flatnonzero(change)
    missing = pd.isna(values[starts])  # NaN != NaN: neighbouring missing values are one run
    starts = starts[~(missing & np.r_[False, missing[:-1]])]
    if len(starts) * 4 > n:
        return pa.array(values, type=type_, from_pandas=True)
    firsts = pa.array(values[starts], type=type_, from_pandas=True)
    return firsts.take(np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n))))


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pandas(frame, schema=schema, preserve_index=False)``, same table and
    metadata, with the text columns converted by :func:`_text_array`."""
    metadata = pa.Table.from_pandas(frame.iloc[:0], schema=schema, preserve_index=False).schema.metadata
    arrays = []
    for field in schema:
        column = frame[field.name]
        if column.dtype == object and pa.types.is_string(field.type):
            arrays.append(_text_array(column.to_numpy(), field.type))
        else:
            arrays.append(pa.array(column, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(metadata))


def relative_source_file(filename: str, landing_dir: str) -> str:
    """Path of a landed file relative to the landing directory, with forward slashes."""
    rel = os.path.relpath(os.path.abspath(filename), os.path.abspath(landing_dir))
    return rel.replace(os.sep, "/")


def landed_files(con, this: str | None) -> set[tuple[str, str]]:
    """The (source_file, content_hash) pairs already in the ledger ``this`` (empty when None)."""
    if this is None:
        return set()
    return set(con.sql(f"select distinct source_file, content_hash from {this}").fetchall())


def land_table(
    con,
    table: str,
    files,
    landing_dir: str,
    this: str | None,
    *,
    plausibility: LandingPlausibility,
    loaded_at: datetime | None = None,
) -> pa.Table:
    """Land every file of ``files`` not yet landed under its path with its content.

    A file is skipped only when the same (source_file, content_hash) is already in
    ``this``: the same bytes under another path land (docs/landing.md), a changed file
    under the same path is read again. Hidden files (name starting with ``.``) are
    skipped.

    Args:
        con: DuckDB connection (the dbt session).
        table: raw table kind: ``klines``, ``dominance`` or ``daily``.
        files: DuckDB relation over ``read_blob(glob)`` (columns filename, content).
        landing_dir: the landing directory the globs are rooted at.
        this: the existing raw table's name for incremental runs, or None (first build).
        plausibility: the plausibility bounds of the row checks.
        loaded_at: the landing batch's timestamp (naive UTC; the dbt models pass the dbt
            invocation's start, so one build is one batch across the three ledgers);
            None = now. Floored to microseconds.
    Returns:
        Arrow table of new ledger rows (possibly empty) with :func:`arrow_schema`.
    """
    con.register("_landing_files", files.project("filename, sha256(content) as content_hash"))
    try:
        listed = con.sql("select filename, content_hash from _landing_files order by filename").fetchall()
    finally:
        con.unregister("_landing_files")
    done = landed_files(con, this)
    wanted = {}
    for filename, content_hash in listed:
        source_file = relative_source_file(filename, landing_dir)
        if os.path.basename(filename).startswith(".") or (source_file, content_hash) in done:
            continue  # hidden/temporary files; files already landed under this path with these bytes
        wanted[filename] = (source_file, content_hash)
    # the _1m snapshot of a new _1h snapshot's hour, landed before: read for the cross-check
    by_source = {relative_source_file(f, landing_dir): f for f, _ in listed}
    wanted_sources = {source for source, _ in wanted.values()}
    context_files = {}
    for source, _ in wanted.values():
        sibling = snapshot_minute_sibling(source)
        if sibling is not None and sibling in by_source and sibling not in wanted_sources:
            context_files[by_source[sibling]] = sibling
    blobs, context = [], {}
    if wanted:
        con.register("_landing_contents", files.project("filename, content"))
        con.register("_landing_wanted", pd.DataFrame({"filename": [*wanted, *context_files]}))
        try:
            rows = con.sql(
                "select f.filename, f.content from _landing_contents f "
                "semi join _landing_wanted w on f.filename = w.filename order by f.filename"
            ).fetchall()
        finally:
            con.unregister("_landing_contents")
            con.unregister("_landing_wanted")
        for filename, content in rows:
            if filename in context_files:
                context[context_files[filename]] = bytes(content)
                continue
            source_file, content_hash = wanted[filename]
            blobs.append((source_file, bytes(content), content_hash))

    def lookup(sql_of):
        if this is None:
            return None  # first build: no landed history (iter_landed then skips the key lookups)

        def run(keys: pd.DataFrame):
            con.register("_landing_keys", keys)
            try:
                return con.sql(sql_of(table, this, "_landing_keys")).df()
            finally:
                con.unregister("_landing_keys")

        return run

    if loaded_at is None:
        loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = pd.Timestamp(loaded_at).floor("us")
    started = time.perf_counter()
    schema = arrow_schema(table)
    tables, counts = [], {"landed": 0, "rejected": 0, "collapsed": 0}
    for frame in iter_landed(
        table, blobs, stamp, lookup(existing_version_sql), plausibility, lookup(previous_close_sql), context
    ):
        part = _to_arrow(frame, schema)
        del frame  # keep one series in pandas at a time; Arrow holds the rest compactly
        for entry in part.column("status").value_counts().to_pylist():  # counted in Arrow
            if entry["values"] is not None:
                counts[entry["values"]] += entry["counts"]
        tables.append(part)
    if blobs:  # progress for the person watching `dbt build`
        print(
            f"[landing] raw.{table}: {len(blobs)} new file(s), {sum(counts.values()):,} rows read, "
            f"{counts['landed']:,} landed, {counts['rejected']:,} rejected, {counts['collapsed']:,} collapsed "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return pa.concat_tables(tables) if tables else schema.empty_table()


def dbt_batch_started_at():
    """The landing batch's timestamp when landing runs inside a dbt invocation: dbt's
    run_started_at (naive UTC), shared by the three raw ledgers of one build so that one
    build is one batch (the warn tests report the batch a build landed). None (= the time
    of landing) outside dbt or when this dbt version does not expose it. The only place
    this package looks at dbt, and only when asked."""
    from datetime import timezone

    try:
        from dbt import tracking

        return tracking.active_user.run_started_at.astimezone(timezone.utc).replace(tzinfo=None)
    except Exception:  # noqa: BLE001 - not under dbt, or another dbt version
        return None
