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


# models the shared update (sample_updated) runs incrementally; rows are counted before it
UPDATED_MODELS = (
    "fct_uptrend_states",
    "fct_regime_deltas",
    "fct_lever_contributions",
    "fct_levers",
    "fct_symbol_turbulence",
    "fct_volatility_regimes",
    "fct_strategy_fit",
)
# an old stored row of each of these marked (set to -1) before the update: a rebuild would
# restore it, an incremental run must leave it alone (the original value is put back after)
UPDATE_MARKS = {
    "fct_uptrend_states": ("ts_score", "driver = 'BTC' and timeframe = 'meso' and bar_start = '2022-01-03 00:00'"),
    "fct_levers": ("a_value", "bucket = 'small' and execution_timeframe = '1h' and bar_start = '2022-01-03 00:00'"),
}


@pytest.fixture(scope="session")
def sample_updated(sample_db, tmp_path_factory):
    """The sample build after one incremental update, shared by the incremental tests of the
    levers and of the volatility models (one copy of the sample build, one dbt run instead of
    one per module): the exchange's next export is landed (market_regimes.landing.synthetic.
    write_next_candles: every live series advanced one day, 24 hourly bars and a daily bar)
    and ``dbt run --select +fct_levers +fct_volatility_regimes +fct_strategy_fit`` runs on a copy
    of the sample build. Returns {"db": the updated copy (the sample build's file stem: dbt-duckdb
    views name their catalog by it), "landing", "before"/"after": rows per UPDATED_MODELS,
    "marks": the UPDATE_MARKS values after the run (-1 when left alone), "log": dbt's output}.
    Tests must leave the file as they found it (work on a copy or roll back)."""
    import shutil

    import duckdb

    from market_regimes.landing.synthetic import write_next_candles
    from tests.helpers import query

    work = tmp_path_factory.mktemp("sample_updated")
    landing = work / "landing"
    shutil.copytree(SAMPLE, landing)
    db = work / "inc" / sample_db.name
    db.parent.mkdir()
    shutil.copy(sample_db, db)

    def counts() -> dict[str, int]:
        return {m: int(query(db, f"select count(*) as n from marts.{m}")["n"][0]) for m in UPDATED_MODELS}

    def set_marks(values: dict[str, object]) -> dict[str, object]:
        """Sets each marked row's column to values[model]; returns the values it held."""
        con = duckdb.connect(str(db))
        held = {}
        for model, (column, where) in UPDATE_MARKS.items():
            held[model] = con.execute(f"select {column} from marts.{model} where {where}").fetchone()[0]
            con.execute(f"update marts.{model} set {column} = ? where {where}", [values[model]])
        con.close()
        return held

    before = counts()
    originals = set_marks(dict.fromkeys(UPDATE_MARKS, -1))
    written = write_next_candles(landing, minutes=1440, tag="u001")
    # the five live Bybit 5m series (test_sample_build): nothing else is live on the sample
    assert sorted(p.name for p in written) == [f"{s}USDT_5m__u001.csv" for s in ("BNB", "BTC", "ETH", "SOL", "XRP")]
    run = dbt(
        "run", db, landing, work, extra=["--select", "+fct_levers", "+fct_volatility_regimes", "+fct_strategy_fit"]
    )
    marks = set_marks(originals)
    yield {"db": db, "landing": landing, "before": before, "after": counts(), "marks": marks, "log": run.stdout}
    shutil.rmtree(work, ignore_errors=True)
