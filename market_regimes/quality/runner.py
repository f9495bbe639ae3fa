"""Read a relation from DuckDB into pandas and validate it with great-expectations.

great-expectations validates pandas DataFrames here, not DuckDB through SQLAlchemy (on
duckdb-engine every expectation fails silently; docs/architecture.md). One ephemeral
context per process (:mod:`.gx_context`) serves every suite.

    frame = read_suite_frame("warehouse/market_regimes.duckdb", "marts.fct_driver_bars")
    result = run_suite("marts.fct_driver_bars", frame)
    result.success, result.summary()
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from .gx_context import batch_definition, great_expectations
from .suites import SUITES, build_suite
from .thresholds import Thresholds, load_thresholds, thresholds_from_warehouse

#: Examples of unexpected values / rows kept per failed expectation.
EXAMPLES_PER_FAILURE = 5


class QualityInputError(RuntimeError):
    """The relation to validate cannot be read (missing file, table or lock)."""


@dataclass
class SuiteResult:
    """Outcome of one suite.

    Attributes:
        name: suite (= relation) name.
        success: every expectation met.
        rows: rows validated.
        expectations: expectations evaluated.
        failures: one compact dict per failed expectation (see :func:`summarize_failure`).
        runtime_s: validation time, seconds (without the read).
    """

    name: str
    success: bool
    rows: int
    expectations: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    runtime_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary: counts, and the failed expectations with examples."""
        return {
            "suite": self.name,
            "success": self.success,
            "rows": self.rows,
            "expectations": self.expectations,
            "failed_expectations": len(self.failures),
            "failures": self.failures,
            "runtime_s": round(self.runtime_s, 3),
        }


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _columns_of(kwargs: dict) -> list[str]:
    cols = [kwargs.get(n) for n in ("column", "column_A", "column_B")] + list(kwargs.get("column_list") or [])
    return [c for c in cols if c]


def summarize_failure(result, frame: pd.DataFrame | None = None, id_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """A failed ``ExpectationValidationResult`` as a small JSON-safe dict.

    Keys: ``expectation`` (type), its ``column`` / ``column_A`` / ``column_B`` /
    ``column_list`` / ``column_set`` and bounds, ``description``, and from the result
    ``unexpected_count``, ``unexpected_percent``, ``observed_value``, ``examples`` (up to
    EXAMPLES_PER_FAILURE unexpected rows: the id columns and the expectation's columns,
    looked up in ``frame`` by the row labels great-expectations reports; without a frame,
    the unexpected values), or ``error`` when the expectation raised (e.g. a missing column).
    """
    config = result.expectation_config
    kwargs = config.kwargs
    out: dict[str, Any] = {"expectation": config.type}
    for name in ("column", "column_A", "column_B", "column_list", "column_set", "min_value", "max_value", "value_set"):
        if kwargs.get(name) is not None:
            out[name] = _json_safe(kwargs[name])
    if config.description:
        out["description"] = config.description
    res = result.result or {}
    for name in ("unexpected_count", "unexpected_percent", "observed_value"):
        if name in res and res[name] is not None:
            out[name] = _json_safe(res[name])
    labels = list(res.get("partial_unexpected_index_list") or [])[:EXAMPLES_PER_FAILURE]
    if labels and frame is not None:
        # row labels, not great-expectations' unexpected_index_column_names: that option
        # builds a dict per unexpected row (minutes for a million failing rows)
        cols = list(dict.fromkeys(c for c in (*id_columns, *_columns_of(kwargs)) if c in frame.columns))
        rows = frame.loc[labels, cols].astype(object)
        out["examples"] = _json_safe(rows.to_dict(orient="records"))
    elif res.get("partial_unexpected_list"):
        out["examples"] = _json_safe(list(res["partial_unexpected_list"])[:EXAMPLES_PER_FAILURE])
    info = result.exception_info or {}
    if info.get("raised_exception"):
        out["error"] = info.get("exception_message")
    else:  # several metrics may raise: exception_info is then keyed by metric
        messages = {
            v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("raised_exception")
        }
        if messages:
            out["error"] = "; ".join(sorted(str(m) for m in messages))
    return out


def run_suite(name: str, df: pd.DataFrame, thresholds: Thresholds | None = None) -> SuiteResult:
    """Validate ``df`` (rows of relation ``name``) with the suite of that name.

    Args:
        name: a key of :data:`SUITES`, e.g. ``"raw.klines"``.
        df: the relation's rows (as :func:`read_suite_frame` returns them); the suite's
            prepare step adds its derived columns to a copy.
        thresholds: bounds; default the seed ``seeds/quality_thresholds.csv``.
    Returns:
        A :class:`SuiteResult`; a missing column fails its expectations (with ``error``)
        rather than raising.
    Raises:
        KeyError: unknown suite name.
    """
    spec = SUITES[name]
    thresholds = thresholds or load_thresholds()
    start = time.perf_counter()
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index(drop=True)  # unique row labels: prepare steps and examples use them
    frame = spec.prepare(df)
    suite = build_suite(name, thresholds, frame.columns)
    batch = batch_definition().get_batch(batch_parameters={"dataframe": frame})
    # pass/fail first (half the work of a summary), details only for what failed
    verdict = batch.validate(suite, result_format="BOOLEAN_ONLY")
    failures: list[dict[str, Any]] = []
    failed = [r.expectation_config.to_domain_obj() for r in verdict.results if not r.success]
    if failed:
        gx = great_expectations()
        details = batch.validate(
            gx.ExpectationSuite(name=f"{name} (failed)", expectations=failed),
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES_PER_FAILURE},
        )
        failures = [summarize_failure(r, frame, spec.id_columns) for r in details.results if not r.success]
    return SuiteResult(
        name=name,
        success=bool(verdict.success),
        rows=len(frame),
        expectations=len(verdict.results),
        failures=failures,
        runtime_s=time.perf_counter() - start,
    )


