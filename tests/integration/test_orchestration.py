"""The Dagster code location: assets, partitions, schedules, sensor, the headless
backfill (equal to a plain dbt build, idempotent partitions) and `dagster dev` bound to
127.0.0.1 only."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

import duckdb
import psutil
import pytest
from dagster import (AssetKey, BackfillPolicy, DagsterInstance, RunRequest, build_schedule_context,
                     build_sensor_context)

from tests.helpers import MART_TABLES, PROJECT, compare_builds, dbt
from tests.integration.fixture_landing import write_fixture_landing

pytestmark = pytest.mark.integration
# the fixture landing spans 2024-01-01 .. 2025-06-01: fewer daily partitions, same code
PARTITION_START = "2023-12-31"
PARTITION_LAST = "2025-06-30"
ROLLUPS = [AssetKey(["intermediate", "int_symbol_bars_rolled_up"]),
           AssetKey(["intermediate", "int_dominance_bars_rolled_up"])]


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    # @dbt_assets reads target/manifest.json at import time: parse the project first.
    work = tmp_path_factory.mktemp("parse")
    dbt("parse", work / "unused.duckdb", PROJECT / "sample" / "landing", PROJECT)
    os.environ["MARKET_REGIMES_PARTITION_START"] = PARTITION_START
    for name in ("orchestration.defs.dbt_assets", "orchestration.defs.automation", "orchestration.definitions"):
        module = importlib.import_module(name)
        importlib.reload(module)  # partitions are read from the env at import
    return importlib.import_module("orchestration.definitions").defs


def test_definitions_load_with_every_model_and_seed(defs):
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    # asset keys are <schema>/<model>, as the tables are named in the warehouse
    expected_models = {"raw/klines", "raw/dominance_readings", "raw/daily_series", "raw/rejected_rows",
                       "raw/landing_files", "staging/stg_landing__klines", "intermediate/int_symbol_bars_rolled_up",
                       "intermediate/int_composite_bars_computed", "marts/fct_symbol_bars", "marts/fct_driver_bars",
                       "marts/dim_drivers", "reports/rpt_rollup_reconciliation", "seeds/drivers",
                       "seeds/token_buckets", "seeds/regime_timeframes"}
    assert expected_models <= keys
    assert {"landing/kline_files", "landing/snapshot_files", "landing/dominance_files", "landing/daily_files"} <= keys


def test_raw_models_depend_on_landing_assets(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["raw", "klines"])).parent_keys
    assert parents == {AssetKey(["landing", "kline_files"]), AssetKey(["landing", "snapshot_files"])}
    # the collectors write into the landing folders: collectors -> landing -> raw
    assert graph.get(AssetKey(["landing", "kline_files"])).parent_keys == {AssetKey(["collectors", "binance_klines"])}
    assert graph.get(AssetKey(["landing", "dominance_files"])).parent_keys == {
        AssetKey(["collectors", "coingecko_dominance"])}
    assert not graph.get(AssetKey(["landing", "daily_files"])).parent_keys


def test_dbt_tests_are_asset_checks(defs):
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("marts/fct_driver_bars", "unique_combination_fct_driver_bars_driver__timeframe__bar_start") in checks
    assert ("raw/landing_files", "unique_landing_files_content_hash") in checks
    assert len(checks) >= 60


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
    for name, status in (("micro_update", "STOPPED"), ("meso_update", "RUNNING"), ("macro_update", "RUNNING")):
        schedule = defs.resolve_schedule_def(name)
        assert schedule.default_status.value == status
        requests = list(schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=at)).run_requests)
        assert [r.tags["dagster/asset_partition_range_start"] for r in requests] == ["2024-01-02"]
        assert [r.tags["dagster/asset_partition_range_end"] for r in requests] == ["2024-01-03"]
    assert defs.resolve_schedule_def("meso_update").cron_schedule == "5 * * * *"


def test_landing_sensor_runs_once_per_directory_state(defs, tmp_path, monkeypatch):
    landing = write_fixture_landing(tmp_path / "landing")
    monkeypatch.setenv("MARKET_REGIMES_LANDING", str(landing))
    sensor = defs.resolve_sensor_def("landing_sensor")
    with DagsterInstance.ephemeral() as instance:
        first = sensor.evaluate_tick(build_sensor_context(instance=instance))
        [request] = first.run_requests
        assert isinstance(request, RunRequest) and request.tags["dagster/asset_partition_range_start"] == PARTITION_START
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
    env = {**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "MARKET_REGIMES_DB": str(db),
           "MARKET_REGIMES_LANDING": str(landing), "DBT_PROFILES_DIR": str(PROJECT), "DBT_PROJECT_DIR": str(PROJECT),
           "MARKET_REGIMES_PARTITION_START": PARTITION_START}
    # the fixture ends 2025-06-01: the partitions after it hold no bars
    proc = subprocess.run([sys.executable, "-m", "orchestration.backfill", "--last", PARTITION_LAST], env=env, cwd=PROJECT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return {"root": root, "db": db, "plain": plain, "env": env, "stderr": proc.stderr}


def _compare_marts(left, right, tables):
    con = duckdb.connect()
    con.execute(f"attach '{left}' (read_only)")
    con.execute(f"attach '{right}' (read_only)")
    try:
        return {t: compare_builds(con, left.stem, right.stem, t, keys)[:3] for t, keys in tables.items()}
    finally:
        con.close()


MARTS = {**MART_TABLES, "marts.fct_driver_indicators": ["driver", "timeframe", "bar_start"],
         "intermediate.int_symbol_bars_rolled_up": ["exchange", "symbol", "bar_interval", "bar_start"]}


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
        result = job.execute_in_process(partition_key="2024-01-01", asset_selection=ROLLUPS,
                                        instance=DagsterInstance.ephemeral())
        assert result.success
    rows = duckdb.connect(str(backfilled["db"]), read_only=True)
    try:
        n_day = rows.sql("select count(*) from intermediate.int_symbol_bars_rolled_up "
                         "where bar_start >= '2024-01-01' and bar_start < '2024-01-02'").fetchone()[0]
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


def test_dagster_dev_serves_on_loopback_only_and_stops_cleanly(defs, tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "MARKET_REGIMES_PARTITION_START": PARTITION_START}
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    proc = subprocess.Popen(["env", "--default-signal=INT,TERM", dagster, "dev", "-m", "orchestration.definitions",
                             "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, "dagster dev exited"
                assert time.time() < deadline, "dagster dev did not come up in 120 s"
                time.sleep(1)
        outside = _outside_address()
        if outside:
            with pytest.raises(OSError):
                socket.create_connection((outside, port), timeout=2).close()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "dagster dev runs its webserver and code server as children"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"left behind: {[p.info if hasattr(p, 'info') else p.pid for p in alive]}"


def test_asset_keys_match_the_snapshot(defs):
    """Snapshot of every asset key (tests/snapshots/asset_keys.txt): a renamed or dropped
    model or seed shows here. After an intended change, rewrite the file from
    `sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())`."""
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    expected = (PROJECT / "tests" / "snapshots" / "asset_keys.txt").read_text().split()
    assert keys == expected
