def model(dbt, session):
    # append_new_columns: a ledger built before a column existed (superseded_version) gets
    # it, NULL on its old rows (the ledgers are append-only; docs/landing.md)
    dbt.config(materialized="incremental", incremental_strategy="append", on_schema_change="append_new_columns")
    # Thin adapter: the ledger logic lives in market_regimes.landing (no dbt inside).
    from market_regimes.landing.duckdb_io import dbt_batch_started_at, land_table
    from market_regimes.landing.validate import LandingPlausibility

    landing_dir = dbt.config.get("landing_dir")
    bounds = dbt.config.get("landing_plausibility")
    files = dbt.source("landing", "daily_files")
    this = str(dbt.this) if dbt.is_incremental else None
    return land_table(
        session,
        "daily",
        files,
        landing_dir,
        this,
        plausibility=LandingPlausibility.from_mapping(bounds),
        loaded_at=dbt_batch_started_at(),
    )
