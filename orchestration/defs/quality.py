"""great-expectations suites as Dagster asset checks (docs/orchestration.md).

One check named ``gx_suite`` per suite of :mod:`market_regimes.quality`, on the asset of
the relation it validates (``raw/klines``, ``marts/fct_driver_bars``, ...; dbt asset keys
are ``<schema>/<model>``). A check reads its relation from the DuckDB file of the
``warehouse`` resource (resources.WarehouseResource: env MARKET_REGIMES_DB, default
``warehouse/market_regimes.duckdb``; a relative path resolves against the project
directory, where dagster-dbt runs dbt), read-only and closed before
validating, and reports ``passed`` with the suite's summary as metadata: rows,
expectations, failed_expectations, failures (each failed expectation with its
unexpected count and up to five example rows), runtime_s, db_path.

Every check is blocking: a failure (severity ERROR) stops the assets downstream of its
asset in the same run. Blocking acts across ops only, so it stops e.g. the partitioned
rollups and the downstream dbt op after ``raw/klines`` / ``raw/dominance_readings``
(upstream op), but not models built by the same ``dbt build`` as the checked asset.
A relation that cannot be read (missing file or table, a writer's lock) fails the check
with ``error`` metadata. great-expectations is imported when a check first runs, not
when the code location loads.
"""

from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from market_regimes.quality import SUITES, QualityInputError, check_relation

from .resources import WarehouseResource

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHECK_NAME = "gx_suite"


def warehouse_path() -> Path:
    """The DuckDB file: env MARKET_REGIMES_DB (relative: to the project directory) or the default."""
    return WarehouseResource().db_path()


def asset_key_of(suite_name: str) -> AssetKey:
    """``raw.klines`` -> AssetKey(["raw", "klines"])."""
    return AssetKey(suite_name.split("."))


def evaluate_suite(suite_name: str, db_path: Path | str | None = None) -> AssetCheckResult:
    """Read the suite's relation from ``db_path`` (default :func:`warehouse_path`) and validate it."""
    path = Path(db_path) if db_path is not None else warehouse_path()
    try:
        result = check_relation(path, suite_name)
    except QualityInputError as exc:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"suite": suite_name, "error": str(exc), "db_path": str(path)},
        )
    summary = result.summary()
    return AssetCheckResult(
        passed=result.success,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "suite": suite_name,
            "rows": summary["rows"],
            "expectations": summary["expectations"],
            "failed_expectations": summary["failed_expectations"],
            "failures": MetadataValue.json(summary["failures"]),
            "runtime_s": summary["runtime_s"],
            "db_path": str(path),
        },
    )


def _suite_check(suite_name: str):
    spec = SUITES[suite_name]

    @asset_check(
        asset=asset_key_of(suite_name),
        name=CHECK_NAME,
        blocking=True,
        description=f"great-expectations suite {suite_name}: {spec.description}",
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        outcome = evaluate_suite(suite_name, warehouse.db_path())
        failed = outcome.metadata.get("failed_expectations")
        context.log.info(
            f"{suite_name}: passed={outcome.passed}, failed expectations: {getattr(failed, 'value', failed)}"
        )
        return outcome

    return _check


quality_checks = [_suite_check(name) for name in SUITES]
