def model(dbt, session):
    """Do the restart gates restart grids that then hold? Retrigger rate (a MANDATORY_EXIT
    trigger of the post-stop placement within 72 bars) and delay of the gated restarts
    against the time-floor-only and fixed 48 / 72-bar baselines, on the out-of-sample part
    of every series (docs/grid-lifecycle.md). Research: looks ahead by design. Thin adapter:
    market_regimes.research.grid_restart_report over the model rpt_grid_lifecycle_inputs,
    constants of seed grid_lifecycle_config, walk-forward split and bootstrap from var
    grid_outcome_config. With var grid_restart_gate_ablation true it adds the gated restarts
    with each gate dropped (policies without_gate_1..3: the virtual grids re-walked from
    fct_grid_lifecycle_bars, about 15 s per gate)."""
    dbt.config(materialized="table")
    from market_regimes.engines.grid_lifecycle import LifecycleConfig
    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_outcomes import GridOutcomeConfig
    from market_regimes.research.grid_restart_report import INPUT_COLUMNS, restart_outcome_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    seed = dbt.ref("grid_lifecycle_config").df()
    lifecycle = LifecycleConfig.from_rows(seed[["key", "value"]])
    inputs = dbt.ref("rpt_grid_lifecycle_inputs")
    # = inputs.df() of the columns the report reads, faster; in the report's
    # (series_key, bar_start) order: no pandas sort
    bars = relation_frame(inputs.project(", ".join(INPUT_COLUMNS)).order("series_key, bar_start"))
    report = restart_outcome_report(bars, lifecycle, cfg)
    ablation = dbt.config.get("gate_ablation")
    if str(ablation).strip().lower() == "true":  # each gate dropped in turn: three more walks
        import pandas as pd

        from market_regimes.research.grid_restart_report import gate_ablation_report

        engine_bars = relation_frame(dbt.ref("fct_grid_lifecycle_bars"))
        report = pd.concat([report, gate_ablation_report(engine_bars, lifecycle, cfg)], ignore_index=True)
    return arrow_table(report)
