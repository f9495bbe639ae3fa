def model(dbt, session):
    """Does the grid verdict predict that the range holds? Range-hold outcomes by verdict,
    against all bars and single-indicator baselines, with block-bootstrap 95% intervals, on
    the out-of-sample part of every series (docs/grid-regimes.md). Research: looks ahead by
    design. Thin adapter: market_regimes.research.grid_outcomes over the model
    rpt_grid_outcome_inputs, config var grid_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.research.grid_outcomes import GridOutcomeConfig, outcome_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    return outcome_report(dbt.ref("rpt_grid_outcome_inputs").df(), cfg)["outcomes"]
