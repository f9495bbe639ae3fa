"""The per-series function of the Spark engine jobs (market_regimes/spark_engines.py) without
Spark: each Spark group gets one series' rows, so the rows of the groups put together must be
the rows of the DuckDB adapter's one call over every series, for a full walk and for a
continued one (the Spark stage of CI, benchmarks/spark_build.py, runs the jobs themselves)."""

from __future__ import annotations

import pandas as pd
import pytest

from market_regimes.engines.grid_ranges import OUTPUT_COLUMNS, QUANTILE_INPUTS, SEED_KEYS, grid_range_rows_by_window
from market_regimes.engines.uptrend_frames import COLUMNS as UPTREND_COLUMNS
from market_regimes.spark_engines import (
    dbt_selections,
    grid_ranges_output_schema,
    grid_ranges_walk_group,
    uptrend_states_output_schema,
)
from tests.conftest import PROJECT
from tests.unit.test_grid_ranges import VALUES, config, random_walk

SEED = {k: VALUES[k] for k in SEED_KEYS} | {"rqs_ok_min": "50"}  # a SQL-side row: ignored
WINDOWS = {"a": (10, 3), "b": (15, 5), "c": (10, 3)}


def engine_bars(n: int = 120) -> pd.DataFrame:
    """Three series of int_grid_engine_bars_selected's shape, two window groups."""
    frames = []
    for seed, (part, (w, k)) in enumerate(WINDOWS.items()):
        bars = random_walk(seed, n + 10 * seed, config(window_bars=str(w), holdout_bars=str(k)), series_part=part)
        frames.append(
            bars.rename(columns={v: q for q, v in QUANTILE_INPUTS.items()}).assign(window_bars=w, holdout_bars=k)
        )
    return pd.concat(frames, ignore_index=True)


def test_output_schema_is_the_engines_columns_in_order():
    assert grid_ranges_output_schema() == (
        "series_part bigint, idx bigint, swing_support double, swing_resistance double, swing_support_fit double, "
        "swing_resistance_fit double, traversals double, containment_k double, pivot_idx bigint, pivot_kind bigint"
    )
    assert [c.split()[0] for c in grid_ranges_output_schema("string").split(", ")] == list(OUTPUT_COLUMNS)


def test_groups_put_together_equal_the_adapters_one_call():
    bars = engine_bars()
    whole = grid_range_rows_by_window(bars, SEED)
    # Spark hands the groups over in any order and each group's rows in any order
    shuffled = bars.sample(frac=1.0, random_state=7)
    groups = [grid_ranges_walk_group(g, None, SEED) for _, g in shuffled.groupby("series_part", sort=False)]
    got = pd.concat(groups, ignore_index=True).sort_values(["series_part", "idx"], ignore_index=True)
    assert len(got) == len(bars) == 120 + 130 + 140
    assert got["pivot_idx"].notna().sum() > 10
    pd.testing.assert_frame_equal(got, whole[list(OUTPUT_COLUMNS)])


def test_a_continued_group_gives_the_full_walks_later_rows():
    bars = engine_bars()
    whole = grid_range_rows_by_window(bars, SEED)
    part = bars[bars["series_part"] == "b"].reset_index(drop=True)
    full = whole[whole["series_part"] == "b"].reset_index(drop=True)
    carry = 99  # rows up to idx 99 stored
    stored = full[full["idx"] <= carry]
    pivots = stored.dropna(subset=["pivot_idx"])[["series_part", "idx", "pivot_idx", "pivot_kind"]]
    start = min(int(pivots["pivot_idx"].iloc[-1]), carry + 2 - 15)
    tail = part[part["idx"] >= start].assign(carry_idx=float(carry)).sample(frac=1.0, random_state=3)
    got = grid_ranges_walk_group(tail, pivots, SEED)
    pd.testing.assert_frame_equal(got, full[full["idx"] > carry].reset_index(drop=True)[list(OUTPUT_COLUMNS)])
    # a series first seen by an incremental run: carry_idx NULL on every row, walked whole, no pivots
    new = grid_ranges_walk_group(part.assign(carry_idx=float("nan")), pivots.iloc[:0], SEED)
    pd.testing.assert_frame_equal(new, full[list(OUTPUT_COLUMNS)])
    # a stored series without new bars: only its pivots reach the group
    assert grid_ranges_walk_group(part.iloc[:0], pivots, SEED).columns.tolist() == list(OUTPUT_COLUMNS)
    assert grid_ranges_walk_group(part.iloc[:0], pivots, SEED).empty
    # a tail that starts too late is refused, as in the DuckDB adapter
    with pytest.raises(ValueError, match="needs bars from idx"):
        grid_ranges_walk_group(part[part["idx"] > start + 1].assign(carry_idx=float(carry)), pivots, SEED)


