"""The grid lifecycle on the real sample (docs/grid-lifecycle.md): the invariants of the state
machine hold on every row of every grid, the acceptance figures (state changes per
symbol-week, every state reached), the rate limits on real timestamps, and one real week of
a configured grid checked by hand. Reads the shared sample build (no build of its own)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration

RUNNING = ("PROBATION", "NORMAL", "WARNING", "LATEST_ACCEPTABLE_EXIT", "MANDATORY_EXIT")
STATES = ("DISABLED", *RUNNING, "EXITED")


def test_every_series_has_a_virtual_grid_and_every_state_is_reached(sample_db):
    walks = query(
        sample_db,
        """
        select grid_kind, count(distinct grid_id) as grids, count(*) as bars
        from marts.fct_grid_lifecycle group by 1 order by 1""",
    )
    # every 1h series, also one without a verdict yet (the sample's 3 snapshot hours of ADA and DOT)
    series = query(
        sample_db,
        "select count(distinct exchange || symbol) as n from marts.fct_grid_regimes where bar_interval = '1h'",
    ).n[0]
    virtual = walks.set_index("grid_kind").loc["virtual"]
    assert virtual.grids == series and virtual.bars > 500_000
    assert walks.set_index("grid_kind").loc["configured"].grids == 4  # seed grid_configs' grid ids
    reached = query(
        sample_db, "select state, count(*) as n from marts.fct_grid_lifecycle where grid_kind = 'virtual' group by 1"
    )
    print(reached.to_string())
    assert set(reached.state) == set(STATES)


def test_median_state_changes_per_symbol_week_at_most_one(sample_db):
    weeks = query(
        sample_db,
        """
        with weeks as (select grid_id, date_trunc('week', bar_start) as wk, count(*) as bars
                       from marts.fct_grid_lifecycle where grid_kind = 'virtual' group by all),
             changes as (select grid_id, date_trunc('week', bar_start) as wk, count(*) as n
                         from marts.fct_exit_states where grid_kind = 'virtual' and from_state is not null group by all)
        select count(*) as symbol_weeks, median(coalesce(c.n, 0)) as median, avg(coalesce(c.n, 0)) as mean
        from weeks as w left join changes as c using (grid_id, wk)
        where w.bars >= 84""",
    )  # weeks with at least half their hours
    print(weeks.to_string())
    assert weeks.symbol_weeks[0] > 5_000
    assert weeks["median"][0] <= 1


def test_state_changes_follow_the_machine(sample_db):
    """Every change is allowed: EXITED is left only by a restart after the gates passed, a restart
    or enable goes to PROBATION, MANDATORY_EXIT always ends in EXITED on the next bar, and every
    escalation names a trigger that fired."""
    changes = query(
        sample_db,
        """
        select grid_id, walk_id, bar_start, change_seq, from_state, to_state, reason, triggers
        from marts.fct_exit_states order by walk_id, bar_start, change_seq""",
    )
    left_exited = changes[changes.from_state == "EXITED"]
    assert set(left_exited.reason) == {"restart"} and set(left_exited.to_state) == {"PROBATION"}
    restarts = query(
        sample_db,
        """
        select l.gates_passed, l.bars_since_stop, l.time_floor_bars, g.gates_passed as gates_before,
               g.bars_since_stop as since_before, g.time_floor_bars as floor_before, g.restart_permitted
        from marts.fct_exit_states as e
        join marts.fct_grid_lifecycle as l using (grid_id, bar_start)
        join marts.fct_restart_gates as g on g.grid_id = e.grid_id and g.bar_start = e.bar_start - interval 1 hour
        where e.reason = 'restart'""",
    )
    assert len(restarts) > 100
    # the bar before a restart: every gate passed and the floor reached one bar later at the latest
    assert (restarts.gates_before >= 2).all() and (restarts.since_before + 1 >= restarts.floor_before).all()
    mandatory = changes[changes.to_state == "MANDATORY_EXIT"]
    assert len(mandatory) > 50
    for row in mandatory.itertuples():
        fired = [t["trigger"] for t in json.loads(row.triggers)]
        assert any(name in fired for name in ("closes_outside", "stop_buffer", "directional_swing")), row
    nxt = query(
        sample_db,
        """
        select e.walk_id, e.bar_start, n.state as next_state
        from marts.fct_exit_states as e
        left join marts.fct_grid_lifecycle as n on n.walk_id = e.walk_id and n.bar_start = e.bar_start + interval 1 hour
        where e.to_state = 'MANDATORY_EXIT'""",
    )
    assert set(nxt.next_state.dropna()) == {"EXITED"}
    warnings = changes[(changes.to_state == "WARNING") & (changes.reason == "escalation")]
    assert all(len(json.loads(t)) >= 2 for t in warnings.triggers)  # 2+ conditions, never one


def test_notifications_respect_the_rate_limits_on_real_timestamps(sample_db):
    """Sent notifications of one grid and state are at least the state's limit apart; a suppressed
    one has a sent one of the same state within the limit before it."""
    sent = query(
        sample_db,
        """
        with s as (select grid_id, state, bar_start,
                          bar_start - lag(bar_start) over (partition by grid_id, state order by bar_start) as gap
                   from marts.fct_exit_notifications where is_sent)
        select state, min(gap) as min_gap, count(*) as n from s group by 1 order by 1""",
    )
    print(sent.to_string())
    limits = {"WARNING": 4, "LATEST_ACCEPTABLE_EXIT": 2, "MANDATORY_EXIT": 1}
    for row in sent.itertuples():
        assert row.min_gap is None or row.min_gap.total_seconds() >= limits[row.state] * 3600, row
    suppressed = query(
        sample_db,
        """
        select n.grid_id, n.state, n.bar_start,
               (select max(s.bar_start) from marts.fct_exit_notifications as s
                where s.grid_id = n.grid_id and s.state = n.state and s.is_sent and s.bar_start < n.bar_start) as last_sent
        from marts.fct_exit_notifications as n where not n.is_sent""",
    )
    assert len(suppressed) > 10
    for row in suppressed.itertuples():
        assert (row.bar_start - row.last_sent).total_seconds() < limits[row.state] * 3600, row


def test_one_real_week_of_the_eth_grid(sample_db):
    """Seed grid_configs' eth_perp_range ([2300, 2800], 8 levels, enabled from 2025-05-12) on the
    real Bybit ETHUSDT hours of its first week: the closes stay inside the grid (no MANDATORY
    trigger can fire), probation ends at exactly 24 bars with a round trip, every WARNING names
    2+ conditions, and each de-escalation comes after at least de_escalation_bars (6) bars."""
    closes = query(
        sample_db,
        """
        select min(close) as lo, max(close) as hi, count(*) as n from marts.fct_grid_regimes
        where exchange = 'bybit' and symbol = 'ETHUSDT' and bar_interval = '1h'
          and bar_start >= timestamp '2025-05-12' and bar_start < timestamp '2025-05-19'""",
    )
    assert closes.n[0] == 168 and 2300 < closes.lo[0] and closes.hi[0] < 2800
    changes = query(
        sample_db,
        """
        select bar_start, from_state, to_state, reason, triggers from marts.fct_exit_states
        where grid_id = 'eth_perp_range' and bar_start < timestamp '2025-05-19' order by bar_start, change_seq""",
    )
    seq = [
        (t.strftime("%m-%d %H"), f if isinstance(f, str) else None, to, r)
        for t, f, to, r in zip(changes.bar_start, changes.from_state, changes.to_state, changes.reason)
    ]
    print(seq)
    assert seq[:2] == [
        ("05-12 00", None, "PROBATION", "start"),
        ("05-13 00", "PROBATION", "NORMAL", "probation_passed"),
    ]
    assert "MANDATORY_EXIT" not in set(changes.to_state) and "EXITED" not in set(changes.to_state)
    for row in changes[changes.to_state == "WARNING"].itertuples():
        if row.reason == "escalation":
            assert len(json.loads(row.triggers)) >= 2
    gaps = changes.bar_start.diff().dt.total_seconds() / 3600
    assert (gaps[changes.reason == "de_escalation"] >= 6).all()
    assert "de_escalation" in set(changes.reason) and "escalation" in set(changes.reason)
