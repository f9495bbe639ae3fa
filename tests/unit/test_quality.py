"""Data-quality suites (market_regimes.quality) and their Dagster asset checks (docs/orchestration.md).

Good frames come from the real landing code (land_files on small CSV files, including
quarantined rows, an identical duplicate and a superseded provisional bar) and from
small hand-made mart rows; each bad-row test breaks one rule and asserts which
expectation fails. The asset checks run against a tiny DuckDB file built here.
"""

import dataclasses
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import build_asset_check_context

from market_regimes.landing import land_files
from market_regimes.quality import (
    SUITES,
    QualityInputError,
    in_file_order,
    load_thresholds,
    only_final_version,
    read_relation,
    read_suite_frame,
    run_suite,
)
from market_regimes.quality.suites import IN_FILE_ORDER, LANDED_HAS_VALUES, REASON_IFF_REJECTED, SINGLE_FINAL_VERSION
from orchestration.defs import quality as quality_defs
from orchestration.defs.resources import WarehouseResource
from tests.integration.fixture_landing import BAD_KLINES  # one row per bad-row kind (8 rejected, 1 collapsed)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
LOADED_AT = pd.Timestamp("2026-01-01 00:00:00")
# the provisional 06:00 bar of BAD_KLINES is superseded (other close) and the series goes on
LATER_KLINES = (
    "date,open,high,low,close,volume\n2024-01-01 06:00:00,11,11.6,10,11.4,9\n2024-01-01 07:00:00,11.4,12,11,11.8,7\n"
)


# the statistical bounds (shares, means, medians) opened up: the hand-made frames below hold a
# few rows each, chosen for their row rules (a rejected row, an incomplete bar), so their
# shares are not statistics; the statistical expectations have their own tests
OPEN_STATISTICS = dict(
    complete_share_min=0.0,
    rank_band_share_min=0.0,
    rsi_band_share_min=0.0,
    watch_share_max=1.0,
    rejected_share_max=1.0,
)


@pytest.fixture(scope="module")
def shipped():
    return load_thresholds()


@pytest.fixture(scope="module")
def thresholds(shipped):
    return dataclasses.replace(shipped, **OPEN_STATISTICS)


def _land(table, files):
    return land_files(table, [(name, text.encode(), f"hash-{name}") for name, text in files], LOADED_AT)


def good_klines():
    return _land(
        "klines",
        [("klines/binance/XRPUSDT_1h.csv", BAD_KLINES), ("klines/binance/XRPUSDT_1h__later.csv", LATER_KLINES)],
    )


def good_dominance():
    return _land(
        "dominance",
        [
            (
                "dominance/btc_dominance_daily.csv",
                "date_utc,dominance_pct\n2024-01-01,52.1\n2024-01-02,52.4\n2024-01-03,-1\n",
            )
        ],
    )


def good_daily():
    return _land(
        "daily",
        [
            ("daily/SPX.csv", "date,close\n2024-01-02,4700\n2024-01-03,4710.5\n"),
            (
                "daily/BTC.csv",
                "date,open,high,low,close,volume\n"
                "2024-01-02,42000,43000,41500,42800,12.5\n"
                "2024-01-03,42800,43100,42000,42100,10\n",
            ),
        ],
    )


def good_symbol_bars():
    hours = pd.date_range("2024-01-01", periods=3, freq="h").astype("datetime64[us]")
    bars = pd.DataFrame(
        {
            "exchange": "binance",
            "symbol": "BTCUSDT",
            "bar_interval": "1h",
            "bar_start": hours,
            "open": [100.0, 101.0, 102.0],
            "high": [101.5, 102.5, 102.0],
            "low": [99.0, 100.5, 101.0],
            "close": [101.0, 102.0, 101.5],
            "volume": [10.0, 0.0, 5.0],
            "quote_volume": [1010.0, 0.0, 507.5],
            "n_sub_bars": 1,
            "expected_sub_bars": 1,
            "is_complete": True,
            "is_final": [True, True, False],
            "segment_id": 1,
            "origin": "landed",
            "source_interval": "1h",
            "is_primary": True,
        }
    )
    # one bar twice: the exchange's own 1h candle (not primary) and the 12 x 5m rollup (primary)
    bybit = pd.DataFrame(
        {
            "exchange": "bybit",
            "symbol": "ETHUSDT",
            "bar_interval": "1h",
            "bar_start": hours[:1].repeat(2),
            "open": 2000.0,
            "high": 2010.0,
            "low": 1990.0,
            "close": 2005.0,
            "volume": 3.0,
            "quote_volume": 6015.0,
            "n_sub_bars": [1, 11],
            "expected_sub_bars": [1, 12],
            "is_complete": [True, False],
            "is_final": True,
            "segment_id": 1,
            "origin": ["landed", "rollup"],
            "source_interval": ["1h", "5m"],
            "is_primary": [False, True],
        }
    )
    return pd.concat([bars, bybit], ignore_index=True)


