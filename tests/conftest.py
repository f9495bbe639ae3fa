"""Session fixtures shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import PARSE_CACHE_ENV, PROJECT, dbt

SAMPLE = PROJECT / "sample" / "landing"

# The shipped seed grid_configs names sample symbols (bybit BTCUSDT, ...) that the small
# test landings lack: their builds leave such rows out with a dbt warning
# (int_grid_configs_validated). The sample build below runs in the default, strict mode.
os.environ.setdefault("MARKET_REGIMES_GRID_UNKNOWN_SYMBOL", "warn")


def pytest_configure(config):
    """One dbt parse cache for the session's processes (tests/helpers.py,
    dbt_with_parse_cache): made by the controller before pytest-xdist starts its workers,
    which inherit the variable; removed at exit."""
    if os.environ.get(PARSE_CACHE_ENV) is None:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="mr-test-parse-")
        os.environ[PARSE_CACHE_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`make test` runs `-n 2 --dist loadgroup`), every test that reads
    the sample build runs on one worker and every test of the fixture build on another, so
    each session fixture is built once (and the add-a-market project copy on one of them);
    the rest is spread over both workers. tryfirst:
    xdist reads the xdist_group marks in its own pytest_collection_modifyitems, so the
    marks must be added before it runs (otherwise both workers build the sample)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "sample_db" in names:
            item.add_marker(pytest.mark.xdist_group("sample"))
        elif names & {"fixture_build", "built", "backfilled", "defs"}:
            item.add_marker(pytest.mark.xdist_group("fixture"))
        elif "user_project" in names:  # tests/integration/test_market_regimes.py's project copy
            item.add_marker(pytest.mark.xdist_group("user"))


def pytest_collection_finish(session):
    """Fail fast if xdist's loadgroup ignored the groups (as pytest 9.2 + xdist 3.8 did):
    each worker would then build the sample and the fixture again."""
    if not session.config.getoption("loadgroup", default=False):
        return
    lost = [i.nodeid for i in session.items if any(i.iter_markers("xdist_group")) and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup ignored the xdist_group of {len(lost)} tests, "
            f"e.g. {lost[0]}: check the pytest / pytest-xdist versions"
        )


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory):
    """The bundled sample built once into a temporary DuckDB file.

    MARKET_REGIMES_TEST_DB=<file> reuses a sample build made by `make run` instead
    (development only: the file must be a build of the current code)."""
    if os.environ.get("MARKET_REGIMES_TEST_DB"):
        return Path(os.environ["MARKET_REGIMES_TEST_DB"])
    root = tmp_path_factory.mktemp("sample")
    db = root / "sample.duckdb"
    mode = os.environ["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"]
    os.environ["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"] = "error"  # every shipped grid config is a sample symbol
    try:
        dbt("build", db, SAMPLE, root)
    finally:
        os.environ["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"] = mode
    return db


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory):
    """The hand-made fixture landing (tests/integration/fixture_landing.py) built once with
    `dbt build` into <root>/warehouse.duckdb, dbt's unit tests included (the only build of
    the suite that runs them): {"root", "landing", "db", "stdout"}. Tests
    that change the file work on a copy (re-landing the same landing is a no-op)."""
    from tests.integration.fixture_landing import write_fixture_landing

    root = tmp_path_factory.mktemp("fixture")
    landing = write_fixture_landing(root / "landing")
    db = root / "warehouse.duckdb"
    first = dbt("build", db, landing, root, unit_tests=True)  # the suite's one run of dbt's unit tests
    return {"root": root, "landing": landing, "db": db, "stdout": first.stdout}
