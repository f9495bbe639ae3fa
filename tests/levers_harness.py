"""Run the lever marts' compiled SQL (docs/levers.md) on hand-made inputs in milliseconds.

Why beside dbt's unit tests (which test each mart on fixed rows): the hypothesis
properties here chain the three marts on random inputs against a Python oracle, which dbt
unit tests (fixed given/expect rows, one model each) cannot express.

`compile_lever_sql(work)` runs `dbt compile` once for fct_regime_deltas,
fct_lever_contributions and fct_levers (fct_levers reads source trading.position_intents,
raw.position_intents). `LeverHarness(sql)` then builds them in an in-memory catalog named
like the refs' catalog (`market_regimes`) from:

- seeds: every seeds/<name>.csv, typed by the column_types of seeds/_seeds.yml;
  `set_seed(name, frame)` replaces one (e.g. an edited regime_state_deltas);
- states: `set_states(rows)` writes marts.fct_uptrend_states; rows are dicts or a
  DataFrame with driver, timeframe, bar_start (UTC, naive), state, prev_state and the four
  flags (missing keys = NULL);
- intents: `set_intents(rows)` writes raw.position_intents (bar_start, bucket,
  execution_timeframe, delta_a, delta_e).

`run()` builds the three tables in dependency order; `levers()`, `contributions()` and
`deltas()` return them as DataFrames. Raises AssertionError (with dbt's output) when the
compile fails.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import yaml

from tests.helpers import PROJECT, dbt

SEEDS = PROJECT / "seeds"
CATALOG = "market_regimes"  # the DuckDB file stem dbt compiled the refs against
LEVER_MODELS = ("fct_regime_deltas", "fct_lever_contributions", "fct_levers")
STATE_COLUMNS = {
    "driver": "varchar",
    "timeframe": "varchar",
    "bar_start": "timestamp",
    "state": "varchar",
    "prev_state": "varchar",
    "buy_flag": "boolean",
    "first_dip_buy_flag": "boolean",
    "rebuy_flag": "boolean",
    "trim_flag": "boolean",
}
INTENT_COLUMNS = {
    "bar_start": "timestamp",
    "bucket": "varchar",
    "execution_timeframe": "varchar",
    "delta_a": "double",
    "delta_e": "double",
}


def compile_lever_sql(work: Path) -> dict[str, str]:
    """Compiled SELECT of each lever model, keyed by model name."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"{CATALOG}.duckdb"
    dbt("compile", db, PROJECT / "sample" / "landing", work, extra=["--select", *LEVER_MODELS])
    compiled = work / "target" / "compiled" / "market_regimes" / "models" / "marts" / "levers"
    return {name: (compiled / f"{name}.sql").read_text() for name in LEVER_MODELS}


def seed_column_types() -> dict[str, dict[str, str]]:
    """column_types of every seed in seeds/_seeds.yml."""
    spec = yaml.safe_load((SEEDS / "_seeds.yml").read_text())
    return {s["name"]: s["config"]["column_types"] for s in spec["seeds"]}


class LeverHarness:
    """An in-memory warehouse with the seeds, hand-made states and intents (see module doc)."""

    def __init__(self, sql: dict[str, str]):
        self.sql = sql
        self.con = duckdb.connect()
        self.con.execute(f"attach ':memory:' as {CATALOG}")
        self.con.execute(f"use {CATALOG}")
        for schema in ("seeds", "marts", "raw"):
            self.con.execute(f"create schema {schema}")
        self.types = seed_column_types()
        for name in self.types:
            self.set_seed(name, pd.read_csv(SEEDS / f"{name}.csv", dtype=str, keep_default_na=False))
        self.set_states([])
        self.set_intents([])

    def set_seed(self, name: str, frame: pd.DataFrame) -> None:
        """Replace seeds.<name> with frame (values cast to the seed's column types; '' = NULL)."""
        types = self.types[name]
        frame = frame.astype(object).where(frame.astype(str) != "", None)
        self._write(f"seeds.{name}", frame, types)

    def seed(self, name: str) -> pd.DataFrame:
        return self.con.sql(f"select * from seeds.{name}").df()

    def set_states(self, rows) -> None:
        self._write("marts.fct_uptrend_states", pd.DataFrame(rows), STATE_COLUMNS)

    def set_intents(self, rows) -> None:
        self._write("raw.position_intents", pd.DataFrame(rows), INTENT_COLUMNS)

    def _write(self, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        frame = frame.reindex(columns=list(types)).astype(object)
        frame = frame.where(pd.notna(frame), None)
        self.con.execute(f"create or replace table {table} (" + ", ".join(f'"{c}" {t}' for c, t in types.items()) + ")")
        if len(frame):
            self.con.executemany(f"insert into {table} values ({', '.join('?' * len(types))})", frame.values.tolist())

    def run(self) -> None:
        for name in LEVER_MODELS:
            self.con.execute(f"create or replace table marts.{name} as {self.sql[name]}")

    def levers(self) -> pd.DataFrame:
        return self.con.sql("select * from marts.fct_levers order by all").df()

    def contributions(self) -> pd.DataFrame:
        return self.con.sql("select * from marts.fct_lever_contributions order by all").df()

    def deltas(self) -> pd.DataFrame:
        return self.con.sql("select * from marts.fct_regime_deltas order by all").df()

    def config(self) -> dict[str, float]:
        return dict(self.con.sql("select key, value from seeds.levers_config").fetchall())
