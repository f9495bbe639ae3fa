"""market_regimes.spark_parity.parity: the DuckDB build against a Spark export (docs/scale-out.md),
on hand-made warehouse files (no Spark needed)."""

from __future__ import annotations

import duckdb
import pytest

from market_regimes.spark_parity import AS_DOUBLE, parity

ROWS = [("ALT", "1h", "2025-06-25 00:00:00", 100.0, 1000), ("ALT", "1h", "2025-06-25 01:00:00", 101.0, 2000)]


def _warehouse(path, rows, units_type="hugeint"):
    con = duckdb.connect(str(path))
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_composite_bars_computed (driver varchar, timeframe varchar, "
        f"bar_start timestamp, close double, log_index_units {units_type})"
    )
    con.executemany("insert into intermediate.int_composite_bars_computed values (?, ?, ?, ?, ?)", rows)
    con.close()


def test_integer_log_index_off_by_a_few_units_is_equal_as_a_float(tmp_path):
    # Spark's ln 1 ulp off on a bar: the integer units differ by 9 of ~4.5e15 (2e-15 relative)
    assert "log_index_units" in AS_DOUBLE
    _warehouse(tmp_path / "duck.duckdb", [(*r[:4], r[4] * 4503599627370) for r in ROWS])
    _warehouse(tmp_path / "spark.duckdb", [(*r[:4], r[4] * 4503599627370 + 9) for r in ROWS], "decimal(38, 0)")
    (diff,) = parity(
        tmp_path / "duck.duckdb", tmp_path / "spark.duckdb", ["intermediate.int_composite_bars_computed"], tmp_path
    )
    assert diff.equal, str(diff)
    assert 0 < diff.worst["log_index_units"] < 1e-14


def test_a_different_close_or_a_missing_row_is_reported(tmp_path):
    _warehouse(tmp_path / "duck.duckdb", ROWS)
    _warehouse(tmp_path / "spark.duckdb", [ROWS[0][:3] + (100.0 * (1 + 1e-9), ROWS[0][4])] + ROWS[1:])
    _warehouse(tmp_path / "short.duckdb", ROWS[:1])
    table = ["intermediate.int_composite_bars_computed"]
    (close,) = parity(tmp_path / "duck.duckdb", tmp_path / "spark.duckdb", table, tmp_path)
    assert not close.equal and close.over_tolerance == ["close"]
    (short,) = parity(tmp_path / "duck.duckdb", tmp_path / "short.duckdb", table, tmp_path)
    assert not short.equal and (short.left_rows, short.right_rows) == (2, 1)


def test_series_keys_map_through_series_id_and_segment_id():
    """export_tables' key map: Spark's xxhash64 key -> the DuckDB build's hash of the same
    (series_id, segment_id), full 64-bit values kept; a segment the DuckDB build lacks has no
    row; a Spark key naming two segments is refused."""
    import numpy as np
    import pandas as pd
    import pytest

    from market_regimes.spark_parity import series_part_map

    spark_keys = pd.DataFrame(
        {
            "series_id": ["BTC|macro", "market|BTC", "market|BTC", "ETH|macro"],
            "segment_id": [1, 3, 3, 1],
            "series_part": [-9_100_000_000_000_000_001, 42, 42, 7],
        }
    )
    duckdb_keys = pd.DataFrame(
        {
            "series_id": ["BTC|macro", "market|BTC", "market|BTC"],
            "segment_id": [1, 3, 4],
            "duckdb_part": np.array([18_000_000_000_000_000_001, 17_000_000_000_000_000_003, 5], dtype=np.uint64),
        }
    )
    got = series_part_map(spark_keys, duckdb_keys).sort_values("series_part", ignore_index=True)
    assert got["series_part"].tolist() == [-9_100_000_000_000_000_001, 42]
    assert got["duckdb_part"].tolist() == [18_000_000_000_000_000_001, 17_000_000_000_000_000_003]
    assert str(got["duckdb_part"].dtype) == "uint64"
    clash = spark_keys.assign(series_part=[7, 42, 42, 7])
    with pytest.raises(ValueError, match=r"Spark series keys \[7\] name more than one series segment"):
        series_part_map(clash, duckdb_keys.assign(series_id=["BTC|macro", "market|BTC", "ETH|macro"], segment_id=1))


