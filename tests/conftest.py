"""Session fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from tests.helpers import PROJECT, dbt

SAMPLE = PROJECT / "sample" / "landing"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory):
    """The bundled sample built once into a temporary DuckDB file."""
    root = tmp_path_factory.mktemp("sample")
    db = root / "sample.duckdb"
    dbt("build", db, SAMPLE, root)
    return db
