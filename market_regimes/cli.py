"""The ``market-regimes`` console script: build, inspect and export the regime warehouse.

Subcommands (``market-regimes COMMAND --help`` for each):

- ``build``     ``dbt build`` of the project in-process, with one progress line per stage
- ``summary``   what a build put in the warehouse
- ``now``       the current regimes: latest state / levers / regime of every series
- ``analyze``   everything about a symbol or driver at a moment (--at) or over a range (--from/--to)
- ``export``    a table or a SELECT query to CSV or Parquet
- ``report``    the HTML dashboard (options of ``python -m market_regimes.dashboard``)
- ``compare``   two warehouse builds table by table (``python -m market_regimes.compare``)
- ``backfill``  the Dagster asset graph headless (``python -m orchestration.backfill``)
- ``null-build`` the grid research's random-walk null (SHUF): the pipeline over
  shuffled-return surrogates, its report inputs written for rpt_grid_range_outcomes

Paths: ``--db PATH`` is relative to the working directory; without it the warehouse is
``$MARKET_REGIMES_DB``, else ``warehouse/market_regimes.duckdb``, both relative to the
project directory (the folder with dbt_project.yml), as dbt's profile resolves them.
Exit codes: 0 success; 1 a failed build / comparison / report; 2 bad arguments, a
missing or locked warehouse file, an unknown table, a symbol / moment ``analyze`` cannot answer.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from market_regimes.settings import DB_ENV, DEFAULT_DB, DEFAULT_LANDING, LANDING_ENV, PROJECT_DIR

DB_HELP = f"DuckDB warehouse (default: ${DB_ENV} or {DEFAULT_DB})."
EXPORT_DIR = "exports"

# Build stages in dbt's order; a node's stage comes from its schema (models) or folder.
STAGES = ("seeds", "raw landing", "staging", "intermediate", "marts", "reports")
OTHER_STAGE = "other"
_SCHEMA_STAGES = {
    "seeds": "seeds",
    "raw": "raw landing",
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
    "reports": "reports",
}
# Resource types `dbt build` runs (an exposure is a no-op node of the build). dbt's unit tests
# (the models' SQL on given rows, not the data) only with --unit-tests: as dbt Labs recommends,
# a production build leaves them out (~7 s of the sample's build) and CI runs them (make test).
BUILD_RESOURCE_TYPES = ("model", "seed", "snapshot", "test", "exposure")
UNIT_TESTS = "unit_test"
# A node gets a "started" line (with its expected duration) when it took at least
# LONG_NODE_SECONDS in the previous build, or is a Python model that took at least
# LONG_PYTHON_SECONDS (or has no previous timing).
LONG_NODE_SECONDS = 10.0
LONG_PYTHON_SECONDS = 3.0
# At most one progress line per this many seconds (besides stage-complete lines).
PROGRESS_EVERY_SECONDS = 10.0
# dbt result statuses -> the four counts of the final line.
_STATUS_COUNT = {
    "success": "pass",
    "pass": "pass",
    "no-op": "pass",
    "warn": "warn",
    "error": "error",
    "fail": "error",
    "runtime error": "error",
    "skipped": "skip",
    "partial success": "error",
}

app = typer.Typer(
    name="market-regimes",
    help="Build, inspect and export the market-regimes warehouse (DuckDB + dbt + Dagster).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: paragraphs re-wrapped to the terminal width
)

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


class CliError(Exception):
    """An error the CLI reports as one line on stderr, exiting with ``code`` (default 2)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- environment


def prepare_environment(project_dir: Path = PROJECT_DIR) -> None:
    """Set what ``make`` exports, where unset: DBT_PROFILES_DIR and DBT_PROJECT_DIR =
    ``project_dir``, MARKET_REGIMES_DB = warehouse/market_regimes.duckdb,
    MARKET_REGIMES_LANDING = sample/landing (both relative to the project directory),
    DO_NOT_TRACK = 1. Modifies ``os.environ`` in place; returns nothing."""
    for key, value in (
        ("DBT_PROFILES_DIR", str(project_dir)),
        ("DBT_PROJECT_DIR", str(project_dir)),
        (DB_ENV, DEFAULT_DB),
        (LANDING_ENV, DEFAULT_LANDING),
        ("DO_NOT_TRACK", "1"),
    ):
        if not os.environ.get(key):
            os.environ[key] = value


def resolve_db(db: str | os.PathLike | None = None) -> Path:
    """The warehouse file: ``db`` as given (relative to the working directory), else
    $MARKET_REGIMES_DB, else warehouse/market_regimes.duckdb (both relative to the project
    directory). The file need not exist."""
    if db:
        return Path(db)
    chosen = Path(os.environ.get(DB_ENV) or DEFAULT_DB)
    return chosen if chosen.is_absolute() else PROJECT_DIR / chosen


