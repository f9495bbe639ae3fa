"""Unit tests of the ``market-regimes`` console script (market_regimes/cli.py) and the
modules behind it (market_regimes/current.py, market_regimes/export.py) on tiny
hand-made DuckDB files: no warehouse build needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from market_regimes import cli
from market_regimes.current import SECTIONS, current_regimes
from market_regimes.export import UnknownTableError, default_output, is_query, resolve_table

SCRIPT = Path(sys.executable).parent / "market-regimes"
runner = CliRunner()

LEVERS = pd.DataFrame(
    {
        "bar_start": pd.to_datetime(
            ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 00:00"]
        ),
        "execution_timeframe": ["1h", "1h", "1h", "1h", "1d"],
        "bucket": ["nano", "nano", "big", "big", "nano"],
        "a_value": [0.25, 0.5, 0.75, 1.0, 0.125],
        "e_value": [0.5, 0.25, 0.0, 0.125, 0.375],
        "position_size_frac": [0.225, 0.35, 0.475, 0.6, 0.1625],
        "is_degraded": [False, True, False, False, False],
        "n_used": [15, 14, 15, 15, 15],
        "n_stale": [0, 1, 0, 0, 0],
        "n_missing": [0, 0, 0, 0, 0],
    }
)

# driver, timeframe, bar_start, state, prev_state (NULL = a segment's first bar)
STATES = [
    ("BTC", "meso", "2024-01-01 00:00", "S1", None),
    ("BTC", "meso", "2024-01-01 01:00", "S2", "S1"),
    ("BTC", "meso", "2024-01-01 02:00", "S2", "S2"),
    ("BTC", "meso", "2024-01-01 03:00", "S2", "S2"),
    ("ALT", "meso", "2024-01-01 00:00", "S3", None),
    ("ALT", "meso", "2024-01-01 05:00", "S3", None),  # a new segment: the run restarts
    ("ALT", "meso", "2024-01-01 06:00", "S3", "S3"),
]


def make_tiny_warehouse(path: Path, with_states: bool = True) -> Path:
    """A DuckDB file with marts.fct_levers (LEVERS), marts.fct_uptrend_states (STATES),
    a reports table and a seed; no fct_market_regimes / fct_volatility_regimes."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema reports; create schema seeds")
        con.register("levers_df", LEVERS)
        con.execute("create table marts.fct_levers as select * from levers_df")
        con.execute("create table reports.rpt_x as select 1 as a")
        con.execute("create table seeds.regime_timeframes as select 'meso' as timeframe, '1h' as bar_interval")
        if with_states:
            frame = pd.DataFrame(STATES, columns=["driver", "timeframe", "bar_start", "state", "prev_state"])
            frame["bar_start"] = pd.to_datetime(frame["bar_start"])
            for flag in (
                "buy_flag",
                "first_dip_buy_flag",
                "rebuy_flag",
                "trim_flag",
                "emergency_exit",
                "exit_position",
            ):
                frame[flag] = False
            frame.loc[3, "trim_flag"] = True
            frame["exit_reason"] = None
            frame["ts_score"] = 0.5
            frame["s3_start_ts"] = pd.NaT
            con.register("states_df", frame)
            con.execute(
                "create table marts.fct_uptrend_states as select driver, timeframe, bar_start, state, "
                "prev_state, buy_flag, first_dip_buy_flag, rebuy_flag, trim_flag, emergency_exit, "
                "exit_position, cast(exit_reason as varchar) as exit_reason, ts_score, "
                "cast(s3_start_ts as timestamp) as s3_start_ts from states_df"
            )
    finally:
        con.close()
    return path


@pytest.fixture()
def tiny_db(tmp_path):
    return make_tiny_warehouse(tmp_path / "tiny.duckdb")


# --- help texts ------------------------------------------------------------------------------


def test_help_lists_every_command():
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    for command in ("build", "summary", "now", "export", "report", "compare", "backfill", "null-build"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["build", "summary", "now", "export", "null-build"])
def test_own_command_help(command):
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


@pytest.mark.parametrize("command, expected", [("report", "--max-intraday-bars"), ("compare", "--schemas")])
def test_pass_through_help_is_the_tools_own(command, expected):
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


def test_no_arguments_shows_help():
    result = runner.invoke(cli.app, [])
    assert "Usage" in result.output


