"""The DAG flows one way: raw -> staging -> intermediate -> marts -> reports (in the spirit of
dbt-project-evaluator), checked on the manifest of `dbt parse`.

A model's layer is its folder under models/ or python_models/. Allowed parents per layer
(seeds and sources anywhere): raw reads raw; staging reads raw and staging; intermediate
reads staging and intermediate; marts read staging, intermediate and marts; reports read
anything but raw. Edges that break the rule would be listed in KNOWN_VIOLATIONS with why
(none are); the test fails on any other edge (naming it) and on a listed edge that is gone.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import PROJECT, dbt

ALLOWED = {
    "raw": {"raw"},
    "staging": {"raw", "staging"},
    "intermediate": {"staging", "intermediate"},
    "marts": {"staging", "intermediate", "marts"},
    "reports": {"staging", "intermediate", "marts", "reports"},
}
# (model, parent) edges that break the rule, to be removed as the layers are split: none
# since the bar marts became views of int_symbol_bars_finalized / int_driver_bars_finalized
# and the grid lifecycle's inputs (joining two marts) became the mart fct_grid_lifecycle_bars
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def layer(node: dict) -> str:
    """'seed' for seeds and sources, else the model's folder under models/ or python_models/."""
    if node["resource_type"] in ("seed", "source"):
        return "seed"
    return node["original_file_path"].split("/")[1]


def layer_violations(manifest: dict) -> set[tuple[str, str]]:
    """(model, parent) of every model edge that goes against ALLOWED."""
    nodes = {**manifest["nodes"], **manifest.get("sources", {})}
    bad = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        own = layer(node)
        for parent_id in node["depends_on"]["nodes"]:
            parent = nodes.get(parent_id)
            if parent is None or layer(parent) == "seed":
                continue
            if layer(parent) not in ALLOWED[own]:
                bad.add((node["name"], parent["name"]))
    return bad


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("dag")
    dbt("parse", work / "unused.duckdb", PROJECT / "sample" / "landing", work)
    return json.loads((work / "target" / "manifest.json").read_text())


def test_the_dag_flows_one_way(manifest):
    found = layer_violations(manifest)
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "models reading a later layer: " + ", ".join(f"{m} <- {p}" for m, p in new)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not gone, "fixed edges still listed in KNOWN_VIOLATIONS: " + ", ".join(f"{m} <- {p}" for m, p in gone)
    # every model sits in a known layer folder, and no edge breaks the rule
    assert {layer(n) for n in manifest["nodes"].values() if n["resource_type"] == "model"} == set(ALLOWED)
    assert found == set()


def test_a_wrong_edge_is_named(manifest):
    """A staging model that reads a mart (a deliberately wrong edge) fails the rule, by name."""
    broken = json.loads(json.dumps(manifest))
    staging = next(n for n in broken["nodes"].values() if n["resource_type"] == "model" and layer(n) == "staging")
    mart_id = next(u for u, n in broken["nodes"].items() if n["resource_type"] == "model" and n["name"] == "fct_levers")
    staging["depends_on"]["nodes"].append(mart_id)
    assert layer_violations(broken) - KNOWN_VIOLATIONS == {(staging["name"], "fct_levers")}
    with pytest.raises(AssertionError, match=rf"{staging['name']} <- fct_levers"):
        test_the_dag_flows_one_way(broken)
