"""Every dbt model and seed as a Dagster asset; dbt tests become asset checks.

dbt sources carry ``meta.dagster.asset_key`` (``landing/<layout>_files``), so the raw
landing models hang off the landing-directory assets in the asset graph. Partitions,
schedules, sensors and collectors are added by the orchestration issue.
"""

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from .project import dbt_project


@dbt_assets(manifest=dbt_project.manifest_path)
def market_regimes_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """Run ``dbt build`` for the selected models, seeds and tests."""
    yield from dbt.cli(["build"], context=context).stream()
