def model(dbt, session):
    """Do the restart gates restart grids that then hold? Retrigger rate (a MANDATORY_EXIT
    trigger of the post-stop placement within 72 bars) and delay of the gated restarts
    against the time-floor-only and fixed 48 / 72-bar baselines, on the out-of-sample part
    of every series (docs/grid-lifecycle.md). Research: looks ahead by design. Thin adapter:
    market_regimes.research.grid_restart_report over the model rpt_grid_lifecycle_inputs,
    constants of seed grid_lifecycle_config, walk-forward split and bootstrap from var
    grid_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.grid_lifecycle import LifecycleConfig
    from market_regimes.research.grid_outcomes import GridOutcomeConfig
    from market_regimes.research.grid_restart_report import restart_outcome_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    seed = dbt.ref("grid_lifecycle_config").df()
    lifecycle = LifecycleConfig.from_rows(seed[["key", "value"]])
    bars = dbt.ref("rpt_grid_lifecycle_inputs").df()
    return restart_outcome_report(bars, lifecycle, cfg)
