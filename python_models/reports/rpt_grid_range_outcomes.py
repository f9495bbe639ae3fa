def model(dbt, session):
    """Does the grid verdict predict that the range holds? Range-hold outcomes by verdict,
    against all bars, single-indicator baselines and the shuffled-return null (SHUF), with
    block-bootstrap 95% intervals, on the out-of-sample part of every series
    (docs/grid-regimes.md). Research: looks ahead by design. Thin adapter:
    market_regimes.research.grid_outcomes over the model rpt_grid_outcome_inputs, config var
    grid_outcome_config; the SHUF rows come from the surrogate build's inputs (var
    grid_null_outcome_inputs, a Parquet file written by `market-regimes null-build`)."""
    dbt.config(materialized="table")
    from pathlib import Path

    import pandas as pd

    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.grid_outcomes import GridOutcomeConfig, not_built_row, outcome_report

    cfg = GridOutcomeConfig.from_mapping(dbt.config.get("grid_outcome"))
    null_path = Path(dbt.config.get("grid_null_inputs"))
    null_bars = pd.read_parquet(null_path) if null_path.is_file() else None
    inputs = dbt.ref("rpt_grid_outcome_inputs")
    outcomes = outcome_report(relation_frame(inputs), cfg, null_bars=null_bars, tables=("outcomes",))["outcomes"]
    return arrow_table(
        outcomes if null_bars is not None else pd.concat([outcomes, not_built_row(outcomes)], ignore_index=True)
    )