def test_a_flipped_rounding_tie_is_counted_and_any_other_json_difference_is_not():
    """TIE_FLIP_JSON: the lifecycle's trigger values are rounded to 6 significant digits; an
    ulp of difference on a tie flips the last digit (152.512 vs 152.513: a flip), a larger
    difference, another text or another structure is not."""
    import json

    from market_regimes.spark_parity import _tie_flip

    def changes(value, trigger="upper", state="PROBATION"):
        return json.loads(
            json.dumps([{"to_state": state, "triggers": [{"trigger": trigger, "value": value}, {"value": 58.3656}]}])
        )

    assert _tie_flip(changes(152.512), changes(152.512)) is None
    assert _tie_flip(changes(152.512), changes(152.513)) is True
    assert _tie_flip(changes(2593.73), changes(2593.74)) is True
    assert _tie_flip(changes(0.000123457), changes(0.000123456)) is True
    assert _tie_flip(changes(152.512), changes(152.514)) is False
    assert _tie_flip(changes(152.512, trigger="lower"), changes(152.513)) is False
    assert _tie_flip(changes(152.512, state="NORMAL"), changes(152.513)) is False
    assert _tie_flip(changes(152.512), changes(152.512)[:0]) is False


def test_tie_flips_counts_flips_and_other_differences_not_respelled_equal_json(tmp_path):
    """tie_flips: a flip counts as a flip; another value, a NULL on one side or a bool for a
    number is another difference; the same JSON spelled otherwise (spaces, key order) is
    neither, as are equal texts and rows on one side only."""
    from market_regimes.spark_parity import tie_flips

    left = ['{"v": 152.512}', '{"a": 1, "v": 2.5}', '{"v": 152.512}', '{"v": 1}', '{"v": 7.0}', '{"v": 1.0}', "{}"]
    right = ['{"v": 152.513}', '{"v": 2.5,  "a": 1}', '{"v": 152.6}', "null", None, '{"v": true}', "{}"]
    for name, texts in (("l.duckdb", left), ("r.duckdb", right + ['{"v": 0}'])):
        con = duckdb.connect(str(tmp_path / name))
        con.execute("create schema marts; create table marts.t (k integer, j varchar)")
        con.executemany("insert into marts.t values (?, ?)", list(enumerate(texts)))
        con.close()
    # row 0 a flip; rows 2 (152.512 vs 152.6), 3 (JSON null), 4 (NULL) and 5 (a bool) other
    assert tie_flips(tmp_path / "l.duckdb", tmp_path / "r.duckdb", "marts.t", "j", ("k",)) == (1, 4)


def test_an_unknown_spark_catalog_is_refused_naming_the_variable(monkeypatch, tmp_path):
    from market_regimes.spark_parity import CATALOG_ENV, spark_session

    monkeypatch.setenv(CATALOG_ENV, "derby")
    with pytest.raises(ValueError, match=r"\$MARKET_REGIMES_SPARK_CATALOG is 'derby': expected hive or in-memory"):
        spark_session(tmp_path)


def test_the_local_sessions_settings_are_the_spark_targets_rendered_as_dbt_does(monkeypatch, tmp_path):
    """profile_session_settings: the one list of the local session's settings is the profile's
    spark target (env_var defaults and overrides as dbt renders them); an unset variable
    without a default fails naming the file and the variable."""
    from market_regimes.settings import PROJECT_DIR
    from market_regimes.spark_parity import profile_session_settings

    monkeypatch.delenv("MARKET_REGIMES_SPARK_ADAPTIVE", raising=False)
    monkeypatch.setenv("MARKET_REGIMES_SPARK_SHUFFLE_PARTITIONS", "7")
    settings = profile_session_settings(PROJECT_DIR)
    assert settings["spark.sql.shuffle.partitions"] == "7" and settings["spark.sql.adaptive.enabled"] == "false"
    assert settings["spark.sql.session.timeZone"] == "UTC" and settings["spark.ui.showConsoleProgress"] == "false"
    # another profile first in the file is not read; an unset variable without default fails
    (tmp_path / "profiles.yml").write_text(
        "other:\n  outputs:\n    spark:\n      server_side_parameters:\n        a.b: x\n"
        "market_regimes:\n  outputs:\n    spark:\n      server_side_parameters:\n"
        "        a.b: \"{{ env_var('MR_TEST_UNSET_VARIABLE') }}\"\n"
    )
    monkeypatch.delenv("MR_TEST_UNSET_VARIABLE", raising=False)
    with pytest.raises(ValueError, match=r"profiles.yml: the spark target reads \$MR_TEST_UNSET_VARIABLE"):
        profile_session_settings(tmp_path)
    (tmp_path / "profiles.yml").write_text("market_regimes:\n  outputs:\n    dev:\n      type: duckdb\n")
    with pytest.raises(ValueError, match="profile 'market_regimes' has no spark target"):
        profile_session_settings(tmp_path)
