def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    # Thin adapter: the ledger logic lives in market_regimes.landing (no dbt inside).
    from market_regimes.landing.duckdb_io import land_table

    files = dbt.source("landing", "dominance_files")
    this = str(dbt.this) if dbt.is_incremental else None
    return land_table(session, "dominance", files, dbt.config.get("landing_dir"), this)