def _select_expression(column: str, data_type: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    # HUGEINT and DECIMAL arrive in pandas as Python objects (slow to hash and filter)
    if data_type.upper().startswith(("HUGEINT", "UHUGEINT", "DECIMAL")):
        return f"cast({quoted} as double) as {quoted}"
    return quoted


def read_relation(db_path: str | Path, relation: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Rows of ``relation`` (``schema.table``, a table or view) from a DuckDB file.

    Opens the file read-only and closes it before returning (DuckDB allows one writer
    process, and a reader blocks it). Reads the ``columns`` that exist, in the relation's
    order (None: all; ``prefix*`` matches by prefix), so a missing column shows up in the
    suite's schema expectation instead of an error here.
    Strings come back as pandas categoricals (fast, small), timestamps as datetime64[us],
    HUGEINT/DECIMAL as float64.

    Raises:
        QualityInputError: the file or relation does not exist, or cannot be opened.
    """
    path = Path(db_path)
    if not path.exists():
        raise QualityInputError(f"DuckDB file {path} does not exist")
    schema, _, table = relation.partition(".")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise QualityInputError(f"cannot open {path} read-only: {exc}") from exc
    try:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        )
        if not types:
            raise QualityInputError(f"relation {relation} not found in {path}")
        wanted = (
            list(types)
            if columns is None
            else [c for c in types if c in columns or any(p.endswith("*") and c.startswith(p[:-1]) for p in columns)]
        )
        select = ", ".join(_select_expression(c, types[c]) for c in wanted)
        arrow = con.sql(f'select {select} from "{schema}"."{table}"').arrow()
        arrow = arrow.read_all() if hasattr(arrow, "read_all") else arrow  # RecordBatchReader on newer DuckDB
    except duckdb.Error as exc:
        raise QualityInputError(f"cannot read {relation} from {path}: {exc}") from exc
    finally:
        con.close()
    return arrow.to_pandas(strings_to_categorical=True)


def read_suite_frame(db_path: str | Path, name: str) -> pd.DataFrame:
    """The rows suite ``name`` validates, read with :func:`read_relation`."""
    return read_relation(db_path, SUITES[name].name, SUITES[name].columns)


def warehouse_thresholds(db_path: str | Path) -> Thresholds:
    """The suite bounds of the seeds the warehouse at `db_path` was built with
    (:func:`~market_regimes.quality.thresholds.thresholds_from_warehouse`), read-only.

    Raises:
        QualityInputError: the file cannot be opened or lacks the seed tables / rows.
    """
    path = Path(db_path)
    if not path.exists():
        raise QualityInputError(f"DuckDB file {path} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise QualityInputError(f"cannot open {path} read-only: {exc}") from exc
    try:
        return thresholds_from_warehouse(con)
    except LookupError as exc:
        raise QualityInputError(f"{path}: {exc}") from exc
    finally:
        con.close()


def check_relation(db_path: str | Path, name: str, thresholds: Thresholds | None = None) -> SuiteResult:
    """Read and validate: :func:`read_suite_frame` then :func:`run_suite`, with the bounds of
    the warehouse's own seeds (:func:`warehouse_thresholds`) unless `thresholds` is given."""
    frame = read_suite_frame(db_path, name)
    return run_suite(name, frame, thresholds or warehouse_thresholds(db_path))
