"""The lever formulas side by side and the lever-outcome report on the sample build.

docs/levers.md "Two formulas" and "Do the levers pay?": the default formula leaves
marts.fct_levers as it was (known values), reports.rpt_lever_values_by_formula
reproduces it bit for bit and recomputes the literal compute_levers from the
contributions (checked against SQL here), the clamp shares quoted in the docs, and
reports.rpt_lever_outcomes: shape, intervals, and counts / means recomputed in SQL
independently of the Python report (quantile edges by quantile_cont, forward returns by a
window over the composite closes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration


def test_default_formula_keeps_fct_levers_unchanged(sample_db):
    """Known values of the sample build made before the formula switch existed."""
    totals = query(
        sample_db,
        """
        select execution_timeframe, count(*) as n, sum(a_value)::decimal(20, 6) as a,
               count(*) filter (where a_value in (0, 1)) as clamped
        from marts.fct_levers group by all order by 1""",
    )
    assert totals.set_index("execution_timeframe")[["n", "clamped"]].to_dict("index") == {
        "15m": {"n": 34104, "clamped": 18},
        "1d": {"n": 4244, "clamped": 1374},
        "1h": {"n": 101904, "clamped": 9230},
        "4h": {"n": 25480, "clamped": 3890},
        "5m": {"n": 102308, "clamped": 13},
    }
    assert float(totals.set_index("execution_timeframe").loc["1h", "a"]) == pytest.approx(50141.067375, abs=2e-6)
    row = query(
        sample_db,
        """select a_unclamped, e_unclamped, n_used, n_missing from marts.fct_levers
                               where bucket = 'small' and execution_timeframe = '1h'
                                 and bar_start = '2022-06-13 12:00'""",
    ).iloc[0]
    assert (row["a_unclamped"], row["e_unclamped"]) == (-0.11050000000000004, 1.1105)
    assert (row["n_used"], row["n_missing"]) == (6, 9)
    weights = query(sample_db, "select distinct timeframe, timeframe_weight from marts.fct_lever_contributions")
    assert weights.set_index("timeframe")["timeframe_weight"].to_dict() == {"macro": 0.5, "meso": 0.4, "micro": 0.1}


def test_configured_formula_rows_equal_fct_levers_bit_for_bit(sample_db):
    diff = query(
        sample_db,
        """
        select count(*) as n,
               count(*) filter (where f.a_value is distinct from l.a_value or f.e_value is distinct from l.e_value
                                or f.a_unclamped is distinct from l.a_unclamped
                                or f.e_unclamped is distinct from l.e_unclamped) as differing
        from reports.rpt_lever_values_by_formula as f
        join marts.fct_levers as l using (bar_start, execution_timeframe, bucket)
        where f.is_configured and f.formula = 'project'""",
    ).iloc[0]
    assert (diff["n"], diff["differing"]) == (268040, 0)


def test_literal_formula_is_delta_x_driver_weight_x_multiplier(sample_db):
    """The seed_compute_levers totals recomputed in SQL from the contributions (no timeframe weight)."""
    check = query(
        sample_db,
        """
        with literal as (
            select bar_start, execution_timeframe, bucket,
                   sum(case when status = 'used' then delta_a_raw * driver_weight * execution_multiplier else 0 end) as a,
                   sum(case when status = 'used' then delta_e_raw * driver_weight * execution_multiplier else 0 end) as e
            from marts.fct_lever_contributions group by all)
        select count(*) as n,
               max(abs(f.total_contribution_a - l.a)) as a_err, max(abs(f.total_contribution_e - l.e)) as e_err,
               max(abs(f.a_value - greatest(0, least(1, 0.5 + l.a)))) as clamp_err
        from reports.rpt_lever_values_by_formula as f join literal as l using (bar_start, execution_timeframe, bucket)
        where f.formula = 'seed_compute_levers'""",
    ).iloc[0]
    assert check["n"] == 268040
    assert check["a_err"] < 1e-12 and check["e_err"] < 1e-12 and check["clamp_err"] < 1e-12


def test_share_of_1h_a_at_the_clamp_under_each_formula(sample_db):
    """docs/levers.md: ~9% of the 1h A values at 0 or 1 with timeframe weights, ~48% without."""
    shares = query(
        sample_db,
        """
        select formula, count(*) as n, count(*) filter (where a_value = 1) as at_one,
               count(*) filter (where a_value = 0) as at_zero
        from reports.rpt_lever_values_by_formula where execution_timeframe = '1h' group by all""",
    )
    got = shares.set_index("formula")[["n", "at_one", "at_zero"]].to_dict("index")
    assert got == {
        "project": {"n": 101904, "at_one": 1111, "at_zero": 8119},
        "seed_compute_levers": {"n": 101904, "at_one": 25847, "at_zero": 23533},
    }
    assert round((1111 + 8119) / 101904, 4) == 0.0906 and round((25847 + 23533) / 101904, 4) == 0.4846


# ---- reports.rpt_lever_outcomes ----------------------------------------------------------


@pytest.fixture(scope="module")
def report(sample_db):
    return query(sample_db, "select * from reports.rpt_lever_outcomes")


def test_report_shape(report):
    series = report[["bucket", "execution_timeframe"]].drop_duplicates()
    # 1h / 4h / 1d of every bucket, 5m / 15m of big (the only bucket with micro composite bars)
    assert sorted(map(tuple, series.to_numpy())) == sorted(
        [(b, tf) for b in ("big", "mid", "nano", "small") for tf in ("1d", "1h", "4h")]
        + [("big", "5m"), ("big", "15m")]
    )
    # formula x lever x source x series x sample x horizon x metric x (all, Q1..Q5, spread)
    assert len(report) == 2 * 2 * 2 * 14 * 2 * 3 * 2 * 7
    assert sorted(report["horizon_bars"].unique()) == [1, 4, 24]
    keys = [
        "formula",
        "lever",
        "lever_source",
        "bucket",
        "execution_timeframe",
        "sample",
        "horizon_bars",
        "metric",
        "lever_group",
    ]
    assert not report.duplicated(keys).any()


def test_intervals_contain_the_means(report):
    with_ci = report[report["ci_low"].notna()]
    assert len(with_ci) > 0.9 * len(report)
    assert ((with_ci["ci_low"] <= with_ci["mean"]) & (with_ci["mean"] <= with_ci["ci_high"])).all()
    spreads = report[(report["lever_group"] == "top_minus_bottom") & (report["lever_source"] == "actual")]
    assert spreads["null_p_value"].between(0, 1, inclusive="right").all()
    assert (spreads["null_ci_low"] <= spreads["null_ci_high"]).all()
    paired = spreads[spreads["minus_other_formula"].notna()]
    assert (
        (paired["minus_other_formula_ci_low"] <= paired["minus_other_formula"])
        & (paired["minus_other_formula"] <= paired["minus_other_formula_ci_high"])
    ).all()


def test_group_counts_and_means_match_sql(sample_db, report):
    """project A, small, 1h, out of sample: the Q5 bar count from SQL quantile edges over the first
    60% of the observable bars, and the 24-bar forward return of all bars from a window over the
    composite closes."""
    sql = query(
        sample_db,
        """
        with closes as (
            select close_at, close,
                   lead(close, 24) over w as close_24, lead(close_at, 24) over w as at_24
            from reports.rpt_lever_composite_closes
            where bucket = 'small' and execution_timeframe = '1h'
            window w as (partition by segment_id order by close_at)),
        observable as (
            select l.bar_start, l.a_value, c.close, c.close_24, c.at_24, c.close_at,
                   row_number() over (order by l.bar_start) as i, count(*) over () as n
            from reports.rpt_lever_values_by_formula as l
            join closes as c on c.close_at = l.bar_start + interval 1 hour
            where l.formula = 'project' and l.bucket = 'small' and l.execution_timeframe = '1h'),
        split as (select *, i > floor(round(0.6 * n, 9)) as oos from observable),
        edges as (select quantile_cont(a_value, 0.8) as e4 from split where not oos)
        select count(*) filter (where a_value >= (select e4 from edges)) as q5_bars,
               count(*) as oos_bars,
               count(*) filter (where at_24 = close_at + interval 24 hour) as n_24,
               avg(ln(close_24 / close)) filter (where at_24 = close_at + interval 24 hour) as mean_24
        from split where oos""",
    ).iloc[0]
    key = dict(
        formula="project",
        lever="A",
        lever_source="actual",
        bucket="small",
        execution_timeframe="1h",
        sample="out_of_sample",
        metric="forward_return",
    )
    sel = report
    for k, v in key.items():
        sel = sel[sel[k] == v]
    q5 = sel[(sel["lever_group"] == "Q5") & (sel["horizon_bars"] == 24)].iloc[0]
    everything = sel[(sel["lever_group"] == "all") & (sel["horizon_bars"] == 24)].iloc[0]
    assert q5["n_bars"] == sql["q5_bars"] and everything["n_bars"] == sql["oos_bars"]
    assert everything["n"] == sql["n_24"]
    assert everything["mean"] == pytest.approx(sql["mean_24"], rel=1e-9)
    assert sel[sel["lever_group"].str.startswith("Q") & (sel["horizon_bars"] == 24)]["n_bars"].sum() == sql["oos_bars"]


def test_no_formula_separates_forward_returns_out_of_sample(report):
    """The sample's answer (docs/levers.md): no A or E top-minus-bottom return spread of either
    formula is separated as expected out of sample; the literal formula's E and A do separate
    forward vol on the 2025 5m / 15m bars of the big bucket."""
    spreads = report[
        (report["lever_group"] == "top_minus_bottom")
        & (report["lever_source"] == "actual")
        & (report["sample"] == "out_of_sample")
    ]
    separated = spreads[spreads["is_separated_as_expected"].fillna(False).astype(bool)]
    assert not (separated["metric"] == "forward_return").any()
    vol = separated[["formula", "lever", "bucket", "execution_timeframe", "horizon_bars"]]
    assert set(vol["formula"]) == {"seed_compute_levers"}
    assert set(vol["bucket"]) == {"big"} and set(vol["execution_timeframe"]) == {"5m", "15m"}
    assert len(vol) == 10
    # the E spread of forward vol on big 5m, h = 1: +0.045 percentage points, rotation p = 1 / (1 + shifts)
    e5 = spreads[
        (spreads["formula"] == "seed_compute_levers")
        & (spreads["lever"] == "E")
        & (spreads["execution_timeframe"] == "5m")
        & (spreads["horizon_bars"] == 1)
        & (spreads["metric"] == "forward_rv")
    ].iloc[0]
    assert e5["mean"] == pytest.approx(0.00045, abs=5e-6) and e5["null_p_value"] < 0.001
    assert math.isclose(e5["expected_sign"], 1)
    assert np.isfinite(e5["minus_other_formula"])
