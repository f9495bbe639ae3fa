"""The Python engines as Spark jobs (docs/scale-out.md "Engines on Spark").

dbt-spark runs Python models only on Databricks, so on the ``spark`` target an engine model
is built by a job here instead: it reads the same input relation the dbt Python model reads,
runs the same pure engine once per series with ``groupBy(series_part).applyInPandas`` (or
``cogroup(...).applyInPandas`` when stored state goes with the series; on the Spark driver
when the input is small and does not grow with the candles: the trend x vol regimes), and
writes the table dbt declares, under the same name, so that ``dbt run --target spark``
builds the SQL models downstream of it as usual. The DuckDB path (the dbt Python models) is
unchanged.

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
* ``marts.fct_symbol_turbulence`` (:func:`symbol_turbulence`): the turbulence of each symbol
  cross-section (exchange x bar interval;
  :func:`market_regimes.engines.volatility_frames.turbulence_rows` /
  :func:`~market_regimes.engines.volatility_frames.turbulence_rows_after`) with one Spark
  group per cross-section, each stored cross-section that is still the full computation's
  continued after its last stored row from the look-back of its window (the DuckDB
  adapter's SQL), any other recomputed whole and its stored rows replaced.
* ``marts.fct_volatility_regimes`` (:func:`volatility_regimes`): the volatility / spectral
  regimes (:func:`market_regimes.engines.volatility_frames.volatility_regime_rows`) per
  segment, each stored segment continued after its last stored row from its look-back (the
  DuckDB adapter's frontier and look-back SQL, portable as written); the drivers'
  turbulence computed on the Spark driver as the adapter computes it (a small, fixed set of
  driver series), the symbols' read from ``marts.fct_symbol_turbulence``; stored rows whose
  turbulence went stale written again; dbt's delete+insert on (series_part, idx) by
  rewriting the Parquet table.
* ``marts.fct_market_regimes`` (:func:`market_regimes`): the trend x volatility detector per
  seed market x final day (:func:`market_regimes.engines.trend_vol_frames.market_regime_rows`,
  which also validates seed trend_vol_markets against the landed daily series) on
  ``intermediate.int_market_days_prepared``, run once **on the Spark driver** (the input is
  one row per market and day: :func:`market_regimes` says why), for the vars
  ``max_gap_bars`` and ``trend_vol_missing_series`` its dbt config lifts; a full table,
  overwritten each run. With it ``fct_regime_events`` and the regime research inputs and
  reports (``rpt_regime_bars_listed``, ``rpt_regime_labels_aligned``,
  ``rpt_regime_forward_returns``, ``rpt_regime_transitions``) build on Spark too.

Revisions: the rewind pre-hook of int_indicator_bars_prepared (run by the first dbt step on
Spark too) deletes the engine tables' rows from each revised series' first changed bar on
(their meta revision_rewind, through the Spark copy-and-swap), so the jobs continue those
series from what is left, as the DuckDB models do (CI's Spark stage corrects a consumed
candle in stage 2). ``full_refresh=True`` walks everything again.

* ``marts.fct_grid_lifecycle`` (:func:`grid_lifecycle`): the grid lifecycle
  (:func:`market_regimes.engines.grid_lifecycle_frames.lifecycle_rows`) per symbol, every walk
  continued from the engine state on its last stored row. Its input is a SQL model
  downstream of the jobs above, so it runs in a second wave (:data:`SECOND_WAVE`); with it
  the exit states, notifications, restart gates, grid recommendations and
  ``rpt_grid_lifecycle_inputs`` build on Spark.
Not ported yet (named in docs/scale-out.md): the Python research reports.

Spark is imported lazily (the module imports without the optional ``spark`` dependencies).
Run it in the dbt-spark working directory, in its own process, with no dbt process running
(the local metastore admits one process at a time)::

    python -m market_regimes.spark_engines grid-ranges-walked uptrend-states strategy-fit symbol-turbulence \
        volatility-regimes market-regimes --warehouse <spark.sql.warehouse.dir>
    # after dbt has built the SQL models downstream of those (fct_grid_lifecycle_bars):
    python -m market_regimes.spark_engines grid-lifecycle --warehouse <spark.sql.warehouse.dir>
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from market_regimes.adapters import grid_sql, volatility_sql
from market_regimes.adapters.uptrend_sql import engine_inputs_sql
from market_regimes.engines.grid_lifecycle import LifecycleConfig
from market_regimes.engines.grid_lifecycle_frames import OUTPUT_COLUMNS as LIFECYCLE_OUTPUT_COLUMNS
from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows
from market_regimes.engines.grid_lifecycle_frames import stored_states as lifecycle_stored_states
from market_regimes.engines.grid_ranges import OUTPUT_COLUMNS, PIVOT_COLUMNS, grid_range_rows_by_window
from market_regimes.engines.trend_vol import load_markets
from market_regimes.engines.trend_vol_frames import INPUT_COLUMNS as MARKET_DAY_COLUMNS
from market_regimes.engines.trend_vol_frames import market_regime_rows
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
from market_regimes.engines.volatility_frames import (
    SERIES_COLUMNS,
    STRATEGY_COLUMNS,
    attach_driver_turbulence,
    attach_symbol_turbulence,
    driver_turbulence,
    hmm_lookback_clean_returns,
    strategy_fit_rows,
    symbol_turbulence_rows,
    turbulence_rows,
    turbulence_rows_after,
    volatility_regime_rows,
)
from market_regimes.settings import VARS_ENV, project_var

__all__ = [
    "JOBS",
    "PORTED_MODELS",
    "SECOND_WAVE",
    "apply_in_pandas",
    "dbt_selections",
    "grid_lifecycle",
    "grid_lifecycle_group",
    "grid_lifecycle_output_schema",
    "grid_ranges_output_schema",
    "grid_ranges_walk_group",
    "grid_ranges_walked",
    "market_regimes",
    "market_regimes_group",
    "market_regimes_output_schema",
    "plain_text_columns",
    "seed_mapping",
    "strategy_fit",
    "strategy_fit_group",
    "strategy_fit_output_schema",
    "symbol_turbulence",
    "symbol_turbulence_group",
    "symbol_turbulence_output_schema",
    "table_exists",
    "uptrend_states",
    "uptrend_states_output_schema",
    "write_delete_insert",
    "uptrend_walk_group",
    "volatility_regimes",
    "volatility_regimes_dtypes",
    "volatility_regimes_group",
    "volatility_regimes_output_schema",
    "volatility_stale_group",
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
SYMBOL_TURBULENCE = "marts.fct_symbol_turbulence"
# the inputs of fct_symbol_turbulence (its dbt refs), as the temp views the input SQL reads
SYMBOL_TURBULENCE_INPUTS = {
    "_turbulence_series": "intermediate.int_indicator_series_listed",
    "_turbulence_bars": "intermediate.int_indicator_bars_prepared",
}
VOLATILITY_REGIMES = "marts.fct_volatility_regimes"
# the inputs of fct_volatility_regimes (its dbt refs), as the temp views the input SQL reads
VOLATILITY_INPUTS = {
    "_volatility_series": "intermediate.int_indicator_series_listed",
    "_volatility_bars": "intermediate.int_indicator_bars_prepared",
    "_volatility_drivers": "marts.dim_drivers",
    "_volatility_symbol_turbulence": SYMBOL_TURBULENCE,
}
#: the keys of the bars whose turbulence a volatility group attaches (volatility_sql.segment_turbulence_sql)
TURBULENCE_KEYS = ("series_part", "series_type", "timeframe", "exchange", "bar_interval", "bar_start")
MARKET_REGIMES = "marts.fct_market_regimes"
MARKET_REGIMES_SEED = "seeds.trend_vol_markets"
# the inputs of fct_market_regimes (its dbt refs besides the seed)
MARKET_DAYS = "intermediate.int_market_days_prepared"
LANDED_DAYS = "staging.stg_landing__daily_series_days"
#: fct_market_regimes' dbt config keys -> the dbt vars they lift (python_models/marts/_trend_vol__models.yml)
MARKET_REGIMES_VARS = {"max_gap_bars": "max_gap_bars", "missing_series": "trend_vol_missing_series"}
GRID_LIFECYCLE = "marts.fct_grid_lifecycle"
GRID_LIFECYCLE_SEED = "seeds.grid_lifecycle_config"
# the inputs of fct_grid_lifecycle (its dbt refs besides the seed), as the temp views the input SQL reads
GRID_LIFECYCLE_INPUTS = {
    "_lifecycle_bars": "marts.fct_grid_lifecycle_bars",
    "_lifecycle_configs": "intermediate.int_grid_configs_validated",
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


def write_delete_insert(spark, table: str, new, key: list[str], stored=None) -> None:
    """Write ``table`` as dbt's ``delete+insert`` on ``key`` leaves a DuckDB model's table: the
    stored rows without the keys of ``new``, plus ``new``. The union is checkpointed before
    the Parquet table is overwritten (it is read from the table it replaces; ``new`` should
    be checkpointed too, for the same reason).

    Args:
        spark: the session. table: the engine table (``schema.name``). new: the rows written
            (a DataFrame with the table's columns). key: the model's unique_key columns.
        stored: the stored rows to keep before the keys of ``new`` are taken out (the caller's
            filter or edit of ``spark.table(table)``, e.g. cross-sections recomputed whole
            left out, states cleared); default every stored row.
    """
    kept = (spark.table(table) if stored is None else stored).join(new.select(*key), on=key, how="left_anti")
    kept.unionByName(new).localCheckpoint().write.mode("overwrite").format("parquet").saveAsTable(table)


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
        out = apply_in_pandas(
            bars.groupBy("series_part"), lambda frame: grid_ranges_walk_group(frame, None, seed), schema
        )
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
    out = apply_in_pandas(
        tail.groupBy("series_part").cogroup(pivots.groupBy("series_part")),
        lambda frame, stored: grid_ranges_walk_group(frame, stored, seed),
        schema,
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
    out = apply_in_pandas(
        inputs.groupBy("series_part"),
        lambda bars: uptrend_walk_group(bars, cfg, states),
        uptrend_states_output_schema(),
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
    stored = spark.table(UPTREND_STATES)
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
        write_delete_insert(spark, UPTREND_STATES, out, key, stored)
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
    (dbt_project.yml or the jobs' --vars: :func:`market_regimes.settings.project_var`).

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
    out = apply_in_pandas(
        spark.sql(lookback).groupBy("series_part"),
        lambda bars: strategy_fit_group(bars, cfg, series, after),
        strategy_fit_output_schema(),
    ).localCheckpoint()  # the new rows first: an incremental run rewrites the table it reads
    written = out.count()
    segments = out.select("series_id", "segment_id").distinct().count()
    frontier.unpersist()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(STRATEGY_FIT)
        return {"mode": "full", "segments": segments, "rows_written": written}
    if written:
        write_delete_insert(spark, STRATEGY_FIT, out, ["series_id", "bar_start"])
    return {"mode": "incremental", "segments": segments, "rows_written": written}


def symbol_turbulence_output_schema() -> str:
    """The Spark DDL schema of fct_symbol_turbulence: the columns of
    :func:`~market_regimes.engines.volatility_frames.symbol_turbulence_rows` in order
    (exchange and bar_interval string, bar_start timestamp (UTC: the session time zone),
    turbulence double (squared standard deviations), turbulence_symbols bigint (a count))."""
    return "exchange string, bar_interval string, bar_start timestamp, turbulence double, turbulence_symbols bigint"


def symbol_turbulence_group(bars: pd.DataFrame, cfg, continued: pd.DataFrame | None) -> pd.DataFrame:
    """One cross-section's new rows of fct_symbol_turbulence (the function each Spark group runs).

    Args:
        bars: the cross-section's clean symbol returns (series_type 'driver', driver = the
            symbol, timeframe = ``exchange|bar_interval``, bar_start, log_return;
            :func:`market_regimes.adapters.volatility_sql.bars_from_starts_sql`), any order:
            from the look-back start of a continued cross-section, else its whole history.
        cfg: the constants (seed volatility_config).
        continued: None on a full build (the DuckDB adapter's
            :func:`~market_regimes.engines.volatility_frames.turbulence_rows`); on an
            incremental run the stored cross-sections that continue (one row each: timeframe,
            stored_rows, last_bar_start, members, joint_before > 0: the adapter's stored
            sections joined to :func:`~market_regimes.adapters.volatility_sql.continuation_starts_sql`),
            for :func:`~market_regimes.engines.volatility_frames.turbulence_rows_after`; a
            cross-section not in it has its stored rows replaced and is computed whole.

    Returns:
        :func:`~market_regimes.engines.volatility_frames.symbol_turbulence_rows` (exchange,
        bar_interval, bar_start datetime64[us], turbulence, turbulence_symbols): of a continued
        cross-section only the rows after its last stored row; no rows for a cross-section
        with fewer than two members or a joint calendar no longer than turbulence_window_bars.

    Raises:
        ValueError: a continued cross-section whose look-back does not hold
        turbulence_window_bars joint bars up to its last stored row, or whose stored rows
        the engine would recompute (the SQL's continuation and the engine's disagree).
    """
    if continued is None:
        return symbol_turbulence_rows(turbulence_rows(bars, cfg))
    here = continued[continued["timeframe"].isin(bars["timeframe"].unique())]
    rows, replace = turbulence_rows_after(bars, cfg, here)
    if replace:
        raise ValueError(f"symbol turbulence: continued cross-sections {replace} would be recomputed whole")
    return symbol_turbulence_rows(rows)


def symbol_turbulence(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``marts.fct_symbol_turbulence`` on Spark: the DuckDB model's run
    (:func:`market_regimes.adapters.volatility_models.symbol_turbulence_table`) with one Spark
    group per cross-section (timeframe = exchange|bar_interval), for the bar intervals of var
    ``volatility_bar_intervals`` (dbt_project.yml or the jobs' --vars: :func:`market_regimes.settings.project_var`).

    A first run computes every cross-section whole. A later run continues each stored
    cross-section whose stored rows are still the full computation's (the same member count,
    as many joint bars with a full window up to its last stored row: the adapter's
    continuation SQL, run by Spark as written) after its last stored row, reading it from the
    turbulence_window_bars-th joint bar before; any other cross-section is computed whole and
    its stored rows are replaced (as the adapter deletes them). The rows are written as dbt's
    delete+insert on (exchange, bar_interval, bar_start) writes them on DuckDB: the Parquet
    table is written again (stored rows without the recomputed cross-sections and without the
    keys written + the new rows, checkpointed first).

    Args / Returns / Raises: as :func:`grid_ranges_walked` (the inputs: the relations of
    ``SYMBOL_TURBULENCE_INPUTS`` and seed volatility_config); the result holds
    ``cross_sections`` (cross-sections with rows written) and on an incremental run
    ``continued`` and ``replaced`` (stored cross-sections continued / recomputed whole).
    """
    from pyspark.sql import functions as F

    cfg = VolatilityConfig.from_mapping(seed_mapping(spark, VOLATILITY_SEED))
    for view, table in SYMBOL_TURBULENCE_INPUTS.items():
        spark.table(table).createOrReplaceTempView(view)
    intervals = str(project_var("volatility_bar_intervals"))
    spark.sql(volatility_sql.series_sql("_turbulence_series", intervals)).createOrReplaceTempView("_turbulence_listed")
    clean_sql = volatility_sql.clean_symbol_returns_sql(
        "_turbulence_listed", "_turbulence_bars", cfg.toxic_abs_log_return
    )
    # read by the continuation SQL and again by the bars (the adapter's temp table)
    clean = spark.sql(clean_sql).cache()
    clean.createOrReplaceTempView("_turbulence_clean")
    incremental = table_exists(spark, SYMBOL_TURBULENCE) and not full_refresh
    continued, replace = None, []
    if incremental:
        sections = spark.sql(volatility_sql.stored_sections_sql(SYMBOL_TURBULENCE)).cache()
        sections.createOrReplaceTempView("_turbulence_stored")
        stored = sections.toPandas()
        starts = spark.sql(
            volatility_sql.continuation_starts_sql(
                "_turbulence_clean", "_turbulence_stored", cfg.turbulence_window_bars
            )
        ).cache()
        starts.createOrReplaceTempView("_turbulence_starts")
        joint = starts.select("timeframe", "joint_before").toPandas()
        continued = stored.merge(joint, on="timeframe", how="inner").astype({"joint_before": "int64"})
        replace = sorted(set(stored["timeframe"]) - set(continued["timeframe"]))
        bars = spark.sql(volatility_sql.bars_from_starts_sql("_turbulence_clean", "_turbulence_starts"))
    else:
        bars = spark.sql(volatility_sql.bars_from_starts_sql("_turbulence_clean", f"({volatility_sql.NO_STARTS_SQL})"))
    out = apply_in_pandas(
        bars.groupBy("timeframe"),
        lambda frame: symbol_turbulence_group(frame, cfg, continued),
        symbol_turbulence_output_schema(),
    ).localCheckpoint()  # the new rows first: an incremental run rewrites the table it reads
    written = out.count()
    written_sections = out.select("exchange", "bar_interval").distinct().count()
    clean.unpersist()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(SYMBOL_TURBULENCE)
        return {"mode": "full", "cross_sections": written_sections, "rows_written": written}
    starts.unpersist()
    sections.unpersist()
    result = {
        "mode": "incremental",
        "cross_sections": written_sections,
        "rows_written": written,
        "continued": len(continued),
        "replaced": len(replace),
    }
    if written or replace:
        kept = spark.table(SYMBOL_TURBULENCE)
        if replace:  # recomputed whole: its stored rows go (some may no longer exist)
            kept = kept.where(~F.concat_ws("|", "exchange", "bar_interval").isin(replace))
        write_delete_insert(spark, SYMBOL_TURBULENCE, out, ["exchange", "bar_interval", "bar_start"], kept)
    return result


