def model(dbt, session):
    """The simulated grid by verdict at placement and exit policy: mean return with its
    interval, median, hit rate, CVaR5 and its paired difference against hold to H, grid and
    inventory PnL apart, drawdown, round trips per day (docs/grid-lifecycle.md). Research.
    Thin adapter: market_regimes.research.grid_sim_report.sim_by_verdict_report over the
    model rpt_grid_sim_placements; bootstrap of var grid_outcome_config, placement step of var
    grid_sim_config."""
    dbt.config(materialized="table")
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_outcomes import GridOutcomeConfig
    from market_regimes.research.grid_sim_report import sim_by_verdict_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    sim = dbt.config.get("grid_sim")
    step = int(sim["placement_step_bars"])
    placements = relation_frame(dbt.ref("rpt_grid_sim_placements"))
    intervals = dbt.ref("bar_intervals").df()
    interval = dbt.config.get("grid_interval")
    minutes = int(intervals.loc[intervals["bar_interval"] == interval, "interval_minutes"].iloc[0])
    return arrow_table(sim_by_verdict_report(placements, cfg, step, minutes))
