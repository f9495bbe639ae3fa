"""The dbt project as Dagster sees it, and the dbt executable it runs.

``@dbt_assets`` needs ``target/manifest.json`` at import time: ``make run`` (``dbt build``)
leaves it, and under ``dagster dev`` the project is re-parsed when the code location loads.

dbt is resolved from the project's own environment, not from PATH: ``DBT_EXECUTABLE`` is the
``dbt`` script installed beside the interpreter that runs Dagster (``.venv/bin/dbt`` when
``make ui`` starts ``.venv/bin/dagster``), so the UI loads with no virtual environment
activated. dagster-dbt's own preparer would look ``dbt`` up on PATH and fail with "The dbt
executable 'dbt' was not found on PATH"; :class:`VenvDbtPreparer` parses with
``DBT_EXECUTABLE`` instead. A ``dbt`` on PATH is used only when the interpreter has none
beside it (e.g. a system-wide install).
"""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

PROJECT_DIR = Path(__file__).resolve().parents[2]


def dbt_executable() -> str:
    """Absolute path of the dbt CLI of this Python environment.

    The ``dbt`` script beside ``sys.executable`` (not resolved through symlinks: a venv's
    python is a link to the base interpreter); else ``dbt`` on PATH.

    Raises:
        FileNotFoundError: neither exists (dbt-core is not installed in this environment).
    """
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if found:
        return found
    raise FileNotFoundError(
        f"no dbt executable beside {sys.executable} or on PATH: "
        "install the project (`make install` or `pip install -e .`)"
    )


DBT_EXECUTABLE = dbt_executable()


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dbt parse --quiet`` under ``dagster dev``) with
    :data:`DBT_EXECUTABLE` instead of the ``dbt`` on PATH."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()
        self._invalidate_seeds_in_partial_parse(project)


dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)
VenvDbtPreparer().prepare_if_dev(dbt_project)
