def model(dbt, session):
    """Do the A / E levers line up with what the bucket composite did next? Forward 1/4/24-bar
    log returns and forward realized vol of the bucket composite by A and by E quantile
    group (quintiles), per bucket x execution timeframe, both lever formulas (project,
    seed_compute_levers) side by side, real and shuffled (rotated) levers, in-sample (where
    the quantile edges are set: the first 60% of each series) and out-of-sample, with
    t-stats, win rates, block-bootstrap 95% intervals, the top-minus-bottom spread and its
    rotation null (docs/levers.md "Do the levers pay?"). Research: looks ahead by design.
    Thin adapter: market_regimes.research.lever_outcomes over
    rpt_lever_values_by_formula and rpt_lever_composite_closes; config var
    lever_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.lever_outcomes import LeverOutcomeConfig, lever_outcome_report

    cfg = LeverOutcomeConfig.from_mapping(dbt.config.get("lever_outcome"))
    levers = dbt.ref("rpt_lever_values_by_formula")
    closes = dbt.ref("rpt_lever_composite_closes")
    lever_frame = relation_frame(levers.project("bar_start, execution_timeframe, bucket, formula, a_value, e_value"))
    close_frame = relation_frame(
        closes.project("bucket, execution_timeframe, execution_minutes, close_at, close, segment_id")
    )
    return arrow_table(lever_outcome_report(lever_frame, close_frame, cfg))
