"""relation_frame (market_regimes.frames.py): a DuckDB relation as relation.df() gives it."""

from __future__ import annotations

import duckdb
import pandas as pd

from market_regimes.frames import relation_frame

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
