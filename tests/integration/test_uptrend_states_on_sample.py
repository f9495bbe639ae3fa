"""The Uptrend Engine state machine on the bundled real data (issue 4 acceptance, states part):
BTC and ALT at 1h (meso) each visit S0, S1, S2 and S3 between 2021-04 and 2023-12."""

from __future__ import annotations

import pytest

from market_regimes.engines.uptrend_states import walk_states
from tests.helpers import query

pytestmark = pytest.mark.integration

EMAS = ("ema_20", "ema_30", "ema_60", "ema_144", "ema_250", "ema_333")
# UPTREND_ENGINE.md "Inputs per bar": the engine starts where all of them are non-NULL
INPUTS = EMAS + ("ema_20_slope", "ema_60_slope", "ema_144_slope", "ema_250_slope", "ema_333_slope",
                 "d_ema_144_slope", "atr_14", "atr_mean_20", "rsi_14", "rsi_slope_10", "adx_14",
                 "adx_slope_10", "sep_fast", "sep_mid", "d_sep_fast_5", "d_sep_mid_5", "volume_z")


@pytest.mark.parametrize("driver", ["BTC", "ALT"])
def test_btc_and_alt_meso_visit_s0_to_s3(sample_db, driver):
    rows = query(sample_db, f"""
        select s.segment_id, b.bar_start, b.close, {", ".join(INPUTS)}
        from intermediate.int_indicator_series_listed s
        join intermediate.int_indicator_bars_prepared b using (series_part)
        join intermediate.int_indicators_smoothed m using (series_part, idx)
        join intermediate.int_indicators_windowed w using (series_part, idx)
        where s.driver = '{driver}' and s.timeframe = 'meso'
          and b.bar_start between '2021-04-01' and '2023-12-31'
        order by s.segment_id, b.idx""")
    visited: dict[str, int] = {}
    bars = 0
    for _, seg in rows.groupby("segment_id"):
        ready = seg[list(INPUTS)].notna().all(axis=1).tolist()
        path = walk_states(seg["close"].tolist(), {f"e{k.split('_')[1]}": seg[k].tolist() for k in EMAS},
                           ready, bootstrap_to_s3=True)
        bars += len(path.state)
        for state in path.state:
            visited[state] = visited.get(state, 0) + 1
    print(driver, "meso bars with a state:", bars, "per state:", dict(sorted(visited.items())))
    assert bars > 15_000
    assert {"S0", "S1", "S2", "S3"} <= set(visited)
