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
* ``marts.fct_uptrend_states`` (:func:`uptrend_states`): the Uptrend Engine per segment,
  continuing each segment from its stored engine state (dbt's delete+insert semantics by
  rewriting the Parquet table).
* ``marts.fct_strategy_fit`` (:func:`strategy_fit`): the Hurst / AR(1) strategy fit
  (:func:`market_regimes.engines.volatility_frames.strategy_fit_rows`) per segment, each
  stored segment continued after its last stored row from the look-back its windows need
  (the DuckDB adapter's frontier and look-back SQL, portable as written).

Revisions: the rewind pre-hook of int_indicator_bars_prepared (run by the first dbt step on
Spark too) deletes the engine tables' rows from each revised series' first changed bar on
(their meta revision_rewind, through the Spark copy-and-swap), so the jobs continue those
series from what is left, as the DuckDB models do (CI's Spark stage corrects a consumed
candle in stage 2). ``full_refresh=True`` walks everything again.

Not ported yet (named in docs/scale-out.md): the other engines.

Spark is imported lazily (the module imports without the optional ``spark`` dependencies).
Run it in the dbt-spark working directory, in its own process, with no dbt process running
(the local metastore admits one process at a time)::

    python -m market_regimes.spark_engines grid-ranges-walked uptrend-states strategy-fit --warehouse <spark.sql.warehouse.dir>
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from market_regimes.adapters import grid_sql, volatility_sql
from market_regimes.adapters.uptrend_sql import engine_inputs_sql
from market_regimes.engines.grid_ranges import OUTPUT_COLUMNS, PIVOT_COLUMNS, grid_range_rows_by_window
from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_engine import FLAGS as UPTREND_FLAGS
from market_regimes.engines.uptrend_engine import SCORES as UPTREND_SCORES
from market_regimes.engines.uptrend_engine import SegmentResume
from market_regimes.engines.uptrend_frames import COLUMNS as UPTREND_COLUMNS
from market_regimes.engines.uptrend_frames import (
    ENGINE_INPUTS,
    states_losing_last_row,
    stored_states,
    uptrend_state_rows,
)
from market_regimes.engines.volatility_config import VolatilityConfig
from market_regimes.engines.volatility_frames import STRATEGY_COLUMNS, strategy_fit_rows
from market_regimes.settings import project_var

__all__ = [
    "JOBS",
    "PORTED_MODELS",
    "dbt_selections",
    "grid_ranges_output_schema",
    "grid_ranges_walk_group",
    "grid_ranges_walked",
    "seed_mapping",
    "strategy_fit",
    "strategy_fit_group",
    "strategy_fit_output_schema",
    "table_exists",
    "uptrend_states",
    "uptrend_states_output_schema",
    "uptrend_walk_group",
]

GRID_BARS = "intermediate.int_grid_engine_bars_selected"
GRID_WALKED = "intermediate.int_grid_ranges_walked"
GRID_SEED = "seeds.grid_config"
UPTREND_STATES = "marts.fct_uptrend_states"
UPTREND_SEED = "seeds.uptrend_config"
# the inputs of fct_uptrend_states (its dbt refs), as the temp views the input SQL reads
UPTREND_INPUTS = {
    "_uptrend_series": "intermediate.int_indicator_series_listed",
    "_uptrend_prepared": "intermediate.int_indicator_bars_prepared",
    "_uptrend_smoothed": "intermediate.int_indicators_smoothed",
    "_uptrend_windowed": "intermediate.int_indicators_windowed",
    "_uptrend_driver_bars": "marts.fct_driver_bars",
}

STRATEGY_FIT = "marts.fct_strategy_fit"
VOLATILITY_SEED = "seeds.volatility_config"
# the inputs of fct_strategy_fit (its dbt refs), as the temp views the input SQL reads
STRATEGY_FIT_INPUTS = {
    "_strategy_fit_series": "intermediate.int_indicator_series_listed",
    "_strategy_fit_bars": "intermediate.int_indicator_bars_prepared",
}


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


def seed_mapping(spark, table: str) -> dict:
    """The (key, value) rows of a key-value seed table (grid_config, uptrend_config,
    volatility_config) as a dict, as the typed configs' from_mapping read them."""
    return {str(r["key"]): r["value"] for r in spark.table(table).select("key", "value").collect()}


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
    seed = seed_mapping(spark, GRID_SEED)
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


def uptrend_states_output_schema() -> str:
    """The Spark DDL schema of fct_uptrend_states: the engine's
    :data:`~market_regimes.engines.uptrend_frames.COLUMNS` in order (text columns string,
    bar_start and s3_start_ts timestamp (UTC: the session time zone), flags and exits
    boolean, scores double)."""
    types = {
        "bar_start": "timestamp",
        "s3_start_ts": "timestamp",
        **{c: "boolean" for c in (*UPTREND_FLAGS, "emergency_exit", "exit_position")},
        **{c: "double" for c in UPTREND_SCORES},
    }
    return ", ".join(f"{c} {types.get(c, 'string')}" for c in UPTREND_COLUMNS)


def uptrend_walk_group(bars: pd.DataFrame, cfg: UptrendConfig, states: dict[int, SegmentResume]) -> pd.DataFrame:
    """One segment's new rows of fct_uptrend_states (the function each Spark group runs).

    Args:
        bars: the segment's engine inputs (:func:`market_regimes.adapters.uptrend_sql.engine_inputs_sql`:
            series_part, idx, driver, timeframe, segment_id, bar_start, close, volume and
            :data:`~market_regimes.engines.uptrend_frames.ENGINE_INPUTS`), from its stored
            state's offset on when it has one, else whole.
        cfg: the constants (seed uptrend_config). states: series_part -> the stored state
            (:func:`~market_regimes.engines.uptrend_frames.stored_states`; empty on a full run).

    Returns:
        The rows of :func:`~market_regimes.engines.uptrend_frames.uptrend_state_rows` (the
        bars after the stored state's last bar), columns as
        :func:`uptrend_states_output_schema` wants them.

    Raises:
        ValueError: as :func:`~market_regimes.engines.uptrend_frames.uptrend_state_rows`.
    """
    return uptrend_state_rows(bars, cfg, states)


def uptrend_states(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``marts.fct_uptrend_states`` on Spark: the DuckDB model's run
    (:func:`market_regimes.adapters.uptrend_models.uptrend_states_table`) with one Spark group
    per segment (series_part).

    A first run walks every driver segment whole. A later run continues each segment from
    the latest engine state stored on its rows (read into the driver: one small JSON text per
    segment and checkpoint), reading its inputs from the state's offset on and only when it
    has a bar after the state's; the previous last row of a continued segment loses its
    state (unless it is a checkpoint), and a segment without a state to continue from (new,
    or still without a resumable walk) is walked whole and replaces its rows, as dbt's
    delete+insert on (driver, timeframe, bar_start) does on DuckDB. Parquet tables cannot
    update rows, so the table is written again — stored rows without the keys written (the
    states cleared) + the new rows, checkpointed first; a table format with MERGE (Delta,
    Iceberg) would touch the few rows in place.

    Args / Returns / Raises: as :func:`grid_ranges_walked` (the inputs: the relations of
    ``UPTREND_INPUTS`` and seed uptrend_config).
    """
    from pyspark.sql import functions as F

    cfg = UptrendConfig.from_mapping(seed_mapping(spark, UPTREND_SEED))
    for view, table in UPTREND_INPUTS.items():
        spark.table(table).createOrReplaceTempView(view)
    part_type = dict(spark.table(UPTREND_INPUTS["_uptrend_series"]).dtypes)["series_part"]
    incremental = table_exists(spark, UPTREND_STATES) and not full_refresh
    last = (
        spark.table(UPTREND_STATES).where("engine_state is not null").select("engine_state").toPandas()
        if incremental
        else pd.DataFrame({"engine_state": pd.Series(dtype="object")})
    )
    states = stored_states(last["engine_state"])
    frontier = spark.createDataFrame(
        [(int(p), int(s.offset), int(s.last_idx)) for p, s in states.items()],
        f"series_part {part_type}, offset_idx bigint, last_idx bigint",
    )
    frontier.createOrReplaceTempView("_uptrend_frontier")
    # cached: read by the walk and again for the segments walked (the SQL runs once)
    inputs = spark.sql(engine_inputs_sql(*UPTREND_INPUTS, "_uptrend_frontier", ENGINE_INPUTS)).persist()
    out = inputs.groupBy("series_part").applyInPandas(
        lambda bars: uptrend_walk_group(bars, cfg, states), uptrend_states_output_schema()
    )
    # the new rows first (checkpointed: an incremental run rewrites the table it reads)
    out = out.localCheckpoint()
    written = out.count()
    walked = {int(r["series_part"]) for r in inputs.select("series_part").distinct().collect()}
    inputs.unpersist()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(UPTREND_STATES)
        return {"mode": "full", "segments": len(walked), "rows_written": written}
    # "series_part:last_idx" of the previous last rows that lose their state
    cleared = [f"{x[0]}:{x[1]}" for x in states_losing_last_row(last["engine_state"], walked, states, cfg) if x]
    # as dbt's delete+insert on the unique key (driver, timeframe, bar_start): a segment
    # walked again from its first bar (no state it could continue from) replaces its rows
    key = ["driver", "timeframe", "bar_start"]
    stored = spark.table(UPTREND_STATES).join(out.select(*key), on=key, how="left_anti")
    if cleared:
        walk = F.concat_ws(
            ":",
            F.get_json_object("engine_state", "$.series_part"),
            F.get_json_object("engine_state", "$.engine.last_idx"),
        )
        stored = stored.withColumn(
            "engine_state", F.when(walk.isin(cleared), F.lit(None).cast("string")).otherwise(F.col("engine_state"))
        )
    if written or cleared:
        table = stored.unionByName(out).localCheckpoint()
        table.write.mode("overwrite").format("parquet").saveAsTable(UPTREND_STATES)
    return {"mode": "incremental", "segments": len(walked), "rows_written": written, "states_cleared": len(cleared)}


def strategy_fit_output_schema() -> str:
    """The Spark DDL schema of fct_strategy_fit: the engine's
    :data:`~market_regimes.engines.volatility_frames.STRATEGY_COLUMNS` in order (text columns
    string, segment_id and toxic_bars_in_window bigint, bar_start timestamp (UTC: the
    session time zone), is_toxic boolean, the fits double)."""
    types = {"segment_id": "bigint", "bar_start": "timestamp", "is_toxic": "boolean", "toxic_bars_in_window": "bigint"}
    strings = {"series_type", "series_id", "driver", "timeframe", "exchange", "symbol", "bar_interval"}
    return ", ".join(f"{c} {types.get(c, 'string' if c in strings else 'double')}" for c in STRATEGY_COLUMNS)


def strategy_fit_group(bars: pd.DataFrame, cfg, series: pd.DataFrame, after: dict) -> pd.DataFrame:
    """One segment's new rows of fct_strategy_fit (the function each Spark group runs).

    Args:
        bars: the segment's look-back and new bars (series_part, idx, bar_start, log_return;
            :func:`market_regimes.adapters.volatility_sql.lookback_bars_sql`), or its whole
            history when it has no stored rows.
        cfg: the constants (seed volatility_config). series: the listed series
            (:func:`~market_regimes.adapters.volatility_sql.series_sql`: series_part and the
            series columns). after: (series_id, segment_id) -> the bar_start of the stored
            segment's last row (its rows up to it are not returned).

    Returns:
        :func:`~market_regimes.engines.volatility_frames.strategy_fit_rows` of the segment
        after its last stored row, columns as :func:`strategy_fit_output_schema` wants them.
    """
    bars = bars.assign(bar_start=bars["bar_start"].astype("datetime64[us]"))  # the engine counts microseconds
    rows = strategy_fit_rows(bars, cfg, series=series[series["series_part"].isin(bars["series_part"].unique())])
    if not len(rows) or not after:
        return rows
    last = [after.get((s, int(g))) for s, g in zip(rows["series_id"], rows["segment_id"])]
    keep = [x is None or b > x for x, b in zip(last, rows["bar_start"])]
    return rows[keep].reset_index(drop=True)


def strategy_fit(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``marts.fct_strategy_fit`` on Spark: the DuckDB model's run
    (:func:`market_regimes.adapters.volatility_models.strategy_fit_table`) with one Spark group
    per segment (series_part), for the bar intervals of var ``volatility_bar_intervals``
    (dbt_project.yml: :func:`market_regimes.settings.project_var`).

    A first run computes every segment whole. A later run continues each stored segment
    after its last stored row from the ``hurst_window_bars``-th last clean bar at or before it
    (the adapter's frontier and look-back SQL, run by Spark as written) and leaves out the
    segments without a new bar; a segment without stored rows is computed whole. The rows
    are added as dbt's delete+insert on (series_id, bar_start) adds them on DuckDB: the
    Parquet table is written again (stored rows without the keys written + the new rows,
    checkpointed first).

    Args / Returns / Raises: as :func:`grid_ranges_walked` (the inputs: the relations of
    ``STRATEGY_FIT_INPUTS`` and seed volatility_config); the result also holds
    ``segments`` (segments with rows written).
    """
    cfg = VolatilityConfig.from_mapping(seed_mapping(spark, VOLATILITY_SEED))
    for view, table in STRATEGY_FIT_INPUTS.items():
        spark.table(table).createOrReplaceTempView(view)
    intervals = str(project_var("volatility_bar_intervals"))
    listed = spark.sql(volatility_sql.series_sql("_strategy_fit_series", intervals))
    listed.createOrReplaceTempView("_strategy_fit_listed")
    series = listed.toPandas()
    part_type = dict(listed.dtypes)["series_part"]
    incremental = table_exists(spark, STRATEGY_FIT) and not full_refresh
    need = max(cfg.hurst_window_bars, cfg.ar1_window_bars)
    schema = f"series_part {part_type}, last_idx bigint, last_bar_start timestamp, need bigint"
    frontier = (
        spark.sql(
            volatility_sql.strategy_fit_frontier_sql(STRATEGY_FIT, "_strategy_fit_listed", "_strategy_fit_bars", need)
        )
        if incremental
        else spark.createDataFrame([], schema)
    ).cache()
    frontier.createOrReplaceTempView("_strategy_fit_frontier")
    last = series.merge(frontier.toPandas(), on="series_part")
    after = {
        (s, int(g)): pd.Timestamp(b).to_datetime64().astype("datetime64[us]")
        for s, g, b in zip(last["series_id"], last["segment_id"], last["last_bar_start"])
    }
    lookback = volatility_sql.lookback_bars_sql(
        "_strategy_fit_listed",
        "_strategy_fit_bars",
        "_strategy_fit_frontier",
        cfg.toxic_abs_log_return,
        "b.series_part, b.idx, b.bar_start, b.log_return",
    )
    out = (
        spark.sql(lookback)
        .groupBy("series_part")
        .applyInPandas(lambda bars: strategy_fit_group(bars, cfg, series, after), strategy_fit_output_schema())
        .localCheckpoint()  # the new rows first: an incremental run rewrites the table it reads
    )
    written = out.count()
    segments = out.select("series_id", "segment_id").distinct().count()
    frontier.unpersist()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(STRATEGY_FIT)
        return {"mode": "full", "segments": segments, "rows_written": written}
    if written:
        key = ["series_id", "bar_start"]
        stored = spark.table(STRATEGY_FIT).join(out.select(*key), on=key, how="left_anti")
        stored.unionByName(out).localCheckpoint().write.mode("overwrite").format("parquet").saveAsTable(STRATEGY_FIT)
    return {"mode": "incremental", "segments": segments, "rows_written": written}


#: job name -> job (``python -m market_regimes.spark_engines <name>``)
JOBS = {"grid-ranges-walked": grid_ranges_walked, "uptrend-states": uptrend_states, "strategy-fit": strategy_fit}
#: the dbt Python models built on Spark by a job here -> the job's name (the Spark stage of
#: CI and the Spark code location run these between their dbt steps)
PORTED_MODELS = {
    "int_grid_ranges_walked": "grid-ranges-walked",
    "fct_uptrend_states": "uptrend-states",
    "fct_strategy_fit": "strategy-fit",
}


def dbt_selections(project_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """The (select, exclude) dbt selectors of the Spark target's steps (CI's Spark stage and
    the Spark code location run the same):

    * ``upstream``: the SQL models not downstream of any Python engine model (the models of
      ``python_models/`` outside ``python_models/raw``, the landing), run before the jobs;
    * ``after_engines``: the models downstream of the ported engines (:data:`PORTED_MODELS`)
      and of no other engine, run after the jobs;
    * ``built``: both, with the ported engines: what the Spark target holds.
    """
    root = Path(project_dir) / "python_models"
    engines = sorted(p.stem for p in root.rglob("*.py") if p.relative_to(root).parts[0] != "raw")
    unported = [f"{m}+" for m in engines if m not in PORTED_MODELS]
    return {
        "upstream": (["path:models"], [f"{m}+" for m in engines]),
        "after_engines": ([f"{m}+" for m in PORTED_MODELS], [*PORTED_MODELS, *unported]),
        "built": (["path:models", *PORTED_MODELS], unported),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m market_regimes.spark_engines JOB [JOB ...] --warehouse DIR [--full-refresh]``:
    run engine jobs, in the order given, in one Spark session on the local warehouse of the
    dbt profile (one session start for all: ~10 s each on 2 cores); prints one JSON object,
    job name -> its result with its ``seconds``."""
    import argparse
    import time

    from market_regimes.spark_parity import spark_session

    parser = argparse.ArgumentParser(prog="python -m market_regimes.spark_engines", description=__doc__)
    parser.add_argument("jobs", nargs="+", choices=sorted(JOBS), metavar="JOB", help=f"one of {sorted(JOBS)}")
    parser.add_argument("--warehouse", type=Path, required=True, help="spark.sql.warehouse.dir of the dbt profile")
    parser.add_argument("--full-refresh", action="store_true", help="recompute every series and replace the table")
    args = parser.parse_args(argv)
    spark = spark_session(args.warehouse)
    results = {}
    try:
        for job in args.jobs:
            started = time.perf_counter()
            result = JOBS[job](spark, full_refresh=args.full_refresh)
            results[job] = {**result, "seconds": round(time.perf_counter() - started, 1)}
    finally:
        spark.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
