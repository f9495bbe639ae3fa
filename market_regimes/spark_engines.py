"""The Python engines as Spark jobs (docs/scale-out.md "Engines on Spark").

dbt-spark runs Python models only on Databricks, so on the ``spark`` target an engine model
is built by a job here instead: it reads the same input relation the dbt Python model reads,
runs the same pure engine once per series with ``groupBy(series_part).applyInPandas`` (or
``cogroup(...).applyInPandas`` when stored state goes with the series), and writes the
table dbt declares, under the same name, so that ``dbt run --target spark`` builds the SQL
models downstream of it as usual. The DuckDB path (the dbt Python models) is unchanged.

Ported so far:

* ``intermediate.int_grid_ranges_walked`` (:func:`grid_ranges_walked`): the grid range
  engine (:func:`market_regimes.engines.grid_ranges.grid_range_rows_by_window`) on
  ``intermediate.int_grid_engine_bars_selected`` with the rows of seed ``grid_config``. A
  first run walks every series whole; a later run continues each stored series after its
  last stored bar from its stored pivots (the DuckDB adapter's frontier, tail and pivot SQL:
  :mod:`market_regimes.adapters.grid_sql`, portable SQL) and appends the new rows, so it
  writes the rows a full build would (each series' values depend on its own bars only).

Revisions: the rewind pre-hook of int_indicator_bars_prepared (run by the first dbt step on
Spark too) deletes the engine table's rows from each revised series' first changed bar on
(meta revision_rewind = series_idx, through the Spark copy-and-swap), so the job continues
those series from what is left, as the DuckDB model does (not exercised by CI's Spark
fixture: its stages revise no bar). ``full_refresh=True`` walks everything again.

Not ported yet (named in docs/scale-out.md): the other engines.

Spark is imported lazily (the module imports without the optional ``spark`` dependencies).
Run it in the dbt-spark working directory, in its own process, with no dbt process running
(the local metastore admits one process at a time)::

    python -m market_regimes.spark_engines grid-ranges-walked --warehouse <spark.sql.warehouse.dir>
"""

from __future__ import annotations

import pandas as pd

from market_regimes.adapters import grid_sql
from market_regimes.engines.grid_ranges import OUTPUT_COLUMNS, PIVOT_COLUMNS, grid_range_rows_by_window

__all__ = [
    "JOBS",
    "PORTED_MODELS",
    "grid_ranges_output_schema",
    "grid_ranges_walk_group",
    "grid_ranges_walked",
    "table_exists",
]

GRID_BARS = "intermediate.int_grid_engine_bars_selected"
GRID_WALKED = "intermediate.int_grid_ranges_walked"
GRID_SEED = "seeds.grid_config"


def grid_ranges_output_schema(series_part_type: str = "bigint") -> str:
    """The Spark DDL schema of int_grid_ranges_walked: the engine's
    :data:`~market_regimes.engines.grid_ranges.OUTPUT_COLUMNS` in order, series_part of the
    input's type (bigint on Spark: an xxhash64), idx and the pivot columns bigint, the
    levels, traversals and containment double."""
    types = {"series_part": series_part_type, "idx": "bigint", **{c: "bigint" for c in PIVOT_COLUMNS}}
    return ", ".join(f"{c} {types.get(c, 'double')}" for c in OUTPUT_COLUMNS)


def grid_ranges_walk_group(bars: pd.DataFrame, pivots: pd.DataFrame | None, seed: dict) -> pd.DataFrame:
    """One series' rows of int_grid_ranges_walked (the function each Spark group runs).

    Args:
        bars: the series' rows of int_grid_engine_bars_selected (any order; with
            ``carry_idx`` when it continues a stored walk: see
            :func:`~market_regimes.engines.grid_ranges.grid_range_rows`).
        pivots: its stored pivots (series_part, idx, pivot_idx, pivot_kind) or None / empty.
        seed: the rows of seed grid_config (key -> value).

    Returns:
        :data:`OUTPUT_COLUMNS` as the schema of :func:`grid_ranges_output_schema` wants them
        (idx int64, pivots nullable Int64, the rest float64); no rows for an empty group.

    Raises:
        ValueError: as :func:`~market_regimes.engines.grid_ranges.grid_range_rows_by_window`.
    """
    if not len(bars):
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c in PIVOT_COLUMNS else "float64") for c in OUTPUT_COLUMNS})
    if "carry_idx" in bars.columns and bars["carry_idx"].isna().all():
        bars = bars.drop(columns="carry_idx")  # a series without stored rows: walked whole
    rows = grid_range_rows_by_window(bars, seed, pivots if pivots is not None and len(pivots) else None)
    return rows[list(OUTPUT_COLUMNS)].astype({"idx": "int64", **{c: "Int64" for c in PIVOT_COLUMNS}})