def _spark_type(dtype, series_part_type: str) -> str:
    """The Spark type of an engine column's pandas dtype (text string, whole numbers bigint,
    datetime64 timestamp, booleans boolean, floats double; the unsigned series key
    ``series_part_type``)."""
    if str(dtype) == "UInt64":
        return series_part_type
    kind = getattr(dtype, "kind", None) or pd.api.types.pandas_dtype(dtype).kind
    if isinstance(dtype, pd.StringDtype) or kind in ("O", "U"):
        return "string"
    return {"i": "bigint", "u": "bigint", "M": "timestamp", "b": "boolean", "f": "double"}[kind]


def volatility_regimes_dtypes(cfg: VolatilityConfig) -> dict:
    """The pandas dtypes of :func:`~market_regimes.engines.volatility_frames.volatility_regime_rows`'
    columns (:func:`~market_regimes.engines.volatility_frames.volatility_columns`, in order),
    as the engine returns them (its rows of an empty input): text ``string``, series_part
    ``UInt64``, bar_start and hmm_fit_bar_start ``datetime64[us]``, is_toxic ``boolean``,
    hmm_fit_returns and turbulence_drivers ``Int64``, the other counts int64, the rest float64."""
    series = pd.DataFrame(
        {c: pd.Series([], dtype="object") for c in ("series_part", *SERIES_COLUMNS, "interval_minutes")}
    )
    bars = pd.DataFrame(
        {
            "series_part": pd.Series([], dtype="uint64"),
            "idx": pd.Series([], dtype="int64"),
            "bar_start": pd.Series([], dtype="datetime64[us]"),
            "log_return": pd.Series([], dtype="float64"),
        }
    )
    return volatility_regime_rows(bars, cfg, series=series).dtypes.to_dict()