def good_driver_bars():
    bars = good_symbol_bars().iloc[:3]
    btc = bars[["bar_start", "open", "high", "low", "close", "volume"]].assign(
        driver="BTC",
        timeframe="meso",
        bar_interval="1h",
        n_constituents=1,
        is_complete=True,
        is_final=[True, True, False],
        segment_id=1,
        source="binance",
    )
    dominance = pd.DataFrame(
        {
            "driver": ["BTC.d"],
            "timeframe": ["macro"],
            "bar_interval": ["1d"],
            "bar_start": pd.to_datetime(["2024-01-01"]).astype("datetime64[us]"),
            "open": [52.1],
            "high": [52.1],
            "low": [52.1],
            "close": [52.1],
            "volume": [np.nan],
            "n_constituents": [1],
            "is_complete": [True],
            "is_final": [True],
            "segment_id": [1],
            "source": ["cryptocap_tradingview"],
        }
    )
    return pd.concat([btc, dominance], ignore_index=True)[list(dominance.columns)]


def good_driver_indicators():
    n = 3
    warm = [np.nan, 1.0, 1.0]  # the first bar is still warming up: NULL indicators pass
    frame = {
        "driver": ["BTC"] * n,
        "timeframe": ["meso"] * n,
        "bar_start": pd.date_range("2024-01-01", periods=n, freq="h").astype("datetime64[us]"),
    }
    values = {
        "ema_20": 100.5,
        "ema_30": 100.4,
        "ema_60": 100.2,
        "ema_144": 99.8,
        "ema_250": 99.5,
        "ema_333": 99.0,
        "sma_200": 99.6,
        "bb_mid_20": 100.3,
        "bb_upper_20": 103.0,
        "bb_lower_20": 97.6,
        "rsi_14": 55.0,
        "adx_14": 21.0,
        "plus_di_14": 25.0,
        "minus_di_14": 15.0,
        "atr_14": 1.5,
        "atr_mean_20": 1.4,
        "bb_bandwidth_20": 0.054,
        "realized_vol_20": 0.45,
        "efficiency_ratio_10": 0.4,
        "return_autocorr_50": -0.1,
        "ou_half_life_100": 12.0,
        "volume_z": 0.3,
        "ema_20_slope": 0.001,
        "pr_atr_14": 0.5,
        "pr_bb_bandwidth_20": 0.4,
        "pr_realized_vol_20": 0.6,
    }
    frame.update({k: [v * w for w in warm] for k, v in values.items()})
    frame["volume_z"] = [0.0, 6.0, -4.0]  # the clip bounds themselves pass
    return pd.DataFrame(frame)


def good_uptrend_states():
    return pd.DataFrame(
        {
            "driver": "BTC",
            "timeframe": "macro",
            "bar_start": pd.date_range("2024-01-01", periods=3, freq="D").astype("datetime64[us]"),
            "state": ["S1", "S3", "S0"],
            "prev_state": [None, "S1", "S3"],
            "buy_flag": False,
            "first_dip_buy_flag": False,
            "rebuy_flag": [False, True, False],
            "trim_flag": False,
            "emergency_exit": [False, False, True],
            "exit_position": [False, False, True],
            "exit_reason": [None, None, "all_emas_below_333"],
            "ts_score": [0.5, 1.0, 0.0],
            "sr_boost": [None, 0.25, None],
            "ox": [None, 0.3, None],
            "dx": [None, 0.0, None],
            "edx": [None, 0.5, None],
            "s3_start_ts": [pd.NaT, pd.Timestamp("2024-01-02"), pd.NaT],
        }
    )


