"""The Spark build beside the DuckDB build (docs/scale-out.md): moving the landing ledgers to a
Spark warehouse, and the parity check between the two builds of the same landing.

The landing stays Python (file parsing, the per-row ledger and the quarantine are not SQL
jobs): it lands into DuckDB as always, and :func:`copy_landing` copies its ledger tables
(``raw.klines``, ``raw.daily_series``, ``raw.dominance_readings``) into the Spark warehouse,
where ``dbt build --target spark`` reads them as the same relations. :func:`export_tables`
brings Spark tables back into a DuckDB file with the DuckDB build's series keys, so that
:func:`market_regimes.compare.compare_warehouses` checks parity with its determinism
tolerances (bars and integer columns exact; floats 1e-12 relative unless documented).

Spark is imported lazily: the module imports without the optional ``spark`` dependencies.
A Spark session here must use the same working directory, warehouse folder and Hive
support as dbt-spark's session (profiles.yml), and must be stopped before dbt runs in
another process (the local metastore admits one process at a time). :func:`run_steps` runs
dbt in the same process instead, on the same session: dbt-spark's ``method: session``
takes the process's active session (``getOrCreate``), so a sequence of dbt commands, engine
jobs, landing copies and exports starts Spark once (~12 s per start on 2 cores).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from market_regimes.compare import TableDiff, compare_warehouses

__all__ = [
    "CATALOG_ENV",
    "LANDING_TABLES",
    "copy_landing",
    "export_tables",
    "parity",
    "profile_session_settings",
    "run_spark_module",
    "run_steps",
    "series_part_map",
    "spark_session",
]

LANDING_TABLES = ("klines", "daily_series", "dominance_readings")
#: the environment variable naming the local session's catalog (:func:`spark_session`)
CATALOG_ENV = "MARKET_REGIMES_SPARK_CATALOG"


def profile_session_settings(profiles_dir: Path | None = None) -> dict[str, str]:
    """The Spark settings of the ``spark`` target in ``profiles.yml`` (its
    ``server_side_parameters``, which dbt-spark's ``method: session`` gives its session),
    rendered as dbt renders them (``{{ env_var('NAME', 'default') }}``): the one list of the
    local session's settings, shared by dbt and :func:`spark_session`.

    Args:
        profiles_dir: the folder of ``profiles.yml``; default ``$DBT_PROFILES_DIR``, else the
            project folder.

    Returns:
        setting name -> value (text).

    Raises:
        ValueError: the project's profile (``profile:`` of dbt_project.yml; a profiles.yml
            may hold others) has no ``spark`` target, or a setting reads an environment
            variable that is unset and has no default (as dbt fails).
    """
    import os

    import jinja2
    import yaml

    from market_regimes.settings import PROJECT_DIR

    folder = Path(profiles_dir or os.environ.get("DBT_PROFILES_DIR") or PROJECT_DIR)
    path = folder / "profiles.yml"
    name = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["profile"]
    outputs = (yaml.safe_load(path.read_text()).get(name) or {}).get("outputs") or {}
    if "spark" not in outputs:
        raise ValueError(f"{path}: profile {name!r} has no spark target")

    def env_var(name: str, default: str | None = None) -> str:
        if name not in os.environ and default is None:
            raise ValueError(f"{path}: the spark target reads ${name}, which is not set and has no default")
        return os.environ.get(name, default)

    return {
        key: jinja2.Template(str(value)).render(env_var=env_var)
        for key, value in (outputs["spark"].get("server_side_parameters") or {}).items()
    }


def spark_session(warehouse: Path):
    """A local Spark session (``local[2]``) like dbt-spark's ``method: session``, with the
    settings of the profile's ``spark`` target (:func:`profile_session_settings`: session time
    zone UTC, the shuffle partitions, adaptive query execution, the driver JVM's options...)
    and the warehouse folder ``warehouse``. Its Python workers (the engine jobs'
    applyInPandas) run this process's interpreter, so they import the same packages.

    Its catalog ($MARKET_REGIMES_SPARK_CATALOG): ``hive`` (default) keeps the tables in the
    local Hive metastore (``metastore_db/`` of the working directory: another process, a
    later command, finds them); ``in-memory`` keeps them for this process only (the tables'
    Parquet files still go to ``warehouse``): for a run whose every step shares this session
    (:func:`run_steps`: CI's Spark check), where the embedded Derby metastore's bookkeeping
    of each create, drop and rename is pure overhead. Raises ValueError for another value
    (and as :func:`profile_session_settings`)."""
    import os
    import sys

    catalog = os.environ.get(CATALOG_ENV, "hive")
    if catalog not in ("hive", "in-memory"):
        raise ValueError(f"${CATALOG_ENV} is {catalog!r}: expected hive or in-memory")
    settings = profile_session_settings() | {"spark.sql.warehouse.dir": str(warehouse)}
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # read by SparkContext for its workers
    builder = SparkSession.builder.master("local[2]")
    builder = (
        builder.enableHiveSupport() if catalog == "hive" else builder.config("spark.sql.catalogImplementation", catalog)
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark_module(args: list[str], *, cwd: Path, warehouse: Path, env: dict | None = None) -> str:
    """Run ``python -m <args> --warehouse <warehouse>`` with this interpreter in ``cwd`` (the
    dbt-spark working directory, whose ``metastore_db/`` the Spark session opens), in its own
    process: no other process may hold the local metastore meanwhile. Its progress lines
    (stderr lines starting with ``[spark]``) are passed on to this process's stderr as they
    come. Returns the last line it printed (the jobs, ``copy-landing`` and ``steps`` print
    their result as JSON). Raises RuntimeError with the tail of its error output when it fails."""
    import subprocess
    import sys
    import tempfile

    cmd = [sys.executable, "-m", *args, "--warehouse", str(warehouse)]
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
        tail: list[str] = []
        for line in proc.stderr:
            if line.startswith("[spark]"):
                print(line, end="", file=sys.stderr, flush=True)
            tail = (tail + [line])[-200:]
        code = proc.wait()
        if code != 0:
            raise RuntimeError(f"python -m {' '.join(args[:2])} failed (exit {code}):\n{''.join(tail)[-4000:]}")
        out.seek(0)
        lines = out.read().strip().splitlines()
    return lines[-1] if lines else ""


def run_steps(spark, steps: list[dict]) -> list[dict]:
    """Run ``steps`` in order on the session ``spark`` (this process's active session, which
    dbt-spark's ``method: session`` takes over for dbt commands); returns one result per step
    with its ``seconds``. Progress: one ``[spark] ...`` line per step on stderr.

    Steps (one key each):
        ``{"dbt": [args]}``: ``dbt <args>`` in this process (``dbt.cli.main.dbtRunner``; args
        as on the command line, e.g. ``["run", "--target", "spark", "--select", ...]``);
        result: the nodes' ``unique_id``, ``status`` and ``execution_time``.
        ``{"copy-landing": duckdb_path}``: :func:`copy_landing`; result: rows per table.
        ``{"engines": [job, ...]}``: the jobs of :data:`market_regimes.spark_engines.JOBS`;
        result: each job's result with its ``seconds`` (as ``python -m
        market_regimes.spark_engines`` prints them).
        ``{"export": {"duckdb_build": path, "out": path, "tables": [...]}}``: :func:`export_tables`.

    Raises:
        RuntimeError: a dbt command failed (a failing test included), naming the nodes.
        ValueError: an unknown step.
    """
    import sys
    import time

    results = []
    for step in steps:
        (kind, arg), started = next(iter(step.items())), time.perf_counter()
        what = f"dbt {' '.join(arg[:3])}" if kind == "dbt" else kind
        print(f"[spark] {what} ...", file=sys.stderr, flush=True)
        if kind == "dbt":
            from dbt.cli.main import dbtRunner

            res = dbtRunner().invoke(list(arg))
            nodes = [
                {"unique_id": r.node.unique_id, "status": str(r.status), "execution_time": r.execution_time}
                for r in getattr(res.result, "results", None) or []
            ]
            if not res.success:
                failed = [f"{n['unique_id']} ({n['status']})" for n in nodes if n["status"] not in ("success", "pass")]
                raise RuntimeError(f"dbt {' '.join(arg)} failed: {failed[:10] or res.exception}")
            result: object = nodes
        elif kind == "copy-landing":
            result = copy_landing(Path(arg), spark)
        elif kind == "engines":
            from market_regimes.spark_engines import JOBS

            result = {}
            for job in arg:
                began = time.perf_counter()
                result[job] = {**JOBS[job](spark), "seconds": round(time.perf_counter() - began, 1)}
        elif kind == "export":
            export_tables(spark, arg["tables"], Path(arg["duckdb_build"]), Path(arg["out"]))
            result = None
        else:
            raise ValueError(f"run_steps: unknown step {kind!r}")
        seconds = round(time.perf_counter() - started, 1)
        print(f"[spark] {what} ... {seconds} s", file=sys.stderr, flush=True)
        results.append({"step": kind, "seconds": seconds, "result": result})
    return results


def copy_landing(duckdb_path: Path, spark, tables: tuple[str, ...] = LANDING_TABLES) -> dict[str, int]:
    """Copy the landing ledger ``tables`` of schema ``raw`` from the DuckDB file into Spark
    (Parquet tables ``raw.<name>``, replaced); returns the rows copied per table. Raises
    duckdb.CatalogException when a table is missing (land first)."""
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        spark.sql("create database if not exists raw")
        copied = {}
        for name in tables:
            frame = con.sql(f"select * from raw.{name}").df()
            for column in frame.columns:  # Spark takes microsecond timestamps
                if str(frame[column].dtype).startswith("datetime64"):
                    frame[column] = frame[column].astype("datetime64[us]")
            spark.createDataFrame(frame).write.mode("overwrite").format("parquet").saveAsTable(f"raw.{name}")
            copied[name] = len(frame)
        return copied
    finally:
        con.close()


#: the columns that name a series segment in both builds; ``series_part`` is its engine-specific hash
SERIES_KEY = ("series_id", "segment_id")


def series_part_map(spark_keys, duckdb_keys):
    """Spark's series key -> the DuckDB build's key of the same series segment.

    Args:
        spark_keys: rows (series_id, segment_id, series_part) of the Spark build (pandas;
            series_part Spark's xxhash64), duplicates allowed.
        duckdb_keys: rows (series_id, segment_id, duckdb_part) of the DuckDB build (DuckDB's
            hash), duplicates allowed.

    Returns:
        A DataFrame (series_part, duckdb_part), one row per Spark key of a segment the DuckDB
        build holds (an inner join: the keys keep their 64-bit integer types); a Spark key
        without a row exports as NULL, and its rows then differ in the parity.

    Raises:
        ValueError: a Spark key names two segments, or one segment has two DuckDB keys (the
        key would not identify the rows).
    """
    both = (
        spark_keys[[*SERIES_KEY, "series_part"]]
        .drop_duplicates()
        .merge(duckdb_keys[[*SERIES_KEY, "duckdb_part"]].drop_duplicates(), on=list(SERIES_KEY), how="inner")
    )
    pairs = both[["series_part", "duckdb_part"]].drop_duplicates()
    if pairs["series_part"].duplicated().any():
        clash = sorted(pairs.loc[pairs["series_part"].duplicated(keep=False), "series_part"].unique().tolist())
        raise ValueError(f"series_part_map: Spark series keys {clash[:5]} name more than one series segment")
    return pairs.reset_index(drop=True)


def export_tables(spark, tables: list[str], duckdb_build: Path, out: Path) -> None:
    """Write the Spark tables ``tables`` (``schema.name``) into the DuckDB file ``out`` under
    the same names, with the DuckDB build's columns in its order and types (Spark keeps a
    replaced column last and has no HUGEINT / UBIGINT). The series key (``series_part``: a
    hash, xxhash64 on Spark, DuckDB's hash on DuckDB) becomes the DuckDB build's key of the
    same (series_id, segment_id) (:func:`series_part_map`), read from both builds'
    ``intermediate.int_indicator_series_listed`` and, for a table that holds series_id and
    segment_id itself, from both builds' rows of that table (rpt_regime_labels_aligned's
    market series, ``market|<market>``, are no indicator series), so the two builds compare
    row by row. Raises ValueError naming a column the Spark table lacks, or as
    :func:`series_part_map`."""
    import pandas as pd

    key_sql = "select distinct series_id, segment_id, series_part as duckdb_part from {}"
    duck = duckdb.connect(str(duckdb_build), read_only=True)
    keys = duck.sql(key_sql.format("intermediate.int_indicator_series_listed")).df()
    columns = {table: duck.sql(f"describe {table}").fetchall() for table in tables}
    own_keys = {
        table: duck.sql(key_sql.format(table)).df()
        for table in tables
        if {*SERIES_KEY, "series_part"} <= {name for name, *_ in columns[table]}
    }
    duck.close()
    listed = spark.table("intermediate.int_indicator_series_listed").select(*SERIES_KEY, "series_part").toPandas()
    con = duckdb.connect(str(out))
    try:
        for table in tables:
            schema, _ = table.split(".")
            con.execute(f"create schema if not exists {schema}")
            frame = spark.table(table).toPandas()
            missing = [name for name, *_ in columns[table] if name not in frame.columns]
            if missing:
                raise ValueError(f"{table}: the Spark table has no column {', '.join(missing)}")
            con.register("spark_rows", frame)
            has_key = "series_part" in frame.columns
            if has_key:
                spark_keys, duckdb_keys = listed, keys
                if table in own_keys:
                    spark_keys = pd.concat([listed, frame[[*SERIES_KEY, "series_part"]]], ignore_index=True)
                    duckdb_keys = pd.concat([keys, own_keys[table]], ignore_index=True)
                con.register("part_map", series_part_map(spark_keys, duckdb_keys))
            select = ", ".join(
                f"cast({'m.duckdb_part' if name == 'series_part' and has_key else 's.' + name} as {ctype}) as {name}"
                for name, ctype, *_ in columns[table]
            )
            join = " left join part_map as m on m.series_part = s.series_part" if has_key else ""
            con.execute(f"create or replace table {table} as select {select} from spark_rows as s{join}")
            con.unregister("spark_rows")
            if has_key:
                con.unregister("part_map")
    finally:
        con.close()


# Integer columns compared as floats: the composites' log index in integer units of 2^-52
# log points is the running sum of round(ln(mean return) x 2^52); Spark's ln differs from
# DuckDB's by an ulp on some bars, so a unit can differ there and the sum by a few units
# (measured: 9 units, 2e-15 of the index) - within the composites' 1e-12 relative.
AS_DOUBLE = ("log_index_units",)
# Columns left out of the comparison: the uptrend and grid lifecycle engines' states (JSON
# text) carry the float buffers of their inputs, whose last bits differ between the engines
# (indicators to 1e-13); the rows the states produce (states, flags, scores, triggers) are
# compared.
NOT_COMPARED = {"marts.fct_uptrend_states": ("engine_state",), "marts.fct_grid_lifecycle": ("engine_state",)}
# JSON text columns whose numbers the engine rounds to 6 significant digits (the grid
# lifecycle's trigger values, ``f"{v:.6g}"``): where an input lies on a rounding tie (e.g. a
# grid's upper 152.5125), Spark's ln/exp, an ulp away from DuckDB's, can flip the rounded
# digit (152.512 vs 152.513). These columns are compared apart (table -> (column, key)):
# a row whose JSON differs only by such flips (same structure and text, every number
# within one unit of its 6th significant digit) is counted as a tie flip and reported; any
# other difference fails the table.
TIE_FLIP_JSON = {
    "marts.fct_grid_lifecycle": ("state_changes", ("grid_id", "bar_start")),
    "marts.fct_exit_states": ("triggers", ("grid_id", "bar_start", "change_seq")),
}


def _tie_flip(left, right) -> bool | None:
    """True when the parsed JSON values differ only by flips of the 6th significant digit,
    None when they are equal, False for any other difference."""
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return False
        parts = [_tie_flip(left[k], right[k]) for k in left]
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return False
        parts = [_tie_flip(a, b) for a, b in zip(left, right)]
    elif isinstance(left, bool) or isinstance(right, bool):  # before numbers: True == 1.0 in Python
        return None if type(left) is type(right) and left == right else False
    elif isinstance(left, (int, float)) and isinstance(right, (int, float)):
        if left == right:
            return None
        scale = max(abs(left), abs(right))
        unit = 10.0 ** (math.floor(math.log10(scale)) - 5)  # one unit of the 6th significant digit
        return abs(left - right) <= unit * (1 + 1e-9)
    else:
        return None if left == right else False
    if any(p is False for p in parts):
        return False
    return True if any(p for p in parts) else None


def tie_flips(duckdb_build: Path, spark_export: Path, table: str, column: str, key: tuple[str, ...]) -> tuple[int, int]:
    """(tie flips, other differences) of the JSON text ``column`` of ``table`` between the two
    files, rows joined on ``key`` (:data:`TIE_FLIP_JSON`; rows on one side only are left to
    the table's own comparison). Texts that parse to equal values (spelled differently:
    whitespace, key order) count as neither; NULL on one side only is another difference."""
    import json

    con = duckdb.connect()
    try:
        con.execute(f"attach '{duckdb_build}' as l (read_only)")
        con.execute(f"attach '{spark_export}' as r (read_only)")
        on = " and ".join(f"l_.{k} = r_.{k}" for k in key)
        rows = con.sql(
            f"select cast(l_.{column} as varchar), cast(r_.{column} as varchar) from l.{table} as l_ "
            f"join r.{table} as r_ on {on} where l_.{column} is distinct from r_.{column}"
        ).fetchall()
    finally:
        con.close()
    flips = other = 0
    for left, right in rows:
        verdict = False if left is None or right is None else _tie_flip(json.loads(left), json.loads(right))
        if verdict:
            flips += 1
        elif verdict is False:
            other += 1
    return flips, other


def parity(duckdb_build: Path, spark_export: Path, tables: list[str], work: Path) -> list[TableDiff]:
    """:func:`market_regimes.compare.compare_warehouses` of the DuckDB build and the export of
    the Spark build on ``tables`` only (the DuckDB build holds more: the Python models),
    with the columns of :data:`AS_DOUBLE` compared as DOUBLE, those of
    :data:`NOT_COMPARED` left out and those of :data:`TIE_FLIP_JSON` compared apart
    (:func:`tie_flips`: a table's ``tie_flips`` counts its rows that differ only by a flipped
    rounding tie; another difference there counts as unmatched). ``work``: a folder for the
    two copies compared."""
    copies = []
    for side, source in (("duckdb", duckdb_build), ("spark", spark_export)):
        copy = Path(work) / f"parity_{side}.duckdb"
        copy.unlink(missing_ok=True)
        con = duckdb.connect(str(copy))
        try:
            con.execute(f"attach '{source}' as src (read_only)")
            for table in tables:
                names = [
                    row[0]
                    for row in con.sql(f"describe src.{table}").fetchall()
                    if row[0] not in NOT_COMPARED.get(table, ()) and row[0] != TIE_FLIP_JSON.get(table, ("",))[0]
                ]
                select = ", ".join(f"cast({n} as double) as {n}" if n in AS_DOUBLE else n for n in names)
                con.execute(f"create schema if not exists {table.split('.')[0]}")
                con.execute(f"create table {table} as select {select} from src.{table}")
        finally:
            con.close()
        copies.append(copy)
    schemas = sorted({t.split(".")[0] for t in tables})
    diffs = [d for d in compare_warehouses(copies[0], copies[1], schemas) if d.table in set(tables)]
    for d in diffs:
        if d.table in TIE_FLIP_JSON and d.left_rows > 0 and d.right_rows > 0:
            column, key = TIE_FLIP_JSON[d.table]
            d.tie_flips, other = tie_flips(duckdb_build, spark_export, d.table, column, key)
            d.unmatched += other
    return diffs


def main(argv: list[str] | None = None) -> int:
    """``python -m market_regimes.spark_parity copy-landing|export|steps ...`` (run in the Spark
    working directory, in its own process: see the module docstring)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m market_regimes.spark_parity", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    copy = sub.add_parser("copy-landing", help="copy the landing ledgers of a DuckDB file into Spark")
    copy.add_argument("duckdb", type=Path)
    copy.add_argument("--warehouse", type=Path, required=True, help="spark.sql.warehouse.dir of the dbt profile")
    export = sub.add_parser("export", help="write Spark tables into a DuckDB file, with the DuckDB build's keys")
    export.add_argument("duckdb_build", type=Path)
    export.add_argument("out", type=Path)
    export.add_argument("--warehouse", type=Path, required=True)
    export.add_argument("--tables", nargs="+", required=True, help="schema.name of each table")
    steps = sub.add_parser("steps", help="run the steps of a JSON file in one Spark session (run_steps)")
    steps.add_argument("plan", type=Path, help="a JSON list of steps")
    steps.add_argument("--warehouse", type=Path, required=True)
    args = parser.parse_args(argv)
    spark = spark_session(args.warehouse)
    try:
        if args.command == "copy-landing":
            print(json.dumps(copy_landing(args.duckdb, spark)))
        elif args.command == "steps":
            print(json.dumps(run_steps(spark, json.loads(args.plan.read_text()))))
        else:
            export_tables(spark, args.tables, args.duckdb_build, args.out)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
