"""The SQL models on Apache Spark beside DuckDB, on a small landing, with parity (docs/scale-out.md).

Needs the optional dependencies (``pip install -e '.[spark]'``) and Java 17+. Two stages of
the same landing: stage 1 holds the bybit 5-minute and 60-minute candles of BTCUSDT,
ETHUSDT and SOLUSDT from the bundled sample between 2025-06-16 and 2025-06-29 12:00 (plus the
sample's daily and dominance files); stage 2 re-lands the same files one day longer (a new
version of each file with the next day's candles) and corrects one consumed candle
(``REVISIONS``, a file under ``corrections/``). Each stage is built twice:

* DuckDB: ``dbt seed`` (stage 1) and ``dbt run`` of the landing ledgers, every SQL model
  that does not depend on a Python engine model, the engines with a Spark job (``PORTED``)
  and the SQL models downstream of those only (``BUILT``);
* Spark, after both DuckDB builds (each stage's DuckDB file kept), in one process and one
  Spark session for both stages (``python -m market_regimes.spark_parity steps``: dbt runs
  in that process on the same session, so Spark starts and its JIT warms up once, not once
  per command or stage): ``dbt seed --target spark`` (stage 1), the
  ledgers copied from the DuckDB build (``copy_landing``: the landing stays Python), ``dbt
  run --target spark`` of the same SQL models up to the engines (``SELECTION``; on stage 2
  first the day-partitioned rollups and what they read with the window of the days stage 2
  changes, ``WINDOW``, as a Dagster partition run passes it, then the others), the
  engines' Spark jobs (``market_regimes.spark_engines``: applyInPandas per series), ``dbt
  run --target spark`` of the SQL models after them (``AFTER_ENGINES``), the second wave's
  jobs (the grid lifecycle, which reads one of those models) and the SQL models after it
  (``AFTER_SECOND_WAVE``) — on stage 2 each
  of these an incremental run — on stage 1 ``dbt test --target spark`` of their data
  tests (the unit tests' fixtures are DuckDB SQL), and the export of the compared tables.

Every dbt call passes ``FIXTURE_VARS`` (grid and rank windows short enough for the fixture's
few days; the window run adds ``WINDOW``). Then every table the SQL models and ported
engines write is exported from Spark (with the DuckDB build's series keys) and compared
with :func:`market_regimes.spark_parity.parity` (the project's ``compare`` tolerances).
Prints one JSON document: per stage the landed rows, the dbt wall seconds of each step,
Spark's seconds per model, the tests' pass/fail counts and the parity of each table (rows,
equal, worst relative float difference); exits 1 when a table differs or a test fails.

Usage: python benchmarks/spark_build.py [--work DIR] [--first "2025-05-01 00:00:00"]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT  # noqa: E402  (sibling benchmark script)

from market_regimes.settings import VARS_ENV  # noqa: E402
from market_regimes.spark_engines import PORTED_MODELS, SECOND_WAVE, dbt_selections  # noqa: E402
from market_regimes.spark_parity import CATALOG_ENV, parity, run_spark_module  # noqa: E402

SAMPLE = PROJECT / "sample" / "landing"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
FIRST = "2025-06-16 00:00:00"
STAGE_ENDS = ("2025-06-29 12:00:00", "2025-06-30 12:00:00")
# the SQL models not downstream of a Python engine (run first), those downstream of the engines
# with a Spark job (market_regimes.spark_engines.PORTED_MODELS; run after the jobs) and what both
# builds hold and the parity covers (both, with the ported engines)
PORTED = PORTED_MODELS
_SELECTIONS = {name: ["--select", *sel, "--exclude", *exc] for name, (sel, exc) in dbt_selections(PROJECT).items()}
SELECTION, AFTER_ENGINES, BUILT = _SELECTIONS["upstream"], _SELECTIONS["after_engines"], _SELECTIONS["built"]
# the second wave (SECOND_WAVE): the jobs whose input the first "after engines" step builds, then
# the SQL models downstream of them
AFTER_SECOND_WAVE = _SELECTIONS["after_second_wave"]
FIRST_JOBS = [job for model, job in PORTED.items() if model not in SECOND_WAVE]
SECOND_JOBS = [PORTED[model] for model in SECOND_WAVE]
BIN = Path(sys.executable).parent
# stage 2 corrects these stage-1 candles (corrections/<file>: (file, bar_start) -> close): a
# revision of a bar both builds consumed, which the rewind pre-hooks (revisions.sql) must
# propagate on Spark as on DuckDB: into the indicator models and the engine tables
# (int_grid_ranges_walked, fct_uptrend_states) from the bar on. Mid-hour, inside the candle's
# high and low, so the 60-minute candles still equal the rollups.
REVISIONS = {("klines/bybit/BTCUSDT_5m.csv.gz", "2025-06-28 10:25:00"): 107300.0}
# the fixture holds 13.5-14.5 days of bars: shorter grid windows and rank windows than the
# product's (168 h, 500 bars) so that the grid engine and the verdicts have values to compare
# (with the defaults every grid level and verdict of the fixture is NULL); both builds use them
FIXTURE_VARS = (
    "{grid_window_hours: 48, grid_holdout_hours: 8, grid_short_hours: 8, grid_atr_mean_bars: 20, "
    "grid_ou_bars: 20, percentile_rank_window: 48}"
)

# stage 2 on Spark runs the day-partitioned rollups (PARTITIONED) as Dagster's daily partitions
# do: only the UTC days stage 2 changes (the revised candle's day to the last new candle's),
# each day partition overwritten (the models they read first, which the window leaves alone);
# the other models then run without a window. The parity with DuckDB's full run of stage 2
# shows that the partition overwrite loses and keeps nothing it should not.
PARTITIONED = "tag:daily_partitioned"
WINDOW = {
    "partition_start": min([STAGE_ENDS[0][:10]] + [bar[:10] for _, bar in REVISIONS]),
    "partition_end": (date.fromisoformat(STAGE_ENDS[1][:10]) + timedelta(days=1)).isoformat(),
}
WINDOW_VARS = FIXTURE_VARS[:-1] + "".join(f", {k}: '{v}'" for k, v in WINDOW.items()) + "}"


def write_landing(root: Path, end: str, revise: bool = False, first: str = FIRST) -> int:
    """The stage's landing folder: the kline files cut to [first, end), the daily and dominance
    files whole; with ``revise``, the candles of :data:`REVISIONS` with their revised close in
    ``corrections/`` (the landing's way to revise a final bar: a changed final bar in a
    re-landed export is quarantined instead). Returns the kline rows written."""
    rows = 0
    for symbol in SYMBOLS:
        for interval in ("5m", "60m"):
            name = f"klines/bybit/{symbol}_{interval}.csv.gz"
            with gzip.open(SAMPLE / name, "rt") as source:
                header, *lines = source.read().splitlines()
            kept = [line for line in lines if first <= line[:19] < end]
            _write(root / name, [header, *kept])
            rows += len(kept)
            corrected = [_revised(line, c) for line in kept if revise and (c := REVISIONS.get((name, line[:19])))]
            if corrected:
                _write(root / "corrections" / name, [header, *corrected])
    for folder in ("daily", "dominance"):
        shutil.copytree(SAMPLE / folder, root / folder, dirs_exist_ok=True)
    return rows


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")


def _revised(line: str, close: float) -> str:
    """``line`` (timestamp,open,high,low,close,volume) with another close, inside its high and low."""
    fields = line.split(",")
    assert float(fields[3]) <= close <= float(fields[2]), f"revised close {close} outside the candle {line}"
    return ",".join([*fields[:4], repr(close), fields[5]])


def dbt(args: list[str], env: dict, cwd: Path, work: Path) -> dict:
    """Run ``dbt <args>``; returns {"seconds", "results": run_results.json's results}.
    Raises SystemExit with dbt's output tail when dbt fails (a failing test included)."""
    started = time.perf_counter()
    cmd = [str(BIN / "dbt"), *args, "--vars", FIXTURE_VARS, "--project-dir", str(PROJECT)]
    cmd += ["--target-path", str(work / "target")]
    proc = subprocess.run(cmd + ["--log-path", str(work / "logs")], env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    print(f"[spark_build] dbt {' '.join(args[:3])} ... {seconds:.1f} s", file=sys.stderr, flush=True)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    if proc.returncode != 0:
        failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
        raise SystemExit(f"dbt {' '.join(args)} failed ({failed[:5]}):\n{proc.stdout[-3000:]}")
    return {"seconds": round(seconds, 1), "results": results}


def spark_tables(env: dict, work: Path) -> list[str]:
    """schema.name of every table (not view) the models of ``BUILT`` write (SQL models and
    the ported engines)."""
    cmd = [str(BIN / "dbt"), "ls", "--resource-type", "model", *BUILT, "--output", "json", "--quiet"]
    cmd += ["--project-dir", str(PROJECT), "--target-path", str(work / "target-ls")]
    out = subprocess.run(cmd, env=env, cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    nodes = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return sorted(
        f"{n['config']['schema']}.{n['name']}"
        for n in nodes
        if n["config"]["materialized"] in ("table", "incremental")
        and (n["original_file_path"].endswith(".sql") or n["name"] in PORTED)
    )


def spark_module(args: list[str], spark_env: dict, spark_dir: Path) -> str:
    """:func:`market_regimes.spark_parity.run_spark_module` in the Spark working directory;
    raises SystemExit (the benchmark's failure) instead of RuntimeError."""
    try:
        return run_spark_module(args, cwd=spark_dir, warehouse=spark_dir / "warehouse", env=spark_env)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None


def dbt_args(args: list[str], work: Path, dbt_vars: str = FIXTURE_VARS) -> list[str]:
    """The arguments of ``dbt <args>`` as this benchmark runs it (``dbt_vars``: the fixture
    vars by default, the project, its own target and log folders under ``work``)."""
    return [*args, "--vars", dbt_vars, "--project-dir", str(PROJECT)] + [
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]


def spark_steps(stage: int, db: Path, export: Path, tables: list[str], work: Path) -> list[dict]:
    """The Spark steps of a stage (:func:`market_regimes.spark_parity.run_steps`): on stage 1
    the seeds, then the ledgers copied from the stage's DuckDB build ``db``, ``dbt run`` up to
    the engines, the engine jobs, ``dbt run`` after them, the second wave's jobs and ``dbt run``
    after them, on stage 1 the data tests, and the export of ``tables`` to ``export``. ``work``
    holds dbt's target and log folders of the Spark side."""
    steps: list[dict] = [{"dbt": dbt_args(["seed", "--target", "spark"], work)}] if stage == 1 else []
    steps.append({"copy-landing": str(db)})
    upstream = SELECTION
    if stage > 1:  # the day-partitioned rollups (and what they read) as Dagster's daily partitions
        window = ["run", "--target", "spark", "--select", f"+{PARTITIONED},path:models"]  # SQL models
        steps.append({"dbt": dbt_args(window, work, WINDOW_VARS)})
        upstream = [*SELECTION, f"+{PARTITIONED},path:models"]  # SELECTION ends with its --exclude list
    steps += [
        {"dbt": dbt_args(["run", "--target", "spark", *upstream], work)},
        {"engines": FIRST_JOBS},
        {"dbt": dbt_args(["run", "--target", "spark", *AFTER_ENGINES], work)},
        {"engines": SECOND_JOBS},
        {"dbt": dbt_args(["run", "--target", "spark", *AFTER_SECOND_WAVE], work)},
    ]
    if stage == 1:
        test = ["test", "--target", "spark", *BUILT, "--exclude-resource-type", "unit_test"]
        steps.append({"dbt": dbt_args(test, work)})
    steps.append({"export": {"duckdb_build": str(db), "out": str(export), "tables": tables}})
    return steps


def stage_report(stage: int, done: list[dict]) -> dict:
    """The report's Spark fields of a stage from the results of its :func:`spark_steps`
    (seconds per step, Spark's seconds per model, the tests' statuses)."""
    out: dict = {"spark_steps_s": round(sum(d["seconds"] for d in done), 1)}
    done = list(done)
    if stage == 1:
        out["spark_seed_s"] = done.pop(0)["seconds"]
    copied = done.pop(0)
    windowed = [done.pop(0)] if stage > 1 else []
    run, engines, after, engines_2, after_2, *rest = done
    out |= {"landing_copied": copied["result"], "copy_s": copied["seconds"], "spark_run_s": run["seconds"]}
    if windowed:
        out["spark_window"] = {"vars": WINDOW, "seconds": windowed[0]["seconds"]}
    models = [r for step in windowed + [run, after, after_2] for r in step["result"]]
    out["spark_model_s"] = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in models}
    jobs = {**engines["result"], **engines_2["result"]}
    out["spark_engines"] = {model: jobs[job] for model, job in PORTED.items()}
    out["spark_engines_s"] = round(engines["seconds"] + engines_2["seconds"], 1)
    out["spark_after_engines_s"] = round(after["seconds"] + after_2["seconds"], 1)
    if stage == 1:
        tested = rest.pop(0)
        statuses = [r["status"] for r in tested["result"]]
        out["spark_tests"] = {s: statuses.count(s) for s in sorted(set(statuses))}
        out["spark_test_s"] = tested["seconds"]
    out["export_s"] = rest[0]["seconds"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="work folder (kept); default: a temporary one")
    parser.add_argument(
        "--first",
        default=FIRST,
        help=f"first bar_start of the kline files (default {FIRST!r}: CI's fixture); an earlier one "
        "gives a larger landing, for the per-row costs of the sizing estimate (docs/scale-out.md)",
    )
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="mr-spark-build-")
    work = (args.work or Path(tmp.name)).resolve()
    spark_dir = work / "spark"
    spark_dir.mkdir(parents=True, exist_ok=True)
    landing, db = work / "landing", work / "duckdb.duckdb"
    base_env = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT), "DO_NOT_TRACK": "1"}
    base_env.update(MARKET_REGIMES_LANDING=str(landing), MARKET_REGIMES_DB=str(db))
    base_env["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"] = "warn"  # the shipped grid configs name other symbols
    # the engine jobs read their vars as dbt does: the same --vars as every dbt call here
    spark_env = {**base_env, "MARKET_REGIMES_SPARK_WAREHOUSE": str(spark_dir / "warehouse"), VARS_ENV: FIXTURE_VARS}
    # every Spark step shares one session: the tables need no metastore outside it
    spark_env.setdefault(CATALOG_ENV, "in-memory")
    # the fixture's tables are small (~13,500 kline rows): one shuffle partition, one task per
    # stage (docs/scale-out.md: 560 -> 508 CPU-seconds of the whole check against the
    # profile's 4); a larger --first landing may want more
    spark_env.setdefault("MARKET_REGIMES_SPARK_SHUFFLE_PARTITIONS", "1")
    tables = spark_tables(base_env, work / "duck")
    report: dict = {"first_bar_start": args.first, "tables": len(tables), "stages": []}
    plan: list[dict] = []
    staged: list[tuple[Path, Path, int]] = []  # per stage: its DuckDB build, its export, its steps
    for stage, end in enumerate(STAGE_ENDS, 1):
        rows = write_landing(landing, end, revise=stage > 1, first=args.first)
        step: dict = {"stage": stage, "landing_end": end, "kline_rows_landed": rows}
        step["revised_bars"] = len(REVISIONS) if stage > 1 else 0
        if stage == 1:
            step["duckdb_seed_s"] = dbt(["seed"], base_env, PROJECT, work / "duck")["seconds"]
        duck_run = dbt(["run", "--select", "path:python_models/raw", *BUILT[1:]], base_env, PROJECT, work / "duck")
        step["duckdb_run_s"] = duck_run["seconds"]
        # the stage's DuckDB build kept under the same file stem (dbt-duckdb's views name their
        # catalog by it) for the Spark side's ledgers and the stage's parity
        kept = work / f"duckdb_stage_{stage}" / db.name
        kept.parent.mkdir(exist_ok=True)
        shutil.copyfile(db, kept)
        export = work / f"spark_export_{stage}.duckdb"
        export.unlink(missing_ok=True)
        steps = spark_steps(stage, kept, export, tables, spark_dir)
        plan += steps
        staged.append((kept, export, len(steps)))
        report["stages"].append(step)
    plan_file = work / "spark_plan.json"
    plan_file.write_text(json.dumps(plan, indent=1))
    started = time.perf_counter()
    done = json.loads(spark_module(["market_regimes.spark_parity", "steps", str(plan_file)], spark_env, spark_dir))
    report["spark_process_s"] = round(time.perf_counter() - started, 1)
    ok = True
    for step, (kept, export, n) in zip(report["stages"], staged):
        stage = step["stage"]
        step |= stage_report(stage, done[:n])
        done = done[n:]
        diffs = parity(kept, export, tables, work)
        step["parity"] = {
            d.table: {
                "rows": d.left_rows,
                "spark_rows": d.right_rows,
                "equal": d.equal,
                "worst": d.worst,
                **({"tie_flips": d.tie_flips} if d.tie_flips else {}),
            }
            for d in diffs
        }
        step["tables_equal"] = sum(d.equal for d in diffs)
        ok = ok and step["tables_equal"] == len(tables)
        flips = {d.table: d.tie_flips for d in diffs if d.tie_flips}
        print(
            f"[spark_build] stage {stage}: {step['tables_equal']} of {len(tables)} tables equal"
            + (f" (rounding-tie flips counted: {flips})" if flips else ""),
            file=sys.stderr,
        )
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