def volatility_regimes_output_schema(cfg: VolatilityConfig, series_part_type: str = "bigint") -> str:
    """The Spark DDL schema of fct_volatility_regimes: the engine's
    :func:`~market_regimes.engines.volatility_frames.volatility_columns` in order (the wavelet
    bands follow the config), typed from :func:`volatility_regimes_dtypes`: text string,
    counts, idx and segment_id bigint, bar_start and hmm_fit_bar_start timestamp (UTC: the
    session time zone), is_toxic boolean, the rest double; series_part of the input's type
    (bigint on Spark: an xxhash64)."""
    return ", ".join(f"{c} {_spark_type(t, series_part_type)}" for c, t in volatility_regimes_dtypes(cfg).items())


def _unsigned(values) -> np.ndarray:
    """Spark's signed 64-bit series keys as the unsigned bits the engine keeps (the engine
    writes series_part as uint64, DuckDB's hash type; an xxhash64 is negative half the time)."""
    return np.asarray(values, dtype=np.int64).view(np.uint64)


def _with_turbulence(rows: pd.DataFrame, turbulence: pd.DataFrame | None) -> pd.DataFrame:
    """``rows`` of fct_volatility_regimes with their turbulence and turbulence_drivers filled as
    the DuckDB adapter fills them (:func:`~market_regimes.engines.volatility_frames.attach_driver_turbulence`,
    then :func:`~market_regimes.engines.volatility_frames.attach_symbol_turbulence`), from
    ``turbulence``: the rows of :func:`market_regimes.adapters.volatility_sql.segment_turbulence_sql`
    at (at least) the rows' bars, or None / empty (every value NULL)."""
    if turbulence is None or not len(turbulence):
        turbulence = pd.DataFrame(
            {c: pd.Series([], dtype="object") for c in ("series_type", "timeframe", "exchange", "bar_interval")}
            | {
                "bar_start": pd.Series([], dtype="datetime64[us]"),
                "turbulence": pd.Series([], dtype="float64"),
                "members": pd.Series([], dtype="int64"),
            }
        )
    kind = turbulence["series_type"].astype(str)
    d, s = turbulence[kind == "driver"], turbulence[kind == "symbol"]
    drivers = pd.DataFrame(
        {
            "timeframe": d["timeframe"],
            "bar_start": d["bar_start"],
            "turbulence": d["turbulence"],
            "turbulence_drivers": d["members"],
        }
    )
    symbols = pd.DataFrame(
        {
            "exchange": s["exchange"],
            "bar_interval": s["bar_interval"],
            "bar_start": s["bar_start"],
            "turbulence": s["turbulence"],
            "turbulence_symbols": s["members"],
        }
    )
    return attach_symbol_turbulence(attach_driver_turbulence(rows, drivers), symbols)


