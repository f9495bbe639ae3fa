def model(dbt, session):
    """Pooled regime findings across assets (docs/volatility-regimes.md "Pooled findings"; the
    columns in models/reports/_reports__models.yml): per detector x bar interval x sample, regime
    shares and forward outcomes with calendar-block bootstrap intervals, and each detector's
    configured contrast. Research: looks ahead by design. Thin adapter:
    market_regimes.research.regime_findings over rpt_regime_labels_aligned,
    rpt_grid_outcome_inputs and seed drivers (dominance drivers left out of the uptrend
    pool); config vars regime_findings_config, regime_findings_contrasts."""
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
    labels = relation_frame(dbt.ref("rpt_regime_labels_aligned").project(", ".join(LABEL_INPUT_COLUMNS)))
    grid = relation_frame(dbt.ref("rpt_grid_outcome_inputs").project(", ".join(GRID_INPUT_COLUMNS)))
    drivers = dbt.ref("drivers")
    dominance = [row[0] for row in drivers.filter("kind = 'dominance'").project("driver").fetchall()]
    return arrow_table(regime_findings(findings_bars(labels, grid, dominance), contrasts, cfg))
