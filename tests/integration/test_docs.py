"""dbt docs, example analyses, exposures and read-only BI access on the sample build (issue 7).

One `dbt docs generate` (module fixture, ~10 s with the sample build's partial parse) gives
the manifest (descriptions), catalog.json and the compiled analyses; dbt only reads the
warehouse. The mart tables themselves come from the built file (`describe`), so a column
added in SQL without YAML fails here, and so does a YAML column the table does not have.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import DBT, PROJECT, query

SAMPLE = PROJECT / "sample" / "landing"
ANALYSES = sorted(p.name for p in (PROJECT / "analyses").glob("*.sql"))
DASHBOARD_MARTS = {
    "fct_driver_bars",
    "fct_uptrend_states",
    "fct_regime_events",
    "fct_levers",
    "fct_lever_contributions",
    "fct_market_regimes",
    "fct_volatility_regimes",
    "fct_grid_regimes",
    "fct_grid_lifecycle",
    "fct_exit_states",
}

# A description states its unit: "UTC" for timestamps, "boolean" for flags, "text"/"label"/"key"
# for strings, and for numbers one of these (USDT, index or percent points, counts of bars,
# fractions, dimensionless scores...). A description without any of them fails.
NUMERIC_UNIT = re.compile(
    r"\b(usdt|quote currency|price units|index points|percent points|points|base units|count|bars|"
    r"fraction|dimensionless|log return|probability|score|multiplier|counter|units of [ae])\b"
)
TYPE_UNIT = {
    "TIMESTAMP": re.compile(r"\butc\b"),
    "BOOLEAN": re.compile(r"\bboolean\b"),
    "VARCHAR": re.compile(r"\b(text|label|key)\b"),
}


def mart_relations(db: Path) -> dict[str, list[tuple[str, str]]]:
    """{table or view name: [(column, DuckDB type), ...]} of schema marts in the built file."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.sql(
                "select table_name from duckdb_tables() where schema_name = 'marts' and database_name = current_database() "
                "union all select view_name from duckdb_views() where schema_name = 'marts' "
                "and database_name = current_database() and not internal"
            ).fetchall()
        ]
        return {n: [(c, t) for c, t, *_ in con.sql(f"describe marts.{n}").fetchall()] for n in sorted(names)}
    finally:
        con.close()


