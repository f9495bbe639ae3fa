"""The RangeQualityScore calibration (docs/grid-regimes.md) on shuffled-return surrogates:
the real pipeline (`dbt build -s +fct_grid_regimes`) over surrogates of four sample symbols
(market_regimes.research.surrogates, seeds 0-3) gives a median RQS within 35-65 (a random
walk is neither a good nor a bad range) and a median below 30 on the 20% of windows with
the largest |efficiency ratio over the window| (trending stretches of the random walk), at
1h and 4h. The weights in seed grid_config were chosen on these surrogates only."""

from __future__ import annotations

import pytest

from market_regimes.research.surrogates import write_surrogate_landing
from tests.helpers import PROJECT, dbt, query

pytestmark = pytest.mark.integration
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


@pytest.fixture(scope="module")
def surrogate_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("surrogates")
    landing = root / "landing"
    write_surrogate_landing(PROJECT / "sample" / "landing", landing, [f"klines/binance/{s}_1h.csv.gz" for s in SYMBOLS])
    db = root / "surrogates.duckdb"
    dbt("build", db, landing, root, extra=["--select", "+fct_grid_regimes", "--indirect-selection", "cautious"])
    return db


def test_median_rqs_on_surrogates_is_neutral_and_low_on_their_trending_windows(surrogate_db):
    rows = query(
        surrogate_db,
        """
        with scored as (
            select r.bar_interval, r.range_quality_score as rqs,
                   ntile(5) over (partition by r.bar_interval order by abs(b.er_window)) as quintile
            from marts.fct_grid_regimes r
            join intermediate.int_grid_bars_prepared b using (series_part, idx)
            where r.range_quality_score is not null and b.er_window is not null)
        select bar_interval, count(*) as n, median(rqs) as median_rqs,
               median(rqs) filter (where quintile = 5) as median_rqs_trending
        from scored group by 1 order by 1""",
    )
    print(rows.to_string())
    assert rows.bar_interval.tolist() == ["1h", "4h"] and (rows.n > 20_000).all()
    assert rows.median_rqs.between(35, 65).all(), rows
    assert (rows.median_rqs_trending < 30).all(), rows