def landing_files_of(*ledgers):
    rows = pd.concat([ledger[["source_file", "content_hash", "layout", "status", "loaded_at"]] for ledger in ledgers])
    grouped = rows.groupby(["source_file", "content_hash"], sort=True)
    return pd.DataFrame(
        {
            "layout": grouped["layout"].first(),
            "rows_read": grouped.size(),
            "rows_landed": grouped["status"].apply(lambda s: int((s == "landed").sum())),
            "rows_rejected": grouped["status"].apply(lambda s: int((s == "rejected").sum())),
            "duplicates_collapsed": grouped["status"].apply(lambda s: int((s == "collapsed").sum())),
            "loaded_at": grouped["loaded_at"].min(),
        }
    ).reset_index()


GOOD = {
    "raw.klines": good_klines,
    "raw.dominance_readings": good_dominance,
    "raw.daily_series": good_daily,
    "raw.landing_files": lambda: landing_files_of(good_klines(), good_dominance(), good_daily()),
    "marts.fct_symbol_bars": good_symbol_bars,
    "marts.fct_driver_bars": good_driver_bars,
    "marts.fct_driver_indicators": good_driver_indicators,
    "marts.fct_uptrend_states": good_uptrend_states,
}


def failed(result):
    """{(expectation type, column or 'A>B' or key tuple): unexpected_count} of the failures."""
    out = {}
    for f in result.failures:
        target = (
            f.get("column")
            or (f"{f['column_A']}>{f['column_B']}" if "column_A" in f else None)
            or tuple(f.get("column_list") or ())
        )
        out[(f["expectation"], target)] = f.get("unexpected_count")
    return out


def line(ledger, number, source_file=None):
    """Index of a ledger row by line number (of the first file unless source_file is given)."""
    mask = (ledger["line_number"] == number) & (ledger["source_file"] == (source_file or ledger["source_file"].iloc[0]))
    (index,) = ledger.index[mask]
    return index


# ---------------------------------------------------------------- good frames pass


def test_every_suite_has_a_good_frame_that_passes(thresholds):
    assert set(GOOD) == set(SUITES)
    for name, make in GOOD.items():
        result = run_suite(name, make(), thresholds)
        assert result.success, (name, result.failures)
        assert result.rows == len(make()) and result.expectations >= 2 and result.failures == []


def test_the_good_ledger_really_holds_rejected_collapsed_and_superseded_rows():
    ledger = good_klines()
    assert ledger["status"].value_counts().to_dict() == {"landed": 5, "rejected": 8, "collapsed": 1}
    at_six = ledger[(ledger["bar_start"] == pd.Timestamp("2024-01-01 06:00")) & (ledger["status"] == "landed")]
    assert at_six["is_newest_in_file"].tolist() == [True, False]  # provisional, then superseded by a final bar


# ---------------------------------------------------------------- raw ledgers fail on bad rows


def test_negative_price_high_below_close_and_negative_volume_fail_their_rules(thresholds):
    ledger = good_klines()
    ledger.loc[line(ledger, 2), "open"] = -1.0
    ledger.loc[line(ledger, 8), "close"] = 12.5  # high is 12
    ledger.loc[line(ledger, 12), "volume"] = -5.0
    result = run_suite("raw.klines", ledger, thresholds)
    assert not result.success
    assert failed(result) == {
        ("expect_column_values_to_be_between", "open"): 1,
        ("expect_column_pair_values_a_to_be_greater_than_b", "open>low"): 1,
        ("expect_column_pair_values_a_to_be_greater_than_b", "high>close"): 1,
        ("expect_column_values_to_be_between", "volume"): 1,
    }
    examples = {f.get("column") or f["column_A"] + ">" + f["column_B"]: f["examples"] for f in result.failures}
    assert examples["open"] == [{"open": -1.0, "source_file": "klines/binance/XRPUSDT_1h.csv", "line_number": 2}]
    assert [e["line_number"] for e in examples["high>close"]] == [8]
    assert [e["line_number"] for e in examples["volume"]] == [12]


