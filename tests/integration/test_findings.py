"""The pooled regime findings (reports.rpt_regime_findings) on the sample build.

docs/volatility-regimes.md "Pooled findings": the detectors and intervals pooled, regime
shares, intervals around the means, counts and pooled means recomputed in SQL from the
report inputs independently of the Python report, the per-series sign shares, and the
dashboard panel built from it.
"""

from __future__ import annotations

import duckdb
import pytest

from market_regimes.dashboard.panels import findings
from tests.helpers import query

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report(sample_db):
    return query(sample_db, "select * from reports.rpt_regime_findings")


def test_detectors_intervals_and_shares(report):
    pooled = report.groupby("detector")["bar_interval"].unique().map(sorted).to_dict()
    assert pooled == {
        "grid_verdict": ["1h", "4h"],
        "trend_vol": ["1d"],
        "uptrend": ["1d", "1h", "5m"],
        "volatility_rv": ["1d", "1h"],
        "volatility_hmm": ["1d", "1h"],
        "volatility_quadrant": ["1d", "1h"],
    }
    regimes = report[
        (report["row_kind"] == "regime") & (report["metric"] == "forward_return") & (report["horizon_bars"] == 5)
    ]
    totals = regimes.groupby(["detector", "bar_interval", "sample"])["share_of_bars"].sum()
    assert totals.round(12).eq(1.0).all()
    keys = ["detector", "bar_interval", "sample", "row_kind", "regime", "metric", "horizon_bars"]
    assert not report.duplicated(keys).any()
    # every configured contrast has rows for all three metrics and horizons in both samples
    contrasts = report[report["row_kind"] == "contrast"]
    assert contrasts.groupby(["detector", "bar_interval", "regime"]).size().eq(2 * 3 * 3).all()


def test_intervals_contain_the_means(report):
    with_ci = report[report["ci_low"].notna()]
    assert len(with_ci) >= len(report) - 20
    assert ((with_ci["ci_low"] <= with_ci["mean"]) & (with_ci["mean"] <= with_ci["ci_high"])).all()


def test_uptrend_pool_matches_sql(sample_db, report):
    """Uptrend 1h, state S3, all bars, horizon 20: bar count, outcome count, pooled mean forward
    return and forward vol (the sample std of the 20 next one-bar returns, as
    rpt_regime_forward_returns computes it) over the price drivers' series in SQL."""
    sql = query(
        sample_db,
        """
        with bars as (
            select l.*,
                   ln(lead(close, 20) over w / close) as fwd,
                   case when lead(close, 20) over w is not null
                        then stddev_samp(log_return) over (w rows between 1 following and 20 following) end as rv
            from reports.rpt_regime_labels_aligned as l
            where series_type = 'driver' and bar_interval = '1h'
              and split_part(series_id, '|', 1) in (select driver from seeds.drivers where kind <> 'dominance')
            window w as (partition by series_part order by bar_seq))
        select count(*) as n_bars, count(fwd) as n, avg(fwd) as mean_fwd, avg(rv) as mean_rv,
               count(distinct series_id) as n_series
        from bars where uptrend_regime = 'S3'""",
    ).iloc[0]
    key = dict(detector="uptrend", bar_interval="1h", sample="all", row_kind="regime", regime="S3", horizon_bars=20)
    sel = report
    for k, v in key.items():
        sel = sel[sel[k] == v]
    ret = sel[sel["metric"] == "forward_return"].iloc[0]
    rv = sel[sel["metric"] == "forward_rv"].iloc[0]
    assert ret["n_bars"] == sql["n_bars"] and ret["n"] == sql["n"] and ret["n_series"] == sql["n_series"] == 6
    assert ret["mean"] == pytest.approx(sql["mean_fwd"], rel=1e-9)
    assert rv["mean"] == pytest.approx(sql["mean_rv"], rel=1e-9)


def test_grid_verdict_pool_matches_sql(sample_db, report):
    sql = query(
        sample_db,
        """
        select count(*) as n_bars, count(distinct exchange || symbol) as n_series,
               count(*) / sum(count(*)) over () as share
        from reports.rpt_grid_outcome_inputs where bar_interval = '4h' and verdict is not null
        group by verdict = 'TREND' order by (verdict = 'TREND') desc limit 1""",
    ).iloc[0]
    row = report[
        (report["detector"] == "grid_verdict")
        & (report["bar_interval"] == "4h")
        & (report["sample"] == "all")
        & (report["regime"] == "TREND")
        & (report["metric"] == "forward_rv")
        & (report["horizon_bars"] == 5)
    ]
    row = row.iloc[0]
    assert row["n_bars"] == sql["n_bars"] and row["share_of_bars"] == pytest.approx(sql["share"], rel=1e-12)


def test_the_vol_detectors_separate_vol_across_assets(report):
    """A finding of the sample: the HMM high-vol regime is followed by higher realized vol,
    pooled (interval above 0) and in every hourly symbol series compared, out of sample."""
    row = report[
        (report["detector"] == "volatility_hmm")
        & (report["bar_interval"] == "1h")
        & (report["sample"] == "out_of_sample")
        & (report["row_kind"] == "contrast")
        & (report["metric"] == "forward_rv")
        & (report["horizon_bars"] == 10)
    ].iloc[0]
    assert row["is_separated_as_expected"] and row["ci_low"] > 0
    assert row["mean"] == pytest.approx(0.00385, abs=5e-5)
    assert (row["n_series_compared"], row["share_series_expected_sign"]) == (51, 1.0)
    # ... while the uptrend states do not separate forward returns out of sample
    up = report[
        (report["detector"] == "uptrend")
        & (report["sample"] == "out_of_sample")
        & (report["row_kind"] == "contrast")
        & (report["metric"] == "forward_return")
    ]
    assert not up["is_separated_as_expected"].fillna(False).astype(bool).any()


def test_findings_panel_on_the_sample(sample_db, report):
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        figures = findings.build(con)
    finally:
        con.close()
    views = report[["detector", "bar_interval", "sample"]].drop_duplicates()
    assert len(figures) == len(views) == 24  # 6 detectors x their intervals x 2 samples
    assert figures[0].layout.meta["label"] == "uptrend · 1d · out-of-sample"
    assert "uptrend_states_vs_S0 · return (20 bars, expected +)" in figures[0].layout.title.text