# --- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_table_round_trip(tiny_db, tmp_path, fmt):
    out = tmp_path / f"levers.{fmt}"
    result = runner.invoke(
        cli.app, ["export", "fct_levers", "--format", fmt, "--output", str(out), "--db", str(tiny_db)]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(LEVERS)} rows written to {out}" in result.stdout
    back = pd.read_csv(out, parse_dates=["bar_start"]) if fmt == "csv" else pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, LEVERS, check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_query_round_trip(tiny_db, tmp_path, fmt):
    out = tmp_path / f"q.{fmt}"
    sql = "select bucket, sum(a_value) as a from marts.fct_levers group by bucket order by bucket;"
    result = runner.invoke(cli.app, ["export", sql, "-f", fmt, "-o", str(out), "--db", str(tiny_db)])
    assert result.exit_code == 0, result.output
    back = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert back.to_dict("list") == {"bucket": ["big", "nano"], "a": [1.75, 0.875]}


def test_export_query_flag_and_format_from_suffix(tiny_db, tmp_path):
    out = tmp_path / "q.csv"
    result = runner.invoke(cli.app, ["export", "--query", "  (select 1 as x)", "-o", str(out), "--db", str(tiny_db)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == ["x", "1"]


def test_export_qualified_report_and_seed(tiny_db, tmp_path):
    for name in ("reports.rpt_x", "regime_timeframes", "MARTS.FCT_LEVERS"):
        result = runner.invoke(cli.app, ["export", name, "-o", str(tmp_path / "x.parquet"), "--db", str(tiny_db)])
        assert result.exit_code == 0, (name, result.output)


def test_export_unknown_table_exits_2_listing_tables(tiny_db, tmp_path):
    result = runner.invoke(cli.app, ["export", "fct_nope", "-o", str(tmp_path / "x.csv"), "--db", str(tiny_db)])
    assert result.exit_code == 2
    assert "unknown table 'fct_nope'" in result.stderr
    assert "marts.fct_levers" in result.stderr and "reports.rpt_x" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_export_schema_outside_the_allowed_ones(tiny_db):
    con = duckdb.connect(str(tiny_db))
    con.execute("create schema staging; create table staging.s as select 1 as a")
    with pytest.raises(UnknownTableError):
        resolve_table(con, "staging.s")
    con.close()


def test_export_bad_query_exits_1(tiny_db, tmp_path):
    result = runner.invoke(cli.app, ["export", "select nonsense", "-o", str(tmp_path / "x.csv"), "--db", str(tiny_db)])
    assert result.exit_code == 1
    assert "export failed" in result.stderr


def test_export_bad_format(tiny_db):
    result = runner.invoke(cli.app, ["export", "fct_levers", "-f", "xlsx", "--db", str(tiny_db)])
    assert result.exit_code == 2


def test_export_helpers():
    assert is_query("SELECT 1") and is_query("\n with x as (select 1) select * from x") and is_query("(select 1)")
    assert not is_query("fct_levers") and not is_query("marts.select_me")
    assert default_output("marts.fct_levers", "parquet", Path("exports")) == Path("exports/fct_levers.parquet")
    assert default_output("query", "csv", Path("e")) == Path("e/query.csv")


def test_installed_script_exports(tiny_db, tmp_path):
    """The console script of pyproject's [project.scripts], run as a process."""
    out = tmp_path / "levers.parquet"
    proc = subprocess.run(
        [str(SCRIPT), "export", "marts.fct_levers", "--output", str(out), "--db", str(tiny_db)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"5 rows written to {out}" in proc.stdout
    assert len(pd.read_parquet(out)) == len(LEVERS)


# --- missing / locked warehouse ------------------------------------------------------------------


def test_null_build_without_hourly_klines_exits_2(tmp_path, monkeypatch):
    (tmp_path / "klines" / "binance").mkdir(parents=True)
    (tmp_path / "klines" / "binance" / "BTCUSDT_5m.csv").write_text("date,open,high,low,close,volume\n")
    monkeypatch.setenv("MARKET_REGIMES_LANDING", str(tmp_path))
    result = runner.invoke(cli.app, ["null-build", "--out", str(tmp_path / "null.parquet")])
    assert result.exit_code == 2
    assert "no hourly kline file" in result.stderr and str(tmp_path / "klines") in result.stderr
    assert not (tmp_path / "null.parquet").exists()


@pytest.mark.parametrize("args", [["now"], ["export", "fct_levers"], ["summary"]])
def test_missing_warehouse_is_one_clear_line(tmp_path, args, monkeypatch):
    missing = tmp_path / "nowhere.duckdb"
    monkeypatch.setenv("MARKET_REGIMES_DB", str(missing))
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert str(missing) in result.stderr and "make run" in result.stderr
    assert not missing.exists()


def test_db_option_beats_the_environment(tiny_db, monkeypatch, tmp_path):
    monkeypatch.setenv("MARKET_REGIMES_DB", str(tmp_path / "nowhere.duckdb"))
    assert runner.invoke(cli.app, ["now", "--db", str(tiny_db)]).exit_code == 0


def test_relative_env_db_is_relative_to_the_project(monkeypatch):
    monkeypatch.setenv("MARKET_REGIMES_DB", "warehouse/x.duckdb")
    assert cli.resolve_db(None) == cli.PROJECT_DIR / "warehouse" / "x.duckdb"
    monkeypatch.delenv("MARKET_REGIMES_DB")
    assert cli.resolve_db(None) == cli.PROJECT_DIR / "warehouse" / "market_regimes.duckdb"
    assert cli.resolve_db("rel.duckdb") == Path("rel.duckdb")


def test_locked_warehouse_message(tiny_db):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(tiny_db)!r})
        print("locked", flush=True)
        sys.stdin.read()
    """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = runner.invoke(cli.app, ["now", "--db", str(tiny_db)])
        assert result.exit_code == 2
        assert "locked by another process" in result.stderr and str(tiny_db) in result.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


# --- now / current_regimes ---------------------------------------------------------------------


def test_current_regimes_latest_rows_and_runs(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        frames = current_regimes(con)
    finally:
        con.close()
    assert list(frames) == [s.key for s in SECTIONS]
    for section in SECTIONS:
        assert list(frames[section.key].columns) == list(section.columns)
    states = frames["uptrend_states"].set_index("driver")
    assert list(frames["uptrend_states"]["driver"]) == ["BTC", "ALT"]  # display order
    assert states.loc["BTC", "state"] == "S2"
    assert states.loc["BTC", "bar_start"] == pd.Timestamp("2024-01-01 03:00")
    assert states.loc["BTC", "state_since"] == pd.Timestamp("2024-01-01 01:00")
    assert states.loc["BTC", "bars_in_state"] == 3
    assert states.loc["BTC", "bar_interval"] == "1h"
    assert states.loc["ALT", "state_since"] == pd.Timestamp("2024-01-01 05:00")  # the segment restart
    assert states.loc["ALT", "bars_in_state"] == 2
    levers = frames["levers"]
    assert list(zip(levers["bucket"], levers["execution_timeframe"])) == [("nano", "1h"), ("nano", "1d"), ("big", "1h")]
    assert list(levers["a_value"]) == [0.5, 0.125, 1.0]
    assert frames["market_regimes"].empty and frames["volatility_regimes"].empty


def test_now_json(tiny_db):
    result = runner.invoke(cli.app, ["now", "--json", "--db", str(tiny_db)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {s.key for s in SECTIONS}
    btc = data["uptrend_states"][0]
    assert btc["driver"] == "BTC" and btc["state"] == "S2"
    assert btc["bar_start"] == "2024-01-01T03:00:00Z" and btc["state_since"] == "2024-01-01T01:00:00Z"
    assert btc["trim_flag"] is True and btc["s3_start_ts"] is None and btc["bars_in_state"] == 3
    assert data["levers"][0]["is_degraded"] is True
    assert data["market_regimes"] == [] and data["volatility_regimes"] == []


def test_now_text(tiny_db):
    result = runner.invoke(cli.app, ["now", "--db", str(tiny_db)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "(marts.fct_uptrend_states, as of bar 2024-01-01 06:00 UTC)" in out
    assert "(marts.fct_levers, as of bar 2024-01-01 01:00 UTC)" in out
    assert "marts.fct_market_regimes is missing or empty" in out
    btc = next(line for line in out.splitlines() if line.startswith("BTC "))
    assert btc.split()[:5] == ["BTC", "meso", "1h", "2024-01-01", "03:00"] and "trim" in btc


def test_now_on_a_warehouse_without_marts(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    result = runner.invoke(cli.app, ["now", "--json", "--db", str(db)])
    assert result.exit_code == 0
    assert all(v == [] for v in json.loads(result.stdout).values())


# --- build progress ------------------------------------------------------------------------------


def test_format_duration():
    assert [cli.format_duration(s) for s in (0, 42.4, 112, 3725)] == ["0s", "42s", "1m52s", "1h02m"]


def test_previous_timings(tmp_path):
    path = tmp_path / "run_results.json"
    assert cli.previous_timings(path) == {}
    path.write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "a", "status": "success", "execution_time": 2.5},
                    {"unique_id": "b", "status": "skipped", "execution_time": 0.0},
                    {"unique_id": "c", "status": "error", "execution_time": 0.1},
                ]
            }
        )
    )
    assert cli.previous_timings(path) == {"a": 2.5}


def _event(name, uid, status="success"):
    return SimpleNamespace(
        info=SimpleNamespace(name=name),
        data=SimpleNamespace(
            node_info=SimpleNamespace(unique_id=uid, node_path="x.sql", node_relation=SimpleNamespace(schema="marts")),
            run_result=SimpleNamespace(status=status),
        ),
    )


def test_build_progress_lines_and_eta():
    now = [0.0]
    lines: list[str] = []
    stages = {"seed.a": "seeds", "model.m1": "marts", "model.slow": "marts", "model.r": "reports"}
    expected = {"seed.a": 10.0, "model.m1": 2.0, "model.slow": 40.0, "model.r": 1.0}
    progress = cli.BuildProgress(
        stages=stages,
        expected=expected,
        long_nodes={"model.slow"},
        labels={"model.slow": "marts.slow"},
        out=lines.append,
        clock=lambda: now[0],
    )
    assert progress.totals() == {"seeds": 1, "marts": 2, "reports": 1}
    progress.on_event(_event("NodeStart", "seed.a"))
    now[0] = 20.0  # twice as slow as last time
    progress.on_event(_event("NodeFinished", "seed.a"))
    assert lines[-1] == "[build] seeds 1/1 nodes, 20s elapsed, ETA ~1m26s (stage done)"  # (2 + 40 + 1) x 2
    progress.on_event(_event("NodeStart", "model.m1"))
    now[0] = 21.0
    progress.on_event(_event("NodeFinished", "model.m1"))
    assert len(lines) == 1  # throttled: not the end of a stage, < PROGRESS_EVERY_SECONDS since the last line
    progress.on_event(_event("NodeStart", "model.slow"))
    assert lines[-1] == "[build] marts.slow started, ETA ~40s (its time in the previous build)"
    now[0] = 69.0  # 52 s expected so far, 69 s taken: the last node (1 s last time) needs ~1.3 s
    progress.on_event(_event("NodeFinished", "model.slow"))
    assert lines[-1] == "[build] marts 2/2 nodes, 1m09s elapsed, ETA ~1s (stage done)"
    progress.on_event(_event("NodeFinished", "model.r"))
    assert lines[-1] == "[build] reports 1/1 nodes, 1m09s elapsed (stage done)"
    progress.on_event(_event("NodeFinished", "model.unlisted"))  # placed by its schema
    assert progress.stages["model.unlisted"] == "marts"


def test_build_progress_without_history_counts_nodes():
    now = [0.0]
    lines: list[str] = []
    progress = cli.BuildProgress(stages={f"m{i}": "staging" for i in range(4)}, out=lines.append, clock=lambda: now[0])
    now[0] = 10.0
    progress.on_event(_event("NodeFinished", "m0"))
    assert lines == ["[build] staging 1/4 nodes, 10s elapsed, ETA ~30s"]


def test_build_progress_quiet_prints_nothing():
    lines: list[str] = []
    progress = cli.BuildProgress(stages={"m": "marts"}, long_nodes={"m"}, out=lines.append, quiet=True)
    progress.on_event(_event("NodeStart", "m"))
    progress.on_event(_event("NodeFinished", "m"))
    assert lines == [] and progress.done == {"m"}


def test_node_stage_from_schema_path_and_tested_node():
    def node(kind, schema="", path="", parents=(), attached=None):
        return SimpleNamespace(
            resource_type=kind,
            schema=schema,
            path=path,
            depends_on=SimpleNamespace(nodes=list(parents)),
            attached_node=attached,
        )

    manifest = SimpleNamespace(
        nodes={
            "seed.s": node("seed", "seeds"),
            "model.raw": node("model", "raw"),
            "model.m": node("model", "marts"),
            "model.odd": node("model", "main", path="reports/odd.sql"),
            "test.t": node("test", "main_dbt_test__audit", parents=["seed.s", "model.m"]),
            "test.g": node("test", "main_dbt_test__audit", parents=["model.m", "seed.s"], attached="model.raw"),
        },
        unit_tests={"unit_test.u": node("unit_test", parents=["model.m"])},
        exposures={},
    )
    stages = {uid: cli.node_stage(uid, manifest) for uid in [*manifest.nodes, "unit_test.u", "nope"]}
    assert stages == {
        "seed.s": "seeds",
        "model.raw": "raw landing",
        "model.m": "marts",
        "model.odd": "reports",
        "test.t": "marts",
        "test.g": "raw landing",
        "unit_test.u": "marts",
        "nope": "other",
    }


def _isolate_environment(monkeypatch):
    """Let monkeypatch undo what prepare_environment sets in os.environ."""
    for key in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "MARKET_REGIMES_LANDING", "DO_NOT_TRACK", "MARKET_REGIMES_DB"):
        monkeypatch.delenv(key, raising=False)


def test_prepare_environment_keeps_what_is_set(monkeypatch):
    _isolate_environment(monkeypatch)
    monkeypatch.setenv("MARKET_REGIMES_DB", "/elsewhere.duckdb")
    cli.prepare_environment()
    assert os.environ["DBT_PROFILES_DIR"] == os.environ["DBT_PROJECT_DIR"] == str(cli.PROJECT_DIR)
    assert os.environ["MARKET_REGIMES_LANDING"] == "sample/landing" and os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["MARKET_REGIMES_DB"] == "/elsewhere.duckdb"


def test_build_refuses_a_locked_warehouse(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('locked', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        _isolate_environment(monkeypatch)
        monkeypatch.setenv("MARKET_REGIMES_DB", str(db))
        result = runner.invoke(cli.app, ["build"])
        assert result.exit_code == 2
        # one line naming the file and the holder's PID
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert f"close the readers of {db} (PID {holder.pid}, " in result.stderr
        assert "[build]" not in result.stdout  # refused before dbt started
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize("unit_tests", [False, True])
def test_build_leaves_out_dbt_unit_tests_unless_asked(tmp_path, monkeypatch, unit_tests):
    """`market-regimes build` runs dbt build with --exclude-resource-type unit_test (and lists
    the nodes without them); --unit-tests runs them too."""
    calls = []

    class FakeRunner:
        def __init__(self, manifest=None, callbacks=None):
            pass

        def invoke(self, args):
            calls.append(list(args))
            if args[0] == "parse":
                return SimpleNamespace(success=True, result=SimpleNamespace(nodes={}), exception=None)
            if args[0] == "ls":
                return SimpleNamespace(success=True, result=[], exception=None)
            return SimpleNamespace(success=True, result=SimpleNamespace(results=[]), exception=None)

    import dbt.cli.main

    _isolate_environment(monkeypatch)
    monkeypatch.setenv("MARKET_REGIMES_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setattr(dbt.cli.main, "dbtRunner", FakeRunner)
    monkeypatch.setattr(cli, "_release_warehouse", lambda: None)
    args = ["build", "--no-record", "--quiet"] + (["--unit-tests"] if unit_tests else [])
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    ls, build = (next(c for c in calls if c[0] == kind) for kind in ("ls", "build"))
    excluded = ["--exclude-resource-type", "unit_test"]
    pairs = [build[i : i + 2] for i in range(len(build) - 1)]
    assert (excluded in pairs) is not unit_tests
    rest = ls[ls.index("--resource-types") + 1 :]
    listed = rest[: next((i for i, a in enumerate(rest) if a.startswith("--")), len(rest))]
    assert ("unit_test" in listed) is unit_tests
    assert (excluded in [ls[i : i + 2] for i in range(len(ls) - 1)]) is not unit_tests
    assert "model" in listed and "test" in listed