def test_duplicate_final_bar_start_fails_the_single_version_rule(thresholds):
    ledger = good_klines()
    # line 2 of the later file now lands 00:00 again: a final bar the first file landed already
    # (the later file stays in order: its line 3 is 07:00)
    ledger.loc[line(ledger, 2, "klines/binance/XRPUSDT_1h__later.csv"), "bar_start"] = pd.Timestamp("2024-01-01 00:00")
    result = run_suite("raw.klines", ledger, thresholds)
    assert failed(result) == {("expect_column_values_to_be_in_set", SINGLE_FINAL_VERSION): 2}


def test_bar_start_going_back_within_a_file_fails_the_order_rule(thresholds):
    ledger = good_klines()
    ledger.loc[line(ledger, 12), "bar_start"] = pd.Timestamp("2023-12-31 23:00")  # after line 8's 04:00
    result = run_suite("raw.klines", ledger, thresholds)
    assert failed(result) == {("expect_column_values_to_be_in_set", IN_FILE_ORDER): 1}
    (example,) = next(f for f in result.failures if f.get("column") == IN_FILE_ORDER)["examples"]
    assert example["line_number"] == 12


def test_landed_row_without_values_unknown_status_and_stray_reason_fail(thresholds):
    ledger = good_klines()
    ledger.loc[line(ledger, 2), "close"] = np.nan
    ledger.loc[line(ledger, 10), "status"] = "lost"
    ledger.loc[line(ledger, 8), "reject_reason"] = "oops"
    assert failed(run_suite("raw.klines", ledger, thresholds)) == {
        ("expect_column_values_to_be_in_set", LANDED_HAS_VALUES): 1,
        # a missing close is also no OHLC bar
        ("expect_column_pair_values_a_to_be_greater_than_b", "high>close"): 1,
        ("expect_column_pair_values_a_to_be_greater_than_b", "close>low"): 1,
        ("expect_column_values_to_be_in_set", "status"): 1,
        ("expect_column_values_to_be_in_set", REASON_IFF_REJECTED): 1,
    }


def test_values_of_rejected_rows_are_not_validated(thresholds):
    ledger = good_klines()  # line 4 (open -1) and line 11 (volume -3) are rejected rows
    assert ledger.loc[line(ledger, 4), "open"] == -1 and ledger.loc[line(ledger, 11), "volume"] == -3
    assert run_suite("raw.klines", ledger, thresholds).success
    ledger.loc[line(ledger, 4), "status"] = "landed"  # the same values on a landed row fail
    ledger.loc[line(ledger, 4), "reject_reason"] = None
    found = failed(run_suite("raw.klines", ledger, thresholds))
    assert found[("expect_column_values_to_be_between", "open")] == 1


def test_dominance_above_100_fails(thresholds):
    readings = good_dominance()
    readings.loc[line(readings, 3), "dominance_pct"] = 101.0
    assert failed(run_suite("raw.dominance_readings", readings, thresholds)) == {
        ("expect_column_values_to_be_between", "dominance_pct"): 1
    }


def test_daily_high_below_open_fails(thresholds):
    daily = good_daily()
    daily.loc[(daily["series"] == "BTC") & (daily["line_number"] == 3), "high"] = 42500.0  # open 42800
    assert failed(run_suite("raw.daily_series", daily, thresholds)) == {
        ("expect_column_pair_values_a_to_be_greater_than_b", "high>open"): 1
    }


def test_missing_column_fails_the_schema_not_the_run(thresholds):
    result = run_suite("raw.dominance_readings", good_dominance().drop(columns=["raw_record"]), thresholds)
    (schema,) = [f for f in result.failures if f["expectation"] == "expect_table_columns_to_match_set"]
    assert "raw_record" in schema["column_set"] and "raw_record" not in schema["observed_value"]


def test_landing_files_accounting_mismatch_fails(thresholds):
    files = GOOD["raw.landing_files"]()
    files.loc[0, "rows_read"] += 1
    result = run_suite("raw.landing_files", files, thresholds)
    assert failed(result) == {("expect_column_pair_values_to_be_equal", "rows_read>rows_accounted"): 1}


def test_empty_table_fails_completeness(thresholds):
    result = run_suite("raw.dominance_readings", good_dominance().iloc[:0], thresholds)
    assert any(
        f["expectation"] == "expect_table_row_count_to_be_between" and f["observed_value"] == 0 for f in result.failures
    )


