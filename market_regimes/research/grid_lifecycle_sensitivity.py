"""How the lifecycle's constants move its rates: the tuning guide's numbers.

:func:`lifecycle_sensitivity` walks the virtual grids (:func:`grid_lifecycle_frames.lifecycle_rows`)
once per variant of seed grid_lifecycle_config (one key changed at a time) and measures
the rates a trader tunes for: exit-state changes and sent notifications per symbol-week,
the share of hours the grid runs, placements, quick stops, failed and passed probations,
MANDATORY_EXIT entries. Only the first ``train_frac`` (0.6) of every series is used: the
part where tuning is allowed (the research reports evaluate the rest).

``python -m market_regimes.research.grid_lifecycle_sensitivity [--db WAREHOUSE]`` reads the
inputs from a built warehouse (read-only) and prints a Markdown table (docs/grid-lifecycle.md
quotes it). Pure Python apart from that entry point's one read-only query.
"""

from __future__ import annotations

import argparse
import json
from typing import Mapping

import numpy as np
import pandas as pd

from market_regimes.engines.grid_lifecycle import LifecycleConfig
from market_regimes.engines.grid_lifecycle_frames import CONFIG_COLUMNS, lifecycle_rows
from market_regimes.research.grid_outcomes import evaluation_split

# one key changed at a time (value replaces the seed's)
VARIANTS: dict[str, dict[str, float]] = {
    "shipped": {},
    "quick_stop_outside_closes = 2": {"quick_stop_outside_closes": 2},
    "probation_bars = 48": {"probation_bars": 48},
    "warning_min_conditions = 1": {"warning_min_conditions": 1},
    "warning_min_conditions = 3": {"warning_min_conditions": 3},
    "de_escalation_bars = 12": {"de_escalation_bars": 12},
    "time_floor_bars = 48": {"time_floor_bars": 48},
    "gate_3_bars = 6": {"gate_3_bars": 6},
    "notify_warning_hours = 8": {"notify_warning_hours": 8},
}
RUNNING = ("PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT")


def rates(rows: pd.DataFrame) -> dict[str, float]:
    """The tuned rates of one lifecycle_rows output (virtual grids)."""
    weeks = len(rows) / 168.0
    changes = [c for js in rows["state_changes"].dropna() for c in json.loads(js) if c["from_state"] is not None]
    reasons = pd.Series([c["reason"] for c in changes], dtype=object)
    to_mandatory = sum(c["to_state"] == "MANDATORY_EXIT" for c in changes)
    return {
        "changes_per_symbol_week": len(changes) / weeks if weeks else np.nan,
        "notifications_sent_per_symbol_week": rows["is_sent"].eq(True).sum() / weeks if weeks else np.nan,
        "share_hours_running": float(rows["state"].isin(RUNNING).mean()) if len(rows) else np.nan,
        "placements": int(reasons.isin(["enable", "restart"]).sum()),
        "quick_stops": int((reasons == "quick_stop").sum()),
        "probation_failed": int((reasons == "probation_failed").sum()),
        "probation_passed": int((reasons == "probation_passed").sum()),
        "mandatory_entries": int(to_mandatory),
    }


def lifecycle_sensitivity(
    bars: pd.DataFrame,
    seed: Mapping[str, object],
    train_frac: float = 0.6,
    variants: Mapping[str, Mapping[str, float]] = VARIANTS,
) -> pd.DataFrame:
    """One row per variant with :func:`rates` of the virtual grids on the training part.

    Args:
        bars: fct_grid_lifecycle_bars's rows (the engine's inputs with exchange,
            symbol, segment_id, bar_start).
        seed: the rows of seed grid_lifecycle_config (key -> value).
        train_frac: the share of every series (by bar order) that is used.
        variants: name -> {key: value} replacing seed values.

    Returns:
        DataFrame: variant, then the :func:`rates` columns.

    Raises:
        ValueError: as LifecycleConfig for a bad variant value.
    """
    keyed, evaluated = evaluation_split(
        bars.assign(series_key=bars["exchange"] + "|" + bars["symbol"]), train_frac, what="lifecycle_sensitivity"
    )
    train = keyed[~evaluated]
    no_configs = pd.DataFrame({c: pd.Series(dtype=object) for c in CONFIG_COLUMNS})
    out = []
    for name, change in variants.items():
        cfg = LifecycleConfig.from_mapping({**seed, **change})
        out.append({"variant": name, **rates(lifecycle_rows(train, no_configs, cfg))})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    import duckdb

    from market_regimes.cli import resolve_db

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="a built warehouse (read-only; default: the project's)")
    args = parser.parse_args(argv)
    con = duckdb.connect(str(resolve_db(args.db)), read_only=True)
    try:
        bars = con.sql("select * from marts.fct_grid_lifecycle_bars").df()
        seed = dict(con.sql("select key, value from seeds.grid_lifecycle_config").fetchall())
    finally:
        con.close()
    table = lifecycle_sensitivity(bars, seed)
    try:
        print(table.to_markdown(index=False, floatfmt=".3f"))
    except ImportError:  # pandas' Markdown writer needs the optional tabulate package
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
