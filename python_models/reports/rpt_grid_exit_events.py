def model(dbt, session):
    """Do the exit states see range breaks coming? Recall, lead time, precision and false
    stops of WARNING / LATEST_ACCEPTABLE_EXIT / MANDATORY_EXIT (and any stop) for confirmed
    breaks of the virtual grids, state changes and notifications per symbol-week, and the
    WARNING conditions' base rates inside RANGE_OK hours, on the out-of-sample part of every
    series (docs/grid-lifecycle.md). Research: looks ahead by design. Thin adapter:
    market_regimes.research.grid_exit_report over the model rpt_grid_lifecycle_inputs,
    walk-forward split and bootstrap from var grid_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_exit_report import INPUT_COLUMNS, exit_event_report
    from market_regimes.research.grid_outcomes import GridOutcomeConfig

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    inputs = dbt.ref("rpt_grid_lifecycle_inputs")
    # = inputs.df() of the columns the report reads, faster; in the report's
    # (series_key, bar_start) order: no pandas sort
    bars = relation_frame(inputs.project(", ".join(INPUT_COLUMNS)).order("series_key, bar_start"))
    return arrow_table(exit_event_report(bars, cfg))
