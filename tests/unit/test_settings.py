"""market_regimes.settings: the one home of the environment defaults."""

import ast
from pathlib import Path

from market_regimes import settings

PROJECT = Path(__file__).resolve().parents[2]


def test_paths_from_env_explicit_and_default(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.DB_ENV, raising=False)
    monkeypatch.delenv(settings.LANDING_ENV, raising=False)
    assert settings.warehouse_path() == PROJECT / "warehouse" / "market_regimes.duckdb"
    assert settings.landing_path() == PROJECT / "sample" / "landing"
    monkeypatch.setenv(settings.DB_ENV, "other/w.duckdb")
    assert settings.warehouse_path() == PROJECT / "other" / "w.duckdb"  # relative: from the project
    monkeypatch.setenv(settings.LANDING_ENV, str(tmp_path))
    assert settings.landing_path() == tmp_path
    assert settings.warehouse_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"  # explicit wins


def test_the_defaults_are_written_once():
    """No other module of the package or the Dagster code repeats a default as a string."""
    repeated = []
    for root in ("market_regimes", "orchestration"):
        for path in sorted((PROJECT / root).rglob("*.py")):
            if path.name == "settings.py" and path.parent.name == "market_regimes":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in (settings.DEFAULT_DB, settings.DEFAULT_LANDING):
                    repeated.append(f"{path.relative_to(PROJECT)}:{node.lineno}")
    assert not repeated, repeated


def test_seed_csvs_are_found_through_the_project_dir(monkeypatch, tmp_path):
    """Seeds come from $DBT_PROJECT_DIR/seeds when set (an install outside the checkout), else
    from the checkout; no engine builds its own path to a seed."""
    monkeypatch.delenv(settings.PROJECT_ENV, raising=False)
    assert settings.seed_path("volatility_config") == PROJECT / "seeds" / "volatility_config.csv"
    monkeypatch.setenv(settings.PROJECT_ENV, str(tmp_path))
    assert settings.seed_path("grid_config") == tmp_path / "seeds" / "grid_config.csv"
    own_paths = [
        str(p.relative_to(PROJECT))
        for p in sorted((PROJECT / "market_regimes").rglob("*.py"))
        if '/ "seeds" /' in p.read_text() and p.name != "settings.py"
    ]
    assert not own_paths, own_paths


def test_project_var_reads_dbt_project_yml_under_the_given_vars(monkeypatch):
    """The Spark jobs' vars as dbt resolves them: $MARKET_REGIMES_DBT_VARS (dbt's --vars
    text) over dbt_project.yml, a var it lacks from the file; a bad mapping or var is named."""
    import pytest
    import yaml

    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
    monkeypatch.delenv(settings.VARS_ENV, raising=False)
    monkeypatch.delenv(settings.PROJECT_ENV, raising=False)
    assert settings.project_var("volatility_bar_intervals") == project["volatility_bar_intervals"]
    monkeypatch.setenv(settings.VARS_ENV, '{volatility_bar_intervals: "4h", other: 1}')
    assert settings.project_var("volatility_bar_intervals") == "4h"
    assert settings.project_var("max_gap_bars") == project["max_gap_bars"]
    with pytest.raises(KeyError, match="no var 'not_a_var'"):
        settings.project_var("not_a_var")
    monkeypatch.setenv(settings.VARS_ENV, "[1, 2]")
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        settings.project_var("max_gap_bars")