def volatility_regimes_group(
    bars: pd.DataFrame,
    turbulence: pd.DataFrame | None,
    cfg: VolatilityConfig,
    series: pd.DataFrame,
    frontier: pd.DataFrame,
) -> pd.DataFrame:
    """One segment's new rows of fct_volatility_regimes (the function each Spark group runs).

    Args:
        bars: the segment's bars (series_part, idx, bar_start, log_return;
            :func:`market_regimes.adapters.volatility_sql.lookback_bars_sql`), any order: the
            look-back of a stored segment (from the bar of its ``need``-th last clean return
            up to its last stored row, and the bars after it), else its whole history.
            series_part is Spark's signed 64-bit key.
        turbulence: the turbulence of the segment's cross-section at its new bars
            (:func:`~market_regimes.adapters.volatility_sql.segment_turbulence_sql`), or None /
            empty (no value at any of them).
        cfg: the constants (seed volatility_config). series: the listed series
            (:func:`~market_regimes.adapters.volatility_sql.series_sql`: series_part and the
            series columns), all or this segment's. frontier: the stored states
            (:func:`~market_regimes.adapters.volatility_sql.stored_state_sql`: series_part,
            last_idx, clean_returns, rv_vol_regime), all or this segment's; empty on a full run.

    Returns:
        The rows of :func:`~market_regimes.engines.volatility_frames.volatility_regime_rows`
        for this segment alone (its HMM fits are bit for bit those of the adapter's one
        batch over all segments: each window is fitted on its own), after its last stored
        row when it has one, turbulence attached; the engine's dtypes
        (:func:`volatility_regimes_dtypes`) except series_part, int64 as Spark's key. No rows
        for an empty group.

    Raises:
        ValueError: as :func:`~market_regimes.engines.volatility_frames.volatility_regime_rows`
        (a look-back too short, or without the segment's last stored bar).
    """
    if not len(bars):
        empty = {c: pd.Series([], dtype=t) for c, t in volatility_regimes_dtypes(cfg).items()}
        return pd.DataFrame(empty).astype({"series_part": "int64"})
    parts = bars["series_part"].unique()
    here = series[series["series_part"].isin(parts)]
    state = frontier[frontier["series_part"].isin(parts)][["series_part", "last_idx", "clean_returns", "rv_vol_regime"]]
    rows = volatility_regime_rows(
        bars.assign(series_part=_unsigned(bars["series_part"]), bar_start=bars["bar_start"].astype("datetime64[us]")),
        cfg,
        series=here.assign(series_part=_unsigned(here["series_part"])),
        frontier=state.assign(series_part=_unsigned(state["series_part"])),
    )
    rows = _with_turbulence(rows, turbulence)
    return rows.assign(series_part=rows["series_part"].to_numpy(dtype=np.uint64).view(np.int64))


def volatility_stale_group(
    stored: pd.DataFrame, turbulence: pd.DataFrame | None, cfg: VolatilityConfig
) -> pd.DataFrame:
    """Stored rows of fct_volatility_regimes whose turbulence is stale, with the current one
    (the function each Spark group of the stale rows runs; the DuckDB adapter's last step).

    Args:
        stored: stored rows of one segment or more
            (:func:`market_regimes.adapters.volatility_sql.stale_turbulence_sql`: the table's
            columns), any order; series_part Spark's signed key.
        turbulence: the turbulence of their cross-sections at their bars
            (:func:`~market_regimes.adapters.volatility_sql.segment_turbulence_sql`), or None /
            empty (each value NULL again).
        cfg: the constants (seed volatility_config: the wavelet bands of the columns).

    Returns:
        The rows typed as the engine types them (:func:`volatility_regimes_dtypes`, series_part
        int64), turbulence and turbulence_drivers replaced; every other value as stored.
    """
    dtypes = volatility_regimes_dtypes(cfg)
    dtypes["series_part"] = "int64"
    rows = stored[list(dtypes)].astype(dtypes)
    return _with_turbulence(rows, turbulence).reset_index(drop=True)


def _spark_frame(spark, frame: pd.DataFrame, schema: str):
    """``frame`` as a Spark DataFrame of DDL ``schema`` (``name type, ...``, the frame's
    columns): timestamp columns go over as epoch microseconds (no time zone involved in the
    conversion), the rest as Python values."""
    from pyspark.sql import functions as F

    fields = [f.split() for f in schema.split(", ")]
    stamps = {name for name, kind in fields if kind == "timestamp"}
    columns = [
        frame[name].to_numpy().astype("datetime64[us]").astype(np.int64).tolist()
        if name in stamps
        else frame[name].astype(object).where(frame[name].notna(), None).tolist()
        for name, _ in fields
    ]
    raw = ", ".join(f"{name} {'bigint' if name in stamps else kind}" for name, kind in fields)
    df = spark.createDataFrame(list(zip(*columns)), raw)
    return df.select(*[F.timestamp_micros(name).alias(name) if name in stamps else name for name, _ in fields])