# ---------------------------------------------------------------- statistical expectations
# (the marts' row rules are dbt data tests: tests/unit/test_generic_data_tests.py)


def test_a_share_of_incomplete_bars_over_the_bound_fails(shipped):
    bars = good_symbol_bars()  # 4 of 5 bars complete: 80%, above complete_share_min 50%
    assert run_suite("marts.fct_symbol_bars", bars, shipped).success
    assert failed(run_suite("marts.fct_symbol_bars", bars, dataclasses.replace(shipped, complete_share_min=0.9))) == {
        ("expect_column_values_to_be_in_set", "is_complete"): 1
    }
    broken = bars.assign(is_complete=[True, True, False, False, False])  # 40%
    assert failed(run_suite("marts.fct_symbol_bars", broken, shipped)) == {
        ("expect_column_values_to_be_in_set", "is_complete"): 3
    }
    drivers = good_driver_bars()
    drivers["is_complete"] = [True] + [False] * (len(drivers) - 1)
    assert failed(run_suite("marts.fct_driver_bars", drivers, shipped)) == {
        ("expect_column_values_to_be_in_set", "is_complete"): len(drivers) - 1
    }


def test_percentile_ranks_piled_at_an_end_and_an_rsi_outside_its_band_fail(shipped):
    frame = good_driver_indicators()  # ranks 0.4 .. 0.6, rsi 55 (the first row warming: NULL)
    assert run_suite("marts.fct_driver_indicators", frame, shipped).success
    skewed = frame.assign(pr_atr_14=[None, 0.95, 0.5], rsi_14=[None, 80.0, 85.0])  # 50% / 0% inside their bands
    assert failed(run_suite("marts.fct_driver_indicators", skewed, shipped)) == {
        ("expect_column_values_to_be_between", "rsi_14"): 2
    }
    piled = skewed.assign(pr_atr_14=[None, 0.95, 0.99])
    assert failed(run_suite("marts.fct_driver_indicators", piled, shipped)) == {
        ("expect_column_values_to_be_between", "pr_atr_14"): 2,
        ("expect_column_values_to_be_between", "rsi_14"): 2,
    }
    # a short history (every rank and RSI still NULL) has no statistic to fail
    warming = frame.assign(pr_atr_14=None, pr_bb_bandwidth_20=None, pr_realized_vol_20=None, rsi_14=None)
    assert run_suite("marts.fct_driver_indicators", warming, shipped).success


def test_a_large_share_of_watch_states_fails(shipped):
    states = good_uptrend_states()
    assert run_suite("marts.fct_uptrend_states", states, shipped).success
    states["state"] = "S4"
    assert failed(run_suite("marts.fct_uptrend_states", states, shipped)) == {
        ("expect_column_values_to_be_in_set", "state"): len(states)
    }


def test_a_ledger_with_many_rejected_rows_fails(shipped):
    ledger = good_klines()  # 8 of 14 rows rejected (the row rules' examples)
    assert failed(run_suite("raw.klines", ledger, shipped)) == {("expect_column_values_to_be_in_set", "status"): 8}
    assert run_suite("raw.klines", ledger, dataclasses.replace(shipped, rejected_share_max=0.6)).success


def test_a_seed_bound_changes_the_verdict(shipped):
    frame = good_driver_indicators()  # rsi_14 is 55
    strict = dataclasses.replace(shipped, rsi_band_max=50.0)
    assert failed(run_suite("marts.fct_driver_indicators", frame, strict)) == {
        ("expect_column_values_to_be_between", "rsi_14"): 2
    }


def test_in_file_order_and_only_final_version_flags():
    ledger = pd.DataFrame(
        {
            "source_file": ["a", "a", "a", "b", "b"],
            "content_hash": ["h1"] * 3 + ["h2"] * 2,
            "line_number": [3, 2, 4, 2, 3],
            "status": ["landed", "landed", "collapsed", "landed", "landed"],
            "bar_start": pd.to_datetime(
                ["2024-01-01 02:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 02:00", "2024-01-01 01:00"]
            ),
            "is_newest_in_file": [True, False, False, False, False],
            "key": "k",
        }
    )
    # file a in line order: 01:00, 02:00 (the collapsed line is not part of the series); b goes back
    assert in_file_order(ledger, "bar_start").tolist() == [True, True, pd.NA, True, False]
    # 02:00 lands final from b after the provisional one from a: fine; 01:00 final twice: not
    assert only_final_version(ledger, ["key", "bar_start"]).tolist() == [True, False, pd.NA, True, False]
    # a correction of 01:00 (layout corrections/klines) supersedes it on purpose: no longer a conflict
    corrected = pd.concat(
        [
            ledger.assign(layout="klines"),
            ledger.iloc[[1]].assign(source_file="corrections/x", layout="corrections/klines", line_number=2),
        ],
        ignore_index=True,
    )
    assert only_final_version(corrected, ["key", "bar_start"]).tolist() == [True, True, pd.NA, True, True, True]


