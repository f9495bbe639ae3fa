def model(dbt, session):
    """A grid placed every placement_step_bars (var grid_sim_config) bars of the
    out-of-sample part of every series on its primary range, simulated to each horizon H
    under each exit policy (hold, mandatory, first_latest, seed_rules) with its own lifecycle
    states; one row per (placement, H, policy) (docs/grid-lifecycle.md). Research: looks
    ahead by design. Thin adapter: market_regimes.research.grid_sim_report.simulate_placements
    over the models rpt_grid_sim_inputs and rpt_grid_sim_fine_bars, constants of seed
    grid_lifecycle_config, costs of var grid_sim_config, horizons and walk-forward split of
    var grid_outcome_config."""
    dbt.config(materialized="table")
    from market_regimes.engines.grid_lifecycle import LifecycleConfig
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_outcomes import GridOutcomeConfig
    from market_regimes.research.grid_sim_report import INPUT_COLUMNS, simulate_placements
    from market_regimes.research.grid_simulator import GridSimConfig

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    sim = dict(dbt.config.get("grid_sim"))
    step = int(sim.pop("placement_step_bars"))
    seed = dbt.ref("grid_lifecycle_config").df()
    lifecycle = LifecycleConfig.from_rows(seed[["key", "value"]])
    inputs = dbt.ref("rpt_grid_sim_inputs")
    fine_bars = dbt.ref("rpt_grid_sim_fine_bars")
    # = .df() of the columns the report reads (not exchange, symbol), faster; the bars in the
    # report's (series_key, bar_start) order: no pandas sort
    bars = relation_frame(inputs.project(", ".join(INPUT_COLUMNS)).order("series_key, bar_start"))
    fine = relation_frame(fine_bars)
    intervals = dbt.ref("bar_intervals").df()
    interval = dbt.config.get("grid_interval")
    minutes = int(intervals.loc[intervals["bar_interval"] == interval, "interval_minutes"].iloc[0])
    return arrow_table(simulate_placements(bars, lifecycle, GridSimConfig.from_mapping(sim), cfg, fine, step, minutes))