@pytest.fixture(scope="module")
def docs_target(sample_db, tmp_path_factory) -> Path:
    """`dbt docs generate` of the analyses and the marts against the sample build, into a
    temporary target path: {manifest,catalog}.json, index.html, compiled/.../analyses/."""
    work = tmp_path_factory.mktemp("docs")
    target = work / "target"
    target.mkdir()
    # Reuse the sample build's parse (saves ~12 s of a full parse on 2 cores): dbt re-parses
    # whatever changed since, and does a full parse when env, vars or versions differ.
    saved = sample_db.parent / "target" / "partial_parse.msgpack"
    if saved.exists():
        shutil.copy(saved, target / saved.name)
    env = {
        **os.environ,
        "MARKET_REGIMES_DB": str(sample_db),
        "MARKET_REGIMES_LANDING": str(SAMPLE),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DO_NOT_TRACK": "1",
    }
    # tests.helpers.dbt puts --project-dir before the arguments: `dbt docs` (a command
    # group) refuses options before its subcommand, hence this one call of our own.
    proc = subprocess.run(
        [
            str(DBT),
            "docs",
            "generate",
            "--project-dir",
            str(PROJECT),
            "--target-path",
            str(target),
            "--log-path",
            str(work / "logs"),
            "--select",
            "resource_type:analysis",
            "config.schema:marts",
            "--indirect-selection",
            "empty",
        ],  # the marts' data tests need no compiling here
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert proc.returncode == 0, f"dbt docs generate failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return target


@pytest.fixture(scope="module")
def manifest(docs_target) -> dict:
    return json.loads((docs_target / "manifest.json").read_text())


def mart_models(manifest: dict) -> dict[str, dict]:
    return {
        n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"
    }


def test_every_mart_model_and_column_is_described(manifest, sample_db):
    models = mart_models(manifest)
    relations = mart_relations(sample_db)
    assert len(relations) >= 13, sorted(relations)
    problems = []
    problems += [f"marts.{name}: table without a dbt model" for name in sorted(set(relations) - set(models))]
    problems += [f"marts.{name}: model not built" for name in sorted(set(models) - set(relations))]
    for name in sorted(set(models) & set(relations)):
        node, real = models[name], [c for c, _ in relations[name]]
        if not node["description"].strip():
            problems.append(f"marts.{name}: no model description")
        yml = {c: v["description"] for c, v in node["columns"].items()}
        problems += [f"marts.{name}.{c}: no description" for c in real if not yml.get(c, "").strip()]
        problems += [f"marts.{name}.{c}: in YAML, not in the table" for c in yml if c not in real]
    assert not problems, "\n".join(problems)


def test_every_mart_column_description_states_its_unit(manifest, sample_db):
    models = mart_models(manifest)
    missing = []
    for name, columns in mart_relations(sample_db).items():
        described = models.get(name, {}).get("columns", {})
        for column, ctype in columns:
            text = described.get(column, {}).get("description", "").lower()
            pattern = TYPE_UNIT.get(ctype.split("(")[0], NUMERIC_UNIT)
            if not pattern.search(text):
                missing.append(f"marts.{name}.{column} ({ctype}): {text!r}")
    assert not missing, "descriptions without a unit:\n" + "\n".join(missing)


def test_docs_generate_writes_a_catalog_of_the_marts(docs_target, sample_db):
    catalog = json.loads((docs_target / "catalog.json").read_text())
    assert (docs_target / "index.html").stat().st_size > 0
    nodes = {n["metadata"]["name"]: n for n in catalog["nodes"].values() if n["metadata"]["schema"] == "marts"}
    relations = mart_relations(sample_db)
    assert set(nodes) == set(relations)
    for name, columns in relations.items():
        assert {c.lower() for c in nodes[name]["columns"]} == {c for c, _ in columns}, name
    assert nodes["fct_driver_indicators"]["metadata"]["type"].lower() == "view"
    assert nodes["fct_levers"]["metadata"]["type"].lower() == "base table"


def test_dashboard_exposure_reads_the_marts(manifest):
    exposure = manifest["exposures"]["exposure.market_regimes.regimes_dashboard"]
    assert exposure["type"] == "dashboard" and exposure["owner"]["name"] and exposure["url"]
    parents = {manifest["nodes"][u]["name"] for u in exposure["depends_on"]["nodes"]}
    assert parents == DASHBOARD_MARTS
    assert all(manifest["nodes"][u]["schema"] == "marts" for u in exposure["depends_on"]["nodes"])


@pytest.mark.parametrize("analysis", ANALYSES)
def test_analysis_compiles_and_returns_rows(docs_target, sample_db, analysis):
    source = (PROJECT / "analyses" / analysis).read_text()
    assert source.startswith("--"), f"{analysis}: no header comment"
    compiled = docs_target / "compiled" / "market_regimes" / "analyses" / analysis
    sql = compiled.read_text()
    assert "{{" not in sql and "ref(" not in sql
    rows = query(sample_db, sql)
    assert len(rows) >= 1, f"{analysis} returned no rows"


def test_readme_bi_queries_run_on_the_sample(sample_db):
    readme = (PROJECT / "docs" / "querying.md").read_text()
    section = readme.split("## Querying the warehouse (BI)\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        assert len(query(sample_db, block.strip().rstrip(";"))) >= 1, block
    named = set(re.findall(r"analyses/(\w+)\.sql", section))
    assert named and {f"{n}.sql" for n in named} <= set(ANALYSES)


# The BI case: nothing writes; a second process opens the file read-only while this one
# holds its own read-only connection. Order-independent numbers only (counts, min/max,
# exact integer sums), so both processes must print the very same values.
BI_READER = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {name: [str(v) for v in con.sql(sql).fetchone()] for name, sql in json.loads(sys.argv[2]).items()}
try:
    con.execute("create table marts.bi_probe as select 1 as x")
    out["write"] = "allowed"
except duckdb.Error as error:
    out["write"] = type(error).__name__
con.close()
print(json.dumps(out))
"""


def test_second_process_reads_the_file_read_only_while_we_do(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        queries = {"levers": "select count(*), sum(n_used), max(a_value), min(bar_start) from marts.fct_levers"}
        views = [
            r[0]
            for r in con.sql(
                "select view_name from duckdb_views() where schema_name = 'staging' "
                "and database_name = current_database() order by 1"
            ).fetchall()
        ]
        if views:  # a staging view resolves its catalog by the file stem: the BI tool's view too
            queries["staging_view"] = f"select count(*), min(bar_start), max(bar_start) from staging.{views[0]}"
        ours = {name: [str(v) for v in con.sql(sql).fetchone()] for name, sql in queries.items()}
        proc = subprocess.run(
            [sys.executable, "-c", BI_READER, str(sample_db), json.dumps(queries)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        theirs = json.loads(proc.stdout)
        # our connection is still usable after the other process read the file
        again = [str(v) for v in con.sql(queries["levers"]).fetchone()]
    finally:
        con.close()
    assert int(ours["levers"][0]) > 0 and (not views or int(ours["staging_view"][0]) > 0)
    assert {k: v for k, v in theirs.items() if k != "write"} == ours
    assert again == ours["levers"]
    assert theirs["write"] != "allowed", "a read-only connection could write"


def test_the_installed_duckdb_shell_reads_the_warehouse(sample_db):
    """docs/querying.md recommends `.venv/bin/duckdb -readonly <file>`: the shell the install
    brings (PyPI duckdb-cli) opens the sample build read-only and answers like the Python package."""
    shell = Path(sys.executable).parent / "duckdb"
    assert shell.is_file(), "duckdb-cli is a dependency: .venv/bin/duckdb must exist"
    sql = "select count(*) as n, count(distinct bucket) as buckets from marts.fct_levers"
    proc = subprocess.run(
        [str(shell), "-readonly", "-csv", "-noheader", str(sample_db), "-c", sql],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    n, buckets = query(sample_db, sql).iloc[0]
    assert proc.stdout.strip() == f"{n},{buckets}" and n > 0
