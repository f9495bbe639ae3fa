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
    first = [
        "int_grid_ranges_walked",
        "fct_uptrend_states",
        "fct_strategy_fit",
        "fct_symbol_turbulence",
        "fct_volatility_regimes",
        "fct_market_regimes",
    ]
    ported = [*first, "fct_grid_lifecycle"]
    unported = [s for s in steps["upstream"][1] if s not in [f"{m}+" for m in ported]]
    # the grid lifecycle reads fct_grid_lifecycle_bars, a model after the first wave: it and
    # the models after it wait for the second "after engines" step
    assert steps["after_engines"] == ([f"{m}+" for m in first], [*ported, *unported, "fct_grid_lifecycle+"])
    assert steps["after_second_wave"] == (["fct_grid_lifecycle+"], [*ported, *unported])
    assert steps["built"][0] == ["path:models", *ported]
    assert "fct_uptrend_states+" not in steps["built"][1] and "fct_grid_lifecycle+" not in steps["built"][1]
    assert "rpt_grid_exit_events+" in steps["built"][1] and "rpt_grid_restart_outcomes+" in steps["built"][1]
    assert "fct_strategy_fit+" not in steps["built"][1] and "fct_market_regimes+" not in steps["built"][1]
    assert "fct_symbol_turbulence+" not in steps["built"][1] and "fct_volatility_regimes+" not in steps["built"][1]
    # the regime research reports are Python models without a job: they and their descendants stay off Spark
    assert "rpt_regime_findings+" in steps["built"][1] and "rpt_regime_findings+" in steps["after_engines"][1]


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


def _symbol_clean_returns(n: int = 400) -> pd.DataFrame:
    """Clean symbol log returns of two cross-sections in the shape of
    clean_symbol_returns_sql (driver = symbol, timeframe = exchange|bar_interval): bybit|1h
    with three symbols, binance|1h with two; one bybit symbol misses 5 bars (off the joint
    calendar) and binance starts 30 bars later."""
    import numpy as np

    rng = np.random.default_rng(11)
    frames = []
    for timeframe, symbols, first in (("bybit|1h", ["BTC", "ETH", "SOL"], 0), ("binance|1h", ["BTC", "ETH"], 30)):
        starts = pd.date_range("2025-01-01", periods=n, freq="1h").to_numpy().astype("datetime64[us]")[first:]
        for symbol in symbols:
            frame = pd.DataFrame(
                {
                    "driver": symbol,
                    "timeframe": timeframe,
                    "bar_start": starts,
                    "log_return": rng.normal(0, 0.01, len(starts)),
                }
            )
            frames.append(frame.drop(index=range(100, 105)) if symbol == "SOL" else frame)
    return pd.concat(frames, ignore_index=True)


def _turbulence_read(clean: pd.DataFrame, stored: pd.DataFrame | None, window: int):
    """The DuckDB adapter's read of a turbulence run (its SQL on a DuckDB connection): the bars
    it hands the engine and, on an incremental run, its stored sections with joint_before."""
    import duckdb

    from market_regimes.adapters import volatility_sql as q

    con = duckdb.connect()
    con.register("_clean", clean)
    if stored is None:
        return con.sql(q.bars_from_starts_sql("_clean", f"({q.NO_STARTS_SQL})")).df(), None
    con.register("_stored_rows", stored)
    sections = con.sql(q.stored_sections_sql("_stored_rows")).df()
    con.register("_stored", sections)
    con.execute(f"create temp table _starts as {q.continuation_starts_sql('_clean', '_stored', window)}")
    bars = con.sql(q.bars_from_starts_sql("_clean", "_starts")).df()
    sections = sections.merge(con.sql("select timeframe, joint_before from _starts").df(), on="timeframe", how="left")
    return bars, sections.assign(joint_before=sections["joint_before"].fillna(0).astype("int64"))


def _volatility_seed_config():
    from market_regimes.engines.volatility_config import VolatilityConfig
    from market_regimes.settings import seed_path

    return VolatilityConfig.from_mapping(dict(pd.read_csv(seed_path("volatility_config"))[["key", "value"]].values))


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["exchange", "bar_interval", "bar_start"], ignore_index=True)


def test_symbol_turbulence_groups_equal_the_adapters_full_call():
    from market_regimes.engines.volatility_frames import symbol_turbulence_rows, turbulence_rows
    from market_regimes.spark_engines import symbol_turbulence_group, symbol_turbulence_output_schema

    cfg = _volatility_seed_config()
    assert cfg.turbulence_window_bars == 250
    bars, _ = _turbulence_read(_symbol_clean_returns(), None, cfg.turbulence_window_bars)
    whole = _by_key(symbol_turbulence_rows(turbulence_rows(bars, cfg)))
    # joint calendars of 370 and 395 bars: the rows after the 250-bar window
    assert whole.groupby("exchange").size().to_dict() == {"binance": 120, "bybit": 145}
    assert (whole["turbulence"] > 0).all() and whole["turbulence_symbols"].tolist() == [2] * 120 + [3] * 145
    # Spark hands each group its rows in any order, bar_start as nanoseconds
    shuffled = bars.sample(frac=1.0, random_state=4).astype({"bar_start": "datetime64[ns]"})
    groups = [symbol_turbulence_group(g, cfg, None) for _, g in shuffled.groupby("timeframe", sort=False)]
    got = pd.concat(groups, ignore_index=True)
    pd.testing.assert_frame_equal(_by_key(got), whole, check_exact=True)
    assert [f.split()[0] for f in symbol_turbulence_output_schema().split(", ")] == list(whole.columns)
    assert dict(f.split() for f in symbol_turbulence_output_schema().split(", "))["bar_start"] == "timestamp"


