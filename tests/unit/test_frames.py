"""market_regimes.frames: relation_frame (a relation as relation.df() gives it), arrow_table
(a model's rows handed to DuckDB with the DataFrame's own column types), text_array and
concat_pieces (many pieces' rows assembled column by column, as pd.concat would)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from market_regimes.frames import arrow_table, concat_pieces, is_sorted_by, map_distinct, relation_frame, text_array

QUERY = """
    select * from (values
        (1, 10::bigint, 'a', true, 1.5, timestamp '2024-01-01 00:00', 7::integer, true),
        (2, null, null, null, null, null, 8::integer, false),
        (3, 30::bigint, 'c', false, 'nan'::double, timestamp '2024-01-01 02:00', 9::integer, true)
    ) as t(id, maybe_int, maybe_text, maybe_bool, maybe_float, maybe_ts, some_int, some_bool)
"""


def test_relation_frame_is_relation_df():
    con = duckdb.connect()
    expected = con.sql(QUERY).df()
    got = relation_frame(con.sql(QUERY))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # the dtypes DuckDB gives: nullable where NULLs are, numpy where none are
    assert str(got["maybe_int"].dtype) == "Int64" and str(got["maybe_bool"].dtype) == "boolean"
    assert str(got["some_int"].dtype) == "int32" and str(got["some_bool"].dtype) == "bool"
    assert got["maybe_int"].isna().tolist() == [False, True, False] and got["maybe_int"].iloc[2] == 30


def test_relation_frame_of_an_empty_relation():
    con = duckdb.connect()
    query = QUERY + " where id > 5"
    pd.testing.assert_frame_equal(relation_frame(con.sql(query)), con.sql(query).df(), check_exact=True)


def test_arrow_table_stores_the_frames_types_and_values():
    """DuckDB types and rows from the Arrow table equal those from the DataFrame itself,
    for the dtypes the Python models return (numpy and nullable numbers, text, timestamps
    in us and ns, booleans, NULLs)."""
    con = duckdb.connect()
    frame = relation_frame(con.sql(QUERY))
    frame["ts_ns"] = frame["maybe_ts"].astype("datetime64[ns]")
    frame["ids"] = pd.Series([1, 2, 3], dtype="UInt64")
    frame.index = [5, 6, 7]  # dropped by both paths
    con.register("from_pandas", frame)
    con.register("from_arrow", arrow_table(frame))
    assert con.sql("select * from from_arrow").types == con.sql("select * from from_pandas").types
    assert [str(t) for t in con.sql("select ts_ns, ids from from_arrow").types] == ["TIMESTAMP_NS", "UBIGINT"]
    rows = "select * from {} except all select * from {}"
    assert con.sql(rows.format("from_arrow", "from_pandas")).fetchall() == []
    assert con.sql(rows.format("from_pandas", "from_arrow")).fetchall() == []
    assert con.sql("select count(*), count(maybe_int) from from_arrow").fetchone() == (3, 2)


def test_arrow_table_keeps_frames_it_would_type_differently():
    empty = pd.DataFrame({"text": pd.Series([], dtype=object)})
    assert arrow_table(empty) is empty
    categorical = pd.DataFrame({"verdict": pd.Categorical(["RANGE", "TREND"])})
    assert arrow_table(categorical) is categorical


def test_is_sorted_by_is_what_a_stable_sort_leaves_in_place():
    frame = pd.DataFrame(
        {
            "exchange": ["binance", "binance", "binance", "bybit", "bybit"],
            "segment_id": [0, 0, 1, 0, 0],
            "bar_start": pd.to_datetime(
                ["2025-01-01 02:00", "2025-01-01 03:00", "2025-01-01 00:00", "2025-01-01 00:00", "2025-01-01 00:00"]
            ),
        }
    )
    order = ["exchange", "segment_id", "bar_start"]
    assert is_sorted_by(frame, order)  # a later column may fall when an earlier one rose; ties allowed
    assert frame.sort_values(order, kind="stable").index.tolist() == [0, 1, 2, 3, 4]
    swapped = frame.iloc[[1, 0, 2, 3, 4]]
    assert not is_sorted_by(swapped, order)
    assert not is_sorted_by(frame.iloc[[3, 0, 1, 2, 4]], order)  # bybit before binance
    assert is_sorted_by(swapped, ["exchange"])  # by exchange alone, equal keys keep their order
    with_missing = frame.assign(segment_id=pd.array([0, 0, None, 0, 0], dtype="Int64"))
    assert not is_sorted_by(with_missing, order)
    assert not is_sorted_by(pd.DataFrame({"k": ["a", ("b", 2)]}), ["k"])  # keys that do not compare
    assert is_sorted_by(frame.iloc[:1], order) and is_sorted_by(frame.iloc[:0], order)


def test_text_array_is_astype_string():
    values = np.array(["high", None, "low", "high", None, "a|b"], dtype=object)
    got = text_array(values)
    assert got.dtype == pd.array(["x"], dtype="string").dtype
    assert got.equals(pd.array(values, dtype="string"))
    assert list(got.isna()) == [False, True, False, False, True, False]
    # codes into a vocabulary, -1 = missing
    coded = text_array(np.array([1, -1, 0, 1]), np.array(["x", "y"], dtype=object))
    assert coded.equals(pd.array(["y", None, "x", "y"], dtype="string"))
    assert len(text_array(np.array([], dtype=object))) == 0


def test_concat_pieces_is_concat_of_one_frame_per_piece():
    pieces = [
        {
            "idx": np.array([0, 1, 2]),
            "x": np.array([0.5, np.nan, 2.0]),
            "label": np.array(["a", None, "b"], dtype=object),
        },
        {"idx": np.array([7]), "x": np.array([3.0]), "label": np.array([None], dtype=object)},
        {"idx": np.array([], dtype=np.int64), "x": np.array([]), "label": np.array([], dtype=object)},
    ]
    constants = [
        {"series_id": "binance|BTCUSDT|1h", "driver": None, "segment_id": 0},
        {"series_id": "bybit|ETHUSDT|1h", "driver": "BTC", "segment_id": 3},
        {"series_id": "unused", "driver": "unused", "segment_id": 9},
    ]
    text = frozenset({"series_id", "driver", "label"})
    got = pd.DataFrame(concat_pieces(pieces, constants, text), copy=False)
    expected = pd.concat(
        [pd.DataFrame({**c, **p}) for c, p in zip(constants[:2], pieces[:2])], ignore_index=True
    ).astype({c: "string" for c in text})
    assert list(got.columns) == ["series_id", "driver", "segment_id", "idx", "x", "label"]
    pd.testing.assert_frame_equal(got, expected[list(got.columns)])
    assert got["segment_id"].tolist() == [0, 0, 0, 3]
    assert got["driver"].isna().tolist() == [True, True, True, False]
    assert concat_pieces([]) == {}
    with pytest.raises(ValueError, match="same columns"):
        concat_pieces([{"a": np.zeros(1)}, {"b": np.zeros(1)}])
    with pytest.raises(ValueError, match="constant columns"):
        concat_pieces(pieces[:1], constants)


@pytest.mark.parametrize("dtype", ["object", "string"])
def test_map_distinct_is_series_map(dtype):
    """Same values as Series.map on text columns (numpy and Arrow-backed), each distinct
    value looked up once; a missing value maps to None; a gap in a mapping raises."""
    values = pd.Series(["1h", "5m", "1h", None, "1d", "5m"], dtype=dtype)
    mapping = {"1h": 60, "5m": 5, "1d": 1440}
    calls = []

    def lookup(v):
        calls.append(v)
        return v.upper()

    assert list(map_distinct(values, mapping)) == [60, 5, 60, None, 1440, 5]
    assert list(map_distinct(values, lookup)) == ["1H", "5M", "1H", None, "1D", "5M"]
    assert calls == ["1h", "5m", "1d"]
    full = values.dropna()
    assert map_distinct(full, mapping).tolist() == full.map(mapping).astype("int64").tolist()
    assert map_distinct(full, mapping).dtype == np.int64
    assert map_distinct(pd.Series([], dtype=dtype), mapping).shape == (0,)
    with pytest.raises(KeyError):
        map_distinct(pd.Series(["4h"]), mapping)
