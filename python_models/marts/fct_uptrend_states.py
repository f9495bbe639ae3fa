def model(dbt, session):
    """Uptrend Engine states, flags and scores per driver x timeframe x final bar (docs/uptrend-engine.md).
    Thin adapter: the engine is market_regimes.engines.uptrend_engine (no dbt inside); its
    constants are the rows of seed uptrend_config.
    Incremental: every segment (series_part) continues from the latest engine state stored
    on its rows (engine_state: on its last row and on checkpoint rows), reading its bars
    from the state's offset on; the previous last row is rewritten without it unless it is
    a checkpoint. After a revision (meta revision_rewind = from_bar_start) a segment
    continues from its last checkpoint left; segments without any state (new, still
    warming) are walked from their first bar."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["driver", "timeframe", "bar_start"],
    )
    import json

    import pandas as pd

    from market_regimes.adapters import stored_engine_states_sql
    from market_regimes.adapters.uptrend_sql import engine_inputs_sql
    from market_regimes.engines.uptrend_config import UptrendConfig
    from market_regimes.engines.uptrend_frames import ENGINE_INPUTS, is_checkpoint, stored_states, uptrend_state_rows
    from market_regimes.frames import arrow_table

    # the refs as temporary views of this session, to join them in SQL
    series = dbt.ref("int_indicator_series_listed")
    prepared = dbt.ref("int_indicator_bars_prepared")
    smoothed = dbt.ref("int_indicators_smoothed")
    windowed = dbt.ref("int_indicators_windowed")
    driver_bars = dbt.ref("fct_driver_bars")
    session.register("_uptrend_series", series)
    session.register("_uptrend_prepared", prepared)
    session.register("_uptrend_smoothed", smoothed)
    session.register("_uptrend_windowed", windowed)
    session.register("_uptrend_driver_bars", driver_bars)
    config_rows = dbt.ref("uptrend_config").df()
    cfg = UptrendConfig.from_mapping(dict(zip(config_rows["key"], config_rows["value"])))
    last = None
    states = {}
    if dbt.is_incremental:
        session.register("_uptrend_stored", session.table(str(dbt.this)))
        last = session.sql(stored_engine_states_sql("_uptrend_stored")).df()
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
    # any other segment: all its bars (adapters.uptrend_sql.engine_inputs_sql)
    inputs = engine_inputs_sql(
        "_uptrend_series",
        "_uptrend_prepared",
        "_uptrend_smoothed",
        "_uptrend_windowed",
        "_uptrend_driver_bars",
        "_uptrend_frontier",
        ENGINE_INPUTS,
    )
    bars = session.sql(inputs).df()
    rows = uptrend_state_rows(bars, cfg, states)
    if last is None or not len(last):
        return arrow_table(rows)
    # the previous last row of each continued segment, again, without its engine state
    # (a checkpoint row keeps it)
    continued = set(bars["series_part"])
    keep = []
    for text in last["engine_state"]:
        data = json.loads(text)
        part, last_idx = int(data["series_part"]), int(data["engine"]["last_idx"])
        keep.append(part in continued and states[part].last_idx == last_idx and not is_checkpoint(last_idx, cfg))
    previous = last[keep].assign(engine_state=None)
    return arrow_table(pd.concat([rows, previous[list(rows.columns)].astype(rows.dtypes.to_dict())], ignore_index=True))
