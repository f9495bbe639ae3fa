"""Where code may live (docs/architecture.md, "Python engines behind thin dbt models"):

* the engines (market_regimes/engines/) are pure: DataFrames and typed configs in and out,
  no SQL text, no warehouse, dbt or Dagster import;
* only the dbt Python models (python_models/) call ``dbt.ref`` / ``dbt.source``, and they
  hold no SQL text of their own (it is in market_regimes/adapters/);
* a dbt Python model is a thin adapter of at most 30 non-blank lines (docstring included):
  its config, its refs and one call (the plumbing of an incremental run is in
  market_regimes/adapters/*_models.py). LONG_MODELS would list an exception with its
  length as a ceiling (none is).
"""

from __future__ import annotations

import re

from tests.helpers import PROJECT

ENGINES = PROJECT / "market_regimes" / "engines"
SQL = re.compile(
    r"\bselect\b[^\n]*\bfrom\b|\bcreate\s+(or\s+replace\s+)?(temp\s+)?(table|view)\b|\bjoin\b[^\n]*\busing\b", re.I
)
FORBIDDEN_IMPORTS = re.compile(r"^\s*(import|from)\s+(duckdb|dbt|dagster|dagster_dbt)\b", re.M)
MODEL_LINES = 30
# dbt Python models over MODEL_LINES non-blank lines (docstring included): their SQL is in
# market_regimes/adapters/, what remains is the incremental bookkeeping around the engine
# (registering the stored rows, the frontier, the rows rewritten) and long docstrings
LONG_MODELS: dict[str, int] = {}


def _engine_files():
    return sorted(ENGINES.glob("*.py"))


def test_engines_hold_no_sql_and_import_no_warehouse():
    assert len(_engine_files()) > 10
    sql = [
        f"{p.name}:{n}"
        for p in _engine_files()
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert not sql, "SQL text in the engines: " + ", ".join(sql)
    imports = [p.name for p in _engine_files() if FORBIDDEN_IMPORTS.search(p.read_text())]
    assert not imports, "engines importing a warehouse, dbt or Dagster: " + ", ".join(imports)


def test_only_dbt_python_models_call_dbt_ref():
    calls = re.compile(r"\bdbt\.(ref|source)\(")
    found = [
        str(p.relative_to(PROJECT))
        for folder in ("market_regimes", "orchestration", "benchmarks")
        for p in (PROJECT / folder).rglob("*.py")
        if calls.search(p.read_text())
    ]
    assert not found, found


def test_python_models_hold_no_sql():
    found = [
        f"{p.name}:{n}"
        for p in (PROJECT / "python_models").rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert not found, "SQL text in dbt Python models (move it to market_regimes/adapters/): " + ", ".join(found)


def test_python_models_are_thin():
    lengths = {
        p.stem: sum(1 for line in p.read_text().splitlines() if line.strip())
        for p in (PROJECT / "python_models").rglob("*.py")
    }
    assert len(lengths) >= 15
    long = {name: n for name, n in lengths.items() if n > MODEL_LINES}
    grown = {name: (n, LONG_MODELS.get(name)) for name, n in long.items() if n > LONG_MODELS.get(name, MODEL_LINES)}
    assert not grown, f"dbt Python models longer than allowed (lines, ceiling): {grown}"
    gone = sorted(set(LONG_MODELS) - set(long))
    assert not gone, f"now thin, remove from LONG_MODELS: {gone}"


def test_the_sql_pattern_finds_sql():
    """The check above can fail: the pattern matches the SQL the adapters hold."""
    text = (PROJECT / "market_regimes" / "adapters" / "volatility_sql.py").read_text()
    assert sum(1 for line in text.splitlines() if SQL.search(line)) >= 3