def test_thresholds_reject_missing_unknown_and_inverted_keys(tmp_path, thresholds):
    assert thresholds.oscillator_max == 100 and thresholds.min_table_rows == 1 and thresholds.rejected_share_max == 1.0
    seed = tmp_path / "quality_thresholds.csv"
    rows = pd.read_csv(quality_defs.PROJECT_DIR / "seeds" / "quality_thresholds.csv")
    rows[rows["key"] != "ratio_max"].to_csv(seed, index=False)
    with pytest.raises(ValueError, match=r"missing keys \['ratio_max'\]"):
        load_thresholds(seed)
    pd.concat([rows, pd.DataFrame([{"key": "typo", "value": 1, "description": ""}])]).to_csv(seed, index=False)
    with pytest.raises(ValueError, match=r"unknown keys \['typo'\]"):
        load_thresholds(seed)
    rows.assign(value=rows["value"].where(rows["key"] != "score_min", 2)).to_csv(seed, index=False)
    with pytest.raises(ValueError, match="score_min > score_max"):
        load_thresholds(seed)


def test_the_quality_package_does_not_import_great_expectations_or_dagster():
    code = (
        "import sys, market_regimes.quality; "
        "assert 'great_expectations' not in sys.modules and 'dagster' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=quality_defs.PROJECT_DIR)


# ---------------------------------------------------------------- asset checks on a tiny DuckDB file

LANDING_FILES_SQL = """
create view raw.landing_files as
with ledger as (
    select source_file, content_hash, layout, status, loaded_at from raw.klines
    union all select source_file, content_hash, layout, status, loaded_at from raw.dominance_readings
    union all select source_file, content_hash, layout, status, loaded_at from raw.daily_series
)
select source_file, content_hash, any_value(layout) as layout, count(*) as rows_read,
       count(*) filter (where status = 'landed') as rows_landed,
       count(*) filter (where status = 'rejected') as rows_rejected,
       count(*) filter (where status = 'collapsed') as duplicates_collapsed, min(loaded_at) as loaded_at
from ledger group by source_file, content_hash
"""  # models/raw/landing_files.sql without Jinja


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("quality") / "market_regimes.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema raw; create schema marts")
        for name, make in GOOD.items():
            if name == "raw.landing_files":
                continue
            frame = make()
            con.register("frame", frame)
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")
        # a HUGEINT column (segment_id was one until 2026-11) arrives in pandas as Python objects
        con.execute(
            "create or replace table marts.fct_driver_bars as "
            "select * replace (cast(segment_id as hugeint) as segment_id) from marts.fct_driver_bars"
        )
        con.execute(LANDING_FILES_SQL)
        # the seeds the checks read their bounds from, as `dbt seed` loads them
        con.execute("create schema seeds")
        for seed in ("quality_thresholds", "uptrend_config"):
            con.execute(
                f"create table seeds.{seed} as select * from read_csv('{SEEDS / (seed + '.csv')}', all_varchar = true)"
            )
        # the hand-made frames are a few rows each: their shares are not statistics
        for key, value in OPEN_STATISTICS.items():
            con.execute("update seeds.quality_thresholds set value = ? where key = ?", [str(value), key])
    finally:
        con.close()
    return path


def _checks():
    return {next(iter(check.check_specs)).asset_key.to_user_string(): check for check in quality_defs.quality_checks}


def test_checks_cover_every_suite_on_the_right_asset_keys():
    checks = _checks()
    assert set(checks) == {name.replace(".", "/") for name in SUITES}
    assert all(spec.blocking and spec.name == "gx_suite" for check in checks.values() for spec in check.check_specs)


