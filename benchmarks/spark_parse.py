"""How far the SQL models are from Apache Spark: compile every SQL model of the project for
the `spark` target (profiles.yml: dbt-spark, local session) and parse it with Spark's own SQL
parser; prints one JSON document.

Needs the optional dependencies (``pip install -e '.[spark]'``: dbt-spark, pyspark) and Java
17+. Not run by CI: it measures the port (docs/scale-out.md), it does not gate it. Parsing is
the first hurdle only: a model that parses may still fail analysis (an unknown function, a
type) or run differently; the parser reports the first error of a model, so a model can hold
more than the construct it names.

Output: ``{"models": N, "parse": n, "fail": m, "failures": {model: first failing line}}``
(ANSI mode, Spark's default; identifiers as dbt-spark renders them, in backticks).

``--analyze WAREHOUSE.duckdb`` goes one step further: every table and view of a DuckDB build
(seeds, landing, every model) becomes an empty Spark table of the same columns (types
mapped: UBIGINT -> BIGINT, HUGEINT -> DECIMAL(38,0), lists -> arrays...), and each model
that parses is analysed by Spark against them (names, functions, types), without data.
Adds ``"analyze": n, "analysis_failures": {model: first line of Spark's error}``.

Usage: python benchmarks/spark_parse.py [--keep DIR] [--analyze WAREHOUSE.duckdb]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, run_dbt  # noqa: E402  (sibling benchmark script)


def compile_for_spark(work: Path) -> Path:
    """``dbt compile --target spark`` of every SQL model (no tests: their introspective
    queries need built tables) into ``work``; returns the compiled models folder."""
    os.environ["MARKET_REGIMES_SPARK_WAREHOUSE"] = str(work / "spark-warehouse")
    extra = ["--target", "spark", "--select", "path:models,resource_type:model", "--indirect-selection", "empty"]
    run_dbt("compile", PROJECT / "sample" / "landing", work, extra=extra)
    return work / "target" / "compiled" / "market_regimes" / "models"


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB column type (the types this project's tables use)."""
    t = duckdb_type.strip()
    if t.endswith("[]"):
        return f"array<{spark_type(t[:-2])}>"
    upper = t.upper()
    if upper.startswith("STRUCT("):
        fields, depth, start = [], 0, len("STRUCT(")
        for i, ch in enumerate(t[start:-1], start):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                fields.append(t[start:i])
                start = i + 1
        fields.append(t[start:-1])
        parts = []
        for field in fields:
            name, ftype = field.strip().split(" ", 1)
            parts.append(f"{name.strip(chr(34))}: {spark_type(ftype)}")
        return f"struct<{', '.join(parts)}>"
    simple = {
        "VARCHAR": "string", "DOUBLE": "double", "FLOAT": "float", "BIGINT": "bigint", "INTEGER": "int",
        "SMALLINT": "smallint", "TINYINT": "tinyint", "BOOLEAN": "boolean", "DATE": "date",
        "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp", "UBIGINT": "bigint",
        "UINTEGER": "bigint", "USMALLINT": "int", "UTINYINT": "smallint", "HUGEINT": "decimal(38,0)",
        "INTERVAL": "interval day to second", "JSON": "string", "BLOB": "binary",
    }  # fmt: skip
    if upper in simple:
        return simple[upper]
    if upper.startswith("DECIMAL"):
        return upper.lower()
    raise ValueError(f"no Spark type for DuckDB type {duckdb_type!r}")


def create_empty_tables(spark, warehouse: Path) -> int:
    """Every table and view of the DuckDB file ``warehouse`` as an empty Spark table of the
    same columns, in a database of the same schema name; returns how many."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.sql(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_schema not in ('information_schema', 'pg_catalog') order by table_schema, table_name, ordinal_position"
    ).fetchall()
    con.close()
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column, dtype in rows:
        tables.setdefault((schema, table), []).append(f"`{column}` {spark_type(dtype)}")
    for schema in sorted({schema for schema, _ in tables}):
        spark.sql(f"create database if not exists `{schema}`")
    for (schema, table), columns in tables.items():
        spark.sql(f"create table if not exists `{schema}`.`{table}` ({', '.join(columns)}) using parquet")
    return len(tables)


def analyze(spark, models: Path, names: list[str]) -> dict[str, str | None]:
    """Model name -> None when Spark analyses its compiled SQL against the tables, else the
    first line of the error."""
    out: dict[str, str | None] = {}
    for path in sorted(models.rglob("*.sql")):
        if path.stem not in names:
            continue
        sql = path.read_text().strip().rstrip(";")
        try:
            spark.sql(sql).schema  # noqa: B018 - analysis only, nothing runs
            out[path.stem] = None
        except Exception as error:  # noqa: BLE001 - py4j wraps Spark's AnalysisException
            out[path.stem] = str(error).strip().splitlines()[0][:400]
    return out


def start_spark(work: Path):
    """A local Spark session (ANSI mode) with its warehouse under ``work``."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(work / "analyze-warehouse"))
        .getOrCreate()
    )


def parse_all(spark, models: Path) -> dict[str, str | None]:
    """Model name -> None when Spark's parser accepts its compiled SQL, else the source line
    of the first error."""
    spark.sparkContext.setLogLevel("OFF")  # a failed parse is a result here, not an error to log
    logging.getLogger("SQLQueryContextLogger").disabled = True  # pyspark's Python-side echo of it
    parser = spark._jsparkSession.sessionState().sqlParser()
    out: dict[str, str | None] = {}
    for path in sorted(models.rglob("*.sql")):
        if ".yml" in path.parent.name:  # a compiled data test
            continue
        sql = path.read_text().strip().rstrip(";")
        try:
            parser.parsePlan(sql)
            out[path.stem] = None
        except Exception as error:  # noqa: BLE001 - py4j wraps Spark's ParseException
            where = re.search(r"line (\d+), pos(?:ition)? (\d+)", str(error))
            lines = sql.splitlines()
            out[path.stem] = lines[int(where.group(1)) - 1].strip() if where else str(error).splitlines()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="compile into this folder (kept) instead of a temporary one")
    parser.add_argument("--analyze", type=Path, metavar="WAREHOUSE.duckdb", help="also analyse against its tables")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mr-spark-parse-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        models = compile_for_spark(work)
        spark = start_spark(work)
        results = parse_all(spark, models)
        failures = {name: line for name, line in results.items() if line is not None}
        report = {"models": len(results), "parse": len(results) - len(failures), "fail": len(failures)}
        report["failures"] = failures
        if args.analyze:
            create_empty_tables(spark, args.analyze)
            analysed = analyze(spark, models, [name for name, line in results.items() if line is None])
            wrong = {name: line for name, line in analysed.items() if line is not None}
            report["analyze"] = len(analysed) - len(wrong)
            report["analysis_failures"] = wrong
        spark.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
