"""The dbt project as Dagster sees it.

``@dbt_assets`` needs ``target/manifest.json`` at import time: ``make run`` (``dbt build``)
leaves it, and ``prepare_if_dev()`` re-parses the project under ``dagster dev``.
"""

from pathlib import Path

from dagster_dbt import DbtProject

PROJECT_DIR = Path(__file__).resolve().parents[2]

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)
dbt_project.prepare_if_dev()