def test_asset_checks_pass_on_the_tiny_warehouse(tiny_db, monkeypatch):
    monkeypatch.setenv("MARKET_REGIMES_DB", str(tiny_db))
    for key, check in _checks().items():
        result = check(build_asset_check_context(resources={"warehouse": WarehouseResource()}))
        assert result.passed, (key, result.metadata["failures"].value)
        assert result.metadata["failed_expectations"].value == 0
        assert result.metadata["rows"].value > 0
        assert result.metadata["db_path"].value == str(tiny_db)
    frame = read_suite_frame(tiny_db, "marts.fct_driver_bars")
    assert frame["segment_id"].dtype == "float64" and str(frame["driver"].dtype) == "category"


def _altered_copy(tiny_db, tmp_path, monkeypatch, *statements: str):
    """A copy of the tiny warehouse with `statements` run on it, set as MARKET_REGIMES_DB."""
    copy = tmp_path / "market_regimes.duckdb"
    copy.write_bytes(tiny_db.read_bytes())
    _execute(copy, *statements)
    monkeypatch.setenv("MARKET_REGIMES_DB", str(copy))
    return copy


def _execute(db, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def test_asset_check_fails_with_metadata_on_a_bad_row(tiny_db, tmp_path, monkeypatch):
    _altered_copy(
        tiny_db,
        tmp_path,
        monkeypatch,
        "update raw.dominance_readings set dominance_pct = 101 where dominance_pct = 52.4",
    )
    result = _checks()["raw/dominance_readings"](
        build_asset_check_context(resources={"warehouse": WarehouseResource()})
    )
    assert not result.passed
    assert result.metadata["failed_expectations"].value == 1
    (failure,) = result.metadata["failures"].value
    assert failure["column"] == "dominance_pct" and failure["unexpected_count"] == 1
    assert failure["examples"] == [
        {"source_file": "dominance/btc_dominance_daily.csv", "line_number": 3, "dominance_pct": 101.0}
    ]
    # the other checks on the same file still pass
    assert _checks()["marts/fct_driver_bars"](
        build_asset_check_context(resources={"warehouse": WarehouseResource()})
    ).passed


def test_asset_checks_use_the_bounds_of_the_warehouse_seeds(tiny_db, tmp_path, monkeypatch):
    """The bounds come from the warehouse's seeds tables (the build's own), not from CSV files:
    a narrower RSI band in seeds.quality_thresholds (rsi_band_max 50: the frame's RSI is 55)
    fails the indicator check once its share is required; a warehouse without the seeds
    fails with a message saying how to load them."""
    tight = _altered_copy(
        tiny_db,
        tmp_path,
        monkeypatch,
        "update seeds.quality_thresholds set value = '50' where key = 'rsi_band_max'",
        "update seeds.quality_thresholds set value = '0.6' where key = 'rsi_band_share_min'",
    )
    check = _checks()["marts/fct_driver_indicators"]
    assert not check(build_asset_check_context(resources={"warehouse": WarehouseResource()})).passed
    _execute(tight, "drop schema seeds cascade")
    result = check(build_asset_check_context(resources={"warehouse": WarehouseResource()}))
    assert not result.passed and "build the seeds first: dbt seed" in result.metadata["error"].value


def test_asset_check_fails_when_the_table_or_file_is_missing(tmp_path, monkeypatch):
    empty = tmp_path / "market_regimes.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("MARKET_REGIMES_DB", str(empty))
    result = _checks()["raw/klines"](build_asset_check_context(resources={"warehouse": WarehouseResource()}))
    assert not result.passed and "raw.klines not found" in result.metadata["error"].value
    with pytest.raises(QualityInputError, match="does not exist"):
        read_relation(tmp_path / "nope.duckdb", "raw.klines")


def test_warehouse_path_default_and_relative_env(monkeypatch):
    monkeypatch.delenv("MARKET_REGIMES_DB", raising=False)
    assert quality_defs.warehouse_path() == quality_defs.PROJECT_DIR / "warehouse" / "market_regimes.duckdb"
    monkeypatch.setenv("MARKET_REGIMES_DB", "other/x.duckdb")
    assert quality_defs.warehouse_path() == quality_defs.PROJECT_DIR / "other" / "x.duckdb"
