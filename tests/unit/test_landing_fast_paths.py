"""The landing's fast paths give what the general code gives: grouping by runs of equal
neighbours (``group_codes``), timestamps parsed in Arrow (``parse_timestamps``), the
ticker check per run, and the sorted-input shortcuts of the duplicate and jump checks."""

from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from market_regimes.landing import land_files, validate
from market_regimes.landing.validate import LandingPlausibility, group_codes, parse_timestamps

T0 = pd.Timestamp("2026-01-01 00:00:00")


def test_group_codes_are_groupby_ngroup_whatever_the_runs(monkeypatch):
    rng = random.Random(1)
    for _ in range(40):
        n = rng.randint(1, 25)
        frame = pd.DataFrame(
            {
                "x": pd.Series([rng.choice(["a", "b", None, np.nan]) for _ in range(n)], dtype="object"),
                "y": pd.Series([rng.choice(["u", "w", None]) for _ in range(n)], dtype="object"),
                "t": pd.Series(
                    [rng.choice([pd.Timestamp("2020-01-01"), pd.NaT, pd.Timestamp("2021-01-01")]) for _ in range(n)],
                    dtype="datetime64[us]",
                ),
            }
        )
        for columns in (["x"], ["x", "y"], ["y", "t"]):
            for dropna in (True, False):
                expected = frame.groupby(columns, sort=False, dropna=dropna).ngroup().fillna(-1).to_numpy("int64")
                for few_runs in (1000, 0):  # the Python dict and the pandas path
                    monkeypatch.setattr(validate, "_FEW_RUNS", few_runs)
                    assert group_codes(frame, columns, dropna=dropna).tolist() == expected.tolist()


def _slow_parse(values: pd.Series) -> pd.Series:
    saved = validate._parse_plain_utc
    validate._parse_plain_utc = lambda _: None
    try:
        return parse_timestamps(values)
    finally:
        validate._parse_plain_utc = saved


def test_timestamps_parsed_in_arrow_equal_the_pandas_parse():
    forms = [
        "2021-02-28 23:59:59",
        "2020-02-29T00:00:00",
        "2021-02-29 00:00:00",  # no such day
        "2021-01-01 24:00:00",
        "2021-01-01 23:59:60",
        "0000-01-01 00:00:00",
        "2021-01-01 00:00:00+00:00",
        "2021-01-01T05:00:00Z",
        "2021-01-01 00:00:00+01:00",
        "2021-01-01",
        "1622548800000",
        "yesterday",
        None,
    ]
    rng = random.Random(2)
    arrow_parsed = 0
    for _ in range(80):
        values = [rng.choice(forms) for _ in range(rng.randint(1, 5))]
        expected = _slow_parse(pd.Series(values, dtype="object"))
        arrow_text = pa.chunked_array([pa.array(values, pa.string())]).to_pandas()
        for series in (pd.Series(values, dtype="object"), arrow_text):
            got = parse_timestamps(series)
            assert got.dtype == expected.dtype
            assert got.isna().tolist() == expected.isna().tolist()
            assert got.dropna().tolist() == expected.dropna().tolist()
        arrow_parsed += validate._parse_plain_utc(arrow_text) is not None
    assert arrow_parsed > 0


def test_the_byte_check_of_plain_timestamps_is_the_pattern():
    rng = random.Random(3)
    same_length = [
        ["2021-01-01 00:00:00", "2021-01-01T00:00:00", "2021/01/01 00:00:00", "20a1-01-01 00:00:00"],
        ["2021-01-01 00:00:00Z", "2021-01-01 00:00:00z"],
        ["2021-01-01 00:00:00+00:00", "2021-01-01 00:00:00+01:00", "2021-01-01 00:00:00-00:00"],
    ]
    for _ in range(300):
        pool = rng.choice(same_length)
        values = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
        sliced = pa.array(["x", *values], pa.large_string()).slice(1)
        for array in (pa.array(values, pa.string()), sliced, pa.chunked_array([pa.array(values)])):
            expected = pc.all(pc.match_substring_regex(array, validate._PLAIN_UTC)).as_py()
            assert validate._all_plain_utc(array) == expected


def _land(files):
    files = [(name, data, f"hash-{name}") for name, data in files]
    return land_files("klines", files, T0, plausibility=LandingPlausibility())


def test_ticker_check_per_run_and_for_non_text_tickers():
    csv = (
        "date,open,high,low,close,volume,ticker\n"
        "2024-01-01 00:00:00,1,1,1,1,1,BTCUSDT\n"
        "2024-01-01 01:00:00,1,1,1,1,1, btcusdt \n"
        "2024-01-01 02:00:00,1,1,1,1,1,ETHUSDT\n"
        "2024-01-01 03:00:00,1,1,1,1,1,BTCUSDT\n"
    )
    out = _land([("klines/binance/BTCUSDT_1h.csv", csv.encode())])
    reasons = out["reject_reason"].dropna().to_dict()
    assert reasons == {2: "ticker ETHUSDT does not match file symbol BTCUSDT"}
    frame = pd.DataFrame(
        {"date": ["2024-01-01 00:00:00", "2024-01-01 01:00:00"], "open": 1.0, "high": 1.0, "low": 1.0}
        | {"close": 1.0, "volume": 1.0, "ticker": [7, 7]}
    )
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    out = _land([("klines/binance/BTCUSDT_1h.parquet", buf.getvalue())])
    assert out["reject_reason"].tolist() == ["ticker 7 does not match file symbol BTCUSDT"] * 2


def test_duplicates_and_jumps_out_of_time_order():
    csv = (
        "date,open,high,low,close,volume\n"
        "2024-01-01 02:00:00,10,10,10,10,1\n"
        "2024-01-01 00:00:00,10,10,10,10,1\n"
        "2024-01-01 01:00:00,5000,5000,5000,5000,1\n"
        "2024-01-01 00:00:00,10,10,10,10,2\n"
    )
    out = _land([("klines/binance/BTCUSDT_1h.csv", csv.encode())]).set_index("line_number")
    assert out.loc[5, "reject_reason"] == "conflicting duplicate of a final bar"
    assert out.loc[4, "reject_reason"].startswith("close 5000 jumps 500x")
    assert out.loc[[2, 3], "status"].tolist() == ["landed", "landed"]