def test_uptrend_schema_is_the_engines_columns_with_spark_types():
    fields = [f.split() for f in uptrend_states_output_schema().split(", ")]
    assert [name for name, _ in fields] == list(UPTREND_COLUMNS)
    types = dict(fields)
    assert (types["bar_start"], types["s3_start_ts"], types["state"], types["engine_state"]) == (
        "timestamp",
        "timestamp",
        "string",
        "string",
    )
    assert types["buy_flag"] == types["exit_position"] == "boolean"
    assert types["ts_score"] == types["edx"] == "double"


def test_the_spark_steps_split_the_models_at_the_engines():
    """Every Python model outside the landing is an engine: the SQL models downstream of any
    of them wait for the jobs; those downstream of an engine without a job stay off Spark."""
    steps = dbt_selections(PROJECT)
    assert steps["upstream"][0] == ["path:models"]
    assert "fct_volatility_regimes+" in steps["upstream"][1] and "int_grid_ranges_walked+" in steps["upstream"][1]
    assert not any(s.startswith(("klines", "daily_series", "dominance_readings")) for s in steps["upstream"][1])
    ported = ["int_grid_ranges_walked", "fct_uptrend_states", "fct_strategy_fit"]
    assert steps["after_engines"] == (
        [f"{m}+" for m in ported],
        [*ported, *[s for s in steps["upstream"][1] if s not in [f"{m}+" for m in ported]]],
    )
    assert steps["built"][0] == ["path:models", *ported]
    assert "fct_uptrend_states+" not in steps["built"][1] and "fct_grid_lifecycle+" in steps["built"][1]
    assert "fct_strategy_fit+" not in steps["built"][1] and "fct_volatility_regimes+" in steps["built"][1]


def _strategy_inputs(n: int = 900):
    """Two driver segments of hourly log returns (the two-frame input of strategy_fit_rows)
    and their listed series: 900 and 700 bars, enough for the 256-bar Hurst window at the
    daily cadence."""
    import numpy as np

    rng = np.random.default_rng(5)
    series, bars = [], []
    for part, (sid, seg, length) in enumerate([("BTC|meso", 1, n), ("ALT|meso", 2, n - 200)], start=11):
        series.append(
            {
                "series_part": part,
                "series_type": "driver",
                "series_id": sid,
                "driver": sid.split("|")[0],
                "timeframe": "meso",
                "exchange": None,
                "symbol": None,
                "bar_interval": "1h",
                "interval_minutes": 60,
                "segment_id": seg,
            }
        )
        starts = pd.date_range("2024-01-01", periods=length, freq="1h").to_numpy().astype("datetime64[us]")
        bars.append(
            pd.DataFrame(
                {
                    "series_part": part,
                    "idx": np.arange(length),
                    "bar_start": starts,
                    "log_return": rng.standard_t(4, size=length) * 0.01,
                }
            )
        )
    return pd.DataFrame(series), pd.concat(bars, ignore_index=True)


def test_strategy_fit_groups_equal_the_adapters_one_call_and_continue_after_the_stored_rows():
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.engines.volatility_frames import STRATEGY_COLUMNS, strategy_fit_rows
    from market_regimes.settings import seed_path
    from market_regimes.spark_engines import strategy_fit_group, strategy_fit_output_schema

    cfg = VolatilityConfig.from_mapping(dict(pd.read_csv(seed_path("volatility_config"))[["key", "value"]].values))
    series, bars = _strategy_inputs()
    whole = strategy_fit_rows(bars, cfg, series=series)
    assert len(whole) > 40 and set(whole["series_id"]) == {"BTC|meso", "ALT|meso"}
    # Spark hands each group its rows in any order, bar_start as nanoseconds
    shuffled = bars.sample(frac=1.0, random_state=3).astype({"bar_start": "datetime64[ns]"})
    groups = [strategy_fit_group(g, cfg, series, {}) for _, g in shuffled.groupby("series_part", sort=False)]
    got = pd.concat(groups, ignore_index=True).sort_values(["series_id", "bar_start"], ignore_index=True)
    pd.testing.assert_frame_equal(got, whole.sort_values(["series_id", "bar_start"], ignore_index=True))
    # a stored segment: only its rows after its last stored row come back
    last = whole.loc[whole["series_id"] == "BTC|meso", "bar_start"].iloc[10]
    btc = strategy_fit_group(bars[bars["series_part"] == 11], cfg, series, {("BTC|meso", 1): last.to_datetime64()})
    want = whole[(whole["series_id"] == "BTC|meso") & (whole["bar_start"] > last)].reset_index(drop=True)
    pd.testing.assert_frame_equal(btc, want)
    assert [f.split()[0] for f in strategy_fit_output_schema().split(", ")] == list(STRATEGY_COLUMNS)
    assert "bar_start timestamp" in strategy_fit_output_schema() and "is_toxic boolean" in strategy_fit_output_schema()
