"""Environment settings of every entry point (CLI, dashboard, Dagster, benchmarks), in one place.

The warehouse file and the landing directory come from the environment, as dbt's profile
reads them (profiles.yml): ``MARKET_REGIMES_DB`` (default ``warehouse/market_regimes.duckdb``)
and ``MARKET_REGIMES_LANDING`` (default ``sample/landing``, the bundled sample). A relative
path is taken from the project directory (the folder with dbt_project.yml; dbt runs there).
A seed's CSV (:func:`seed_path`) is looked up in ``$DBT_PROJECT_DIR/seeds`` when that is set
(as make and the CLI set it; needed when the package is installed outside the checkout), else
in the checkout's ``seeds/``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the project directory: the repository checkout this package belongs to
PROJECT_DIR = Path(__file__).resolve().parents[1]
DB_ENV = "MARKET_REGIMES_DB"
LANDING_ENV = "MARKET_REGIMES_LANDING"
PROJECT_ENV = "DBT_PROJECT_DIR"
# the YAML mapping given to dbt's --vars, for code that runs beside dbt (the Spark engine jobs)
VARS_ENV = "MARKET_REGIMES_DBT_VARS"
DEFAULT_DB = "warehouse/market_regimes.duckdb"
DEFAULT_LANDING = "sample/landing"


def from_project(path: str | os.PathLike) -> Path:
    """`path` as is when absolute, else relative to :data:`PROJECT_DIR`."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT_DIR / p


def warehouse_path(explicit: str | os.PathLike | None = None) -> Path:
    """The DuckDB file: `explicit` when given, else $MARKET_REGIMES_DB, else the default;
    relative paths from the project directory. The file need not exist."""
    return from_project(explicit or os.environ.get(DB_ENV) or DEFAULT_DB)


def landing_path(explicit: str | os.PathLike | None = None) -> Path:
    """The landing directory: `explicit`, else $MARKET_REGIMES_LANDING, else the bundled
    sample; relative paths from the project directory."""
    return from_project(explicit or os.environ.get(LANDING_ENV) or DEFAULT_LANDING)


def seed_path(name: str) -> Path:
    """The CSV of dbt seed `name`: ``seeds/<name>.csv`` of $DBT_PROJECT_DIR when set, else
    of the checkout. The engines' default configs, the tests and the benchmarks read seeds
    from here (the dbt models read the warehouse's seed tables). The file need not exist:
    reading a missing one raises FileNotFoundError naming the path."""
    root = os.environ.get(PROJECT_ENV)
    return (Path(root) if root else PROJECT_DIR) / "seeds" / f"{name}.csv"


def project_var(name: str):
    """The value of dbt var `name` as dbt resolves it, for code that runs outside dbt with the
    project's settings (the Spark engine jobs): the YAML mapping in ``$MARKET_REGIMES_DBT_VARS``
    (the text given to dbt's ``--vars``; the jobs' ``--vars`` option sets it) when it holds
    the var, as a command-line var overrides the project's; else the project's
    dbt_project.yml (``$DBT_PROJECT_DIR`` when set, else the checkout's).

    Raises:
        KeyError: naming the var and the file when neither holds it.
        ValueError: ``$MARKET_REGIMES_DBT_VARS`` is not a YAML mapping (named).
    """
    import yaml

    override = os.environ.get(VARS_ENV)
    if override:
        given = yaml.safe_load(override)
        if not isinstance(given, dict):
            raise ValueError(f"${VARS_ENV} must be a YAML mapping like dbt's --vars, got {override!r}")
        if name in given:
            return given[name]
    root = os.environ.get(PROJECT_ENV)
    path = (Path(root) if root else PROJECT_DIR) / "dbt_project.yml"
    values = (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    if name not in values:
        raise KeyError(f"{path}: no var {name!r}")
    return values[name]
