"""Where an incremental fct_grid_lifecycle run reads its bars from
(market_regimes.adapters.grid_sql.lifecycle_tail_start_sql): the constant bound never drops a
bar a walk reads, so the walks over the bounded tail equal those over the unbounded one, and
walks that cannot continue (an ended segment or version range) do not hold the bound back."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from market_regimes.adapters import grid_sql as q
from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows, stored_states
from tests.unit.test_grid_lifecycle_frames import BARS, CFG, CONFIGS

# CONFIGS: g1 v1 on x/AAA [2024-01-03, 2024-01-08 05:00), v2 from 2024-01-08 05:00; g2 on y/BBB
# BARS: x/AAA segment 0 2024-01-01 00:00 .. 2024-01-13 11:00, segment 1 from 2024-02-01 00:00
# (120 bars); y/BBB segment 0 2024-01-03 00:00 .. 2024-01-13 09:00
BACK_DATED = pd.concat(
    [
        CONFIGS.iloc[:1].assign(valid_to=pd.Timestamp("2024-01-05 00:00")),
        CONFIGS.iloc[:1].assign(
            valid_from=pd.Timestamp("2024-01-05 00:00"), valid_to=pd.Timestamp("2024-01-08 05:00"), lower=97.0
        ),
        CONFIGS.iloc[1:],
    ],
    ignore_index=True,
)
V2_REMOVED = pd.concat([CONFIGS.iloc[:1].assign(valid_to=pd.NaT), CONFIGS.iloc[2:]], ignore_index=True)


def _tails(stored_bars: pd.DataFrame, configs_after: pd.DataFrame):
    """(start, the rows walked from the bounded tail, from the unbounded tail) of an incremental
    run over BARS whose stored table is the walk of `stored_bars` under CONFIGS."""
    stored = lifecycle_rows(stored_bars, CONFIGS, CFG)
    con = duckdb.connect()
    con.register("_bars", BARS)
    con.register("_stored", stored)
    con.register("_configs", configs_after)
    start = con.sql(q.lifecycle_tail_start_sql("_bars", "_stored", "_configs")).fetchone()[0]
    states = stored_states(stored[stored["engine_state"].notna()])
    walked = []
    for bound in (start, None):
        tail = con.sql(q.lifecycle_tail_sql("_bars", "_stored", "_configs", bound)).df()
        walked.append(lifecycle_rows(tail, configs_after, CFG, states))
    return pd.Timestamp(start), *walked


@pytest.mark.parametrize(
    ("name", "cut", "configs_after", "expected_start"),
    [
        # AAA segment 0 and BBB ended; only AAA segment 1 goes on: from its walks' last bar
        ("one live segment", "2024-02-03 00:00", CONFIGS, "2024-02-02 23:00"),
        # every segment live: the earliest last bar of a walk that continues
        ("all live", "2024-01-06 00:00", CONFIGS, "2024-01-05 23:00"),
        # a back-dated version (no stored walk) starts at its valid_from
        ("back-dated version", "2024-02-03 00:00", BACK_DATED, "2024-01-05 00:00"),
        # v2 removed: v1 is valid again after its old end, its walk continues from its last bar
        ("version range reopened", "2024-02-03 00:00", V2_REMOVED, "2024-01-08 04:00"),
        # nothing new: the last bar (no walk reads anything)
        ("no new bars", "2024-03-01 00:00", CONFIGS, "2024-02-05 23:00"),
    ],
)
def test_the_bound_keeps_every_bar_a_walk_reads(name, cut, configs_after, expected_start):
    start, bounded, unbounded = _tails(BARS[BARS["bar_start"] < pd.Timestamp(cut)], configs_after)
    assert start == pd.Timestamp(expected_start), name
    pd.testing.assert_frame_equal(bounded, unbounded)
    if name != "no new bars":
        assert len(bounded) > 0


def test_a_segment_without_a_stored_walk_is_read_whole():
    # BBB never walked: its first bar
    start, bounded, unbounded = _tails(BARS[(BARS["symbol"] == "AAA") & (BARS["bar_start"] < "2024-02-03")], CONFIGS)
    assert start == pd.Timestamp("2024-01-03 00:00")
    pd.testing.assert_frame_equal(bounded, unbounded)
    assert (bounded["symbol"] == "BBB").sum() == 2 * 250  # its virtual walk and g2, whole
