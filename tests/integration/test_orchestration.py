"""The Dagster code location loads and maps the dbt project onto assets."""

from __future__ import annotations

import importlib

import pytest
from dagster import AssetKey

from tests.helpers import PROJECT, dbt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    # @dbt_assets reads target/manifest.json at import time: parse the project first.
    work = tmp_path_factory.mktemp("parse")
    dbt("parse", work / "unused.duckdb", PROJECT / "sample" / "landing", PROJECT)
    module = importlib.import_module("orchestration.definitions")
    return module.defs


def test_definitions_load_with_every_model_and_seed(defs):
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    # asset keys are <schema>/<model>, as the tables are named in the warehouse
    expected_models = {"raw/klines", "raw/dominance_readings", "raw/daily_series", "raw/rejected_rows",
                       "raw/landing_files", "staging/stg_landing__klines", "intermediate/int_symbol_bars_rolled_up",
                       "intermediate/int_composite_bars_computed", "marts/fct_symbol_bars", "marts/fct_driver_bars",
                       "marts/dim_drivers", "reports/rpt_rollup_reconciliation", "seeds/drivers",
                       "seeds/token_buckets", "seeds/regime_timeframes"}
    assert expected_models <= keys
    assert {"landing/kline_files", "landing/snapshot_files", "landing/dominance_files", "landing/daily_files"} <= keys


def test_raw_models_depend_on_landing_assets(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["raw", "klines"])).parent_keys
    assert parents == {AssetKey(["landing", "kline_files"]), AssetKey(["landing", "snapshot_files"])}


def test_dbt_tests_are_asset_checks(defs):
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("marts/fct_driver_bars", "unique_combination_fct_driver_bars_driver__timeframe__bar_start") in checks
    assert ("raw/landing_files", "unique_landing_files_content_hash") in checks
    assert len(checks) >= 60
