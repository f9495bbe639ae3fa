"""marts.fct_uptrend_states and fct_regime_events on the bundled real data (issue 4
acceptance, states part): BTC and ALT at 1h (meso) each visit S0, S1, S2 and S3 between
2021-04 and 2023-12, and the events show those transitions."""

from __future__ import annotations

import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("driver", ["BTC", "ALT"])
def test_btc_and_alt_meso_visit_s0_to_s3(sample_db, driver):
    states = query(sample_db, f"""
        select state, count(*) as bars from marts.fct_uptrend_states
        where driver = '{driver}' and timeframe = 'meso' and bar_start between '2021-04-01' and '2023-12-31'
        group by state order by state""").set_index("state")["bars"].to_dict()
    events = query(sample_db, f"""
        select to_state, count(*) as n from marts.fct_regime_events
        where entity = '{driver}' and timeframe = 'meso' and bar_start between '2021-04-01' and '2023-12-31'
        group by to_state""").set_index("to_state")["n"].to_dict()
    print(driver, "meso bars per state:", states, "transitions into:", events)
    assert sum(states.values()) > 15_000
    assert {"S0", "S1", "S2", "S3"} <= set(states)
    assert {"S0", "S1", "S2", "S3"} <= set(events)


def test_events_are_exactly_the_state_changes(sample_db):
    counts = query(sample_db, """
        select (select count(*) from marts.fct_regime_events) as events,
               (select count(*) from marts.fct_uptrend_states where state <> prev_state) as changes,
               (select count(*) from marts.fct_uptrend_states where prev_state is null) as segment_starts,
               (select count(*) from marts.fct_regime_events
                where reason in ('s1_bearish_stack', 'all_emas_below_333')) as exits""")
    assert counts["events"][0] == counts["changes"][0] > 1000
    assert counts["segment_starts"][0] >= 16  # one per driver x timeframe segment
    assert counts["exits"][0] > 0