def volatility_regimes(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``marts.fct_volatility_regimes`` on Spark: the DuckDB model's run
    (:func:`market_regimes.adapters.volatility_models.volatility_regimes_table`) with one
    Spark group per segment (series_part), for the bar intervals of var
    ``volatility_bar_intervals`` and the turbulence drivers of var ``turbulence_driver_kinds``
    (dbt_project.yml or the jobs' --vars: :func:`market_regimes.settings.project_var`).

    Segments: a first run computes every segment whole. A later run continues each stored
    segment after its last stored row (idx, segment_clean_returns, rv_vol_regime: the
    adapter's frontier SQL, run by Spark as written) from a look-back that holds
    hmm_lookback_clean_returns clean returns up to it (the adapter's look-back SQL) and
    leaves out the segments without a new bar; a segment without stored rows is computed
    whole. Each group calls the engine for its segment alone (``cogroup`` of the segment's
    bars and the turbulence at its new bars): its HMM windows are fitted in a batch of their
    own, which gives the adapter's one batch over all segments bit for bit (fit_hmm_batch fits
    each window on its own; checked on the sample build: 131 segments, 8,206 fits, all
    1,154,550 rows equal in every bit).

    Turbulence: the drivers' column is the cross-section of the turbulence drivers per
    timeframe, computed **on the Spark driver** from their returns (collected): a full
    build's turbulence_rows, or on an incremental run turbulence_rows_after from the stored
    driver sections, exactly as the adapter does (:func:`~market_regimes.engines.volatility_frames.driver_turbulence`).
    The input is small and does not grow with the symbols: the drivers of kinds single and
    composite are a fixed set (6 on the sample: 156,637 returns of the 1d and 1h bars over
    the sample's years, 8 MB, turbulence in 0.5 s), with one cross-section per timeframe
    (2: a groupBy(timeframe) would run two tasks), and the stale-row rule needs which
    stored sections the engine continued, which it returns on the driver. The symbols'
    column is read from ``marts.fct_symbol_turbulence`` (its own job). Each group gets the
    values at its new bars (:func:`market_regimes.adapters.volatility_sql.segment_turbulence_sql`).
    As on DuckDB, stored rows whose turbulence no longer matches (a member joined, a lagging
    member filled its bars; of a continued driver section only those after its last stored
    value) are written again with the current values (the adapter's stale SQL, run by Spark
    as written; :func:`volatility_stale_group` per segment).

    The rows are written as dbt's delete+insert on (series_part, idx) writes them on DuckDB:
    the Parquet table is written again (stored rows without the keys written + the new and
    the rewritten rows, checkpointed first); a table format with MERGE would touch those rows
    only.

    Args / Returns / Raises: as :func:`grid_ranges_walked` (the inputs: the relations of
    ``VOLATILITY_INPUTS`` and seed volatility_config); the result also holds ``segments``
    (segments with new rows) and on an incremental run ``stale_rows`` (stored rows written
    again) and ``driver_sections_continued`` / ``driver_sections_replaced`` (stored driver
    cross-sections continued / recomputed whole). ValueError (inside the job): as
    :func:`volatility_regimes_group`.
    """
    cfg = VolatilityConfig.from_mapping(seed_mapping(spark, VOLATILITY_SEED))
    for view, table in VOLATILITY_INPUTS.items():
        spark.table(table).createOrReplaceTempView(view)
    intervals = str(project_var("volatility_bar_intervals"))
    kinds = [k.strip() for k in str(project_var("turbulence_driver_kinds")).split(",") if k.strip()]
    listed = spark.sql(volatility_sql.series_sql("_volatility_series", intervals)).cache()
    listed.createOrReplaceTempView("_volatility_listed")
    series = listed.toPandas()
    part_type = dict(listed.dtypes)["series_part"]
    incremental = table_exists(spark, VOLATILITY_REGIMES) and not full_refresh
    columns = ["series_part", "last_idx", "clean_returns", "rv_vol_regime", "need"]
    frontier = pd.DataFrame({c: pd.Series([], dtype="object" if c == "rv_vol_regime" else "int64") for c in columns})
    sections = None
    if incremental:
        spark.table(VOLATILITY_REGIMES).createOrReplaceTempView("_volatility_stored")
        frontier = spark.sql(volatility_sql.stored_state_sql("_volatility_stored")).toPandas()
        minutes = dict(zip(series["series_part"], series["interval_minutes"]))
        frontier["need"] = [hmm_lookback_clean_returns(cfg, int(minutes.get(p, 1440))) for p in frontier["series_part"]]
        sections = spark.sql(volatility_sql.stored_driver_sections_sql("_volatility_stored")).toPandas()
    _spark_frame(
        spark,
        frontier[columns],
        f"series_part {part_type}, last_idx bigint, clean_returns bigint, rv_vol_regime string, need bigint",
    ).createOrReplaceTempView("_volatility_frontier")
    # the drivers' turbulence, on the driver (docstring): the adapter's computation
    returns = spark.sql(
        volatility_sql.driver_returns_sql("_volatility_listed", "_volatility_bars", "_volatility_drivers", kinds)
    ).toPandas()
    turbulence, continued = driver_turbulence(returns, cfg, sections)
    _spark_frame(
        spark, turbulence, "timeframe string, bar_start timestamp, turbulence double, turbulence_drivers bigint"
    ).cache().createOrReplaceTempView("_volatility_driver_turbulence")
    _spark_frame(spark, continued, "timeframe string, last_bar_start timestamp").createOrReplaceTempView(
        "_volatility_turbulence_continued"
    )
    lookback = volatility_sql.lookback_bars_sql(
        "_volatility_listed",
        "_volatility_bars",
        "_volatility_frontier",
        float(cfg.toxic_abs_log_return),
        "b.series_part, b.idx, b.bar_start, b.log_return",
    )
    # read by the groups and by the keys of their new bars: computed once
    cached = spark.sql(lookback).persist()
    cached.createOrReplaceTempView("_volatility_lookback")
    spark.sql(
        volatility_sql.new_bar_keys_sql("_volatility_lookback", "_volatility_listed", "_volatility_frontier")
    ).createOrReplaceTempView("_volatility_new_bars")
    turbulence = _turbulence_at(spark, "_volatility_new_bars")
    schema = volatility_regimes_output_schema(cfg, part_type)
    out = apply_in_pandas(
        _fresh(spark, lookback).groupBy("series_part").cogroup(turbulence.groupBy("series_part")),
        lambda bars, turb: volatility_regimes_group(bars, turb, cfg, series, frontier),
        schema,
    ).localCheckpoint()  # the new rows first: an incremental run rewrites the table it reads
    written = out.count()
    segments = out.select("series_part").distinct().count()
    cached.unpersist()
    listed.unpersist()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(VOLATILITY_REGIMES)
        return {"mode": "full", "segments": segments, "rows_written": written}
    stale_sql = volatility_sql.stale_turbulence_sql(
        "_volatility_stored",
        "_volatility_driver_turbulence",
        "_volatility_symbol_turbulence",
        "_volatility_turbulence_continued",
    )
    stale = spark.sql(stale_sql).cache()  # read by its groups and by the turbulence at its bars
    stale.createOrReplaceTempView("_volatility_stale")
    stale_turbulence = _turbulence_at(spark, "_volatility_stale")
    rewritten = apply_in_pandas(
        _fresh(spark, stale_sql).groupBy("series_part").cogroup(stale_turbulence.groupBy("series_part")),
        lambda rows, turb: volatility_stale_group(rows, turb, cfg),
        schema,
    ).localCheckpoint()
    n_stale = rewritten.count()
    stale.unpersist()
    result = {
        "mode": "incremental",
        "segments": segments,
        "rows_written": written + n_stale,
        "stale_rows": n_stale,
        "driver_sections_continued": len(continued),
        "driver_sections_replaced": len(sections) - len(continued),
    }
    if written or n_stale:
        write_delete_insert(spark, VOLATILITY_REGIMES, out.unionByName(rewritten), ["series_part", "idx"])
    return result


def _fresh(spark, sql: str):
    """The rows of ``sql`` under new column identities (``toDF``: an alias per column), to group
    beside a query on the temp view of the same, cached rows (Spark's cache serves both: the
    same query). Two sides of a cogroup that output the same columns (the same attribute ids:
    a view's first reference keeps its ids) are an ambiguous self-join to Spark."""
    rows = spark.sql(sql)
    return rows.toDF(*rows.columns)


def _turbulence_at(spark, view: str):
    """:func:`market_regimes.adapters.volatility_sql.segment_turbulence_sql` at the bars of temp
    view ``view`` (:data:`TURBULENCE_KEYS`: the new bars, or the stale stored rows), from the
    run's driver turbulence and marts.fct_symbol_turbulence."""
    return spark.sql(
        volatility_sql.segment_turbulence_sql(view, "_volatility_driver_turbulence", "_volatility_symbol_turbulence")
    )


def market_regimes_output_schema() -> str:
    """The Spark DDL schema of fct_market_regimes: the engine's
    :data:`~market_regimes.engines.trend_vol_frames.COLUMNS` in order, typed from the dtypes
    :func:`~market_regimes.engines.trend_vol_frames.market_regime_rows` gives them (its rows of
    no market): market, trend, vol, regime and prev_regime string (text labels), bar_start
    timestamp (the day's UTC midnight: the session time zone), price and ma double (the price
    series' units), vol_value double (the vol series' units or a percentile 0-100)."""
    empty = market_regime_rows(
        [],
        pd.DataFrame({c: pd.Series([], dtype="object") for c in MARKET_DAY_COLUMNS}),
        pd.DataFrame({"series": pd.Series([], dtype="object"), "bar_start": pd.Series([], dtype="object")}),
    )
    return ", ".join(f"{c} {_spark_type(t, 'bigint')}" for c, t in empty.dtypes.items())


def market_regimes_group(
    days: pd.DataFrame,
    landed: pd.DataFrame,
    seed_rows: list[dict],
    max_gap_bars: int | str,
    missing_series: str,
) -> pd.DataFrame:
    """The rows of fct_market_regimes for the markets of ``seed_rows`` (the function the
    market-regimes job runs, once, on the Spark driver: :func:`market_regimes`): the DuckDB
    model's two engine calls (:func:`~market_regimes.engines.trend_vol.load_markets` of the
    seed rows, then :func:`~market_regimes.engines.trend_vol_frames.market_regime_rows`), so
    the seed is validated against the landed series exactly as there.

    Args:
        days: rows of intermediate.int_market_days_prepared with at least
            :data:`~market_regimes.engines.trend_vol_frames.INPUT_COLUMNS` (market, bar_start
            the UTC day as datetime64 of any unit, segment_id, price and ma in price units,
            vol_value in vol units or percent points), any order.
        landed: every landed day of every daily series (staging.stg_landing__daily_series_days:
            series, bar_start), any order; used only to validate the seed.
        seed_rows: the rows of seed trend_vol_markets as records (column -> value; an empty
            vol_series None or NaN), in seed order.
        max_gap_bars: days (var max_gap_bars; a string as a dbt config lifts it is accepted).
        missing_series: "error" or "warn" (var trend_vol_missing_series).

    Returns:
        The engine's rows (:data:`~market_regimes.engines.trend_vol_frames.COLUMNS`: text
        columns ``string``, bar_start ``datetime64[us]``, price, ma, vol_value float64) in
        (market, bar_start) order; no rows for an empty input. A market skipped for a missing
        series (``missing_series`` "warn") is reported on stderr, as on DuckDB.

    Raises:
        TrendVolConfigError: naming the market, with the engine's message: an invalid or
        repeated seed row, a price or vol series without landed rows (``missing_series``
        "error" and the landing holds daily series), a vol series that never shares a day with
        its price series.
        ValueError: max_gap_bars < 1, missing_series not "error" / "warn", a column missing.
    """
    return market_regime_rows(
        load_markets(seed_rows),
        days,
        landed,
        max_gap_bars=max_gap_bars,
        missing_series=missing_series,
    )


def market_regimes(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build ``marts.fct_market_regimes`` on Spark: the DuckDB model's run
    (python_models/marts/fct_market_regimes.py) with the dbt config it reads taken from the
    vars the model's config lifts (:data:`MARKET_REGIMES_VARS`: ``max_gap_bars`` and
    ``trend_vol_missing_series`` as dbt resolves them: the jobs' ``--vars`` over dbt_project.yml,
    :func:`market_regimes.settings.project_var`).

    **On the Spark driver, not ``groupBy(market).applyInPandas``**: the input is tiny and
    daily. It is one row per seed market x final day of its daily price series (the sample
    and CI's Spark fixture: 1 market, 1,359 rows of int_market_days_prepared giving 1,099
    rows, the job 0.6-0.7 s; 20 markets over 20 years would be ~146,000 rows, a few MB) and
    the landed days of the daily series (the sample's two files: 2,462 days), and it does not
    grow with the intraday candles, which are what a cluster is for. The seed
    validation needs every market against every landed series at once and must fail the job
    with the engine's own :class:`~market_regimes.engines.trend_vol.TrendVolConfigError` and
    message, as the dbt model fails (raised in a task it would reach the driver as a wrapped
    Python worker error); and a group per market would be one task per seed row (one on the
    sample) with the Python workers' start-up for a walk of a few milliseconds per market.
    The three inputs are collected (``toPandas``), :func:`market_regimes_group` runs once, and
    the rows are written back.

    The model is a full table (not incremental): every run computes every market and
    overwrites the Parquet table. ``full_refresh`` is accepted for the jobs' common signature
    and changes nothing.

    Args:
        spark: a session on the dbt-spark warehouse
            (:func:`market_regimes.spark_parity.spark_session`).
        full_refresh: ignored (always a full build).

    Returns:
        {"mode": "full", "markets": markets with rows, "rows_written": rows}.

    Raises:
        pyspark.errors.AnalysisException: an input relation or the seed is missing (build the
        SQL models and seeds with dbt first). TrendVolConfigError, ValueError: as
        :func:`market_regimes_group` (the table is then left as it was). KeyError: a var of
        :data:`MARKET_REGIMES_VARS` missing from dbt_project.yml.
    """
    config = {key: project_var(var) for key, var in MARKET_REGIMES_VARS.items()}
    seed_rows = spark.table(MARKET_REGIMES_SEED).toPandas().to_dict("records")
    days = spark.table(MARKET_DAYS).select(*MARKET_DAY_COLUMNS).toPandas()
    landed = spark.table(LANDED_DAYS).select("series", "bar_start").toPandas()
    rows = market_regimes_group(days, landed, seed_rows, **config)
    _spark_frame(spark, rows, market_regimes_output_schema()).write.mode("overwrite").format("parquet").saveAsTable(
        MARKET_REGIMES
    )
    return {"mode": "full", "markets": int(rows["market"].nunique()), "rows_written": len(rows)}


def grid_lifecycle_output_schema() -> str:
    """The Spark DDL schema of fct_grid_lifecycle: the columns of
    :data:`~market_regimes.engines.grid_lifecycle_frames.OUTPUT_COLUMNS` in order, typed as the
    DuckDB model's table (prices and fractions double, counts bigint, flags boolean,
    valid_from and bar_start timestamp, text and JSON string)."""
    doubles = ("lower", "upper", "allocation_frac", "post_stop_lower", "post_stop_upper", "half_life_baseline")
    counts = (
        "segment_id",
        "levels",
        "gate_1_bars",
        "gate_2_bars",
        "gate_3_bars",
        "gates_passed",
        "bars_since_stop",
        "time_floor_bars",
        "probation_bars",
        "round_trips",
        "warning_conditions",
        "latest_triggers",
        "mandatory_triggers",
        "quiet_bars",
    )
    types = {
        "valid_from": "timestamp",
        "bar_start": "timestamp",
        "restart_permitted": "boolean",
        "is_sent": "boolean",
        **{c: "double" for c in doubles},
        **{c: "bigint" for c in counts},
    }
    return ", ".join(f"{c} {types.get(c, 'string')}" for c in LIFECYCLE_OUTPUT_COLUMNS)


def grid_lifecycle_group(
    bars: pd.DataFrame, configs: pd.DataFrame, cfg: LifecycleConfig, states: dict[str, str]
) -> pd.DataFrame:
    """One symbol's new rows of fct_grid_lifecycle (the function each Spark group runs): its
    virtual grid and every configured grid version of it walked over its bars
    (:func:`~market_regimes.engines.grid_lifecycle_frames.lifecycle_rows`), each walk with a
    stored state continued after it.

    Args:
        bars: the symbol's rows of fct_grid_lifecycle_bars (an incremental run: those of
            :func:`market_regimes.adapters.grid_sql.lifecycle_tail_sql`), any order.
        configs: every row of int_grid_configs_validated (the group's symbol picks its own).
        cfg: the constants (seed grid_lifecycle_config). states: walk_id -> stored engine
            state (empty on a full run).

    Returns:
        The rows of ``lifecycle_rows`` (:func:`apply_in_pandas` hands their text columns to
        Spark as :func:`grid_lifecycle_output_schema` wants them).

    Raises:
        ValueError: as ``lifecycle_rows`` (a state made under other constants: rebuild with
            ``--full-refresh``).
    """
    return lifecycle_rows(bars, configs, cfg, states)


def plain_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its pandas string columns as object columns (None for missing): pyspark
    hands each column of a group's result to ``pyarrow.Array.from_pandas``, which gives a
    ChunkedArray (and the group fails: "Cannot convert pyarrow.lib.ChunkedArray to
    pyarrow.lib.Array") for an Arrow-backed string column of several chunks, as
    ``pd.concat`` of many walks' frames leaves it. Other columns are left as they are."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    if not text:
        return frame
    return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), None) for c in text})


def apply_in_pandas(grouped, fn, schema):
    """``grouped.applyInPandas`` of ``fn`` with every group's result passed through
    :func:`plain_text_columns`: the one way the jobs run an engine per group, so that no
    job's text columns can trip pyspark's Arrow serializer.

    Args:
        grouped: a ``GroupedData`` (``df.groupBy(...)``: ``fn(frame)``) or a cogrouped pair
            (``....cogroup(...)``: ``fn(left, right)``).
        fn: the group function, one or two positional parameters as ``grouped`` calls it
            (pyspark tells a function that also takes the group's key by its parameter
            count, so the wrapper keeps ``fn``'s count).
        schema: the result's Spark schema (a ``StructType`` or DDL text).

    Returns:
        The DataFrame of ``applyInPandas``. Raises ValueError when ``fn`` takes neither one
        nor two positional parameters.
    """
    import inspect

    arity = len(inspect.signature(fn).parameters)
    if arity == 1:
        return grouped.applyInPandas(lambda frame: plain_text_columns(fn(frame)), schema)
    if arity == 2:
        return grouped.applyInPandas(lambda left, right: plain_text_columns(fn(left, right)), schema)
    raise ValueError(f"apply_in_pandas: a group function takes one frame or two, not {arity} parameters")


def grid_lifecycle(spark, *, full_refresh: bool = False) -> dict[str, object]:
    """Build or continue ``marts.fct_grid_lifecycle`` on Spark: the DuckDB model's run
    (:func:`market_regimes.adapters.grid_models.grid_lifecycle_table`) with one Spark group
    per symbol (exchange, symbol: its virtual grid's walks and its configured versions' walks
    need the same bars).

    A first run walks every grid whole. A later run reads each segment after the earliest
    last stored bar of its walks, the symbols of configured grids whole, nothing before the
    earliest bar a walk still reads (the adapter's
    :func:`~market_regimes.adapters.grid_sql.lifecycle_tail_sql` and
    :func:`~market_regimes.adapters.grid_sql.lifecycle_tail_start_sql`, portable as written), and
    continues every walk from the engine state on its last stored row (read into the
    driver: one JSON text per walk); the previous last row of each continued walk is
    written again without its state, and the rows are added as dbt's delete+insert on
    (grid_id, bar_start) adds them on DuckDB, by writing the Parquet table again (stored
    rows without the keys written + the new rows, checkpointed first).

    Its input, ``fct_grid_lifecycle_bars``, is a SQL model downstream of other ported
    engines: the job runs after the first "after engines" dbt step, and the SQL models
    downstream of it after the job (:data:`SECOND_WAVE`, :func:`dbt_selections`).

    Args / Returns / Raises: as :func:`grid_ranges_walked` (the inputs: the relations of
    ``GRID_LIFECYCLE_INPUTS`` and seed grid_lifecycle_config); the result holds ``walks``
    (walks with rows written).
    """
    from pyspark.sql import functions as F

    seed = spark.table(GRID_LIFECYCLE_SEED).select("key", "value").toPandas()
    cfg = LifecycleConfig.from_rows(seed[["key", "value"]])
    for view, table in GRID_LIFECYCLE_INPUTS.items():
        spark.table(table).createOrReplaceTempView(view)
    configs = spark.table("_lifecycle_configs").toPandas()  # the seed's grid versions: a few rows
    incremental = table_exists(spark, GRID_LIFECYCLE) and not full_refresh
    if incremental:
        # the stored rows that carry a state (the last row of each walk), before the table is rewritten
        last = spark.table(GRID_LIFECYCLE).where("engine_state is not null").localCheckpoint()
        last.createOrReplaceTempView("_lifecycle_stored")
        states = lifecycle_stored_states(last.select("walk_id", "engine_state").toPandas())
        # the earliest bar a walk still reads, as a literal: the filter reaches the tables
        # under the bars view before its joins (the adapter's bound; no stored row changes)
        spark.table(GRID_LIFECYCLE).createOrReplaceTempView("_lifecycle_stored_rows")
        start = spark.sql(
            grid_sql.lifecycle_tail_start_sql("_lifecycle_bars", "_lifecycle_stored_rows", "_lifecycle_configs")
        ).first()[0]
        bars = spark.sql(
            grid_sql.lifecycle_tail_sql("_lifecycle_bars", "_lifecycle_stored", "_lifecycle_configs", start)
        )
    else:
        states, bars = {}, spark.table("_lifecycle_bars")
    out = apply_in_pandas(
        bars.groupBy("exchange", "symbol"),
        lambda g: grid_lifecycle_group(g, configs, cfg, states),
        grid_lifecycle_output_schema(),
    ).localCheckpoint()  # the new rows first: an incremental run rewrites the table it reads
    written = out.count()
    walks = out.select("walk_id").distinct().count()
    if not incremental:
        out.write.mode("overwrite").format("parquet").saveAsTable(GRID_LIFECYCLE)
        return {"mode": "full", "walks": walks, "rows_written": written}
    # the previous last row of each continued walk, again, without its engine state
    previous = (
        last.join(out.select("walk_id").distinct(), "walk_id", "left_semi")
        .join(out.select("grid_id", "bar_start"), ["grid_id", "bar_start"], "left_anti")
        .withColumn("engine_state", F.lit(None).cast("string"))
        .select(*out.columns)
    )
    if written:
        write_delete_insert(
            spark, GRID_LIFECYCLE, out.unionByName(previous).localCheckpoint(), ["grid_id", "bar_start"]
        )
    return {"mode": "incremental", "walks": walks, "rows_written": written}


#: job name -> job (``python -m market_regimes.spark_engines <name>``)
JOBS = {
    "grid-ranges-walked": grid_ranges_walked,
    "uptrend-states": uptrend_states,
    "strategy-fit": strategy_fit,
    "symbol-turbulence": symbol_turbulence,
    "volatility-regimes": volatility_regimes,
    "market-regimes": market_regimes,
    "grid-lifecycle": grid_lifecycle,
}
#: the dbt Python models built on Spark by a job here -> the job's name (the Spark stage of
#: CI and the Spark code location run these between their dbt steps)
PORTED_MODELS = {
    "int_grid_ranges_walked": "grid-ranges-walked",
    "fct_uptrend_states": "uptrend-states",
    "fct_strategy_fit": "strategy-fit",
    "fct_symbol_turbulence": "symbol-turbulence",
    # after symbol-turbulence: its symbol rows read marts.fct_symbol_turbulence
    "fct_volatility_regimes": "volatility-regimes",
    "fct_market_regimes": "market-regimes",
    # reads fct_grid_lifecycle_bars, a SQL model downstream of the jobs above: SECOND_WAVE
    "fct_grid_lifecycle": "grid-lifecycle",
}
#: the ported engines whose input is a SQL model downstream of other ported engines: their
#: jobs run after the SQL models downstream of the first wave, and the SQL models downstream
#: of them after their jobs (:func:`dbt_selections`)
SECOND_WAVE = ("fct_grid_lifecycle",)


def dbt_selections(project_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """The (select, exclude) dbt selectors of the Spark target's steps (CI's Spark stage and
    the Spark code location run the same):

    * ``upstream``: the SQL models not downstream of any Python engine model (the models of
      ``python_models/`` outside ``python_models/raw``, the landing), run before the jobs;
    * ``after_engines``: the models downstream of the first wave of ported engines
      (:data:`PORTED_MODELS` outside :data:`SECOND_WAVE`) and of no other engine, run after
      their jobs;
    * ``after_second_wave``: the models downstream of the :data:`SECOND_WAVE` engines and
      of no unported one, run after those jobs (which read models of ``after_engines``);
    * ``built``: all of them, with the ported engines: what the Spark target holds.
    """
    root = Path(project_dir) / "python_models"
    engines = sorted(p.stem for p in root.rglob("*.py") if p.relative_to(root).parts[0] != "raw")
    unported = [f"{m}+" for m in engines if m not in PORTED_MODELS]
    first = [m for m in PORTED_MODELS if m not in SECOND_WAVE]
    return {
        "upstream": (["path:models"], [f"{m}+" for m in engines]),
        "after_engines": ([f"{m}+" for m in first], [*PORTED_MODELS, *unported, *(f"{m}+" for m in SECOND_WAVE)]),
        "after_second_wave": ([f"{m}+" for m in SECOND_WAVE], [*PORTED_MODELS, *unported]),
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
    parser.add_argument(
        "--vars",
        help="the YAML mapping given to dbt's --vars (e.g. '{volatility_bar_intervals: \"1h\"}'): the jobs read "
        "their vars as dbt does, these over dbt_project.yml's (default: $MARKET_REGIMES_DBT_VARS)",
    )
    args = parser.parse_args(argv)
    if args.vars is not None:
        os.environ[VARS_ENV] = args.vars
        project_var("max_gap_bars")  # a bad mapping fails here, before Spark starts
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
