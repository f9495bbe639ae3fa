"""Session fixtures shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import PROJECT, dbt

SAMPLE = PROJECT / "sample" / "landing"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory):
    """The bundled sample built once into a temporary DuckDB file.

    MARKET_REGIMES_TEST_DB=<file> reuses a sample build made by `make run` instead
    (development only: the file must be a build of the current code)."""
    if os.environ.get("MARKET_REGIMES_TEST_DB"):
        return Path(os.environ["MARKET_REGIMES_TEST_DB"])
    root = tmp_path_factory.mktemp("sample")
    db = root / "sample.duckdb"
    dbt("build", db, SAMPLE, root)
    return db
