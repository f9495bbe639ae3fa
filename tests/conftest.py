"""Session fixtures shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import PROJECT, dbt

SAMPLE = PROJECT / "sample" / "landing"


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`make test` runs `-n 2 --dist loadgroup`), every test that reads
    the sample build runs on one worker and every test of the fixture build on another, so
    each session fixture is built once; the rest is spread over both workers."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "sample_db" in names:
            item.add_marker(pytest.mark.xdist_group("sample"))
        elif names & {"fixture_build", "built", "backfilled", "defs"}:
            item.add_marker(pytest.mark.xdist_group("fixture"))


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


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory):
    """The hand-made fixture landing (tests/integration/fixture_landing.py) built once with
    `dbt build` into <root>/warehouse.duckdb: {"root", "landing", "db", "stdout"}. Tests
    that change the file work on a copy (re-landing the same landing is a no-op)."""
    from tests.integration.fixture_landing import write_fixture_landing

    root = tmp_path_factory.mktemp("fixture")
    landing = write_fixture_landing(root / "landing")
    db = root / "warehouse.duckdb"
    first = dbt("build", db, landing, root)
    return {"root": root, "landing": landing, "db": db, "stdout": first.stdout}