def _lock_holder(exc: Exception) -> str:
    """'PID n, program' from DuckDB's lock error ('... lock is held in <program> (PID n)'), else
    'another process'."""
    found = re.search(r"held in (.*?) \(PID (\d+)\)", str(exc))
    return f"PID {found.group(2)}, {found.group(1)}" if found else "another process"


def _locked_message(path: Path, exc: Exception, writing: bool = False) -> str:
    """One line saying who holds ``path`` and what to do: a build (``writing``) needs every
    reader closed; a reader waits for the build or works on a copy."""
    if writing:
        return (
            f"error: close the readers of {path} ({_lock_holder(exc)}: a dashboard, notebook, SQL client "
            f"or another build) and run again; DuckDB lets one process write a file, with no other process "
            f"holding it open"
        )
    return (
        f"error: {path} is locked by another process ({_lock_holder(exc)}; a build is probably writing it): "
        f"wait until it ends, or copy the file and use --db on the copy"
    )


def connect_read_only(path: Path):
    """Open the DuckDB warehouse at ``path`` read-only; the caller closes it.

    Raises:
        CliError (code 2): no file at ``path`` (the message suggests ``make run``), another
            process holds DuckDB's write lock, or the file is not a DuckDB database.
    """
    import duckdb

    if not Path(path).is_file():
        raise CliError(f"error: no warehouse file at {path} (build it with `make run` or `market-regimes build`)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise CliError(_locked_message(path, exc)) from exc
        raise CliError(f"error: cannot open {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise CliError(f"error: cannot open {path}: {exc}") from exc


@contextlib.contextmanager
def warehouse(db: str | os.PathLike | None) -> Iterator[Any]:
    """A read-only connection to :func:`resolve_db` ``(db)``, closed on exit.

    Raises CliError as :func:`connect_read_only`."""
    con = connect_read_only(resolve_db(db))
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _in_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _run_cli_main(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """Call an argparse-based ``main(argv)``; its SystemExit (``--help``, bad arguments)
    becomes the return code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if exc.code is not None and not isinstance(exc.code, int):
            _err(str(exc.code))
    return int(code or 0)


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


# --------------------------------------------------------------------------- build


def format_duration(seconds: float) -> str:
    """``42s``, ``1m52s``, ``1h03m`` (seconds rounded to whole seconds)."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def previous_timings(run_results: Path) -> dict[str, float]:
    """Execution time in seconds per node unique_id from a dbt ``run_results.json`` (the
    previous build); {} when the file is missing or unreadable. Skipped nodes are left out."""
    try:
        data = json.loads(Path(run_results).read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for r in data.get("results", []):
        if r.get("status") not in ("skipped", "error") and isinstance(r.get("execution_time"), (int, float)):
            out[r["unique_id"]] = float(r["execution_time"])
    return out


def node_stage(unique_id: str, manifest: Any) -> str:
    """The build stage (one of :data:`STAGES`, else ``"other"``) of a node of a dbt
    Manifest: seeds; models by schema (raw -> "raw landing", staging, intermediate,
    marts, reports) or else their folder; tests, unit tests and exposures by the latest
    stage of the nodes they test / use."""
    node = (
        manifest.nodes.get(unique_id)
        or getattr(manifest, "unit_tests", {}).get(unique_id)
        or getattr(manifest, "exposures", {}).get(unique_id)
    )
    if node is None:
        return OTHER_STAGE
    kind = str(getattr(node, "resource_type", ""))
    kind = kind.rsplit(".", 1)[-1].lower()
    if kind == "seed":
        return "seeds"
    if kind in ("test", "unit_test", "exposure"):
        parents = [p for p in getattr(getattr(node, "depends_on", None), "nodes", []) or [] if p != unique_id]
        attached = getattr(node, "attached_node", None)
        if attached:
            parents = [attached]
        stages = [node_stage(p, manifest) for p in parents if p in manifest.nodes]
        ranked = [s for s in stages if s in STAGES]
        return max(ranked, key=STAGES.index) if ranked else (stages[0] if stages else OTHER_STAGE)
    schema = str(getattr(node, "schema", "") or "")
    stage = _SCHEMA_STAGES.get(schema.rsplit("_", 1)[-1]) or _SCHEMA_STAGES.get(schema)
    if stage:
        return stage
    first = str(getattr(node, "path", "") or "").replace("\\", "/").split("/", 1)[0]
    return _SCHEMA_STAGES.get(first, OTHER_STAGE)


@dataclass
class BuildProgress:
    """Follows dbt's events (``on_event`` is the dbtRunner callback) and prints progress.

    stages: unique_id -> stage of every selected node; expected: unique_id -> seconds of
    the previous build; long_nodes: unique_ids that get a "started" line; out: the line
    printer; clock: seconds (monotonic). Lines:
    ``[build] marts 14/31 nodes, 1m52s elapsed, ETA ~40s`` (at most one per
    PROGRESS_EVERY_SECONDS, and whenever a stage completes) and
    ``[build] marts.fct_volatility_regimes started, ETA ~29s (its time in the previous
    build)``. ``started``: the clock value at which the build began (default: now).
    """

    stages: dict[str, str]
    expected: dict[str, float] = field(default_factory=dict)
    long_nodes: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)
    out: Callable[[str], None] = print
    quiet: bool = False
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    done: set[str] = field(default_factory=set)
    last_line: float = field(default=-math.inf)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()
        known = sorted(self.expected[u] for u in self.stages if u in self.expected)
        self._default = known[len(known) // 2] if known else 1.0
        self._has_history = bool(known)

    def totals(self) -> dict[str, int]:
        """Selected nodes per stage, in stage order."""
        counts: dict[str, int] = {}
        for stage in (*STAGES, OTHER_STAGE):
            n = sum(1 for s in self.stages.values() if s == stage)
            if n:
                counts[stage] = n
        return counts

    def _expect(self, uid: str) -> float:
        return self.expected.get(uid, self._default)

    def eta(self) -> float | None:
        """Seconds left for the whole build, or None before any node finished: the
        expected time of the nodes left (previous build) scaled by how fast this build runs
        compared with the previous one; without a previous build, by node count."""
        elapsed = self.clock() - self.started
        if not self.done:
            return None
        left = [u for u in self.stages if u not in self.done]
        if self._has_history:
            done_expected = sum(self._expect(u) for u in self.done if u in self.stages)
            speed = elapsed / done_expected if done_expected > 5 else 1.0
            return sum(self._expect(u) for u in left) * min(max(speed, 0.25), 4.0)
        return elapsed / len(self.done) * len(left)

    def line(self, stage: str) -> str:
        """The progress line of ``stage`` now."""
        total = sum(1 for s in self.stages.values() if s == stage)
        done = sum(1 for u in self.done if self.stages.get(u) == stage)
        text = f"[build] {stage} {done}/{total} nodes, {format_duration(self.clock() - self.started)} elapsed"
        eta = self.eta()
        if eta is not None and len(self.done) < len(self.stages):
            text += f", ETA ~{format_duration(eta)}"
        return text

    def on_event(self, event: Any) -> None:
        """dbtRunner callback: NodeStart prints a line for a long node, NodeFinished a
        progress line (throttled; always when the node completes its stage)."""
        name = event.info.name
        if name not in ("NodeStart", "NodeFinished"):
            return
        info = event.data.node_info
        uid = info.unique_id
        with self._lock:
            if uid not in self.stages:  # a node the listing missed: place it by schema / path
                schema = getattr(getattr(info, "node_relation", None), "schema", "") or ""
                self.stages[uid] = _SCHEMA_STAGES.get(schema) or _SCHEMA_STAGES.get(
                    str(info.node_path).split("/", 1)[0], OTHER_STAGE
                )
            if self.quiet:
                if name == "NodeFinished":
                    self.done.add(uid)
                return
            if name == "NodeStart":
                if uid in self.long_nodes:
                    label = self.labels.get(uid) or uid.split(".", 2)[-1]
                    if uid in self.expected:
                        self.out(
                            f"[build] {label} started, ETA ~{format_duration(self.expected[uid])} "
                            f"(its time in the previous build)"
                        )
                    else:
                        self.out(f"[build] {label} started (no previous timing)")
                return
            self.done.add(uid)
            stage = self.stages[uid]
            stage_done = all(u in self.done for u, s in self.stages.items() if s == stage)
            now = self.clock()
            if stage_done or now - self.last_line >= PROGRESS_EVERY_SECONDS:
                self.out(self.line(stage) + (" (stage done)" if stage_done else ""))
                self.last_line = now


def _split_selectors(values: list[str] | None) -> list[str]:
    return [token for v in values or [] for token in v.split()]


def _check_not_locked(db: Path) -> None:
    """Raise CliError when another process holds the write lock of an existing ``db``."""
    import duckdb

    if not db.is_file():
        return
    try:
        duckdb.connect(str(db)).close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise CliError(_locked_message(db, exc, writing=True)) from exc
        raise


def _result_status(r: Any) -> str:
    status = getattr(r, "status", "")
    return str(getattr(status, "value", status)).lower()


def _release_warehouse() -> None:
    """Close dbt-duckdb's cached DuckDB connection of this process: dbt keeps it open after
    an in-process invocation (until exit), and while it is open no other process can open
    the warehouse, not even read-only (the recording step, a BI reader)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()


def run_build(
    full_refresh: bool = False,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    vars_json: str | None = None,
    quiet: bool = False,
    verbose: bool = False,
    out: Callable[[str], None] = print,
    unit_tests: bool = False,
) -> int:
    """``dbt build`` of the project in-process (dbtRunner), printing progress through ``out``.

    Sets the environment of :func:`prepare_environment` where unset, creates the
    warehouse's directory, runs dbt with the project directory as working directory
    (relative paths in MARKET_REGIMES_DB / _LANDING are relative to it, as under make),
    and restores the working directory. Steps: ``dbt parse`` (its manifest is reused),
    ``dbt ls`` of the selection (stage totals), ``dbt build``. dbt itself runs with
    ``--quiet`` (it still prints its errors) unless ``verbose``. ``quiet`` drops the
    progress lines; the final line (time and PASS / WARN / ERROR / SKIP counts) and one
    line per warning (which dbt's --quiet hides) are always printed.

    select / exclude: dbt node selectors (each string may hold several, space-separated).
    vars_json: dbt ``--vars`` (a JSON / YAML mapping). unit_tests: also run dbt's unit
    tests (left out by default: ``--exclude-resource-type unit_test``).
    Returns dbt's exit code: 0 success, 1 a node failed, 2 dbt raised (e.g. a parse error).
    Raises CliError (code 2) when the warehouse file is locked by another process.
    """
    from dbt.cli.main import dbtRunner

    prepare_environment()
    db = Path(os.environ[DB_ENV])
    db = db if db.is_absolute() else PROJECT_DIR / db
    db.parent.mkdir(parents=True, exist_ok=True)
    _check_not_locked(db)
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    target = target if target.is_absolute() else PROJECT_DIR / target
    expected = previous_timings(target / "run_results.json")

    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", os.environ["DBT_PROFILES_DIR"]]
    if vars_json:
        common += ["--vars", vars_json]
    selection = []
    if _split_selectors(select):
        selection += ["--select", *_split_selectors(select)]
    if _split_selectors(exclude):
        selection += ["--exclude", *_split_selectors(exclude)]
    if not unit_tests:
        selection += ["--exclude-resource-type", UNIT_TESTS]
    log = [] if verbose else ["--quiet"]
    t0 = time.monotonic()
    with _in_directory(PROJECT_DIR):
        if not quiet:
            out(f"[build] dbt build of {PROJECT_DIR} into {db}" + (" (full refresh)" if full_refresh else ""))
        parsed = dbtRunner().invoke(["parse", *common, *log])
        if not parsed.success or parsed.result is None:
            if parsed.exception is not None:
                out(f"[build] dbt parse failed: {parsed.exception}")
            return 2
        manifest = parsed.result
        listed = dbtRunner(manifest=manifest).invoke(
            [
                "ls",
                *common,
                "--log-level",
                "none",
                "--output",
                "json",
                "--output-keys",
                "unique_id",
                "--resource-types",
                *BUILD_RESOURCE_TYPES,
                *([UNIT_TESTS] if unit_tests else []),
                *selection,
            ]
        )
        if not listed.success:
            out(f"[build] dbt ls failed: {listed.exception}")
            return 2
        uids = [json.loads(line)["unique_id"] for line in listed.result or []]
        stages = {uid: node_stage(uid, manifest) for uid in uids}
        labels, long_nodes = {}, set()
        for uid in uids:
            node = manifest.nodes.get(uid)
            if node is not None and str(getattr(node, "resource_type", "")).endswith("model"):
                labels[uid] = f"{node.schema}.{node.name}"
                python = str(getattr(node, "language", "")).endswith("python")
                took = expected.get(uid)
                if (took is not None and took >= LONG_NODE_SECONDS) or (
                    python and (took is None or took >= LONG_PYTHON_SECONDS)
                ):
                    long_nodes.add(uid)
        progress = BuildProgress(
            stages=stages, expected=expected, long_nodes=long_nodes, labels=labels, out=out, quiet=quiet, started=t0
        )
        if not quiet:
            plan = ", ".join(f"{stage} {n}" for stage, n in progress.totals().items())
            history = "ETA from the previous build's run_results.json" if expected else "no previous timings"
            out(f"[build] {len(uids)} nodes: {plan} ({history})")
        args = ["build", *common, *log, *selection] + (["--full-refresh"] if full_refresh else [])
        result = dbtRunner(manifest=manifest, callbacks=[progress.on_event]).invoke(args)
        _release_warehouse()
    elapsed = time.monotonic() - t0
    results = list(getattr(result.result, "results", None) or [])
    counts = {"pass": 0, "warn": 0, "error": 0, "skip": 0}
    for r in results:
        counts[_STATUS_COUNT.get(_result_status(r), "error")] += 1
    if not verbose:  # dbt --quiet prints errors but not warnings
        for r in results:
            if _STATUS_COUNT.get(_result_status(r)) == "warn":
                label = labels.get(r.node.unique_id) or r.node.unique_id.split(".", 2)[-1]
                message = " ".join(str(r.message or "").split())[:300]
                out(f"[build] WARN {label}: {message}")
    if result.exception is not None:
        out(f"[build] dbt failed: {result.exception}")
    code = 0 if result.success else (2 if result.exception is not None else 1)
    out(
        f"[build] {'done' if code == 0 else 'FAILED'} in {format_duration(elapsed)}: {len(results)} nodes, "
        f"PASS={counts['pass']} WARN={counts['warn']} ERROR={counts['error']} SKIP={counts['skip']}"
    )
    return code


@app.command()
def build(
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Rebuild incremental models from scratch."),
    select: Optional[list[str]] = typer.Option(
        None, "--select", "-s", metavar="SELECTOR", help="dbt node selection (repeatable)."
    ),
    exclude: Optional[list[str]] = typer.Option(
        None, "--exclude", metavar="SELECTOR", help="dbt nodes to leave out (repeatable)."
    ),
    vars_json: Optional[str] = typer.Option(
        None, "--vars", metavar="JSON", help='dbt vars as JSON, e.g. \'{"as_of": "2024-01-01"}\'.'
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the final line and the warnings / errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print dbt's own log lines."),
    record: bool = typer.Option(
        True,
        "--record/--no-record",
        help="Record what dbt built in the Dagster instance (DAGSTER_HOME, default "
        "<project>/.dagster) so the UI shows it as materialised.",
    ),
    unit_tests: bool = typer.Option(
        False,
        "--unit-tests",
        help="Also run dbt's unit tests (the models' SQL on given rows; `make test` runs them).",
    ),
) -> None:
    """Build the warehouse (dbt build), with progress.

    `dbt build` of the project in-process, one progress line per stage. Stages: seeds,
    raw landing, staging, intermediate, marts, reports. ETAs come from the previous
    build's target/run_results.json. The environment defaults to what `make run` sets
    (MARKET_REGIMES_DB=warehouse/market_regimes.duckdb,
    MARKET_REGIMES_LANDING=sample/landing, relative to the project directory). dbt's unit
    tests are left out unless --unit-tests (they check the models' SQL on fixed rows, not
    the data: a production build need not repeat them; the test suite runs them). Exit
    code: dbt's (1 on failure). Afterwards (unless --no-record) every model and seed dbt
    built, every new daily partition of the rollups and every test result is recorded in
    the Dagster instance (orchestration/record.py; the first build records the partition
    history once, ~30 s on the sample).
    """
    try:
        code = run_build(
            full_refresh=full_refresh,
            select=select,
            exclude=exclude,
            vars_json=vars_json,
            quiet=quiet,
            verbose=verbose,
            out=lambda line: print(line, flush=True),
            unit_tests=unit_tests,
        )
    except CliError as exc:
        _err(str(exc))
        _exit(exc.code)
        return
    if record and code in (0, 1):
        record_build(print if not quiet else (lambda line: None))
    _exit(code)


def record_build(out: Callable[[str], None] = print) -> None:
    """Record the last dbt build (target/run_results.json) in the Dagster instance of
    DAGSTER_HOME (default <project>/.dagster) with ``python -m orchestration.record`` in a
    process of its own (this one still holds dbt's DuckDB connection, and the code location
    reads the partition start from the warehouse).

    A failure to record (e.g. the UI's daemon holds the SQLite storage) is reported on
    stderr and does not fail the build."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    target = target if target.is_absolute() else PROJECT_DIR / target
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.record", str(target / "run_results.json")],
        cwd=PROJECT_DIR,
        stdout=None if out is print else subprocess.PIPE,
        text=True,
    )
    if proc.stdout:
        for line in proc.stdout.splitlines():
            out(line)
    if proc.returncode != 0:
        _err(
            f"could not record the build in Dagster (exit {proc.returncode}); the warehouse is built. "
            "Retry with: .venv/bin/python -m orchestration.record"
        )


# --------------------------------------------------------------------------- summary / now


NULL_INPUTS = "warehouse/grid_null_outcome_inputs.parquet"
NULL_KLINE_SUFFIXES = ("_1h.csv", "_1h.csv.gz", "_60m.csv", "_60m.csv.gz")


@app.command("null-build")
def null_build(
    seed: int = typer.Option(0, "--seed", help="Seed of the first file's permutation (file i: seed + i)."),
    out: Path = typer.Option(
        Path(NULL_INPUTS),
        "--out",
        help="Parquet file to write (relative to the project directory; the default is "
        "what var grid_null_outcome_inputs reads).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the final line and the warnings / errors."),
) -> None:
    """Build the SHUF null of the grid research and write its report inputs.

    Writes a shuffled-return surrogate (market_regimes.research.surrogates: bar returns
    permuted, intrabar shapes kept) of every hourly kline file of $MARKET_REGIMES_LANDING
    (*_1h Binance-style and *_60m Bybit-style files; file i gets seed + i) into a temporary
    landing, runs `dbt build -s +rpt_grid_outcome_inputs` of it into a temporary warehouse
    (the real one is not touched) and writes that view's rows to OUT. The next build's
    rpt_grid_range_outcomes reads them as the SHUF groups. Takes about as long as a
    build of the grid models on the sample (~2 min). Exit code: dbt's (1 on failure), 2
    when the landing has no hourly kline file.
    """
    import tempfile

    import duckdb

    from market_regimes.research.surrogates import write_surrogate_landing

    prepare_environment()
    landing = Path(os.environ["MARKET_REGIMES_LANDING"])
    landing = landing if landing.is_absolute() else PROJECT_DIR / landing
    files = sorted(
        str(p.relative_to(landing)) for p in (landing / "klines").rglob("*") if p.name.endswith(NULL_KLINE_SUFFIXES)
    )
    if not files:
        _err(f"no hourly kline file (*_1h.csv[.gz], *_60m.csv[.gz]) under {landing / 'klines'}")
        _exit(2)
        return
    target = out if out.is_absolute() else PROJECT_DIR / out
    saved = {k: os.environ.get(k) for k in (DB_ENV, "MARKET_REGIMES_LANDING", "DBT_TARGET_PATH")}
    with tempfile.TemporaryDirectory(prefix="grid_null_") as tmp:
        work = Path(tmp)
        if not quiet:
            print(f"[null-build] {len(files)} surrogate kline files (seed {seed}) -> {work / 'landing'}", flush=True)
        write_surrogate_landing(landing, work / "landing", files, first_seed=seed)
        db = work / "grid_null.duckdb"
        os.environ.update(
            {DB_ENV: str(db), LANDING_ENV: str(work / "landing"), "DBT_TARGET_PATH": str(work / "target")}
        )
        try:
            # the surrogates shuffle real returns, so a real jump at a segment start (LUNA's
            # relisting) can fall inside a segment: the landing jump check is switched off
            # for them (a log return of 1e6 never happens; every other plausibility bound stays)
            code = run_build(
                select=["+rpt_grid_outcome_inputs"],
                quiet=quiet,
                vars_json=json.dumps({"landing_plausibility": {"max_abs_log_return": 1.0e6}}),
                out=lambda line: print(line.replace("[build]", "[null-build]"), flush=True),
            )
        finally:
            _release_warehouse()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if code != 0:
            _exit(code)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), read_only=True)
        try:
            con.execute(
                f"copy (select * from reports.rpt_grid_outcome_inputs order by series_key, idx) "
                f"to '{target}' (format parquet)"
            )
            rows = con.sql("select count(*) from reports.rpt_grid_outcome_inputs").fetchone()[0]
        finally:
            con.close()
    print(f"[null-build] {rows:,} surrogate bars -> {target} (read by the next build's rpt_grid_range_outcomes)")


@app.command()
def summary(db: Optional[str] = typer.Argument(None, metavar="DB", help=DB_HELP)) -> None:
    """Print what a build put in the warehouse.

    Relations and row counts, landing ledger, regime drivers, rollup reconciliation.
    The warehouse is opened read-only."""
    from market_regimes.summary import summarize

    try:
        with warehouse(db):  # a clear error for a missing / locked file, before summarize opens it
            pass
        print(summarize(str(resolve_db(db))))
    except CliError as exc:
        _err(str(exc))
        _exit(exc.code)
    except Exception as exc:  # duckdb.Error: a partial build without some relation
        _err(f"summary failed: {exc}")
        _exit(1)


def _json_value(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return None
        return (ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).isoformat() + "Z"
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def regimes_as_json(frames: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """:func:`market_regimes.current.current_regimes` output as JSON-ready data: one key per
    section, each a list of records; timestamps as ISO-8601 UTC strings
    (``2025-07-02T16:00:00Z``), NaN / NA as None, numpy scalars as Python numbers."""
    return {
        key: [{col: _json_value(v) for col, v in row.items()} for row in frame.to_dict("records")]
        for key, frame in frames.items()
    }


# Columns shown per section in the text tables of `now` (the JSON carries every column).
_NOW_COLUMNS = {
    "uptrend_states": [
        "driver",
        "timeframe",
        "bar_interval",
        "bar_start",
        "state",
        "state_since",
        "bars_in_state",
        "flags",
        "ts_score",
    ],
    "levers": ["bucket", "execution_timeframe", "bar_start", "a_value", "e_value", "position_size_frac", "is_degraded"],
    "market_regimes": ["market", "bar_start", "regime", "regime_since", "days_in_regime", "price", "ma", "vol_value"],
    "volatility_regimes": [
        "series_id",
        "bar_start",
        "vol_regime",
        "hmm_p_high_vol",
        "vol_regime_since",
        "direction",
        "quadrant",
        "quadrant_since",
        "turbulence",
    ],
}
_FLAGS = ("buy_flag", "rebuy_flag", "trim_flag", "emergency_exit")


def _cell(value: Any) -> str:
    import pandas as pd

    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(frame: Any, columns: list[str]) -> str:
    """``frame[columns]`` as an aligned text table with a header and a dashed rule
    (timestamps ``YYYY-MM-DD HH:MM`` UTC, floats 4 significant digits, booleans yes / no)."""
    cells = [columns] + [[_cell(row[c]) for c in columns] for _, row in frame.iterrows()]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def regimes_as_text(frames: dict[str, Any]) -> str:
    """:func:`market_regimes.current.current_regimes` output as readable tables, one per
    section, each under a heading naming the source mart and the latest bar_start."""
    from market_regimes.current import SECTION_BY_KEY, as_of

    blocks = []
    for key, frame in frames.items():
        section = SECTION_BY_KEY[key]
        latest = as_of(frame)
        heading = f"{section.title} ({section.source}"
        heading += f", as of bar {latest:%Y-%m-%d %H:%M} UTC)" if latest is not None else ")"
        if frame.empty:
            blocks.append(f"{heading}\n  (no rows: {section.source} is missing or empty)")
            continue
        shown = frame.copy()
        if key == "uptrend_states":
            shown["flags"] = [
                ",".join(f.removesuffix("_flag") for f in _FLAGS if row.get(f) is True)
                for row in frame[list(_FLAGS)].astype(object).to_dict("records")
            ]
        blocks.append(f"{heading}\n{format_table(shown, _NOW_COLUMNS[key])}")
    return "\n\n".join(blocks)


@app.command()
def now(
    as_json: bool = typer.Option(False, "--json", help="One JSON object: a key per section, lists of records."),
    db: Optional[str] = typer.Option(None, "--db", metavar="PATH", help=DB_HELP),
) -> None:
    """Show the current regime of every series.

    What regime are we in now: the latest reading of every regime series. Sections:
    Uptrend Engine state per driver x timeframe (marts.fct_uptrend_states, with the bar
    and since when the state holds), A/E levers and position size per bucket x execution
    timeframe (marts.fct_levers), trend x vol regime per market
    (marts.fct_market_regimes), HMM vol regime and quadrant per series
    (marts.fct_volatility_regimes). Times are bar opens in UTC.
    """
    from market_regimes.current import current_regimes

    try:
        with warehouse(db) as con:
            frames = current_regimes(con)
    except CliError as exc:
        _err(str(exc))
        _exit(exc.code)
        return
    if as_json:
        print(json.dumps(regimes_as_json(frames), indent=1))
    else:
        print(regimes_as_text(frames))


# --------------------------------------------------------------------------- analyze


@app.command()
def analyze(
    symbol: Optional[str] = typer.Option(None, "--symbol", "-s", help="A symbol with a grid series, e.g. BTCUSDT."),
    driver: Optional[str] = typer.Option(
        None, "--driver", "-d", help="A regime driver instead: BTC, ALT, nano, small, mid, big, BTC.d, USDT.d."
    ),
    timeframe: Optional[str] = typer.Option(
        None, "--timeframe", "-t", help="The driver's timeframe: micro, meso (default) or macro."
    ),
    at: Optional[str] = typer.Option(
        None, "--at", metavar="TIME", help="The moment, UTC: 'YYYY-MM-DD HH:MM' or ISO-8601."
    ),
    start: Optional[str] = typer.Option(None, "--from", metavar="TIME", help="Batch summary: first moment (UTC)."),
    end: Optional[str] = typer.Option(None, "--to", metavar="TIME", help="Batch summary: last moment (UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (docs/analyze.md has its schema)."),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        metavar="FILE",
        help="Also write the result: FILE.json (the JSON) or, for a batch, FILE.csv (the per-bar rows).",
    ),
    db: Optional[str] = typer.Option(None, "--db", metavar="PATH", help=DB_HELP),
) -> None:
    """Everything the warehouse knows about a symbol or driver at a moment, or over a range.

    With --at: the last bar that ENDED at or before TIME (named in the output, UTC): for a
    symbol the grid verdict with scores, confidence, competing verdicts and decision
    factors, the three ranges, the configured grids' recommendations, the lifecycle state
    and restart-gate progress of every grid, and the regime context (Uptrend states of BTC,
    ALT and the symbol's bucket, the bucket's A/E levers, HMM volatility regimes and
    quadrants, trend x vol per market); for a driver its Uptrend state at --timeframe and
    the same context. With --from/--to: a summary of the bars that ended in [FROM, TO]:
    verdict (or Uptrend state) distribution, transitions, confidence distribution,
    lifecycle events and exit notifications. Read-only. Exit code 2: an unknown symbol /
    driver, a moment before the data or its warm-up, after the data or in a gap between
    segments, bad options. Reference: docs/analyze.md.
    """
    from market_regimes import analyze as analysis

    def fail(message: str, code: int = 2) -> None:
        _err(message)
        raise typer.Exit(code)

    if (symbol is None) == (driver is None):
        fail("error: give exactly one of --symbol and --driver")
    if symbol is not None and timeframe is not None:
        fail("error: --timeframe goes with --driver (a symbol is analysed on its 1h grid bars)")
    batch = start is not None or end is not None
    if (at is None) == (not batch) or (batch and (start is None or end is None)):
        fail("error: give either --at TIME, or both --from TIME and --to TIME")
    suffix = out.suffix.lower() if out is not None else None
    if suffix not in (None, ".json", ".csv") or (suffix == ".csv" and not batch):
        fail(
            "error: --out takes FILE.json"
            + (" or FILE.csv (the per-bar rows)" if batch else " with --at (FILE.csv is for a --from/--to batch)")
        )
    try:
        with warehouse(db) as con:
            if batch:
                first, last = analysis.parse_timestamp(start), analysis.parse_timestamp(end)
                result = (
                    analysis.summarize_symbol(con, symbol, first, last)
                    if symbol is not None
                    else analysis.summarize_driver(con, driver, timeframe or "meso", first, last)
                )
            else:
                moment = analysis.parse_timestamp(at)
                result = (
                    analysis.analyze_symbol(con, symbol, moment)
                    if symbol is not None
                    else analysis.analyze_driver(con, driver, timeframe or "meso", moment)
                )
    except (CliError, analysis.AnalyzeError) as exc:
        fail(str(exc), exc.code)
        return
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print(analysis.format_text(result))
    if out is not None:
        if suffix == ".csv":
            columns = analysis.SYMBOL_BAR_COLUMNS if symbol is not None else analysis.DRIVER_BAR_COLUMNS
            rows = analysis.write_csv(result["bars"], out, columns)
            _err(f"{rows} per-bar rows written to {out}")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1) + "\n")
            _err(f"JSON written to {out}")


# --------------------------------------------------------------------------- export


@app.command()
def export(
    name_or_query: str = typer.Argument(
        ...,
        metavar="NAME_OR_QUERY",
        help="A table (fct_levers, marts.fct_levers, reports.*, seeds.*) or a query starting with SELECT / WITH.",
    ),
    fmt: Optional[str] = typer.Option(
        None,
        "--format",
        "-f",
        metavar="csv|parquet",
        help="csv or parquet (default: from the --output suffix, else parquet).",
    ),
    output: Optional[str] = typer.Option(
        None,
        "--output",
        "-o",
        metavar="PATH",
        help="File to write (default: exports/<name>.<format> in the project directory).",
    ),
    query: bool = typer.Option(False, "--query", help="Treat NAME_OR_QUERY as SQL whatever it starts with."),
    db: Optional[str] = typer.Option(None, "--db", metavar="PATH", help=DB_HELP),
) -> None:
    """Write a table or a query to CSV / Parquet.

    Exports a mart, report or seed table, or a SELECT query. The warehouse is opened
    read-only; DuckDB's COPY writes the file. Prints the rows written and the path. An
    unknown table exits with code 2 and lists the tables.
    """
    import duckdb

    from market_regimes import export as exporter

    if fmt is None:
        fmt = "csv" if output and Path(output).suffix.lower() == ".csv" else "parquet"
    fmt = fmt.lower()
    if fmt not in exporter.FORMATS:
        _err(f"error: --format must be one of {', '.join(exporter.FORMATS)}, got {fmt!r}")
        _exit(2)
    try:
        with warehouse(db) as con:
            sql, label = exporter.source_sql(con, name_or_query, force_query=query)
            path = Path(output) if output else exporter.default_output(label, fmt, PROJECT_DIR / EXPORT_DIR)
            rows = exporter.export(con, sql, path, fmt)
    except CliError as exc:
        _err(str(exc))
        _exit(exc.code)
        return
    except exporter.UnknownTableError as exc:
        _err(f"error: {exc}")
        _exit(2)
        return
    except duckdb.Error as exc:
        _err(f"error: export failed: {exc}")
        _exit(1)
        return
    print(f"{rows} rows written to {path} ({label}, {fmt})")


# --------------------------------------------------------------------------- pass-through


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def report(ctx: typer.Context) -> None:
    """Write the HTML dashboard (see: report --help).

    One self-contained file, reports/regimes.html by default; every option of
    `python -m market_regimes.dashboard` is passed through."""
    from market_regimes.dashboard.__main__ import main as dashboard_main

    _exit(_run_cli_main(dashboard_main, list(ctx.args)))


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def compare(ctx: typer.Context) -> None:
    """Compare two warehouse builds (see: compare --help).

    LEFT.duckdb RIGHT.duckdb [--schemas ...], table by table; every argument of
    `python -m market_regimes.compare` is passed through. Exit code 1 when they differ."""
    from market_regimes.compare import main as compare_main

    _exit(_run_cli_main(compare_main, list(ctx.args)))


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
def backfill(ctx: typer.Context) -> None:
    """Run the Dagster asset graph headless (see: backfill --help).

    One run of job regime_update over a partition range; every argument of
    `python -m orchestration.backfill` is passed through. Runs from the project
    directory with the environment of `build`; DAGSTER_HOME defaults to
    <project>/.dagster (created with its dagster.yaml; used with --record). Needs
    target/manifest.json (`make parse` or `market-regimes build`).
    """
    prepare_environment()
    from orchestration.instance import ensure_dagster_home

    os.environ["DAGSTER_HOME"] = str(ensure_dagster_home())
    with _in_directory(PROJECT_DIR):
        from orchestration.backfill import main as backfill_main

        code = _run_cli_main(backfill_main, list(ctx.args))
    _exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``market-regimes`` console script; returns the exit code.

    ``argv`` defaults to ``sys.argv[1:]``."""
    try:
        app(args=argv, prog_name="market-regimes", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
