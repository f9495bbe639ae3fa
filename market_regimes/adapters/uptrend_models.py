"""The run behind the dbt Python model fct_uptrend_states (docs/uptrend-engine.md): takes the
dbt session (a DuckDB connection), the model's refs as DuckDB relations and its own stored
table on an incremental run, joins the engine inputs with
:func:`market_regimes.adapters.uptrend_sql.engine_inputs_sql`, runs the pure engine
(:func:`market_regimes.engines.uptrend_frames.uptrend_state_rows`) and returns the rows to
write as an Arrow table. The temporary views it registers (``_uptrend_*``) live in the
session's temp catalog."""

from __future__ import annotations

import pandas as pd

from market_regimes.adapters import stored_engine_states_sql
from market_regimes.adapters.uptrend_sql import engine_inputs_sql
from market_regimes.engines.uptrend_config import UptrendConfig
from market_regimes.engines.uptrend_frames import (
    ENGINE_INPUTS,
    states_losing_last_row,
    stored_states,
    uptrend_state_rows,
)
from market_regimes.frames import arrow_table, relation_frame

__all__ = ["uptrend_states_table"]


def uptrend_states_table(session, *, config_rows, series, prepared, smoothed, windowed, driver_bars, stored):
    """fct_uptrend_states' rows for this run.

    Every segment (series_part) continues from the latest engine state stored on its rows
    (engine_state: on its last row and on checkpoint rows), reading its bars from the
    state's offset on; the previous last row is returned again without its state unless it
    is a checkpoint. Segments without any state (new, still warming, or rewound past their
    last checkpoint by a revision) are walked from their first bar.

    Args:
        session: the dbt session. config_rows: seed uptrend_config (key, value). series,
            prepared, smoothed, windowed: int_indicator_series_listed,
            int_indicator_bars_prepared, int_indicators_smoothed, int_indicators_windowed.
            driver_bars: fct_driver_bars. stored: the model's own table on an incremental
            run, else None.
    """
    rows = config_rows.df()
    cfg = UptrendConfig.from_mapping(dict(zip(rows["key"], rows["value"])))
    for name, relation in (
        ("_uptrend_series", series),
        ("_uptrend_prepared", prepared),
        ("_uptrend_smoothed", smoothed),
        ("_uptrend_windowed", windowed),
        ("_uptrend_driver_bars", driver_bars),
    ):
        session.register(name, relation)
    last = None
    states = {}
    if stored is not None:
        session.register("_uptrend_stored", stored)
        last = relation_frame(session.sql(stored_engine_states_sql("_uptrend_stored")))
        states = stored_states(last["engine_state"])
    frontier = pd.DataFrame(
        {
            "series_part": pd.Series(list(states), dtype="uint64"),
            "offset_idx": pd.Series([s.offset for s in states.values()], dtype="int64"),
            "last_idx": pd.Series([s.last_idx for s in states.values()], dtype="int64"),
        }
    )
    session.register("_uptrend_frontier", frontier)
    # a segment with a state: its bars from the state's offset, when it has a new bar;
    # any other segment: all its bars
    inputs = engine_inputs_sql(
        "_uptrend_series",
        "_uptrend_prepared",
        "_uptrend_smoothed",
        "_uptrend_windowed",
        "_uptrend_driver_bars",
        "_uptrend_frontier",
        ENGINE_INPUTS,
    )
    bars = relation_frame(session.sql(inputs))
    rows = uptrend_state_rows(bars, cfg, states)
    if last is None or not len(last):
        return arrow_table(rows)
    # the previous last row of each continued segment, again, without its engine state
    # (a checkpoint row keeps it)
    lost = states_losing_last_row(last["engine_state"], bars["series_part"].unique(), states, cfg)
    previous = last[[x is not None for x in lost]].assign(engine_state=None)
    return arrow_table(pd.concat([rows, previous[list(rows.columns)].astype(rows.dtypes.to_dict())], ignore_index=True))
