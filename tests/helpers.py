"""Shared helpers for integration tests: run dbt into a temporary DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd

from market_regimes.compare import METADATA_COLUMNS, compared_value, float_tolerances

PROJECT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"


# dbt parses the whole project (~7 s of CPU) when its target folder holds no
# partial_parse.msgpack whose profile and vars match; the tests give each run a target
# folder of its own, so the first successful run of each (project, file name, vars) leaves
# its parse in a folder shared by the test session's workers (conftest.py sets
# MARKET_REGIMES_TEST_PARSE_CACHE) for the next ones. dbt still re-reads every changed file
# and every file whose env_var() changed (e.g. the landing folder): a partial parse, as in
# development. The profile names the DuckDB file relative to the run's folder (dbt-duckdb
# resolves a relative path against the working directory), so the same file name in
# another folder is the same profile.
PARSE_CACHE_ENV = "MARKET_REGIMES_TEST_PARSE_CACHE"


def dbt_with_parse_cache(
    cmd: list[str], env: dict, db_path: Path, target: Path, vars_yaml: str | None, project: Path = PROJECT
) -> subprocess.CompletedProcess:
    """Run the dbt command line `cmd` (with `--target-path target`) on `db_path` from its
    folder (MARKET_REGIMES_DB = its file name), reusing an earlier run's parse; returns the
    completed process (no check of its exit code)."""
    import hashlib
    import shutil

    cache = os.environ.get(PARSE_CACHE_ENV)
    key = hashlib.sha256(repr((str(project), db_path.name, vars_yaml or "")).encode()).hexdigest()[:16]
    kept = Path(cache) / f"{key}.msgpack" if cache else None
    parsed = target / "partial_parse.msgpack"
    if kept is not None and kept.exists() and not parsed.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(kept, parsed)
    env = {**env, "MARKET_REGIMES_DB": db_path.name}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=db_path.parent)
    if kept is not None and proc.returncode == 0 and not kept.exists() and parsed.exists():
        partial = kept.with_suffix(f".{os.getpid()}")
        shutil.copy(parsed, partial)
        partial.replace(kept)  # atomic: another worker reads a whole file or none
    return proc


def without_unit_tests(args: list[str]) -> list[str]:
    """dbt arguments with ``unit_test`` excluded: added to an ``--exclude-resource-type``
    the arguments already have (one flag, several types), else the flag added. The suite's
    builds leave dbt's unit tests to the session's fixture build (:func:`dbt`)."""
    args = list(args)
    if "--exclude-resource-type" in args:
        args.insert(args.index("--exclude-resource-type") + 1, "unit_test")
        return args
    return [*args, "--exclude-resource-type", "unit_test"]


def dbt(
    command: str,
    db_path: Path,
    landing: Path,
    work: Path,
    vars_yaml: str | None = None,
    extra: list[str] | None = None,
    unit_tests: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``dbt <command>`` against ``db_path`` / ``landing`` with its own target dir
    (:func:`dbt_with_parse_cache`). A ``build`` leaves out dbt's unit tests unless
    `unit_tests` (they test the models' SQL on their own given rows, not the data: the
    session's fixture build runs all 34 of them once; each build ~15 s of CPU).

    Raises AssertionError with dbt's output when dbt exits non-zero.
    """
    env = {
        **os.environ,
        "MARKET_REGIMES_LANDING": str(Path(landing).resolve()),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DO_NOT_TRACK": "1",
    }
    cmd = [
        str(DBT),
        command,
        "--project-dir",
        str(PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    if vars_yaml:
        cmd += ["--vars", vars_yaml]
    cmd += extra or []
    if command == "build" and not unit_tests:
        cmd = without_unit_tests(cmd)
    proc = dbt_with_parse_cache(cmd, env, Path(db_path).resolve(), Path(work).resolve() / "target", vars_yaml)
    assert proc.returncode == 0, f"dbt {command} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


def query(db_path: Path, sql: str) -> pd.DataFrame:
    """Run one query read-only and close the connection (DuckDB allows one writer process)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


MART_TABLES = {
    "marts.fct_symbol_bars": ["exchange", "symbol", "bar_interval", "bar_start", "origin"],
    "marts.fct_driver_bars": ["driver", "timeframe", "bar_start"],
}


def compare_builds(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    table: str,
    keys: list[str],
    where: str = "true",
    ignore: list[str] = (),
) -> tuple[int, int, int, dict[str, float]]:
    """Compare `table` between two attached builds (catalogs `left`, `right`) row by row.

    Rows are matched on `keys` among rows satisfying `where` (SQL over alias t). Non-float
    columns must be equal; DOUBLE columns equal within float_tolerances relative to
    max(|value|, the column's mean magnitude in `left`). Returns (unmatched rows, differing
    rows, matched-or-not row count, worst relative difference per float column).
    """
    described = con.sql(f"describe {left}.{table}").fetchall()
    ignore = [*ignore, *METADATA_COLUMNS]  # landing time, serialised engine state (market_regimes.compare)
    compared = [(name, ctype) for name, ctype, *_ in described if name not in keys and name not in ignore]
    floats = [name for name, ctype in compared if ctype == "DOUBLE"]
    exact = [name for name, ctype in compared if ctype != "DOUBLE"]
    tol = float_tolerances(floats)
    scales = (
        con.sql(
            "select "
            + ", ".join(
                f"coalesce(avg(abs({v})) filter (where isfinite({v})), 0)"
                for v in (compared_value(x, "t") for x in floats)
            )
            + f" from {left}.{table} t where {where}"
        ).fetchone()
        if floats
        else ()
    )
    on = " and ".join(f"f.{k} = c.{k}" for k in keys)
    # equal values (infinities too) differ by 0; an infinity against a finite value by inf
    # (half-lives as their reciprocals: market_regimes.compare.compared_value)
    rel = {}
    for x, scale in zip(floats, scales):
        a, b = compared_value(x, "f"), compared_value(x, "c")
        rel[x] = f"case when f.{x} = c.{x} then 0.0 else abs({a} - {b}) / greatest(abs({a}), {scale!r}) end"
    differs = (
        " or ".join(
            [f"f.{c} is distinct from c.{c}" for c in exact]
            + [f"(f.{x} is null) != (c.{x} is null) or {rel[x]} > {tol[x]!r}" for x in floats]
        )
        or "false"
    )
    base = (
        f"with f as (select * from {left}.{table} t where {where}), "
        f"c as (select * from {right}.{table} t where {where}) "
    )
    unmatched, different, n = con.sql(
        base + f"select count(*) filter (where f.{keys[0]} is null or c.{keys[0]} is null), "
        f"count(*) filter (where {differs}), count(*) from f full join c on {on}"
    ).fetchone()
    worst_row = (
        con.sql(
            base + "select " + ", ".join(f"coalesce(max({rel[x]}), 0)" for x in floats) + f" from f join c on {on}"
        ).fetchone()
        if floats
        else ()
    )
    return unmatched, different, n, dict(zip(floats, worst_row))


class HtmlTags(HTMLParser):
    """Collects every start tag of an HTML document: ``tags`` = [(tag, {attr: value}), ...]."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