def table_exists(spark, name: str) -> bool:
    """True when the table ``schema.name`` exists in the session's catalog."""
    return bool(spark.catalog.tableExists(name))


def grid_ranges_walked(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``intermediate.int_grid_ranges_walked`` on Spark (module docstring).

    Args:
        spark: a session on the dbt-spark warehouse
            (:func:`market_regimes.spark_parity.spark_session`).
        full_refresh: walk every series whole and replace the table even when it exists.

    Returns:
        {"mode": "full" | "incremental", "series": series with rows written, "rows_written": rows}.

    Raises:
        pyspark.errors.AnalysisException: the input relation or seed is missing (build the
        SQL models and seeds with dbt first). ValueError (inside the job): as
        :func:`grid_ranges_walk_group`.
    """
    seed = {str(r["key"]): r["value"] for r in spark.table(GRID_SEED).select("key", "value").collect()}
    bars = spark.table(GRID_BARS)
    schema = grid_ranges_output_schema(dict(bars.dtypes)["series_part"])
    incremental = table_exists(spark, GRID_WALKED) and not full_refresh
    if not incremental:
        out = bars.groupBy("series_part").applyInPandas(lambda frame: grid_ranges_walk_group(frame, None, seed), schema)
        out = out.cache()
        written, series = out.count(), out.select("series_part").distinct().count()
        out.write.mode("overwrite").format("parquet").saveAsTable(GRID_WALKED)
        out.unpersist()
        return {"mode": "full", "series": series, "rows_written": written}
    bars.createOrReplaceTempView("_grid_walk_bars")
    spark.table(GRID_WALKED).createOrReplaceTempView("_grid_walk_stored")
    spark.sql(grid_sql.range_walk_frontier_sql("_grid_walk_stored")).cache().createOrReplaceTempView(
        "_grid_walk_frontier"
    )
    tail = spark.sql(grid_sql.range_walk_tail_sql("_grid_walk_bars", "_grid_walk_frontier"))
    pivots = spark.sql(grid_sql.range_walk_pivots_sql("_grid_walk_stored", "_grid_walk_frontier", "_grid_walk_bars"))
    out = (
        tail.groupBy("series_part")
        .cogroup(pivots.groupBy("series_part"))
        .applyInPandas(lambda frame, stored: grid_ranges_walk_group(frame, stored, seed), schema)
    )
    # the new rows are computed before the table they are appended to is written
    out = out.localCheckpoint()
    written, series = out.count(), out.select("series_part").distinct().count()
    if written:
        out.select(*OUTPUT_COLUMNS).write.insertInto(GRID_WALKED)
    return {"mode": "incremental", "series": series, "rows_written": written}


#: job name -> job (``python -m market_regimes.spark_engines <name>``)
JOBS = {"grid-ranges-walked": grid_ranges_walked}
#: the dbt Python models built on Spark by a job here -> the job's name (the Spark stage of
#: CI and the Spark code location run these between their dbt steps)
PORTED_MODELS = {"int_grid_ranges_walked": "grid-ranges-walked"}


def main(argv: list[str] | None = None) -> int:
    """``python -m market_regimes.spark_engines JOB --warehouse DIR [--full-refresh]``: run an
    engine job on the local Spark warehouse of the dbt profile; prints its result as JSON."""
    import argparse
    import json
    from pathlib import Path

    from market_regimes.spark_parity import spark_session

    parser = argparse.ArgumentParser(prog="python -m market_regimes.spark_engines", description=__doc__)
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--warehouse", type=Path, required=True, help="spark.sql.warehouse.dir of the dbt profile")
    parser.add_argument("--full-refresh", action="store_true", help="recompute every series and replace the table")
    args = parser.parse_args(argv)
    spark = spark_session(args.warehouse)
    try:
        print(json.dumps(JOBS[args.job](spark, full_refresh=args.full_refresh)))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
