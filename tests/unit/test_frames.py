"""market_regimes.frames: relation_frame (a relation as relation.df() gives it) and arrow_table
(a model's rows handed to DuckDB with the DataFrame's own column types)."""

from __future__ import annotations

import duckdb
import pandas as pd

from market_regimes.frames import arrow_table, relation_frame

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
