"""The runs behind the grid family's stateful dbt Python models (int_grid_ranges_walked,
fct_grid_lifecycle; docs/grid-regimes.md, docs/grid-lifecycle.md): each function takes the
dbt session (a DuckDB connection), the model's refs as DuckDB relations and its own stored
table on an incremental run (None on a full build), reads where each series or walk
continues with the SQL of :mod:`market_regimes.adapters.grid_sql`, runs the pure engine and
returns the rows to write as an Arrow table. The temporary views it registers
(``_grid_walk_*``, ``_lifecycle_*``) live in the session's temp catalog."""

from __future__ import annotations

import pandas as pd

from market_regimes.adapters import grid_sql as q
from market_regimes.adapters import stored_engine_states_sql, temp_table
from market_regimes.engines.grid_lifecycle import LifecycleConfig
from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows, stored_states
from market_regimes.engines.grid_ranges import grid_range_rows_by_window
from market_regimes.frames import arrow_table, relation_frame

__all__ = ["grid_lifecycle_table", "grid_ranges_walked_table"]


def grid_ranges_walked_table(session, *, config_rows, bars, stored):
    """int_grid_ranges_walked's rows for this run.

    A series already stored is read from the bar its continuation needs on (the last
    stored pivot's bar, or the window of the first new bar, whichever is earlier) and only
    its bars after the last stored one are returned; new series are walked whole. A stored
    table from before the pivot columns existed has no pivots: every stored series is then
    walked from its first bar again (exactly).

    Args:
        session: the dbt session. config_rows: seed grid_config (key, value). bars:
            int_grid_engine_bars_selected. stored: the model's own table on an incremental
            run, else None.
    """
    seed = config_rows.df()
    seed = dict(zip(seed["key"], seed["value"]))
    if stored is None:
        return arrow_table(grid_range_rows_by_window(relation_frame(bars), seed))
    if "pivot_idx" not in stored.columns:
        stored = stored.select("series_part, idx, null::bigint as pivot_idx, null::bigint as pivot_kind")
    session.register("_grid_walk_bars", bars)
    session.register("_grid_walk_stored", stored)
    temp_table(session, "_grid_walk_frontier", q.range_walk_frontier_sql("_grid_walk_stored"))
    tail = relation_frame(session.sql(q.range_walk_tail_sql("_grid_walk_bars", "_grid_walk_frontier")))
    pivots = relation_frame(
        session.sql(q.range_walk_pivots_sql("_grid_walk_stored", "_grid_walk_frontier", "_grid_walk_bars"))
    )
    return arrow_table(grid_range_rows_by_window(tail, seed, pivots))


def grid_lifecycle_table(session, *, config_rows, configs, bars, stored):
    """fct_grid_lifecycle's rows for this run.

    Every walk (grid version on a segment) continues from the engine state stored on its
    last row (engine_state); that row is returned again without it, so only the last row
    of a walk holds one. Each segment is read after the earliest last stored bar of its
    walks, the symbols of configured grids whole (a new or back-dated version starts at its
    valid_from), and nothing before the earliest bar a walk reads
    (:func:`~market_regimes.adapters.grid_sql.lifecycle_tail_start_sql`). A walk never
    rescans its history.

    Args:
        session: the dbt session. config_rows: seed grid_lifecycle_config (key, value).
            configs: int_grid_configs_validated. bars: fct_grid_lifecycle_bars. stored: the
            model's own table on an incremental run, else None.
    """
    cfg = LifecycleConfig.from_rows(config_rows.df()[["key", "value"]])
    config_frame = configs.df()
    if stored is None:
        # = bars.df(), faster; in the walks' order (exchange, symbol, segment, bar_start): no pandas sort
        ordered = bars.order("exchange, symbol, segment_id, bar_start")
        return arrow_table(lifecycle_rows(relation_frame(ordered), config_frame, cfg))
    session.register("_lifecycle_bars", bars)
    session.register("_lifecycle_stored", stored)
    session.register("_lifecycle_configs", configs)
    last = relation_frame(session.sql(stored_engine_states_sql("_lifecycle_stored")))
    # the earliest bar a walk reads, a constant: DuckDB filters the tables under the bars view before its joins
    start = session.sql(q.lifecycle_tail_start_sql("_lifecycle_bars", "_lifecycle_stored", "_lifecycle_configs"))
    start = start.fetchone()[0]
    tail = relation_frame(
        session.sql(q.lifecycle_tail_sql("_lifecycle_bars", "_lifecycle_stored", "_lifecycle_configs", start))
    )
    rows = lifecycle_rows(tail, config_frame, cfg, stored_states(last))
    # the previous last row of each continued walk, again, without its engine state
    previous = last[
        last["walk_id"].isin(rows["walk_id"])
        & ~last.set_index(["grid_id", "bar_start"]).index.isin(rows.set_index(["grid_id", "bar_start"]).index)
    ].assign(engine_state=None)
    return arrow_table(pd.concat([rows, previous[list(rows.columns)]], ignore_index=True) if len(previous) else rows)
