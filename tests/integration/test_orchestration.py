"""The Dagster code location: assets, partitions, schedules, sensor, the headless
backfill (equal to a plain dbt build, idempotent partitions) and `dagster dev` bound to
127.0.0.1 only."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import AssetKey, BackfillPolicy, DagsterInstance, RunRequest, build_schedule_context, build_sensor_context

from tests.helpers import MART_TABLES, PROJECT, compare_builds, dbt, query
from tests.integration.fixture_landing import write_fixture_landing
from tests.integration.test_dashboard import chromium  # noqa: F401  (session fixture: Chromium, installed when missing)

pytestmark = pytest.mark.integration
# the fixture landing spans 2024-01-01 .. 2025-06-01: fewer daily partitions, same code
PARTITION_START = "2023-12-31"
PARTITION_LAST = "2025-06-30"
ROLLUPS = [
    AssetKey(["intermediate", "int_symbol_bars_rolled_up"]),
    AssetKey(["intermediate", "int_dominance_bars_rolled_up"]),
]


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    # @dbt_assets reads target/manifest.json at import time: parse the project first.
    work = tmp_path_factory.mktemp("parse")
    dbt("parse", work / "unused.duckdb", PROJECT / "sample" / "landing", PROJECT)
    os.environ["MARKET_REGIMES_PARTITION_START"] = PARTITION_START
    for name in (
        "orchestration.defs.partitions",
        "orchestration.defs.dbt_assets",
        "orchestration.defs.automation",
        "orchestration.definitions",
    ):
        module = importlib.import_module(name)
        importlib.reload(module)  # partitions are read from the env at import
    return importlib.import_module("orchestration.definitions").defs


def test_definitions_load_with_every_model_and_seed(defs):
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    # asset keys are <schema>/<model>, as the tables are named in the warehouse
    expected_models = {
        "raw/klines",
        "raw/dominance_readings",
        "raw/daily_series",
        "raw/rejected_rows",
        "raw/landing_files",
        "staging/stg_landing__klines",
        "intermediate/int_symbol_bars_rolled_up",
        "intermediate/int_composite_bars_computed",
        "marts/fct_symbol_bars",
        "marts/fct_driver_bars",
        "marts/dim_drivers",
        "reports/rpt_rollup_reconciliation",
        "seeds/drivers",
        "seeds/token_buckets",
        "seeds/regime_timeframes",
    }
    assert expected_models <= keys
    assert {"landing/kline_files", "landing/snapshot_files", "landing/dominance_files", "landing/daily_files"} <= keys


def test_raw_models_depend_on_landing_assets(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["raw", "klines"])).parent_keys
    assert parents == {AssetKey(["landing", "kline_files"]), AssetKey(["landing", "snapshot_files"])}
    # the collectors write into the landing folders: collectors -> landing -> raw
    assert graph.get(AssetKey(["landing", "kline_files"])).parent_keys == {AssetKey(["collectors", "binance_klines"])}
    assert graph.get(AssetKey(["landing", "dominance_files"])).parent_keys == {
        AssetKey(["collectors", "coingecko_dominance"])
    }
    assert not graph.get(AssetKey(["landing", "daily_files"])).parent_keys


def test_dbt_tests_are_asset_checks(defs):
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("marts/fct_driver_bars", "unique_combination_fct_driver_bars_driver__timeframe__bar_start") in checks
    assert ("raw/landing_files", "unique_combination_landing_files_source_file__content_hash") in checks
    assert len(checks) >= 60


def test_every_asset_check_has_a_description(defs):
    specs = {spec.key: spec for assets in defs.assets if hasattr(assets, "check_specs") for spec in assets.check_specs}
    specs.update({spec.key: spec for check in defs.asset_checks for spec in check.check_specs})
    missing = sorted(k.to_user_string() for k, spec in specs.items() if not spec.description)
    assert len(specs) >= 60 and not missing, missing
    by_name = {
        k.name: spec.description for k, spec in specs.items() if k.asset_key == AssetKey(["marts", "dim_drivers"])
    }
    not_null = [name for name in by_name if name.startswith("not_null_columns_dim_drivers")]
    assert len(not_null) == 1, by_name
    assert by_name[not_null[0]] == (
        "dbt test not_null_columns: column driver is never NULL (severity error: blocks downstream assets)"
    )


def test_dbt_assets_are_grouped_by_warehouse_schema(defs):
    graph = defs.resolve_asset_graph()
    group = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    dbt_keys = {
        key.to_user_string()
        for assets in defs.assets
        if getattr(assets, "op", None) is not None and assets.op.name.startswith("market_regimes_")
        for key in assets.keys
    }
    assert len(dbt_keys) >= 50 and all(group[k] == k.split("/")[0] for k in dbt_keys)
    assert group["intermediate/int_symbol_bars_rolled_up"] == "intermediate"
    assert group["landing/kline_files"] == "landing" and group["reports/regimes_dashboard"] == "reports"
    assert set(group.values()) == {
        "seeds",
        "raw",
        "staging",
        "intermediate",
        "marts",
        "reports",
        "landing",
        "collectors",
    }


def test_rollups_are_daily_partitioned_with_single_run_backfills(defs):
    graph = defs.resolve_asset_graph()
    partitioned = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).partitions_def}
    assert partitioned == {key.to_user_string() for key in ROLLUPS}
    node = graph.get(ROLLUPS[0])
    assert node.backfill_policy == BackfillPolicy.single_run()
    keys = node.partitions_def.get_partition_keys(current_time=datetime(2024, 1, 3, 5, tzinfo=timezone.utc))
    assert keys[0] == PARTITION_START and keys[-1] == "2024-01-03"  # today's open day included


def test_schedules_target_yesterday_and_today(defs):
    at = datetime(2024, 1, 3, 5, 5, tzinfo=timezone.utc)
    for name in ("micro_update", "meso_update", "macro_update"):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.default_status.value == "STOPPED"  # nothing writes to the warehouse unasked
        requests = list(schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=at)).run_requests)
        assert [r.tags["dagster/asset_partition_range_start"] for r in requests] == ["2024-01-02"]
        assert [r.tags["dagster/asset_partition_range_end"] for r in requests] == ["2024-01-03"]
    assert defs.resolve_schedule_def("meso_update").cron_schedule == "5 * * * *"
    # the research reports run daily, not with every update
    assert defs.resolve_schedule_def("meso_update").job_name == "regime_update"
    assert defs.resolve_schedule_def("macro_update").job_name == "daily_update"


def test_updates_leave_the_research_reports_to_the_daily_job(defs):
    update = set(defs.resolve_job_def("regime_update").asset_layer.executable_asset_keys)
    daily = set(defs.resolve_job_def("daily_update").asset_layer.executable_asset_keys)
    reports = {k for k in daily if k.path[0] == "reports"}  # the dbt reports (the dashboard is its own asset)
    assert AssetKey(["reports", "rpt_grid_sim_placements"]) in reports and len(reports) >= 10
    # and the models only the reports read (dbt tag research_input)
    inputs = {
        AssetKey(["reports", name])
        for name in (
            "rpt_regime_labels_aligned",
            "rpt_regime_bars_listed",
            "rpt_lever_values_by_formula",
            "rpt_lever_composite_closes",
        )
    }
    seeds = {k for k in daily if k.path[0] == "seeds"}  # loaded by full builds and the daily job
    assert AssetKey(["seeds", "volatility_config"]) in seeds
    assert not update & (reports | inputs | seeds)
    assert AssetKey(["marts", "fct_grid_lifecycle"]) in update and update | reports | inputs | seeds == daily


def test_landing_sensor_runs_once_per_directory_state(defs, tmp_path, monkeypatch):
    landing = write_fixture_landing(tmp_path / "landing")
    monkeypatch.setenv("MARKET_REGIMES_LANDING", str(landing))
    sensor = defs.resolve_sensor_def("landing_sensor")
    with DagsterInstance.ephemeral() as instance:
        first = sensor.evaluate_tick(build_sensor_context(instance=instance))
        [request] = first.run_requests
        assert (
            isinstance(request, RunRequest) and request.tags["dagster/asset_partition_range_start"] == PARTITION_START
        )
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
        assert not again.run_requests and "no change" in again.skip_message
        (landing / "klines" / "binance" / ".tmp-partial.csv").write_text("date\n")  # hidden temp file: ignored
        assert not sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor)).run_requests
        (landing / "klines" / "binance" / "BTCUSDT_1h__next.csv").write_text("date,open,high,low,close,volume\n")
        changed = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
        assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != request.run_key


@pytest.fixture(scope="module")
def backfilled(defs, fixture_build, tmp_path_factory):
    """The fixture landing through `python -m orchestration.backfill` (file stem
    `backfill`) and through a plain `dbt build` (the session's fixture build)."""
    root = tmp_path_factory.mktemp("backfill")
    landing = fixture_build["landing"]
    plain = fixture_build["db"]
    db = root / "backfill.duckdb"
    # no DAGSTER_HOME: an ephemeral (in-memory) instance. A SQLite instance writes each of
    # the ~2 x 548 per-partition events in its own transactions (+2-3 min here).
    env = {
        **{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
        "MARKET_REGIMES_DB": str(db),
        "MARKET_REGIMES_LANDING": str(landing),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DBT_PROJECT_DIR": str(PROJECT),
        "MARKET_REGIMES_PARTITION_START": PARTITION_START,
    }
    # the fixture ends 2025-06-01: the partitions after it hold no bars
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.backfill", "--last", PARTITION_LAST],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    yield {"root": root, "db": db, "plain": plain, "env": env, "stderr": proc.stderr}
    shutil.rmtree(root, ignore_errors=True)  # free the disk for the next module


def _compare_marts(left, right, tables):
    con = duckdb.connect()
    con.execute(f"attach '{left}' (read_only)")
    con.execute(f"attach '{right}' (read_only)")
    try:
        return {t: compare_builds(con, left.stem, right.stem, t, keys)[:3] for t, keys in tables.items()}
    finally:
        con.close()


MARTS = {
    **MART_TABLES,
    "marts.fct_driver_indicators": ["driver", "timeframe", "bar_start"],
    "intermediate.int_symbol_bars_rolled_up": ["exchange", "symbol", "bar_interval", "bar_start"],
}


def test_backfill_equals_a_plain_dbt_build(backfilled):
    assert "asset checks, 0 failed" in backfilled["stderr"]
    for table, (unmatched, different, n) in _compare_marts(backfilled["plain"], backfilled["db"], MARTS).items():
        assert n > 0 and (unmatched, different) == (0, 0), f"{table}: {unmatched} unmatched, {different} different"


def test_rematerialising_a_partition_changes_nothing(defs, backfilled, monkeypatch):
    for key, value in backfilled["env"].items():
        monkeypatch.setenv(key, value)
    before = backfilled["root"] / "before.duckdb"
    shutil.copy(backfilled["db"], before)
    job = defs.resolve_job_def("regime_update")
    for _ in range(2):
        result = job.execute_in_process(
            partition_key="2024-01-01", asset_selection=ROLLUPS, instance=DagsterInstance.ephemeral()
        )
        assert result.success
    rows = duckdb.connect(str(backfilled["db"]), read_only=True)
    try:
        n_day = rows.sql(
            "select count(*) from intermediate.int_symbol_bars_rolled_up "
            "where bar_start >= '2024-01-01' and bar_start < '2024-01-02'"
        ).fetchone()[0]
    finally:
        rows.close()
    assert n_day > 0
    for table, (unmatched, different, n) in _compare_marts(before, backfilled["db"], MARTS).items():
        assert (unmatched, different) == (0, 0), f"{table}: {unmatched} unmatched, {different} different"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine (None when it has none)."""
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                return addr.address
    return None


def _graphql(port: int, query: str) -> dict:
    """POST one GraphQL query to the Dagster webserver; the ``data`` of the answer."""
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]


def _path_without_venv() -> str:
    """PATH minus the directory of this interpreter (the venv's bin): as in a shell where
    the venv was never activated."""
    venv_bin = os.path.dirname(sys.executable)
    return os.pathsep.join(
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and os.path.realpath(p) != os.path.realpath(venv_bin)
    )


@pytest.fixture(scope="module")
def dagster_ui(defs, fixture_build, tmp_path_factory):
    """`make ui` as the README says, from a shell whose PATH does not hold the venv, on a
    free port with a fresh DAGSTER_HOME and the fixture build as the warehouse (partitions
    from its first bar: MARKET_REGIMES_PARTITION_START unset). Yields {"port", "proc",
    "home"}; stopped (and checked for leftovers) by test_dagster_ui_stops_cleanly."""
    assert shutil.which("dbt", path=_path_without_venv()) is None, "a dbt on PATH would hide the bug"
    port = _free_port()
    home = tmp_path_factory.mktemp("dagster_home")
    env = {k: v for k, v in os.environ.items() if k not in ("MARKET_REGIMES_PARTITION_START", "VIRTUAL_ENV")}
    env.update(
        {
            "PATH": _path_without_venv(),
            "DAGSTER_HOME": str(home),
            "DAGSTER_PORT": str(port),
            "MARKET_REGIMES_DB": str(fixture_build["db"]),
            "MARKET_REGIMES_LANDING": str(fixture_build["landing"]),
        }
    )
    log = open(home / "make_ui.log", "w")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "ui"],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    state = {"port": port, "proc": proc, "home": home}
    try:
        deadline = time.time() + 180
        while True:
            try:
                data = _graphql(
                    port, "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus } } } }"
                )
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    break
            except OSError:
                pass
            assert proc.poll() is None, f"make ui exited: {(home / 'make_ui.log').read_text()[-3000:]}"
            assert time.time() < deadline, f"no loaded location in 180 s: {(home / 'make_ui.log').read_text()[-3000:]}"
            time.sleep(1)
        yield state
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_make_ui_loads_the_code_location_without_an_activated_venv(dagster_ui):
    data = _graphql(
        dagster_ui["port"],
        """{ workspaceOrError { ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""",
    )
    [entry] = data["workspaceOrError"]["locationEntries"]
    assert entry["name"] == "orchestration.definitions"
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
    # the dagster.yaml `make ui` wrote: no telemetry, no first-visit dialog
    assert "nux:\n  enabled: false" in (dagster_ui["home"] / "dagster.yaml").read_text()


def test_no_schedule_or_sensor_runs_unless_turned_on(dagster_ui):
    data = _graphql(
        dagster_ui["port"],
        """{ repositoriesOrError { ... on RepositoryConnection { nodes {
        schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }""",
    )
    [repo] = data["repositoriesOrError"]["nodes"]
    states = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    states.update({s["name"]: s["sensorState"]["status"] for s in repo["sensors"]})
    assert states == {
        "micro_update": "STOPPED",
        "meso_update": "STOPPED",
        "macro_update": "STOPPED",
        "landing_sensor": "STOPPED",
    }
    runs = _graphql(dagster_ui["port"], "{ runsOrError { ... on Runs { count } } }")
    assert runs["runsOrError"]["count"] == 0


def test_partitions_start_at_the_first_landed_bar(dagster_ui, fixture_build):
    first = query(
        fixture_build["db"], "select min(bar_start)::date::varchar as d from intermediate.int_symbol_bars_rolled_up"
    ).d[0]
    data = _graphql(
        dagster_ui["port"],
        """{ assetNodes(assetKeys: [{path: ["intermediate", "int_symbol_bars_rolled_up"]}])
        { groupName partitionKeys } }""",
    )
    [node] = data["assetNodes"]
    assert first == "2024-01-01" and node["partitionKeys"][0] == first and node["groupName"] == "intermediate"


def _page_text(chromium: str, url: str, profile: Path) -> tuple[str, str]:  # noqa: F811  (the fixture's value)
    """(DOM, visible text) of ``url`` after its scripts ran (headless Chromium, --dump-dom)."""
    from market_regimes.dashboard.browser import FLAGS

    # the dashboard's flags send every request, loopback included, to a dead proxy; here
    # loopback (the webserver) must stay reachable: Chromium's default bypass list keeps it
    flags = [f for f in FLAGS if not f.startswith("--proxy-bypass-list")]
    cmd = [
        chromium,
        *flags,
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert dom, f"chromium printed no DOM for {url}: {proc.stderr[-2000:]}"
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S))
    return dom, " ".join(text.split())


def _page_text_when(chromium: str, url: str, profile: Path, ready, attempts: int = 5) -> tuple[str, str]:  # noqa: F811  (the fixture's value)
    """`_page_text` again (fresh profile, 5 s apart) while the page shows only the UI's
    frame: on a loaded CI machine the graph's GraphQL answer can come after Chromium's
    virtual-time budget ran out (seen once: the sidebar held only the navigation). A page
    that rendered something else (an error, "Empty graph") is returned at once."""
    for attempt in range(attempts):
        dom, text = _page_text(chromium, url, profile.with_name(f"{profile.name}-{attempt}"))
        if ready(text) or attempt == attempts - 1:
            return dom, text
        time.sleep(5)
    raise AssertionError("unreachable")


def test_asset_graph_page_renders_without_an_error(dagster_ui, chromium, tmp_path):  # noqa: F811  (fixture)
    port = dagster_ui["port"]
    dom, text = _page_text_when(
        chromium,
        f"http://127.0.0.1:{port}/asset-groups",
        tmp_path / "p1",
        lambda t: "collectors" in t.split() or "Empty graph" in t or "Error" in t,
    )
    # the graph's sidebar lists every asset group; a location that failed to load shows "Empty graph"
    for group in ("collectors", "intermediate", "landing", "marts", "raw", "reports", "seeds", "staging"):
        assert group in text.split(), f"group {group} missing from the asset graph page: {text[:1500]}"
    assert "Empty graph" not in text and 'role="dialog"' not in dom and 'data-type="error"' not in dom
    _, locations = _page_text_when(
        chromium,
        f"http://127.0.0.1:{port}/deployment/locations",
        tmp_path / "p2",
        lambda t: "orchestration.definitions" in t,
    )
    assert "orchestration.definitions" in locations and "Loaded" in locations, locations[:1500]
    assert "Failed" not in locations and "View error" not in locations


def test_dagster_ui_serves_on_loopback_only(dagster_ui):
    outside = _outside_address()
    if outside:
        with pytest.raises(OSError):
            socket.create_connection((outside, dagster_ui["port"]), timeout=2).close()
    children = psutil.Process(dagster_ui["proc"].pid).children(recursive=True)
    assert len(children) >= 2, "make runs dagster dev, which runs its webserver and code server as children"


def test_dagster_ui_stops_cleanly(dagster_ui):
    proc = dagster_ui["proc"]
    children = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal that ran `make ui`
    proc.wait(timeout=90)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"left behind: {[p.pid for p in alive]}"


def test_asset_keys_match_the_snapshot(defs):
    """Snapshot of every asset key (tests/snapshots/asset_keys.txt): a renamed or dropped
    model or seed shows here. After an intended change, rewrite the file from
    `sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())`."""
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    expected = (PROJECT / "tests" / "snapshots" / "asset_keys.txt").read_text().split()
    assert keys == expected


def test_a_dbt_build_outside_dagster_is_recorded_as_materialisations(defs, fixture_build, monkeypatch):
    """`market-regimes build` runs dbt directly and then records what it built
    (orchestration/record.py): the fixture build's run_results, recorded twice into one
    instance, give one materialisation per built model/seed, one per partition (only the
    first time) and one check evaluation per test, with dbt's pass/fail."""
    from orchestration.record import record_dbt_build

    results = json.loads((fixture_build["root"] / "target" / "run_results.json").read_text())
    built = [
        r for r in results["results"] if r["status"] == "success" and r["unique_id"].split(".")[0] in ("model", "seed")
    ]
    graph = defs.resolve_asset_graph()
    # a dbt test is an asset check when it tests one asset (a singular test over several
    # models, or a relationships test between two seeds' ops, is not)
    check_ids = {
        spec.metadata["dagster_dbt/unique_id"]
        for assets in defs.assets
        for spec in getattr(assets, "check_specs", ())
        if "dagster_dbt/unique_id" in spec.metadata
    }
    tests = [r for r in results["results"] if r["unique_id"] in check_ids]
    assert len(tests) >= 50
    n_partitions = len(graph.get(ROLLUPS[0]).partitions_def.get_partition_keys())
    rollups = sum(r["unique_id"].endswith(("int_symbol_bars_rolled_up", "int_dominance_bars_rolled_up")) for r in built)
    with DagsterInstance.ephemeral() as instance:
        first = record_dbt_build(fixture_build["root"] / "target" / "run_results.json", instance)
        assert (first.materializations, first.partitions, first.checks) == (
            len(built) - rollups,
            rollups * n_partitions,
            len(tests),
        )
        assert instance.get_materialized_partitions(ROLLUPS[0]) == set(
            graph.get(ROLLUPS[0]).partitions_def.get_partition_keys()
        )
        again = record_dbt_build(fixture_build["root"] / "target" / "run_results.json", instance)
        assert (again.materializations, again.partitions, again.checks) == (len(built) - rollups, 0, len(tests))
        # (other tests rebuild into the fixture's target dir: fct_driver_bars is in every build)
        event = instance.get_latest_materialization_event(AssetKey(["marts", "fct_driver_bars"]))
        assert event.asset_materialization.metadata["dbt_unique_id"].value == "model.market_regimes.fct_driver_bars"
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [
                next(
                    k
                    for k in graph.asset_check_keys
                    if k.name == "unique_combination_fct_driver_bars_driver__timeframe__bar_start"
                )
            ]
        )
        [execution] = check.values()
        assert execution.status.value == "SUCCEEDED"


def test_recorded_partition_window_follows_the_dbt_vars():
    from orchestration.record import _window_keys

    keys = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert _window_keys(keys, {}) == keys
    assert _window_keys(keys, {"partition_start": "2024-01-02 00:00:00", "partition_end": "2024-01-04 00:00:00"}) == [
        "2024-01-02",
        "2024-01-03",
    ]
    assert _window_keys(keys, {"partition_start": "2024-01-02 12:00:00", "partition_end": "2024-01-03 06:00:00"}) == [
        "2024-01-02",
        "2024-01-03",
    ]


def test_a_partition_window_of_part_of_a_day_is_refused_for_day_partitions(tmp_path):
    """On Spark the day-partitioned rollups drop and overwrite whole UTC days
    (macros/utils/partition_window.sql): partition_window_days refuses a window that does not
    run from midnight to midnight, naming it (the Dagster partitions always do)."""
    window = "{partition_start: '2025-06-28 06:00:00', partition_end: '2025-07-01 00:00:00'}"
    with pytest.raises(AssertionError) as failed:
        dbt(
            "run-operation",
            tmp_path / "unused.duckdb",
            PROJECT / "sample" / "landing",
            tmp_path,
            window,
            ["partition_window_days"],
        )
    assert (
        "partition window 2025-06-28 06:00:00 to 2025-07-01 00:00:00: the day partitions need a window of whole UTC days"
        in str(failed.value)
    )


def test_partition_start_is_read_from_the_warehouse_and_remembered(fixture_build, tmp_path, monkeypatch):
    from orchestration.defs.partitions import DEFAULT_START, partition_start

    monkeypatch.delenv("MARKET_REGIMES_PARTITION_START", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    db = fixture_build["db"]
    assert partition_start(db) == "2024-01-01"
    assert json.loads((tmp_path / "partition_start.json").read_text()) == {str(db): "2024-01-01"}
    lock = duckdb.connect(str(db))  # a build holds the file: the remembered date answers
    try:
        assert partition_start(db) == "2024-01-01"
    finally:
        lock.close()
    assert partition_start(tmp_path / "missing.duckdb") == DEFAULT_START
    monkeypatch.setenv("MARKET_REGIMES_PARTITION_START", "2024-03-05")
    assert partition_start(db) == "2024-03-05"


def test_spark_location_runs_the_engine_job_between_its_dbt_steps(defs):
    """orchestration/spark_definitions.py (docs/scale-out.md): each ported engine is an asset of
    its own, keyed as dbt keys the model, between the dbt build of the SQL models it reads and
    the one of the SQL models after it; the models after an engine without a Spark job are not
    assets there (the Python research reports); the day-partitioned rollups are on the
    daily partitions as in the DuckDB location; fct_regime_events, which
    reads the uptrend, volatility and trend x vol regimes, is built after the jobs; every dbt
    step runs on the spark target."""
    spark = importlib.reload(importlib.import_module("orchestration.spark_definitions"))
    graph = spark.defs.resolve_asset_graph()
    engine = AssetKey(["intermediate", "int_grid_ranges_walked"])
    node = graph.get(engine)
    assert {k.to_user_string() for k in node.parent_keys} == {
        "intermediate/int_grid_engine_bars_selected",
        "seeds/grid_config",
    }
    assert AssetKey(["marts", "fct_grid_ranges"]) in node.child_keys
    ops = {key.to_user_string(): a.node_def.name for a in spark.defs.assets for key in a.keys}
    assert ops["intermediate/int_grid_ranges_walked"] == "intermediate__int_grid_ranges_walked"
    assert ops["intermediate/int_grid_engine_bars_selected"] == "spark_sql_upstream"
    # the seeds and what the rollups read first; the rollups on the daily partitions (tables
    # partitioned by day on Spark); then the other SQL models up to the engines
    assert ops["seeds/grid_config"] == ops["staging/stg_landing__klines"] == "spark_sql_before_rollups"
    partitioned = {key.to_user_string() for a in spark.defs.assets if a.partitions_def is not None for key in a.keys}
    assert partitioned == {"intermediate/int_symbol_bars_rolled_up", "intermediate/int_dominance_bars_rolled_up"}
    assert {ops[key] for key in partitioned} == {"spark_sql_rollups"}
    assert ops["marts/fct_grid_regimes"] == ops["marts/fct_grid_ranges"] == "spark_sql_after_engines"
    assert {ops[f"raw/{t}"] for t in ("klines", "daily_series", "dominance_readings")} == {"spark_landing_ledgers"}
    uptrend = graph.get(AssetKey(["marts", "fct_uptrend_states"]))
    assert {k.to_user_string() for k in uptrend.parent_keys} == {
        "intermediate/int_indicator_series_listed",
        "intermediate/int_indicator_bars_prepared",
        "intermediate/int_indicators_smoothed",
        "intermediate/int_indicators_windowed",
        "marts/fct_driver_bars",
        "seeds/uptrend_config",
    }
    assert ops["marts/fct_uptrend_states"] == "marts__fct_uptrend_states"
    assert ops["marts/fct_driver_bars"] == "spark_sql_upstream"
    assert ops["marts/fct_regime_deltas"] == ops["marts/fct_levers"] == "spark_sql_after_engines"
    # the volatility regimes' job reads the symbol turbulence's table: both jobs, in that order
    volatility = graph.get(AssetKey(["marts", "fct_volatility_regimes"]))
    assert AssetKey(["marts", "fct_symbol_turbulence"]) in volatility.parent_keys
    assert ops["marts/fct_volatility_regimes"] == "marts__fct_volatility_regimes"
    assert ops["marts/fct_symbol_turbulence"] == "marts__fct_symbol_turbulence"
    assert ops["marts/fct_strategy_fit"] == "marts__fct_strategy_fit"
    # the trend x vol regimes' job: its SQL inputs and seed before it, the regime events after it
    market = graph.get(AssetKey(["marts", "fct_market_regimes"]))
    assert {k.to_user_string() for k in market.parent_keys} == {
        "intermediate/int_market_days_prepared",
        "staging/stg_landing__daily_series_days",
        "seeds/trend_vol_markets",
    }
    assert ops["marts/fct_market_regimes"] == "marts__fct_market_regimes"
    assert ops["intermediate/int_market_days_prepared"] == "spark_sql_upstream"
    assert ops["seeds/trend_vol_markets"] == "spark_sql_before_rollups"
    assert AssetKey(["marts", "fct_regime_events"]) in market.child_keys
    assert ops["marts/fct_regime_events"] == "spark_sql_after_engines"
    assert (
        ops["reports/rpt_regime_labels_aligned"] == ops["reports/rpt_regime_transitions"] == "spark_sql_after_engines"
    )
    # the grid lifecycle's job reads a model of the first "after engines" op; the models after
    # it are built by an op of their own (the op graph has no cycle)
    lifecycle = graph.get(AssetKey(["marts", "fct_grid_lifecycle"]))
    assert {k.to_user_string() for k in lifecycle.parent_keys} == {
        "marts/fct_grid_lifecycle_bars",
        "intermediate/int_grid_configs_validated",
        "seeds/grid_lifecycle_config",
    }
    assert ops["marts/fct_grid_lifecycle"] == "marts__fct_grid_lifecycle"
    assert ops["marts/fct_grid_lifecycle_bars"] == "spark_sql_after_engines"
    assert (
        ops["marts/fct_exit_states"]
        == ops["marts/fct_restart_gates"]
        == ops["marts/fct_grid_recommendations"]
        == "spark_sql_after_second_wave"
    )
    for absent in (
        "reports/rpt_grid_exit_events",
        "reports/rpt_grid_range_outcomes",
        "reports/rpt_lever_outcomes",
        "reports/rpt_regime_findings",
    ):
        assert absent not in ops
    assert spark.defs.resources["dbt"].target == "spark"
