"""Data-quality suites (great-expectations) over DataFrames read from the DuckDB warehouse.

No Dagster here: ``orchestration/defs/quality.py`` turns each suite into an asset check.
great-expectations is imported only when a suite is built or run (it takes seconds).
"""

from .runner import (
    QualityInputError,
    SuiteResult,
    check_relation,
    read_relation,
    read_suite_frame,
    run_suite,
    summarize_failure,
)
from .suites import SUITES, SuiteSpec, build_suite, in_file_order, only_final_version
from .thresholds import DEFAULT_THRESHOLDS_CSV, Thresholds, load_thresholds

__all__ = [
    "DEFAULT_THRESHOLDS_CSV",
    "SUITES",
    "QualityInputError",
    "SuiteResult",
    "SuiteSpec",
    "Thresholds",
    "build_suite",
    "check_relation",
    "in_file_order",
    "load_thresholds",
    "only_final_version",
    "read_relation",
    "read_suite_frame",
    "run_suite",
    "summarize_failure",
]
