def model(dbt, session):
    # append_new_columns: a ledger built before a column existed (superseded_version) gets
    # it, NULL on its old rows (the ledgers are append-only; docs/landing.md)
    dbt.config(materialized="incremental", incremental_strategy="append", on_schema_change="append_new_columns")
    # Thin adapter: the ledger logic lives in market_regimes.landing (no dbt inside).
    from market_regimes.landing.duckdb_io import land_table
    from market_regimes.landing.validate import LandingPlausibility

    landing_dir = dbt.config.get("landing_dir")
    bounds = dbt.config.get("landing_plausibility")
    files = dbt.source("landing", "kline_files").union(dbt.source("landing", "snapshot_files"))
    this = str(dbt.this) if dbt.is_incremental else None
    return land_table(session, "klines", files, landing_dir, this,
                      plausibility=LandingPlausibility.from_mapping(bounds), loaded_at=_batch_started_at())


def _batch_started_at():
    """The landing batch's timestamp: dbt's run_started_at of this invocation (naive UTC),
    shared by the three raw ledgers of one build, so that one build is one batch (the warn
    tests report the batch a build landed); None (= now) when dbt does not expose it."""
    from datetime import timezone

    try:
        from dbt import tracking

        return tracking.active_user.run_started_at.astimezone(timezone.utc).replace(tzinfo=None)
    except Exception:  # noqa: BLE001 - another dbt version: fall back to the time of landing
        return None
