"""Lever marts (docs/levers.md): fct_regime_deltas, fct_lever_contributions, fct_levers.

On the bundled sample (fixture sample_db): the grid (buckets x execution timeframes, bar
counts computed here from BTC's and ALT's state spans), A and E bounds, the exact
reconciliation A = base + contributions + intent, degradation, and point-in-time (every
contribution uses the latest state that had ended by the lever bar's close).
Through the compiled SQL of the three marts chained on hand-made states (tests/levers_harness.py):
the docs/levers.md worked example from states to levers, grid alignment and islands,
hypothesis properties over random states, flags, staleness and intents against a Python
oracle, and a seed edit. Each mart on its own is unit-tested by dbt (unit_tests in
models/marts/levers/_levers__models.yml: deltas, the formula switch, the worked example's
sums and clamps, intents summed, capped and clamped).
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import PROJECT, query
from tests.levers_harness import LeverHarness, compile_lever_sql

pytestmark = pytest.mark.integration

SEEDS = PROJECT / "seeds"
EPOCH = datetime(1970, 1, 1)
STATES = ["S0", "S1", "S2", "S3", "S4"]


@functools.cache
def _seed(name: str) -> pd.DataFrame:
    """A seed CSV as shipped (cached: callers must not modify the frame)."""
    return pd.read_csv(SEEDS / f"{name}.csv")


def _minutes() -> dict[str, int]:
    return _seed("bar_intervals").set_index("bar_interval")["interval_minutes"].to_dict()


def _timeframe_minutes() -> dict[str, int]:
    minutes = _minutes()
    timeframes = _seed("regime_timeframes")
    return {tf: minutes[iv] for tf, iv in zip(timeframes["timeframe"], timeframes["bar_interval"])}


def _config() -> dict[str, float]:
    return _seed("levers_config").set_index("key")["value"].to_dict()


def _max_gap_bars() -> int:
    return yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]["max_gap_bars"]


def _epoch_minutes(ts) -> int:
    return int((pd.Timestamp(ts) - pd.Timestamp(EPOCH)) / pd.Timedelta(minutes=1))


# --------------------------------------------------------------------------------------
# the bundled sample
# --------------------------------------------------------------------------------------


def expected_grid(states: pd.DataFrame) -> dict[str, tuple[int, pd.Timestamp, pd.Timestamp]]:
    """(bar count, first bar_start, last bar_start) per execution timeframe, from the states.

    Independent of the SQL: islands of each required driver's states (split where
    consecutive bar_starts are more than max_gap_bars bars apart) as [first close, last
    close] in epoch minutes, intersected across the required drivers; the lever closes
    are the multiples of the execution interval inside the intersection."""
    tf_minutes, minutes = _timeframe_minutes(), _minutes()
    drivers = _seed("drivers")
    required = sorted(drivers.loc[drivers["is_required"], "driver"])
    gap = _max_gap_bars()
    spans: dict[str, list[tuple[int, int]]] = {}
    for tf in ("meso", "micro"):
        step = tf_minutes[tf]
        per_driver = []
        for driver in required:
            starts = sorted(
                _epoch_minutes(t) for t in states.loc[(states.driver == driver) & (states.timeframe == tf), "bar_start"]
            )
            islands, first = [], None
            for prev, cur in zip([None] + starts, starts):
                if prev is None or cur - prev > gap * step:
                    if first is not None:
                        islands.append((first + step, prev + step))
                    first = cur
            if first is not None:
                islands.append((first + step, starts[-1] + step))
            per_driver.append(islands)
        common = per_driver[0]
        for other in per_driver[1:]:
            common = [(max(a, c), min(b, d)) for a, b in common for c, d in other if max(a, c) <= min(b, d)]
        spans[tf] = common
    out = {}
    for execution in sorted(set(_seed("execution_timeframe_multipliers")["execution_timeframe"])):
        x = minutes[execution]
        grid_tf = "meso" if x >= tf_minutes["meso"] else "micro" if x >= tf_minutes["micro"] else None
        if grid_tf is None:
            continue
        closes = [c for lo, hi in spans[grid_tf] for c in range(-(-lo // x) * x, hi // x * x + 1, x)]
        if closes:
            out[execution] = (
                len(closes),
                EPOCH + timedelta(minutes=closes[0] - x),
                EPOCH + timedelta(minutes=closes[-1] - x),
            )
    return out


def test_grid_covers_buckets_and_execution_timeframes(sample_db):
    states = query(
        sample_db,
        """
        select driver, timeframe, bar_start from marts.fct_uptrend_states
        where timeframe in ('meso', 'micro')""",
    )
    expected = expected_grid(states)
    actual = query(
        sample_db,
        """
        select execution_timeframe, bucket, count(*) as n, min(bar_start) as first_bar, max(bar_start) as last_bar
        from marts.fct_levers group by all""",
    )
    print(actual.sort_values(["execution_timeframe", "bucket"]).to_string(index=False))
    # sample config micro = 5m: 5m and 15m over the micro span, no 1m
    assert set(expected) == {"5m", "15m", "1h", "4h", "1d"}
    assert set(actual["bucket"]) == {"nano", "small", "mid", "big"}
    assert len(actual) == 4 * len(expected)
    for row in actual.itertuples():
        n, first, last = expected[row.execution_timeframe]
        assert (row.n, row.first_bar, row.last_bar) == (n, first, last), row
    assert expected["1h"][0] > 20_000 and expected["5m"][0] > 20_000
    # grids are aligned to the interval from the epoch (4h at 00/04/08.., 1d at midnight)
    misaligned = query(
        sample_db,
        """
        select count(*) as n from marts.fct_levers l join seeds.bar_intervals i on i.bar_interval = l.execution_timeframe
        where epoch(l.bar_start) % (60 * i.interval_minutes) <> 0""",
    )["n"][0]
    assert misaligned == 0


# The model totals contributions as DECIMAL(38, 18) (order-free, so exact equality is
# testable); a plain double sum agrees to rounding.
EXACT_SUMS = """
    select bar_start, execution_timeframe, bucket, count(*) as n_rows,
           cast(sum(cast(contribution_a as decimal(38, 18))) as double) as sum_a,
           cast(sum(cast(contribution_e as decimal(38, 18))) as double) as sum_e,
           sum(contribution_a) as float_sum_a,
           sum(contribution_e) as float_sum_e
    from marts.fct_lever_contributions group by all"""


def test_levers_reconcile_exactly_with_contributions(sample_db):
    config = _config()
    checks = query(
        sample_db,
        f"""
        with sums as ({EXACT_SUMS})
        select
            count(*) as levers,
            count(s.n_rows) as with_contributions,
            count(*) filter (where s.n_rows <> 15 or l.n_used + l.n_stale + l.n_missing <> 15) as not_15,
            count(*) filter (where {config["base_a"]!r} + s.sum_a + l.intent_a <> l.a_unclamped) as a_off,
            count(*) filter (where {config["base_e"]!r} + s.sum_e + l.intent_e <> l.e_unclamped) as e_off,
            count(*) filter (where abs(s.sum_a - s.float_sum_a) > 1e-12
                                or abs(s.sum_e - s.float_sum_e) > 1e-12) as float_sum_off,
            count(*) filter (where l.a_value <> greatest(0, least(1, l.a_unclamped))
                                or l.e_value <> greatest(0, least(1, l.e_unclamped))) as clamp_off,
            count(*) filter (where not (l.a_value between 0 and 1 and l.e_value between 0 and 1)) as out_of_range,
            count(*) filter (where l.position_size_frac
                                <> {config["size_min"]!r} + {config["size_span"]!r} * l.a_value) as size_off,
            count(*) filter (where l.intent_a <> 0 or l.intent_e <> 0) as with_intents,
            count(distinct l.a_value) as distinct_a,
            min(l.a_value) as min_a, max(l.a_value) as max_a
        from marts.fct_levers l
        left join sums s using (bar_start, execution_timeframe, bucket)""",
    ).iloc[0]
    print(checks.to_dict())
    assert checks["levers"] == checks["with_contributions"] > 250_000
    for column in (
        "not_15",
        "a_off",
        "e_off",
        "float_sum_off",
        "clamp_off",
        "out_of_range",
        "size_off",
        "with_intents",
    ):
        assert checks[column] == 0, column
    assert checks["distinct_a"] > 100  # not a constant


def test_contributions_are_weighted_deltas(sample_db):
    bad = query(
        sample_db,
        """
        select
            count(*) filter (where c.driver_weight <> dw.weight or c.timeframe_weight <> tw.weight
                                or c.execution_multiplier <> m.multiplier) as weights_off,
            count(*) filter (where c.status = 'used' and (
                c.contribution_a <> c.delta_a_raw * c.driver_weight * c.timeframe_weight * c.execution_multiplier
                or c.contribution_e <> c.delta_e_raw * c.driver_weight * c.timeframe_weight * c.execution_multiplier))
                as used_off,
            count(*) filter (where c.status <> 'used' and (c.contribution_a <> 0 or c.contribution_e <> 0)) as unused_off,
            count(*) filter (where c.driver not in ('BTC', 'ALT', 'BTC.d', 'USDT.d') and c.driver <> c.bucket) as foreign
        from marts.fct_lever_contributions c
        join seeds.driver_weights dw using (driver)
        join seeds.timeframe_weights tw using (timeframe)
        join seeds.execution_timeframe_multipliers m using (execution_timeframe, timeframe)""",
    ).iloc[0]
    assert bad.to_dict() == {"weights_off": 0, "used_off": 0, "unused_off": 0, "foreign": 0}


def test_degraded_exactly_when_btc_or_alt_meso_not_used(sample_db):
    counts = query(
        sample_db,
        """
        with meso as (
            select bar_start, execution_timeframe, bucket, bool_or(status <> 'used') as not_used
            from marts.fct_lever_contributions
            where driver in ('BTC', 'ALT') and timeframe = 'meso'
            group by all
        )
        select count(*) as n,
               count(*) filter (where l.is_degraded is distinct from m.not_used) as mismatched,
               count(*) filter (where l.is_degraded) as degraded
        from marts.fct_levers l left join meso m using (bar_start, execution_timeframe, bucket)""",
    ).iloc[0]
    print(counts.to_dict())
    assert counts["mismatched"] == 0
    assert 0 < counts["degraded"] < counts["n"]


def test_point_in_time_latest_ended_state(sample_db):
    stale_bars = _config()["stale_bars"]
    counts = query(
        sample_db,
        f"""
        with deltas as (
            select driver, timeframe, bar_start, closed_at,
                   lead(closed_at) over (partition by driver, timeframe order by bar_start) as next_closed_at
            from marts.fct_regime_deltas
        ),
        firsts as (select driver, timeframe, min(closed_at) as first_closed_at from deltas group by all),
        c as (
            select c.*, t.bar_interval,
                   c.bar_start + to_minutes(x.interval_minutes) as lever_close,
                   c.state_bar_start + to_minutes(i.interval_minutes) as state_close,
                   i.interval_minutes
            from marts.fct_lever_contributions c
            join seeds.regime_timeframes t using (timeframe)
            join seeds.bar_intervals i on i.bar_interval = t.bar_interval
            join seeds.bar_intervals x on x.bar_interval = c.execution_timeframe
        )
        select
            count(*) filter (where c.state_bar_start is not null and c.state_close > c.lever_close) as future_used,
            count(*) filter (where c.state_bar_start is not null and d.next_closed_at <= c.lever_close) as not_latest,
            count(*) filter (where c.state_bar_start is not null and d.closed_at is null) as unknown_state,
            count(*) filter (where c.state_bar_start is null and f.first_closed_at <= c.lever_close) as missing_but_ended,
            count(*) filter (where c.status <> case when c.state_bar_start is null then 'missing'
                when date_diff('minute', c.state_close, c.lever_close) > {stale_bars!r} * c.interval_minutes
                then 'stale' else 'used' end) as status_off,
            count(*) filter (where c.status = 'used') as used,
            count(*) filter (where c.status = 'stale') as stale
        from c
        left join deltas d on d.driver = c.driver and d.timeframe = c.timeframe and d.bar_start = c.state_bar_start
        left join firsts f on f.driver = c.driver and f.timeframe = c.timeframe""",
    ).iloc[0]
    print(counts.to_dict())
    for column in ("future_used", "not_latest", "unknown_state", "missing_but_ended", "status_off"):
        assert counts[column] == 0, column
    assert counts["used"] > 0 and counts["stale"] > 0


def test_regime_deltas_on_the_sample(sample_db):
    deltas = query(
        sample_db,
        """
        select d.*, u.state as engine_state from marts.fct_regime_deltas d
        full join marts.fct_uptrend_states u using (driver, timeframe, bar_start)""",
    )
    assert deltas["state"].notna().all() and (deltas["state"] == deltas["engine_state"]).all()
    states = _seed("regime_state_deltas").set_index("state")
    flags = _seed("regime_flag_deltas").set_index(["state", "flag"])
    transitions = _seed("regime_transition_deltas").set_index(["from_state", "to_state"])
    active = {
        "buy": deltas["buy_flag"] | deltas["first_dip_buy_flag"],
        "rebuy": deltas["rebuy_flag"],
        "trim": deltas["trim_flag"],
    }
    pairs = list(zip(deltas["prev_state"], deltas["state"]))
    for column, seed_column in (("delta_a_raw", "delta_a"), ("delta_e_raw", "delta_e")):
        expected = deltas["state"].map(states[seed_column]).to_numpy(float)
        for flag, is_active in active.items():
            per_state = flags.xs(flag, level="flag")[seed_column]
            expected = expected + np.where(is_active, deltas["state"].map(per_state).fillna(0.0), 0.0)
        by_pair = transitions[seed_column].to_dict()
        expected = expected + np.array([by_pair.get(pair, 0.0) for pair in pairs])
        assert np.abs(deltas[column].to_numpy(float) - expected).max() <= 1e-12, column
    emergency = (deltas["state"] == "S0") & deltas["prev_state"].isin(["S1", "S2", "S3"])
    assert (deltas["has_transition_delta"] == emergency).all() and emergency.sum() > 0


# --------------------------------------------------------------------------------------
# compiled SQL on hand-made inputs
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lever_sql(tmp_path_factory) -> dict[str, str]:
    return compile_lever_sql(Path(tmp_path_factory.mktemp("levers")))


@pytest.fixture
def harness(lever_sql) -> LeverHarness:
    return LeverHarness(lever_sql)


LEVER_BAR = datetime(2024, 1, 10, 12)  # exec 1h: [12:00, 13:00), sees states closed by 13:00


def worked_example_states() -> list[dict]:
    """The docs/levers.md worked example: macro states of the previous day (closed at midnight),
    meso states of the lever hour (closed at its close); micro, BTC.d meso and USDT.d meso
    missing. Later states (not ended at the lever close) must not count."""
    day = datetime(2024, 1, 9)
    rows = [
        ("BTC", "macro", day, "S3", {}),
        ("BTC", "meso", LEVER_BAR, "S1", {"buy_flag": True}),
        ("ALT", "macro", day, "S3", {}),
        ("ALT", "meso", LEVER_BAR, "S2", {}),
        ("small", "macro", day, "S0", {}),
        ("small", "meso", LEVER_BAR, "S1", {}),
        ("BTC.d", "macro", day, "S2", {}),
        ("USDT.d", "macro", day, "S0", {}),
    ]
    future = [
        ("BTC", "meso", LEVER_BAR + timedelta(hours=1), "S0", {}),
        ("small", "macro", day + timedelta(days=1), "S3", {"trim_flag": True}),
        ("USDT.d", "meso", LEVER_BAR + timedelta(hours=1), "S3", {}),
    ]
    return [
        {"driver": d, "timeframe": tf, "bar_start": t, "state": s, "prev_state": s, **flags}
        for d, tf, t, s, flags in rows + future
    ]


def _row(levers: pd.DataFrame, bar_start=LEVER_BAR, execution="1h", bucket="small") -> pd.Series:
    rows = levers[
        (levers.bar_start == bar_start) & (levers.execution_timeframe == execution) & (levers.bucket == bucket)
    ]
    assert len(rows) == 1, f"no single lever row {bar_start} {execution} {bucket}"
    return rows.iloc[0]


def test_worked_example_through_the_sql(harness):
    harness.set_states(worked_example_states())
    harness.run()
    lever = _row(harness.levers())
    assert lever["a_value"] == pytest.approx(0.857, abs=1e-12)
    assert lever["e_value"] == pytest.approx(0.33625, abs=1e-12)
    assert lever["position_size_frac"] == pytest.approx(0.5285, abs=1e-12)
    assert (lever["intent_a"], lever["intent_e"], lever["is_degraded"]) == (0, 0, False)
    assert (lever["n_used"], lever["n_stale"], lever["n_missing"]) == (8, 0, 7)
    contributions = harness.contributions()
    mine = contributions[
        (contributions.bar_start == LEVER_BAR)
        & (contributions.execution_timeframe == "1h")
        & (contributions.bucket == "small")
    ]
    per_driver = mine.groupby("driver")["contribution_a"].sum().round(12).to_dict()
    assert per_driver == {"BTC": 0.129, "ALT": 0.078, "small": 0.03, "BTC.d": -0.015, "USDT.d": 0.135}
    # the other buckets see their own (missing) bucket states only
    assert _row(harness.levers(), bucket="mid")["n_missing"] == 9


def _hourly(driver: str, first: datetime, last: datetime, timeframe="meso", step=timedelta(hours=1)):
    rows, t = [], first
    while t <= last:
        rows.append({"driver": driver, "timeframe": timeframe, "bar_start": t, "state": "S3", "prev_state": "S3"})
        t += step
    return rows


def test_grid_alignment_islands_and_micro(harness):
    d1 = datetime(2024, 1, 1)
    # BTC meso: two islands (a 25-bar gap > max_gap_bars = 24); ALT meso: one island
    btc = _hourly("BTC", d1, d1 + timedelta(hours=23)) + _hourly(
        "BTC", d1 + timedelta(hours=48), d1 + timedelta(hours=53)
    )
    alt = _hourly("ALT", d1 + timedelta(hours=2), d1 + timedelta(hours=53))
    # micro (5m) for one hour; 1m execution is finer than micro and gets no rows
    five = timedelta(minutes=5)
    micro = _hourly("BTC", d1 + timedelta(hours=60), d1 + timedelta(hours=61), "micro", five) + _hourly(
        "ALT", d1 + timedelta(hours=60, minutes=10), d1 + timedelta(hours=61, minutes=30), "micro", five
    )
    harness.set_states(btc + alt + micro)
    harness.run()
    small = harness.levers().query("bucket == 'small'")
    starts = {x: sorted(g["bar_start"]) for x, g in small.groupby("execution_timeframe")}
    hour = timedelta(hours=1)
    # closes within [03:00 d1 (ALT's first close), 00:00 d2] and [01:00 d3, 06:00 d3]
    assert starts["1h"] == (
        [d1 + timedelta(hours=h) for h in range(2, 24)] + [d1 + timedelta(hours=h) for h in range(48, 54)]
    )
    assert starts["4h"] == ([d1 + timedelta(hours=h) for h in range(0, 24, 4)] + [d1 + timedelta(hours=48)])
    assert starts["1d"] == [d1]
    # micro: closes within [d3 12:15 (ALT's first close), d3 13:05 (BTC's last close)]
    m0 = d1 + timedelta(hours=60)
    assert starts["5m"] == [m0 + timedelta(minutes=m) for m in range(10, 65, 5)]
    assert starts["15m"] == [m0 + timedelta(minutes=m) for m in (0, 15, 30, 45)]
    assert "1m" not in starts and set(starts) == {"1h", "4h", "1d", "5m", "15m"}
    assert not small["bar_start"].between(d1 + 24 * hour, d1 + 47 * hour).any()
    # a short gap (<= 24 bars) keeps the island: the lever bars inside see a stale BTC meso
    harness.set_states(
        _hourly("BTC", d1, d1 + timedelta(hours=10))
        + _hourly("BTC", d1 + 30 * hour, d1 + 40 * hour)
        + _hourly("ALT", d1, d1 + 40 * hour)
    )
    harness.run()
    lever = _row(harness.levers(), bar_start=d1 + 20 * hour)
    assert lever["is_degraded"] and lever["n_stale"] == 1


def test_seed_edit_changes_a_by_the_weighted_delta(harness):
    harness.set_states(worked_example_states())
    harness.run()
    before = _row(harness.levers())
    contributions = harness.contributions()
    s3_used = contributions[
        (contributions.bar_start == LEVER_BAR)
        & (contributions.execution_timeframe == "1h")
        & (contributions.bucket == "small")
        & (contributions.state == "S3")
        & (contributions.status == "used")
    ]
    scale = (s3_used.driver_weight * s3_used.timeframe_weight * s3_used.execution_multiplier).sum()
    assert scale == pytest.approx(1.0 * 0.5 * 0.3 + 1.5 * 0.5 * 0.3)  # BTC and ALT macro
    change = 0.07
    edited = harness.seed("regime_state_deltas")
    edited.loc[edited.state == "S3", "delta_a"] += change
    harness.set_seed("regime_state_deltas", edited)
    harness.run()
    after = _row(harness.levers())
    assert after["a_unclamped"] - before["a_unclamped"] == pytest.approx(change * scale, abs=1e-12)
    assert after["e_unclamped"] == before["e_unclamped"]


# --------------------------------------------------------------------------------------
# properties: random states, flags, staleness and intents for one lever bar
# --------------------------------------------------------------------------------------

LEVER_DRIVERS = ["BTC", "ALT", "small", "BTC.d", "USDT.d"]
FLAGS = st.sampled_from([None, False, True])


@st.composite
def lever_cases(draw):
    """One lever bar (execution timeframe, bar_start) of bucket small, states per lever
    driver x timeframe (the latest ended one `k` bars before the last possible close,
    older history, maybe one not yet ended) and intents. BTC and ALT always have states at
    the grid timeframe around the lever close, so the bar is on the grid."""
    minutes, tf_minutes = _minutes(), _timeframe_minutes()
    stale_bars = int(_config()["stale_bars"])
    execution = draw(st.sampled_from(["5m", "15m", "1h", "4h", "1d"]))
    x = minutes[execution]
    grid_tf = "meso" if x >= tf_minutes["meso"] else "micro"
    bar_start = datetime(2024, 3, 1) + timedelta(
        days=draw(st.integers(0, 60)), minutes=x * draw(st.integers(0, 1440 // x - 1))
    )
    close = bar_start + timedelta(minutes=x)
    states, expected = [], {}
    for driver in LEVER_DRIVERS:
        for tf, step in tf_minutes.items():
            anchor = driver in ("BTC", "ALT") and tf == grid_tf
            last_close = EPOCH + timedelta(minutes=_epoch_minutes(close) // step * step)
            if anchor or draw(st.booleans()):
                k = draw(st.integers(0, 2 * stale_bars + 2))
                latest = last_close - timedelta(minutes=k * step)
                history = []
                for j in range(draw(st.integers(1, 3))):
                    history.append(
                        {
                            "driver": driver,
                            "timeframe": tf,
                            "bar_start": latest - timedelta(minutes=(j + 1) * step),
                            "state": draw(st.sampled_from(STATES)),
                            "prev_state": draw(st.sampled_from([None] + STATES)),
                            "buy_flag": draw(FLAGS),
                            "first_dip_buy_flag": draw(FLAGS),
                            "rebuy_flag": draw(FLAGS),
                            "trim_flag": draw(FLAGS),
                        }
                    )
                states += history
                age = (close - latest) / timedelta(minutes=1)
                expected[(driver, tf)] = (history[0], "used" if age <= stale_bars * step else "stale")
            else:
                expected[(driver, tf)] = (None, "missing")
            if anchor or draw(st.booleans()):  # not ended at the close: must not be seen
                states.append(
                    {
                        "driver": driver,
                        "timeframe": tf,
                        "bar_start": last_close,
                        "state": draw(st.sampled_from(STATES)),
                        "prev_state": "S3",
                        "trim_flag": True,
                    }
                )
    amounts = st.floats(-0.5, 0.5, allow_nan=False)
    intents = [
        {
            "bar_start": bar_start,
            "bucket": "small",
            "execution_timeframe": execution,
            "delta_a": draw(amounts),
            "delta_e": draw(amounts),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    intents += [
        {
            "bar_start": bar_start,
            "bucket": "big",
            "execution_timeframe": execution,
            "delta_a": draw(amounts),
            "delta_e": draw(amounts),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    return execution, bar_start, states, intents, expected


def oracle_contribution(state: dict, execution: str, driver: str, tf: str, column: str) -> float:
    """(state + active flags + transition deltas) x weights, straight from the seed CSVs."""
    s = _seed("regime_state_deltas").set_index("state")
    f = _seed("regime_flag_deltas").set_index(["state", "flag"])
    tr = _seed("regime_transition_deltas").set_index(["from_state", "to_state"])
    delta = s.at[state["state"], column]
    for flag, active in (
        ("buy", state["buy_flag"] or state["first_dip_buy_flag"]),
        ("rebuy", state["rebuy_flag"]),
        ("trim", state["trim_flag"]),
    ):
        if active and (state["state"], flag) in f.index:
            delta += f.at[(state["state"], flag), column]
    if (state["prev_state"], state["state"]) in tr.index:
        delta += tr.at[(state["prev_state"], state["state"]), column]
    weight = _seed("driver_weights").set_index("driver")["weight"][driver]
    tf_weight = _seed("timeframe_weights").set_index("timeframe")["weight"][tf]
    multiplier = _seed("execution_timeframe_multipliers").set_index(["execution_timeframe", "timeframe"])["multiplier"][
        (execution, tf)
    ]
    return delta * weight * tf_weight * multiplier


@pytest.fixture(scope="module")
def property_harness(lever_sql) -> LeverHarness:
    return LeverHarness(lever_sql)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=lever_cases())
def test_lever_properties(property_harness, case):
    execution, bar_start, states, intents, expected = case
    h = property_harness
    h.set_states(states)
    h.set_intents(intents)
    h.run()
    config = h.config()
    levers, contributions = h.levers(), h.contributions()
    cap = config["intent_cap"]
    # every lever row: bounds, intent cap, 15 contributions, exact reconciliation
    assert levers[["a_value", "e_value"]].stack().between(0, 1).all()
    assert levers[["intent_a", "intent_e"]].stack().between(-cap, cap).all()
    assert (levers.n_used + levers.n_stale + levers.n_missing == 15).all()
    # the lever row of the case against the oracle
    lever = _row(levers, bar_start=bar_start, execution=execution)
    mine = contributions[
        (contributions.bar_start == bar_start)
        & (contributions.execution_timeframe == execution)
        & (contributions.bucket == "small")
    ].sort_values(["driver", "timeframe"])
    assert len(mine) == 15
    exact = h.con.sql(f"""
        with sums as ({EXACT_SUMS})
        select sum_a, sum_e from sums
        where bar_start = '{bar_start}' and execution_timeframe = '{execution}' and bucket = 'small'""").fetchone()
    for column, base, intent, total, exact_sum in (
        ("a", "base_a", "intent_a", "a_unclamped", exact[0]),
        ("e", "base_e", "intent_e", "e_unclamped", exact[1]),
    ):
        assert lever[total] == config[base] + exact_sum + lever[intent]  # exact
        running = 0.0
        for value in mine[f"contribution_{column}"]:
            running += value
        assert running == pytest.approx(lever[total] - config[base] - lever[intent], abs=1e-12)
        intent_total = math.fsum(i[f"delta_{column}"] for i in intents if i["bucket"] == "small")
        assert lever[intent] == pytest.approx(min(cap, max(-cap, intent_total)), abs=1e-12)
        want = 0.0
        for row in mine.itertuples():
            state, status = expected[(row.driver, row.timeframe)]
            assert row.status == status, (row.driver, row.timeframe)
            if status != "missing":
                assert pd.Timestamp(row.state_bar_start) == pd.Timestamp(state["bar_start"])
            if status == "used":
                want += oracle_contribution(state, execution, row.driver, row.timeframe, f"delta_{column}")
            else:
                assert getattr(row, f"contribution_{column}") == 0
        assert running == pytest.approx(want, abs=1e-12)
        assert lever[f"{column}_value"] == pytest.approx(
            min(1.0, max(0.0, config[base] + want + lever[intent])), abs=1e-12
        )
    degraded = any(expected[(d, "meso")][1] != "used" for d in ("BTC", "ALT"))
    assert lever["is_degraded"] == degraded
