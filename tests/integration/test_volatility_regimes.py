"""marts.fct_volatility_regimes and fct_strategy_fit on the bundled real data (docs/volatility-regimes.md):
the high-vol regime (vol_regime: the realized-vol percentile detector) is followed by higher
realized volatility than its low-vol regime on the hourly drivers and ALT daily, and not on
BTC daily (a negative result, measured); every 1d / 1h series is covered, and the strategy
fit sits at each day's close."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import query

pytestmark = pytest.mark.integration

# forward realized vol: sample std of the next 20 bars' log returns of the same segment
FORWARD_VOL = """
with f as (
    select driver, timeframe, vol_regime,
           stddev_samp(log_return) over w as fwd_vol_20, count(log_return) over w as n_fwd
    from marts.fct_volatility_regimes
    where driver in ('BTC', 'ALT')
    window w as (partition by series_id, segment_id order by bar_start rows between 1 following and 20 following)
)
select driver, timeframe, vol_regime, count(*) as bars, avg(fwd_vol_20) as fwd_vol_20
from f where n_fwd = 20
group by all order by all
"""


# forward vol high / low over each driver's whole history: (lowest, highest) ratio expected.
# BTC daily does not separate (0.92 here; out of sample 1.03, and no daily detector measured
# reaches 1.15 there: docs/volatility-regimes.md); the hourly drivers separate clearly.
EXPECTED_RATIO = {
    ("BTC", "meso"): (1.3, None),
    ("ALT", "meso"): (1.3, None),
    ("ALT", "macro"): (1.0, None),
    ("BTC", "macro"): (0.85, 1.15),
}


@pytest.mark.parametrize(("driver", "timeframe"), sorted(EXPECTED_RATIO))
def test_high_vol_regime_has_higher_forward_realized_vol(sample_db, driver, timeframe):
    table = query(sample_db, FORWARD_VOL)
    table = table[(table["driver"] == driver) & (table["timeframe"] == timeframe)].set_index("vol_regime")
    ratio = table.loc["high", "fwd_vol_20"] / table.loc["low", "fwd_vol_20"]
    print(
        f"{driver} {timeframe}: forward 20-bar realized vol (per bar) high {table.loc['high', 'fwd_vol_20']:.5f} "
        f"({table.loc['high', 'bars']} bars) vs low {table.loc['low', 'fwd_vol_20']:.5f} "
        f"({table.loc['low', 'bars']} bars): ratio {ratio:.3f}"
    )
    assert table.loc["high", "bars"] >= 20 and table.loc["low", "bars"] >= 20
    lowest, highest = EXPECTED_RATIO[(driver, timeframe)]
    assert ratio > lowest and (highest is None or ratio < highest)


def test_every_daily_and_hourly_series_is_labelled(sample_db):
    missing = query(
        sample_db,
        """
        select s.series_id
        from (select distinct series_id from intermediate.int_indicator_series_listed
              where bar_interval in ('1d', '1h')) s
        anti join (select distinct series_id from marts.fct_volatility_regimes) v using (series_id)""",
    )
    # a series shorter than hmm_min_fit_bars clean returns has no rows: list them
    print("series without volatility rows:", missing["series_id"].tolist())
    counts = query(
        sample_db,
        """
        select series_type, bar_interval, count(distinct series_id) as series, count(*) as bars,
               count(*) filter (where vol_regime = 'high') as high_bars, sum(is_toxic::int) as toxic,
               count(turbulence) as with_turbulence
        from marts.fct_volatility_regimes group by all order by all""",
    )
    print(counts.to_string())
    by = counts.set_index(["series_type", "bar_interval"])
    assert by.loc[("driver", "1d"), "series"] >= 6 and by.loc[("driver", "1h"), "series"] >= 6
    assert by.loc[("symbol", "1h"), "series"] >= 40 and by.loc[("symbol", "1d"), "series"] >= 40
    assert (by["high_bars"] > 0).all()
    assert by.loc[("driver", "1h"), "with_turbulence"] > 0.9 * by.loc[("driver", "1h"), "bars"]
    # symbols: the exchange x interval cross-section (marts.fct_symbol_turbulence); no daily joint calendar
    # is longer than the 250-bar window on the sample
    assert by.loc[("symbol", "1h"), "with_turbulence"] == 204_131 + 3_760
    assert by.loc[("symbol", "1d"), "with_turbulence"] == 0
    assert len(missing) <= 10


def test_strategy_fit_at_each_days_close(sample_db):
    fit = query(
        sample_db,
        """
        select bar_interval, count(*) as rows, count(distinct series_id) as series,
               count(*) filter (where hour(bar_start) <> case bar_interval when '1h' then 23 else 0 end) as off_cadence,
               avg(trend_fit) as mean_trend_fit, avg(hurst_exponent) as mean_hurst, avg(ar1_phi) as mean_phi
        from marts.fct_strategy_fit group by all order by all""",
    )
    print(fit.to_string())
    assert (fit["off_cadence"] == 0).all() and (fit["rows"] > 1000).all()


def test_prefix_invariance_on_real_series(sample_db):
    """Point-in-time (docs/architecture.md) on the real data, engine level: BTC / ALT daily and hourly inputs cut at
    AS_OF give rows bit-identical to the uncut run for every bar before the cut (the
    upstream models' own prefix invariance is tested in test_sample_build)."""
    from market_regimes.engines.volatility_config import load_config_csv
    from market_regimes.engines.volatility_frames import strategy_fit_rows, volatility_regime_rows

    cfg = load_config_csv()
    bars = query(
        sample_db,
        """
        select s.series_type, s.series_id, s.driver, s.timeframe, s.exchange, s.symbol, s.bar_interval,
               s.interval_minutes, cast(s.segment_id as bigint) as segment_id, b.bar_start, b.log_return
        from intermediate.int_indicator_series_listed s
        join intermediate.int_indicator_bars_prepared b using (series_part)
        where s.series_id in ('BTC|macro', 'BTC|meso', 'ALT|macro', 'ALT|meso')""",
    )
    cut = pd.Timestamp("2022-11-09 13:00")  # inside the FTX crash: high-vol, CRISIS bars around it
    prefix = bars[bars["bar_start"] < cut]
    full_rows = volatility_regime_rows(bars, cfg, turbulence_drivers=["BTC", "ALT"])
    cut_rows = volatility_regime_rows(prefix, cfg, turbulence_drivers=["BTC", "ALT"])
    want = full_rows[full_rows["bar_start"] < cut].reset_index(drop=True)
    print("rows before the cut:", len(want), want["quadrant"].value_counts().to_dict())
    pd.testing.assert_frame_equal(cut_rows, want, check_exact=True)
    fits_full = strategy_fit_rows(bars, cfg)
    pd.testing.assert_frame_equal(
        strategy_fit_rows(prefix, cfg), fits_full[fits_full["bar_start"] < cut].reset_index(drop=True), check_exact=True
    )
    assert len(want) > 20_000
