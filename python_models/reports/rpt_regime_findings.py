def model(dbt, session):
    """Pooled regime findings across assets (docs/volatility-regimes.md "Pooled findings"): per
    detector (uptrend, trend_vol, volatility_rv, volatility_hmm, volatility_quadrant, grid_verdict) x bar
    interval x sample (all, out_of_sample): regime shares, pooled forward return, |return|
    and realized vol per regime with calendar-block bootstrap intervals, and each detector's
    configured contrast (high minus low regimes) with its expected sign and the share of
    series where it holds. Research: looks ahead by design. Thin adapter:
    market_regimes.research.regime_findings over rpt_regime_labels_aligned,
    rpt_grid_outcome_inputs and seed drivers (dominance drivers left out of the uptrend
    pool); config vars regime_findings_config, regime_findings_contrasts,
    regime_report_horizon_bars."""
    dbt.config(materialized="table")
    import json

    from market_regimes.frames import arrow_table, relation_frame
    from market_regimes.research.regime_findings import (
        GRID_INPUT_COLUMNS,
        LABEL_INPUT_COLUMNS,
        Contrast,
        RegimeFindingsConfig,
        findings_bars,
        regime_findings,
    )

    cfg = RegimeFindingsConfig.from_mapping(dbt.config.get("regime_findings"))
    contrasts = [Contrast.from_mapping(c) for c in json.loads(dbt.config.get("regime_findings_contrasts"))]
    labels = dbt.ref("rpt_regime_labels_aligned")
    grid = dbt.ref("rpt_grid_outcome_inputs")
    drivers = dbt.ref("drivers")
    dominance = [row[0] for row in drivers.filter("kind = 'dominance'").project("driver").fetchall()]
    bars = findings_bars(
        relation_frame(labels.project(", ".join(LABEL_INPUT_COLUMNS))),
        relation_frame(grid.project(", ".join(GRID_INPUT_COLUMNS))),
        dominance,
    )
    return arrow_table(regime_findings(bars, contrasts, cfg))
