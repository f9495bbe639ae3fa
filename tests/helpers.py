"""Shared helpers for integration tests: run dbt into a temporary DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"


def dbt(command: str, db_path: Path, landing: Path, work: Path, vars_yaml: str | None = None,
        extra: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run ``dbt <command>`` against ``db_path`` / ``landing`` with its own target dir.

    Raises AssertionError with dbt's output when dbt exits non-zero.
    """
    env = {**os.environ, "MARKET_REGIMES_DB": str(db_path), "MARKET_REGIMES_LANDING": str(landing),
           "DBT_PROFILES_DIR": str(PROJECT), "DO_NOT_TRACK": "1"}
    cmd = [str(DBT), command, "--project-dir", str(PROJECT), "--target-path", str(work / "target"),
           "--log-path", str(work / "logs")]
    if vars_yaml:
        cmd += ["--vars", vars_yaml]
    cmd += extra or []
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT)
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


def assert_frames_equal_1e12(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """SPEC determinism: keys, flags and counts equal; floats equal to 1e-12 relative."""
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b), f"row counts differ: {len(a)} vs {len(b)}"
    for col in a.columns:
        if pd.api.types.is_float_dtype(a[col]):
            x, y = a[col].to_numpy(), b[col].to_numpy()
            both_nan = pd.isna(x) & pd.isna(y)
            rel = abs(x - y) / abs(y).clip(min=1e-300)
            bad = ~both_nan & ~(rel <= 1e-12)
            assert not bad.any(), f"{col}: {int(bad.sum())} values differ beyond 1e-12, e.g. {x[bad][:3]} vs {y[bad][:3]}"
        else:
            assert a[col].equals(b[col]) or (a[col].astype(str) == b[col].astype(str)).all(), f"{col} differs"
