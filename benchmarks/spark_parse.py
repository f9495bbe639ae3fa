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

Usage: python benchmarks/spark_parse.py [--keep DIR]
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


def parse_all(models: Path) -> dict[str, str | None]:
    """Model name -> None when Spark's parser accepts its compiled SQL, else the source line
    of the first error."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
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
    spark.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="compile into this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mr-spark-parse-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = parse_all(compile_for_spark(work))
    failures = {name: line for name, line in results.items() if line is not None}
    print(
        json.dumps(
            {
                "models": len(results),
                "parse": len(results) - len(failures),
                "fail": len(failures),
                "failures": failures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