def test_a_continued_symbol_cross_section_returns_only_the_rows_after_its_stored_ones():
    """An incremental run as the adapter reads it: bybit's stored rows are still the full
    computation's (continued from its look-back), binance's were computed without the symbol
    that joined since (replaced: computed whole). The groups put together equal the adapter's
    one engine call on the same input, and equal the full computation's rows."""
    from market_regimes.engines.volatility_frames import (
        symbol_turbulence_rows,
        turbulence_rows,
        turbulence_rows_after,
    )
    from market_regimes.spark_engines import symbol_turbulence_group

    cfg = _volatility_seed_config()
    clean = _symbol_clean_returns()
    full_bars, _ = _turbulence_read(clean, None, cfg.turbulence_window_bars)
    full = symbol_turbulence_rows(turbulence_rows(full_bars, cfg))
    # stored: bybit's first 49 rows (up to its 299th joint bar, hour 304); binance's of BTC and ETH only
    cut = full.loc[full["exchange"] == "bybit", "bar_start"].iloc[49]
    assert cut == pd.Timestamp("2025-01-13 16:00")
    stored_bybit = full[(full["exchange"] == "bybit") & (full["bar_start"] < cut)]
    ada = clean[(clean["timeframe"] == "binance|1h") & (clean["driver"] == "BTC")].assign(driver="ADA")
    with_ada = pd.concat([clean, ada.assign(log_return=ada["log_return"].to_numpy()[::-1])], ignore_index=True)
    stored = pd.concat([stored_bybit, full[full["exchange"] == "binance"]], ignore_index=True)
    bars, sections = _turbulence_read(with_ada, stored, cfg.turbulence_window_bars)
    # the adapter's read: bybit from the 250th joint bar before its next row (joint bar 49), binance whole
    assert sections.set_index("timeframe")["joint_before"].to_dict() == {"bybit|1h": 49, "binance|1h": 0}
    assert bars.groupby("timeframe")["bar_start"].min().to_dict() == {
        "binance|1h": pd.Timestamp("2025-01-02 06:00"),
        "bybit|1h": pd.Timestamp("2025-01-03 01:00"),
    }
    # the adapter's engine call
    turb, replace = turbulence_rows_after(bars, cfg, sections)
    assert replace == ["binance|1h"]
    adapter = symbol_turbulence_rows(turb)
    # the Spark job's groups: the continued sections only (sections with a start)
    continued = sections[sections["joint_before"] > 0]
    groups = [
        symbol_turbulence_group(g, cfg, continued)
        for _, g in bars.astype({"bar_start": "datetime64[ns]"}).groupby("timeframe", sort=False)
    ]
    got = _by_key(pd.concat(groups, ignore_index=True))
    pd.testing.assert_frame_equal(got, _by_key(adapter), check_exact=True)
    bybit = got[got["exchange"] == "bybit"].reset_index(drop=True)
    assert len(bybit) == 145 - 49 and bybit["bar_start"].min() == cut
    want = full[(full["exchange"] == "bybit") & (full["bar_start"] >= cut)].reset_index(drop=True)
    pd.testing.assert_frame_equal(bybit, want, check_exact=True)
    binance = got[got["exchange"] == "binance"]
    assert len(binance) == 120 and (binance["turbulence_symbols"] == 3).all()
    assert not binance["turbulence"].isin(full["turbulence"]).any()  # recomputed with ADA: new values
    # a continued section whose stored rows are no longer the full computation's is refused
    stale = continued.assign(stored_rows=continued["stored_rows"] - 1)
    with pytest.raises(ValueError, match="look-back"):
        symbol_turbulence_group(bars[bars["timeframe"] == "bybit|1h"], cfg, stale)
    # ... and so is one that lost its cross-section (one member left): the job would drop its rows
    with pytest.raises(ValueError, match="would be recomputed whole"):
        symbol_turbulence_group(bars[(bars["timeframe"] == "bybit|1h") & (bars["driver"] == "BTC")], cfg, continued)


# --------------------------------------------------------------------------- fct_volatility_regimes
# small windows (as tests/unit/test_volatility.py) so that a few hundred bars have rows, refits,
# turbulence and a look-back shorter than the stored history
_VOL_OVERRIDES = {
    "hmm_window_bars": "200",
    "hmm_min_fit_bars": "130",
    "hmm_refit_every_bars_intraday": "24",
    # longer than the rows' first 130 bars: every bar with a turbulence value has rows, so the
    # stored driver sections hold the full computation's bars and continue
    "turbulence_window_bars": "150",
    "rv_quantile_window_bars_intraday": "200",
    "rv_quantile_every_bars_intraday": "24",
}
# series_part (DuckDB's unsigned hash: two above 2^63, negative as Spark's signed key) ->
# series_type, series_id, driver, timeframe, exchange, symbol, bar_interval, first bar, bars
_VOL_SERIES = {
    17138554558590582000: ("driver", "BTC|macro", "BTC", "macro", None, None, "1d", "2022-01-01", 520),
    504234998307001834: ("driver", "ALT|macro", "ALT", "macro", None, None, "1d", "2022-01-01", 520),
    9300000000000000077: ("driver", "ETH|macro", "ETH", "macro", None, None, "1d", "2022-02-10", 480),
    1234567890123456789: ("driver", "BTC.d|macro", "BTC.d", "macro", None, None, "1d", "2022-01-01", 520),
    12000000000000000001: ("driver", "BTC|meso", "BTC", "meso", None, None, "1h", "2023-06-01", 480),
    3000000000000000003: ("driver", "ALT|meso", "ALT", "meso", None, None, "1h", "2023-06-01", 480),
    4000000000000000004: ("symbol", "bybit|BTCUSDT|1d", None, None, "bybit", "BTCUSDT", "1d", "2022-01-01", 520),
    4000000000000000005: ("symbol", "bybit|ETHUSDT|1d", None, None, "bybit", "ETHUSDT", "1d", "2022-01-01", 520),
}
_VOL_KINDS = {"BTC": "single", "ALT": "composite", "ETH": "composite", "BTC.d": "dominance"}


