"""marts.fct_uptrend_states and fct_regime_events on the bundled real data (issue 4
acceptance, states part): BTC and ALT at 1h (meso) each visit S0, S1, S2 and S3 between
2021-04 and 2023-12, and the events show those transitions."""

from __future__ import annotations

import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("driver", ["BTC", "ALT"])
def test_btc_and_alt_meso_visit_s0_to_s3(sample_db, driver):
    states = (
        query(
            sample_db,
            f"""
        select state, count(*) as bars from marts.fct_uptrend_states
        where driver = '{driver}' and timeframe = 'meso' and bar_start between '2021-04-01' and '2023-12-31'
        group by state order by state""",
        )
        .set_index("state")["bars"]
        .to_dict()
    )
    events = (
        query(
            sample_db,
            f"""
        select to_state, count(*) as n from marts.fct_regime_events
        where detector = 'uptrend' and entity = '{driver}' and timeframe = 'meso' and bar_start between '2021-04-01' and '2023-12-31'
        group by to_state""",
        )
        .set_index("to_state")["n"]
        .to_dict()
    )
    print(driver, "meso bars per state:", states, "transitions into:", events)
    assert sum(states.values()) > 15_000
    assert {"S0", "S1", "S2", "S3"} <= set(states)
    assert {"S0", "S1", "S2", "S3"} <= set(events)


def test_events_are_exactly_the_state_changes(sample_db):
    counts = query(
        sample_db,
        """
        select (select count(*) from marts.fct_regime_events where detector = 'uptrend') as events,
               (select count(*) from marts.fct_uptrend_states where state <> prev_state) as changes,
               (select count(*) from marts.fct_uptrend_states where prev_state is null) as segment_starts,
               (select count(*) from marts.fct_regime_events
                where detector = 'uptrend' and reason in ('s1_bearish_stack', 'all_emas_below_333')) as exits""",
    )
    assert counts["events"][0] == counts["changes"][0] > 1000
    assert counts["segment_starts"][0] >= 16  # one per driver x timeframe segment
    assert counts["exits"][0] > 0


def test_flags_and_scores_only_where_their_state_tests_them(sample_db):
    """docs/uptrend-engine.md: buy in S1 (first dip off in the seed), rebuy/trim in S2/S3; OX on
    S2/S3 bars, DX/EDX on S3 bars, TS everywhere; every score in [0, 1]; every flag fires
    on the real data."""
    bad = (
        query(
            sample_db,
            """
        select
          count(*) filter (where buy_flag and state <> 'S1') as buy_outside_s1,
          count(*) filter (where first_dip_buy_flag) as first_dips,
          count(*) filter (where (rebuy_flag or trim_flag) and state not in ('S2', 'S3')) as rebuy_trim_outside,
          count(*) filter (where (ox is null) = (state in ('S2', 'S3'))) as ox_misplaced,
          count(*) filter (where (dx is null or edx is null) = (state = 'S3')) as dx_edx_misplaced,
          count(*) filter (where ts_score is null) as ts_missing,
          count(*) filter (where not (ts_score between 0 and 1 and coalesce(ox, 0) between 0 and 1
                                      and coalesce(dx, 0) between 0 and 1 and coalesce(edx, 0) between 0 and 1
                                      and coalesce(sr_boost, 0) between 0 and 0.25)) as out_of_range
        from marts.fct_uptrend_states""",
        )
        .iloc[0]
        .to_dict()
    )
    assert bad == dict.fromkeys(bad, 0)
    fired = (
        query(
            sample_db,
            """
        select sum(buy_flag::int) as buy, sum(rebuy_flag::int) as rebuy, sum(trim_flag::int) as trim,
               count(*) filter (where sr_boost > 0) as boosted
        from marts.fct_uptrend_states where driver = 'BTC' and timeframe = 'meso'""",
        )
        .iloc[0]
        .to_dict()
    )
    print("BTC meso flags:", fired)
    assert min(fired.values()) > 10
