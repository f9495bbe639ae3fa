def model(dbt, session):
    """How informative are the grid verdict's numbers? Per bar interval and horizon: the AUC
    of the RANGE_OK support score for the range holding (and on shuffled labels), and per
    verdict the reliability of its confidence (outcome rate per confidence bin), on the
    out-of-sample part of every series (docs/grid-regimes.md). Research: looks ahead by
    design. Thin adapter: market_regimes.research.grid_outcomes.calibration_rows over the
    model rpt_grid_outcome_inputs, config var grid_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_outcomes import GridOutcomeConfig, calibration_rows, outcome_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    inputs = dbt.ref("rpt_grid_outcome_inputs")
    return arrow_table(calibration_rows(outcome_report(relation_frame(inputs), cfg, tables=("auc", "reliability"))))