def _volatility_warehouse():
    """A DuckDB connection holding the inputs of fct_volatility_regimes as the dbt model reads
    them: config (seed volatility_config with _VOL_OVERRIDES), listed
    (int_indicator_series_listed), prepared (int_indicator_bars_prepared: series_part, idx,
    bar_start, log_return; NULL at idx 0; one toxic bar), drivers (dim_drivers) and
    symbol_turbulence (fct_symbol_turbulence of the two symbols, by the engine)."""
    import duckdb
    import numpy as np

    from market_regimes.engines.volatility_frames import symbol_turbulence_rows, turbulence_rows
    from market_regimes.settings import seed_path

    con = duckdb.connect()
    seed = pd.read_csv(seed_path("volatility_config"))[["key", "value"]].astype(str)
    seed["value"] = [_VOL_OVERRIDES.get(k, v) for k, v in zip(seed["key"], seed["value"])]
    con.register("_seed", seed)
    con.execute("create table config as select * from _seed")
    listed, bars = [], []
    for n, (part, (kind, sid, driver, timeframe, exchange, symbol, interval, first, length)) in enumerate(
        _VOL_SERIES.items()
    ):
        minutes = 1440 if interval == "1d" else 60
        listed.append((part, kind, sid, driver, timeframe, exchange, symbol, interval, 1, minutes))
        rng = np.random.default_rng(n)
        stormy = (np.arange(length) // 60) % 2 == 1
        r = rng.normal(0.0, np.where(stormy, 0.05, 0.01))
        r[0] = np.nan
        if sid == "BTC|macro":
            r[300] = 0.8  # toxic: left out of every window, and of the turbulence
        starts = pd.date_range(first, periods=length, freq=f"{minutes}min").to_numpy().astype("datetime64[us]")
        keys = np.full(length, part, dtype=np.uint64)  # not through float64
        bars.append(pd.DataFrame({"series_part": keys, "idx": np.arange(length), "bar_start": starts, "log_return": r}))
    frame = pd.concat(bars, ignore_index=True)
    assert set(frame["series_part"]) == set(_VOL_SERIES)
    con.register("_bars", frame)
    con.execute("create table prepared as select * from _bars")
    con.execute(
        "create table listed (series_part ubigint, series_type varchar, series_id varchar, driver varchar, "
        "timeframe varchar, exchange varchar, symbol varchar, bar_interval varchar, segment_id bigint, "
        "interval_minutes integer)"
    )
    con.executemany(
        "insert into listed (series_part, series_type, series_id, driver, timeframe, exchange, symbol, bar_interval, "
        "segment_id, interval_minutes) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        listed,
    )
    con.execute("create table drivers (driver varchar, kind varchar)")
    con.executemany("insert into drivers values (?, ?)", list(_VOL_KINDS.items()))
    symbols = con.sql(
        "select s.symbol as driver, s.exchange || '|' || s.bar_interval as timeframe, b.bar_start, b.log_return, "
        "'driver' as series_type from listed s join prepared b using (series_part) where s.series_type = 'symbol'"
    ).df()
    cfg = _volatility_test_config(con)
    con.register("_symbol_turbulence", symbol_turbulence_rows(turbulence_rows(symbols, cfg)))
    con.execute("create table symbol_turbulence as select * from _symbol_turbulence")
    return con


def _volatility_test_config(con):
    from market_regimes.adapters.volatility_models import volatility_config

    return volatility_config(con.table("config"))


def _adapter_rows(con, stored: str | None) -> pd.DataFrame:
    """The DuckDB adapter's rows for this run (volatility_regimes_table), through the Arrow
    table the dbt model returns, ordered by (series_part, idx)."""
    out = _adapter_table(con, stored)
    out = out.to_pandas() if hasattr(out, "to_pandas") else out
    return out.sort_values(["series_part", "idx"], ignore_index=True)


def _adapter_table(con, stored: str | None):
    """What the dbt model returns for this run (volatility_regimes_table: an Arrow table)."""
    from market_regimes.adapters.volatility_models import volatility_regimes_table

    return volatility_regimes_table(
        con,
        config_rows=con.table("config"),
        listed=con.table("listed"),
        prepared=con.table("prepared"),
        drivers=con.table("drivers"),
        symbol_turbulence=con.table("symbol_turbulence"),
        stored=None if stored is None else con.table(stored),
        bar_intervals="1d,1h",
        turbulence_driver_kinds="single,composite",
    )


def _as_spark_hands_it(frame: pd.DataFrame) -> pd.DataFrame:
    """A DuckDB result as a Spark group or toPandas hands it over: series_part Spark's signed
    64-bit key, text as Python objects (None for NULL), timestamps datetime64[ns]."""
    import numpy as np

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if name == "series_part":
            out[name] = column.to_numpy(dtype=np.uint64).view(np.int64)
        elif pd.api.types.is_datetime64_any_dtype(column):
            out[name] = column.astype("datetime64[ns]")
        elif isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
            out[name] = column.astype(object).where(column.notna(), None)
    return out


def _spark_job_rows(con, stored: str | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The volatility-regimes job's steps (market_regimes.spark_engines.volatility_regimes) on
    DuckDB and pandas: its SQL (the adapter's, run by Spark as written) on the same tables,
    its frames as Spark hands them over, the drivers' turbulence, one group per segment
    (shuffled, each segment's bars shuffled) and one per segment with stale rows.
    Returns (new rows, stale rows written again, {"frontier", "continued"}), series_part
    as DuckDB's unsigned key again."""
    import numpy as np

    from market_regimes.adapters import volatility_sql as q
    from market_regimes.engines.volatility_frames import driver_turbulence as driver_turbulence_rows
    from market_regimes.engines.volatility_frames import hmm_lookback_clean_returns
    from market_regimes.spark_engines import (
        TURBULENCE_KEYS,
        volatility_regimes_group,
        volatility_stale_group,
    )

    cfg = _volatility_test_config(con)
    listed = con.sql(q.series_sql("listed", "1d,1h")).df()
    con.register("_listed", listed)
    frontier = pd.DataFrame({"series_part": pd.Series([], dtype="uint64")})
    frontier = frontier.assign(last_idx=0, clean_returns=0, rv_vol_regime="", need=0).iloc[:0]
    sections = None
    if stored is not None:
        frontier = con.sql(q.stored_state_sql(stored)).df()
        minutes = dict(zip(listed["series_part"], listed["interval_minutes"]))
        frontier["need"] = [hmm_lookback_clean_returns(cfg, int(minutes[p])) for p in frontier["series_part"]]
        sections = _as_spark_hands_it(con.sql(q.stored_driver_sections_sql(stored)).df())
    con.register("_frontier", frontier)
    columns = "b.series_part, b.idx, b.bar_start, b.log_return"
    lookback = con.sql(q.lookback_bars_sql("_listed", "prepared", "_frontier", cfg.toxic_abs_log_return, columns)).df()
    returns = con.sql(q.driver_returns_sql("_listed", "prepared", "drivers", ["single", "composite"])).df()
    driver_turbulence, continued = driver_turbulence_rows(_as_spark_hands_it(returns), cfg, sections)
    con.register("_driver_turbulence", driver_turbulence)
    con.register("_continued", continued)
    # the new bars after the stored rows and the turbulence there (the job's SQL)
    con.register("_lookback", lookback)
    con.register("_keys", con.sql(q.new_bar_keys_sql("_lookback", "_listed", "_frontier")).df())
    turbulence = con.sql(q.segment_turbulence_sql("_keys", "_driver_turbulence", "symbol_turbulence")).df()
    turbulence = _as_spark_hands_it(turbulence)
    assert len(turbulence) and (turbulence[list(TURBULENCE_KEYS)].notna().sum() > 0).all()
    series, state = _as_spark_hands_it(listed), _as_spark_hands_it(frontier)
    bars = _as_spark_hands_it(lookback).sample(frac=1.0, random_state=5)
    groups = [
        volatility_regimes_group(g, turbulence[turbulence["series_part"] == p], cfg, series, state)
        for p, g in bars.groupby("series_part", sort=False)
    ]
    stale_groups = []
    if stored is not None:
        stale_sql = q.stale_turbulence_sql(stored, "_driver_turbulence", "symbol_turbulence", "_continued")
        stale = con.sql(stale_sql).df()
        con.register("_stale", stale)  # the keys of the rows to fill are the rows' own columns
        stale_turbulence = _as_spark_hands_it(
            con.sql(q.segment_turbulence_sql("_stale", "_driver_turbulence", "symbol_turbulence")).df()
        )
        stale_groups = [
            volatility_stale_group(g, stale_turbulence[stale_turbulence["series_part"] == p], cfg)
            for p, g in _as_spark_hands_it(stale).groupby("series_part", sort=False)
        ]

    def unsigned(frames: list[pd.DataFrame]) -> pd.DataFrame:
        rows = (
            pd.concat(frames, ignore_index=True)
            if frames
            else volatility_regimes_group(bars.iloc[:0], None, cfg, series, state)
        )
        return rows.assign(series_part=rows["series_part"].to_numpy(dtype=np.int64).view(np.uint64))

    return unsigned(groups), unsigned(stale_groups), {"frontier": frontier, "continued": continued}


def _arrow_rows(frame: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """Rows typed as the engine types them, through the Arrow table the dbt model returns
    (frames.arrow_table), ordered by (series_part, idx)."""
    from market_regimes.frames import arrow_table

    table = arrow_table(frame.astype(dtypes).reset_index(drop=True))
    out = table.to_pandas() if hasattr(table, "to_pandas") else table
    return out.sort_values(["series_part", "idx"], ignore_index=True)


def test_volatility_groups_equal_the_adapters_full_build():
    """A first run: one group per segment (each segment's engine call alone, its HMM fits a
    batch of their own) with the turbulence at its bars gives the adapter's rows of its one
    call over all segments, bit for bit, turbulence included."""
    from market_regimes.spark_engines import volatility_regimes_dtypes, volatility_regimes_output_schema

    con = _volatility_warehouse()
    cfg = _volatility_test_config(con)
    adapter = _adapter_rows(con, None)
    new, stale, _ = _spark_job_rows(con, None)
    assert stale.empty
    got = _arrow_rows(new, volatility_regimes_dtypes(cfg))
    # every segment has rows from its 130th clean return on (the toxic bar keeps its row)
    assert adapter.groupby("series_id").size().to_dict() == {
        "ALT|macro": 390,
        "ALT|meso": 350,
        "BTC.d|macro": 390,
        "BTC|macro": 390,
        "BTC|meso": 350,
        "ETH|macro": 350,
        "bybit|BTCUSDT|1d": 390,
        "bybit|ETHUSDT|1d": 390,
    }
    # turbulence on both kinds of rows: the drivers' cross-section (BTC.d, a dominance share,
    # gets its timeframe's value too), the symbols' from fct_symbol_turbulence
    has = adapter[adapter["turbulence"].notna()].groupby("series_type")["turbulence_drivers"].agg(["size", "max"])
    assert has.loc["driver", "max"] == 3 and has.loc["driver", "size"] > 1000
    assert has.loc["symbol", "max"] == 2 and has.loc["symbol", "size"] > 500
    assert (adapter["series_part"] > 2**63).any()
    pd.testing.assert_frame_equal(got, adapter, check_exact=True)
    schema = dict(f.split() for f in volatility_regimes_output_schema(cfg).split(", "))
    assert list(schema) == list(got.columns)
    assert (schema["series_part"], schema["bar_start"], schema["is_toxic"], schema["hmm_fit_returns"]) == (
        "bigint",
        "timestamp",
        "boolean",
        "bigint",
    )
    assert schema["turbulence"] == schema["wavelet_energy_d1"] == "double" and schema["quadrant"] == "string"


def _stored_volatility(con, *, stale: bool) -> None:
    """Table `stored`: the full build's rows up to 2023-02-01 (daily) and 2023-06-17 16:00
    (hourly), as an earlier run stored them. With ``stale``, turbulence the current inputs
    no longer give: one symbol row's value (fct_symbol_turbulence changed since), the macro
    drivers' member count (a member joined since: the cross-section is recomputed whole)
    and the meso drivers' last bar without a value (a lagging member filled it since)."""
    full = _adapter_table(con, None)
    con.register("_full", full)
    con.execute(
        "create or replace table stored as select * from _full where (bar_interval = '1d' and bar_start < "
        "timestamp '2023-02-01') or (bar_interval = '1h' and bar_start < timestamp '2023-06-17 16:00')"
    )
    if stale:
        con.execute(
            "update stored set turbulence = turbulence + 1 "
            "where series_id = 'bybit|BTCUSDT|1d' and bar_start = timestamp '2022-12-01'"
        )
        con.execute(
            "update stored set turbulence_drivers = 2 where series_type = 'driver' and timeframe = 'macro' "
            "and turbulence is not null"
        )
        con.execute(
            "update stored set turbulence = null, turbulence_drivers = null where series_type = 'driver' and "
            "timeframe = 'meso' and bar_start = timestamp '2023-06-17 15:00'"
        )


def test_volatility_groups_equal_the_adapters_incremental_run_and_continue_each_segment():
    """An incremental run: each stored segment continues after its last stored row from its
    look-back (the adapter's frontier and look-back SQL), the drivers' turbulence continues
    (meso) or is recomputed whole (macro, whose members changed), and the stale stored rows
    are written again. The groups' rows (new and rewritten) equal the adapter's, bit for bit,
    and the table they leave (dbt's delete+insert on series_part, idx) is the full build's."""
    import numpy as np

    from market_regimes.spark_engines import volatility_regimes_dtypes, volatility_regimes_group

    con = _volatility_warehouse()
    cfg = _volatility_test_config(con)
    dtypes = volatility_regimes_dtypes(cfg)
    full = _adapter_rows(con, None)
    _stored_volatility(con, stale=True)
    adapter = _adapter_rows(con, "stored")
    new, stale, info = _spark_job_rows(con, "stored")
    got = _arrow_rows(pd.concat([new, stale], ignore_index=True), dtypes)
    pd.testing.assert_frame_equal(got, adapter, check_exact=True)
    # new rows: every segment after its last stored row (124 daily, 80 hourly bars)
    last = info["frontier"].set_index("series_part")["last_idx"]
    sizes = new.groupby("series_part").size()
    assert sorted(sizes.to_dict().values()) == [80, 80, 124, 124, 124, 124, 124, 124]
    assert (new.groupby("series_part")["idx"].min() == last[sizes.index] + 1).all()
    # the stale rows: the symbol row, every macro driver row with a value (4 drivers with BTC.d,
    # 204 bars: members 2 -> 3),
    # the two meso rows of 15:00 (now with a value); meso continued, macro recomputed
    stored = con.sql("select * from stored").df()
    macro = stored[(stored["timeframe"] == "macro") & stored["turbulence"].notna()]
    assert len(stale) == 1 + len(macro) + 2 and len(macro) == 4 * 204
    assert info["continued"]["timeframe"].tolist() == ["meso"]
    meso = stale[stale["timeframe"] == "meso"]
    assert meso["bar_start"].tolist() == [pd.Timestamp("2023-06-17 15:00")] * 2 and meso["turbulence"].notna().all()
    assert (stale.loc[stale["timeframe"] == "macro", "turbulence_drivers"] == 3).all()
    # the table dbt's delete+insert leaves: the full build's rows, bit for bit
    written = pd.concat([new, stale], ignore_index=True)
    kept = stored.merge(written[["series_part", "idx"]], on=["series_part", "idx"], how="left", indicator=True)
    kept = stored[(kept["_merge"] == "left_only").to_numpy()]
    table = _arrow_rows(pd.concat([_as_typed(kept, dtypes), written], ignore_index=True), dtypes)
    pd.testing.assert_frame_equal(table, full, check_exact=True)
    # a continued segment alone: only its rows after its last stored row, the full build's
    btc = next(p for p, v in _VOL_SERIES.items() if v[1] == "BTC|meso")
    signed = int(np.array([btc], dtype=np.uint64).view(np.int64)[0])
    bars = con.sql(f"select series_part, idx, bar_start, log_return from prepared where series_part = {btc}").df()
    bars = bars[bars["idx"] >= last[btc] - 300]  # a look-back longer than it needs
    series = _as_spark_hands_it(con.sql("select * from listed").df())
    state = _as_spark_hands_it(info["frontier"])
    alone = volatility_regimes_group(_as_spark_hands_it(bars), None, cfg, series, state)
    want = full[(full["series_part"] == btc) & (full["idx"] > last[btc])].drop(
        columns=["turbulence", "turbulence_drivers"]
    )
    alone = _arrow_rows(alone.assign(series_part=np.uint64(btc)), dtypes)
    assert alone["series_part"].unique().tolist() == [btc] and len(alone) == 80 and signed < 0
    pd.testing.assert_frame_equal(
        alone.drop(columns=["turbulence", "turbulence_drivers"]), want.reset_index(drop=True), check_exact=True
    )
    assert alone["turbulence"].isna().all()  # no turbulence handed over: NULL, as off the joint calendar
    # a look-back that misses the segment's last stored bar is refused, as in the adapter
    with pytest.raises(ValueError, match="lacks its last stored bar"):
        volatility_regimes_group(_as_spark_hands_it(bars[bars["idx"] > last[btc]]), None, cfg, series, state)


def _as_typed(frame: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """A DuckDB result (.df()) with the engine's dtypes."""
    return frame[list(dtypes)].astype(dtypes)


def test_the_continued_driver_turbulence_equals_the_full_computation():
    """The drivers' turbulence of an incremental run (volatility_frames.driver_turbulence on the Spark
    driver): a stored section that is still the full computation's gets the full rows after
    its last stored value only; one whose members changed is recomputed whole."""
    from market_regimes.adapters import volatility_sql as q
    from market_regimes.engines.volatility_frames import driver_turbulence

    con = _volatility_warehouse()
    cfg = _volatility_test_config(con)
    _stored_volatility(con, stale=False)
    con.register("_listed", con.sql(q.series_sql("listed", "1d,1h")).df())
    returns = _as_spark_hands_it(
        con.sql(q.driver_returns_sql("_listed", "prepared", "drivers", ["single", "composite"])).df()
    )
    assert sorted(returns.groupby("timeframe")["driver"].unique().map(sorted).to_dict().items()) == [
        ("macro", ["ALT", "BTC", "ETH"]),
        ("meso", ["ALT", "BTC"]),
    ]
    whole, none = driver_turbulence(returns, cfg, None)
    # joint calendars of 478 (ETH from its second bar, without BTC's toxic bar) and 479 bars
    assert none.empty and whole.groupby("timeframe").size().to_dict() == {"macro": 328, "meso": 329}
    sections = _as_spark_hands_it(con.sql(q.stored_driver_sections_sql("stored")).df())
    rows, continued = driver_turbulence(returns, cfg, sections)
    assert continued["timeframe"].tolist() == ["macro", "meso"]
    after = dict(zip(sections["timeframe"], sections["last_bar_start"]))
    want = whole[whole["bar_start"] > whole["timeframe"].map(after)].reset_index(drop=True)
    assert want.groupby("timeframe").size().to_dict() == {"macro": 124, "meso": 80}
    pd.testing.assert_frame_equal(rows, want, check_exact=True)
    # macro's stored sections with another member count: recomputed whole, not continued
    changed = sections.assign(members=sections["members"].where(sections["timeframe"] != "macro", 2))
    rows, continued = driver_turbulence(returns, cfg, changed)
    assert continued["timeframe"].tolist() == ["meso"]
    pd.testing.assert_frame_equal(
        rows[rows["timeframe"] == "macro"].reset_index(drop=True),
        whole[whole["timeframe"] == "macro"].reset_index(drop=True),
        check_exact=True,
    )


def test_the_volatility_jobs_sql_is_portable():
    """The SQL the volatility-regimes job runs on Spark (the adapter's, as written) uses no
    DuckDB-only construct (tests/unit/test_portable_sql.py's list)."""
    from market_regimes.adapters import volatility_sql as q
    from tests.unit.test_portable_sql import find_duckdb_only

    sql = {
        "series_sql": q.series_sql("s", "1d,1h"),
        "stored_state_sql": q.stored_state_sql("t"),
        "stored_driver_sections_sql": q.stored_driver_sections_sql("t"),
        "driver_returns_sql": q.driver_returns_sql("l", "b", "d", ["single", "composite"]),
        "lookback_bars_sql": q.lookback_bars_sql("l", "b", "f", 0.5, "b.series_part, b.idx"),
        "new_bar_keys_sql": q.new_bar_keys_sql("b", "l", "f"),
        "segment_turbulence_sql": q.segment_turbulence_sql("k", "d", "u"),
        "stale_turbulence_sql": q.stale_turbulence_sql("t", "d", "u", "c"),
    }
    assert {name: find_duckdb_only(text) for name, text in sql.items() if find_duckdb_only(text)} == {}
    assert find_duckdb_only("select arg_max(x, idx) from t") == [
        (1, "arg_max / arg_min (max_by / min_by: both engines)")
    ]


# --------------------------------------------------------------------------- fct_market_regimes
_MARKET_SEED_TYPES = {
    "market": "varchar",
    "price_series": "varchar",
    "vol_series": "varchar",
    "ma_period": "double",
    "trend_hysteresis_pct": "double",
    "vol_high_threshold": "double",
    "vol_low_threshold": "double",
}


def _market_warehouse(extra_seed: tuple | None = None):
    """A DuckDB connection holding fct_market_regimes' inputs as the dbt model reads them:
    seeds.trend_vol_markets (the shipped BTC row, a percentile market SPX without vol_series
    and ``extra_seed``; the seed's column_types), intermediate.int_market_days_prepared and
    staging.stg_landing__daily_series_days. BTC: 400 days from 2023-01-01, the MA warming up
    on the first 199, a 30-day hole (days 250-279: more than max_gap_bars, same segment), no
    vol reading on days 300-305 (a 6-day hole: no restart), a new segment from day 330; SPX:
    300 days of a percentile vol reading 0-100 (one segment). Prices and vol readings cross
    their bands both ways."""
    import duckdb
    import numpy as np

    from market_regimes.settings import seed_path

    con = duckdb.connect()
    for schema in ("seeds", "intermediate", "staging"):
        con.execute(f"create schema {schema}")
    seed = pd.read_csv(seed_path("trend_vol_markets"), dtype=str, keep_default_na=False)
    assert seed["market"].tolist() == ["BTC"]
    rows = [tuple(r) for r in seed[list(_MARKET_SEED_TYPES)].itertuples(index=False)]
    rows += [("SPX", "SPX", "", "20", "0.01", "80", "20")] + ([extra_seed] if extra_seed else [])
    con.execute(
        "create table seeds.trend_vol_markets (" + ", ".join(f"{c} {t}" for c, t in _MARKET_SEED_TYPES.items()) + ")"
    )
    con.executemany(
        "insert into seeds.trend_vol_markets values (?, ?, nullif(?, ''), ?, ?, ?, ?)",
        [tuple(r) for r in rows],
    )
    rng = np.random.default_rng(17)
    frames, landed = [], []
    for market, n, vol_series in (("BTC", 400, "DVOL"), ("SPX", 300, None)):
        days = pd.date_range("2023-01-01", periods=n, freq="D")
        price = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
        ma = pd.Series(price).rolling(20).mean().to_numpy(copy=True)
        if market == "BTC":
            ma[:199] = np.nan
        vol = 55 + np.cumsum(rng.normal(0, 2.5, n)) if vol_series else rng.uniform(0, 100, n)
        frame = pd.DataFrame(
            {
                "market": market,
                "bar_start": days.to_numpy().astype("datetime64[us]"),
                "segment_id": np.where(np.arange(n) >= 330, 2, 1) if market == "BTC" else 1,
                "price": price,
                "ma": ma,
                "vol_value": vol,
            }
        )
        if market == "BTC":
            frame.loc[300:305, "vol_value"] = np.nan
            frame = frame.drop(index=range(250, 280))
        frames.append(frame)
        landed.append(pd.DataFrame({"series": market, "bar_start": frame["bar_start"]}))
        if vol_series:
            landed.append(pd.DataFrame({"series": vol_series, "bar_start": frame["bar_start"]}))
    con.register("_days", pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=2))
    con.execute("create table intermediate.int_market_days_prepared as select * from _days")
    con.register("_landed", pd.concat(landed, ignore_index=True))
    con.execute("create table staging.stg_landing__daily_series_days as select * from _landed")
    return con


def _market_model_config() -> dict:
    """fct_market_regimes' dbt config as dbt renders it for the Python model: each value of its
    YAML config, ``{{ var('<name>') }}``, as the text of the var in dbt_project.yml."""
    import re

    import yaml

    from market_regimes.settings import project_var

    models = yaml.safe_load((PROJECT / "python_models" / "marts" / "_trend_vol__models.yml").read_text())["models"]
    config = next(m for m in models if m["name"] == "fct_market_regimes")["config"]
    rendered = {}
    for key, value in config.items():
        var = re.fullmatch(r"\{\{\s*var\('(\w+)'\)\s*\}\}", str(value))
        rendered[key] = str(project_var(var.group(1))) if var else value
    return rendered


def _market_model_rows(con, config: dict):
    """What the dbt model python_models/marts/fct_market_regimes.py returns (an Arrow table) on
    the tables of ``con``, with dbt config ``config``."""
    import importlib.util

    class _Config(dict):
        def __call__(self, **_):
            pass

    class _Dbt:
        def __init__(self):
            self.config = _Config(config)

        def ref(self, name: str):
            schema = {"trend_vol_markets": "seeds", "int_market_days_prepared": "intermediate"}.get(name, "staging")
            return con.table(f"{schema}.{name}")

    path = PROJECT / "python_models" / "marts" / "fct_market_regimes.py"
    spec = importlib.util.spec_from_file_location("fct_market_regimes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model(_Dbt(), con)


def _market_job_rows(con, **overrides) -> pd.DataFrame:
    """The market-regimes job's call (market_regimes.spark_engines.market_regimes) on the
    tables of ``con`` as Spark's toPandas hands them over: text as Python objects (None for
    NULL), timestamps datetime64[ns], the seed's doubles as floats; the vars as the job reads
    them (project_var: a number for max_gap_bars), ``overrides`` replacing some."""
    from market_regimes.engines.trend_vol_frames import INPUT_COLUMNS
    from market_regimes.settings import project_var
    from market_regimes.spark_engines import MARKET_REGIMES_VARS, market_regimes_group

    def spark_frame(sql: str) -> pd.DataFrame:
        frame = con.sql(sql).df()
        for name in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[name]):
                frame[name] = frame[name].astype("datetime64[ns]")
            elif frame[name].dtype == object:
                frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        return frame

    seed = spark_frame("select * from seeds.trend_vol_markets").to_dict("records")
    days = spark_frame(f"select {', '.join(INPUT_COLUMNS)} from intermediate.int_market_days_prepared")
    landed = spark_frame("select series, bar_start from staging.stg_landing__daily_series_days")
    config = {key: project_var(var) for key, var in MARKET_REGIMES_VARS.items()} | overrides
    return market_regimes_group(days, landed, seed, **config)


def test_the_market_regimes_job_reads_the_vars_the_models_config_lifts():
    from market_regimes.settings import project_var
    from market_regimes.spark_engines import MARKET_REGIMES_VARS

    assert MARKET_REGIMES_VARS == {"max_gap_bars": "max_gap_bars", "missing_series": "trend_vol_missing_series"}
    config = _market_model_config()
    assert config == {key: str(project_var(var)) for key, var in MARKET_REGIMES_VARS.items()}
    assert config == {"max_gap_bars": "24", "missing_series": "warn"}


def test_the_market_regimes_job_gives_the_dbt_models_rows_bit_for_bit():
    import pyarrow as pa

    from market_regimes.engines.trend_vol_frames import COLUMNS
    from market_regimes.frames import arrow_table
    from market_regimes.spark_engines import market_regimes_output_schema

    con = _market_warehouse()
    model = _market_model_rows(con, _market_model_config())
    assert isinstance(model, pa.Table)
    got = _market_job_rows(con)
    assert arrow_table(got).equals(model)  # every value, every type, the row order
    rows = model.to_pandas()
    # BTC: 400 days - 30 in the hole - 199 warming up - 6 without a vol reading; SPX: 300 - 19
    assert rows.groupby("market").size().to_dict() == {"BTC": 165, "SPX": 281}
    # restarts: each market's first row; BTC after the 30-day hole (day 280) and at segment 2 (day 330)
    restarts = rows[rows["prev_regime"].isna()]
    assert restarts[["market", "bar_start"]].astype(str).values.tolist() == [
        ["BTC", "2023-07-19"],
        ["BTC", "2023-10-08"],
        ["BTC", "2023-11-27"],
        ["SPX", "2023-01-20"],
    ]
    # no restart across the 6 days without a vol reading (days 300-305: under max_gap_bars)
    assert rows.loc[(rows["market"] == "BTC") & (rows["bar_start"] == "2023-11-02"), "prev_regime"].notna().all()
    changes = rows[rows["prev_regime"].notna() & (rows["regime"] != rows["prev_regime"])]
    assert len(changes) > 10 and set(rows["regime"]) == {
        "uptrend_low_vol",
        "uptrend_high_vol",
        "downtrend_low_vol",
        "downtrend_high_vol",
    }
    # the values are the inputs' (no arithmetic on the way)
    days = con.sql("select * from intermediate.int_market_days_prepared").df()
    joined = rows.merge(days, on=["market", "bar_start"], suffixes=("", "_in"))
    assert len(joined) == len(rows)
    assert (joined["price"] == joined["price_in"]).all() and (joined["vol_value"] == joined["vol_value_in"]).all()
    # the Spark schema is the engine's columns with the types of its rows
    fields = [f.split() for f in market_regimes_output_schema().split(", ")]
    assert [name for name, _ in fields] == list(COLUMNS) == model.column_names
    assert dict(fields) == {
        "market": "string",
        "bar_start": "timestamp",
        "price": "double",
        "ma": "double",
        "vol_value": "double",
        "trend": "string",
        "vol": "string",
        "regime": "string",
        "prev_regime": "string",
    }


def test_the_market_regimes_job_fails_on_a_seed_naming_a_missing_series_as_the_model_does(capsys):
    """A seed market whose price series never landed: with missing_series 'error' the job
    raises the engine's error with the dbt model's message; with 'warn' (the project's var)
    both skip it, warning on stderr, and return the other markets' rows."""
    from market_regimes.engines.trend_vol import TrendVolConfigError
    from market_regimes.frames import arrow_table

    con = _market_warehouse(extra_seed=("ETH", "ETH", "DVOL", "50", "0.02", "60", "50"))
    error = _market_model_config() | {"missing_series": "error"}
    with pytest.raises(TrendVolConfigError) as model_error:
        _market_model_rows(con, error)
    with pytest.raises(TrendVolConfigError) as job_error:
        _market_job_rows(con, missing_series="error")
    assert str(job_error.value) == str(model_error.value)
    assert str(job_error.value).startswith(
        "seed trend_vol_markets, market 'ETH': price_series 'ETH' has no landed rows (expected a file "
        "daily/<SERIES>.csv in the landing directory; landed daily series: ['BTC', 'DVOL', 'SPX'])"
    )
    capsys.readouterr()
    model = _market_model_rows(con, _market_model_config())
    model_warning = capsys.readouterr().err
    got = _market_job_rows(con)
    assert capsys.readouterr().err == model_warning
    assert "market 'ETH' skipped, no landed rows for daily series ['ETH']" in model_warning
    assert arrow_table(got).equals(model) and set(got["market"]) == {"BTC", "SPX"}
    # an invalid seed row fails the same way too (the seed's own checks: load_markets)
    con.execute("update seeds.trend_vol_markets set vol_low_threshold = 70 where market = 'BTC'")
    with pytest.raises(TrendVolConfigError) as model_error:
        _market_model_rows(con, _market_model_config())
    with pytest.raises(TrendVolConfigError) as job_error:
        _market_job_rows(con)
    assert str(job_error.value) == str(model_error.value) and "market 'BTC'" in str(job_error.value)


def test_grid_lifecycle_groups_equal_the_adapters_one_call_and_continue_each_walk():
    """The Spark job's groups (one per symbol, rows in any order) give the adapter's one call
    over every symbol, row for row; continued from the states stored at a cut, each group
    gives the rows after each walk's state (the later rows of the full walk). The schema
    lists the adapter's columns with the DuckDB table's types."""
    from market_regimes.engines.grid_lifecycle_frames import OUTPUT_COLUMNS as LIFECYCLE_COLUMNS
    from market_regimes.engines.grid_lifecycle_frames import lifecycle_rows
    from market_regimes.engines.grid_lifecycle_frames import stored_states as lifecycle_states
    from market_regimes.spark_engines import apply_in_pandas, grid_lifecycle_group, grid_lifecycle_output_schema
    from tests.unit.test_grid_lifecycle_frames import BARS, CFG, CONFIGS

    types = dict(part.split(" ") for part in grid_lifecycle_output_schema().split(", "))
    assert list(types) == list(LIFECYCLE_COLUMNS)
    assert types["bar_start"] == types["valid_from"] == "timestamp" and types["is_sent"] == "boolean"
    assert types["levels"] == types["gates_passed"] == types["segment_id"] == "bigint"
    assert types["lower"] == types["half_life_baseline"] == "double" and types["engine_state"] == "string"

    full = lifecycle_rows(BARS, CONFIGS, CFG)
    shuffled = BARS.sample(frac=1.0, random_state=7)
    # the group function as the job hands it to Spark (apply_in_pandas)
    walk = apply_in_pandas(_Grouped(), lambda g: grid_lifecycle_group(g, CONFIGS, CFG, {}), None)
    groups = [walk(g) for _, g in shuffled.groupby(["exchange", "symbol"])]
    # text as object columns: pyspark's Arrow serializer rejects a multi-chunk Arrow-backed column
    assert not any(isinstance(t, pd.StringDtype) for g in groups for t in g.dtypes)
    together = pd.concat(groups, ignore_index=True).sort_values(["grid_id", "bar_start"], ignore_index=True)
    pd.testing.assert_frame_equal(
        together, full.sort_values(["grid_id", "bar_start"], ignore_index=True), check_dtype=False
    )

    # continued: the walks of bars up to a cut, then each group from its stored states
    cut = pd.Timestamp("2024-01-06 00:00")
    first = lifecycle_rows(BARS[BARS["bar_start"] < cut], CONFIGS, CFG)
    states = lifecycle_states(first[first["engine_state"].notna()])
    later = pd.concat(
        [grid_lifecycle_group(g, CONFIGS, CFG, states) for _, g in shuffled.groupby(["exchange", "symbol"])],
        ignore_index=True,
    )
    assert len(first) and len(later)
    expected = full[
        ~full.set_index(["grid_id", "bar_start"]).index.isin(first.set_index(["grid_id", "bar_start"]).index)
    ]
    columns = [c for c in LIFECYCLE_COLUMNS if c != "engine_state"]
    pd.testing.assert_frame_equal(
        later.sort_values(["grid_id", "bar_start"], ignore_index=True)[columns],
        expected.sort_values(["grid_id", "bar_start"], ignore_index=True)[columns],
        check_dtype=False,
    )


def test_plain_text_columns_turn_chunked_text_into_objects():
    """A multi-chunk Arrow-backed text column (what pd.concat leaves) becomes object values
    (None for missing) that pyarrow converts to one Array; other columns stay."""
    import pyarrow as pa

    from market_regimes.spark_engines import plain_text_columns

    frame = pd.concat(
        [pd.DataFrame({"t": pd.array(["a", None], dtype="string[pyarrow]"), "x": [1, 2]})] * 2, ignore_index=True
    )
    out = plain_text_columns(frame)
    assert out["t"].dtype == object and out["t"].tolist() == ["a", None, "a", None]
    assert out["x"].dtype == frame["x"].dtype
    assert isinstance(pa.Array.from_pandas(out["t"]), pa.Array)


class _Grouped:
    """Stands in for pyspark's grouped data: applyInPandas returns the function it is given."""

    def applyInPandas(self, fn, schema):  # noqa: N802 (pyspark's name)
        return fn


def test_apply_in_pandas_hands_every_group_result_over_with_plain_text_and_keeps_the_arity():
    import inspect

    from market_regimes.spark_engines import apply_in_pandas

    chunked = pd.concat([pd.DataFrame({"t": pd.array(["a", None], dtype="string[pyarrow]")})] * 2, ignore_index=True)
    one = apply_in_pandas(_Grouped(), lambda frame: frame, "t string")
    two = apply_in_pandas(_Grouped(), lambda left, right: pd.concat([left, right], ignore_index=True), "t string")
    # pyspark passes the group's key too when the function has one more parameter
    assert [len(inspect.signature(f).parameters) for f in (one, two)] == [1, 2]
    assert one(chunked)["t"].dtype == object and two(chunked, chunked)["t"].tolist() == ["a", None] * 4
    with pytest.raises(ValueError, match="one frame or two, not 3 parameters"):
        apply_in_pandas(_Grouped(), lambda key, left, right: left, "t string")
