"""Unit tests of market_regimes/analyze.py without a warehouse: time parsing, the batch
summary arithmetic on hand-made bars, the text formatting and the CSV writer.
(The queries are tested on the sample build: tests/integration/test_analyze.py.)"""

from __future__ import annotations

import csv
from datetime import datetime

import numpy as np
import pytest

from market_regimes import analyze as a

# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2022-06-13 12:00", datetime(2022, 6, 13, 12, 0)),
        ("2022-06-13", datetime(2022, 6, 13)),
        ("2022-06-13T12:00", datetime(2022, 6, 13, 12, 0)),
        ("2022-06-13T12:00:30Z", datetime(2022, 6, 13, 12, 0, 30)),
        ("2022-06-13t12:00z", datetime(2022, 6, 13, 12, 0)),
        ("2022-06-13T14:00:00+02:00", datetime(2022, 6, 13, 12, 0)),
        ("2022-06-13 07:00-05:00", datetime(2022, 6, 13, 12, 0)),
        ("  2022-06-13 12:00 ", datetime(2022, 6, 13, 12, 0)),
    ],
)
def test_parse_timestamp_forms_are_utc(text, expected):
    assert a.parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["13/06/2022", "2022-13-01", "yesterday", ""])
def test_parse_timestamp_rejects_other_forms(text):
    with pytest.raises(a.AnalyzeError, match="cannot read the time") as info:
        a.parse_timestamp(text)
    assert info.value.code == 2


def test_iso_and_show_time():
    t = datetime(2022, 6, 13, 11, 0)
    assert a.iso(t) == "2022-06-13T11:00:00Z"
    assert a.iso(None) is None
    assert a.show_time(t) == a.show_time("2022-06-13T11:00:00Z") == "2022-06-13 11:00"
    assert a.show_time(datetime(2022, 6, 13, 11, 0, 5)) == "2022-06-13 11:00:05"
    assert a.show_time(None) == ""


def test_json_value_converts_nested_values():
    value = {"t": datetime(2022, 1, 1), "x": float("nan"), "y": float("inf"), "l": [{"z": 1.5}], "s": "a"}
    assert a._json_value(value) == {"t": "2022-01-01T00:00:00Z", "x": None, "y": None, "l": [{"z": 1.5}], "s": "a"}


# --------------------------------------------------------------------------- summary arithmetic


def test_quantile_is_type_7_like_numpy():
    values = sorted([0.9, 0.1, 0.35, 0.5, 0.2, 0.75, 0.05])
    for q in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        assert a.quantile(values, q) == pytest.approx(np.quantile(values, q), abs=1e-15)
    # by hand: 4 values, q = 0.25 -> position 0.75 between 1 and 2 -> 1.75
    assert a.quantile([1.0, 2.0, 3.0, 4.0], 0.25) == 1.75
    assert a.quantile([7.0], 0.9) == 7.0
    with pytest.raises(ValueError):
        a.quantile([], 0.5)


def test_label_distribution_counts_shares_and_order():
    labels = ["TREND", "RANGE_OK", None, "RANGE_OK", "ODD", "RANGE_OK"]
    got = a.label_distribution(labels, a.VERDICTS)
    assert [(d["label"], d["count"]) for d in got] == [
        ("RANGE_OK", 3),
        ("RANGE_WEAK", 0),
        ("TREND", 1),
        ("TRANSITION", 0),
        ("ODD", 1),
    ]
    assert [d["share"] for d in got] == [3 / 5, 0.0, 1 / 5, 0.0, 1 / 5]  # None is not counted
    assert a.label_distribution([None], ("A",)) == [{"label": "A", "count": 0, "share": 0.0}]


def test_transition_counts_skip_warm_up_and_segment_starts():
    labels = ["A", "A", "B", None, "B", "B", "A", "C"]
    starts = [True, False, False, False, False, False, True, False]
    # pairs: A->A, A->B, (B,None) skip, (None,B) skip, B->B, (B->A across a start) skip, A->C
    assert a.transition_counts(labels, starts) == [
        {"from": "A", "to": "A", "count": 1},
        {"from": "A", "to": "B", "count": 1},
        {"from": "A", "to": "C", "count": 1},
        {"from": "B", "to": "B", "count": 1},
    ]
    assert {(t["from"], t["to"]) for t in a.transition_counts(labels)} >= {("B", "A")}
    assert a.transition_counts([]) == []


def test_unit_distribution_bins_and_quantiles():
    values = [0.0, 0.2, 0.2, 0.5, 0.79, 0.8, 1.0, None, float("nan")]
    d = a.unit_distribution(values)
    assert d["n"] == 7
    assert d["min"] == 0.0 and d["max"] == 1.0
    assert d["mean"] == pytest.approx((0.0 + 0.2 + 0.2 + 0.5 + 0.79 + 0.8 + 1.0) / 7)
    # [0, .2) holds 0.0; [.2, .4) the two 0.2s; [.4, .6) 0.5; [.6, .8) 0.79; [.8, 1.0] 0.8 and 1.0
    assert [b["count"] for b in d["bins"]] == [1, 2, 1, 1, 2]
    assert [b["share"] for b in d["bins"]] == [1 / 7, 2 / 7, 1 / 7, 1 / 7, 2 / 7]
    assert [q["q"] for q in d["quantiles"]] == list(a.SUMMARY_QUANTILES)
    assert d["quantiles"][2]["value"] == 0.5  # the median of 7 values is the 4th
    empty = a.unit_distribution([None])
    assert empty["n"] == 0 and empty["mean"] is None and all(q["value"] is None for q in empty["quantiles"])
    assert sum(b["count"] for b in empty["bins"]) == 0


def test_summarize_bars_on_hand_made_bars():
    bars = [
        {"verdict": v, "confidence": c}
        for v, c in [
            (None, None),
            ("RANGE_OK", 0.5),
            ("RANGE_OK", 0.3),
            ("TREND", 0.9),
            ("TREND", 0.1),
            ("RANGE_OK", 0.2),
        ]
    ]
    starts = [True, False, False, False, True, False]  # bar 4 starts a new segment
    s = a.summarize_bars(bars, "verdict", a.VERDICTS, "confidence", starts)
    assert (s["bars"], s["labelled_bars"]) == (6, 5)
    assert {d["label"]: d["count"] for d in s["distribution"]} == {
        "RANGE_OK": 3,
        "RANGE_WEAK": 0,
        "TREND": 2,
        "TRANSITION": 0,
    }
    # RANGE_OK->RANGE_OK, RANGE_OK->TREND, (TREND->TREND across the start: skipped), TREND->RANGE_OK
    assert s["transitions"] == [
        {"from": "RANGE_OK", "to": "RANGE_OK", "count": 1},
        {"from": "RANGE_OK", "to": "TREND", "count": 1},
        {"from": "TREND", "to": "RANGE_OK", "count": 1},
    ]
    assert s["changes"] == 2
    assert s["value"]["n"] == 5 and s["value"]["mean"] == pytest.approx(2.0 / 5)
    assert set(s["value_by_label"]) == {"RANGE_OK", "TREND"}
    assert s["value_by_label"]["TREND"]["mean"] == pytest.approx(0.5)
    assert s["value_by_label"]["RANGE_OK"]["quantiles"][2]["value"] == 0.3


def test_counts_per_key_combination():
    rows = [{"g": "x", "s": "W", "sent": True}, {"g": "x", "s": "W", "sent": False}, {"g": "x", "s": "W", "sent": True}]
    assert a._counts(rows, ("g", "s", "sent")) == [
        {"g": "x", "s": "W", "sent": False, "count": 1},
        {"g": "x", "s": "W", "sent": True, "count": 2},
    ]


# --------------------------------------------------------------------------- formatting


def test_fmt_num_kinds():
    assert a.fmt_num(23729.43, "price") == "23,729.43"
    assert a.fmt_num(0.0545375, "price") == "0.0545375"
    assert a.fmt_num(94.93333, "score") == "94.9"
    assert a.fmt_num(0.97333, "frac") == "0.973"
    assert a.fmt_num(0.2176, "pct") == "21.8%"
    assert a.fmt_num(5.0, "int") == "5"
    assert a.fmt_num(None) == "-" and a.fmt_num(True) == "yes" and a.fmt_num("x") == "x"


def test_text_table_aligns_and_has_no_trailing_spaces():
    text = a.text_table([["a", "1", ""], ["bbb", "22", "stale"]], ["k", "n", ""], indent="  ")
    assert text.splitlines() == ["  k    n", "  ---  --  -----", "  a    1", "  bbb  22  stale"]


def test_matrix_lists_ordered_labels_once():
    transitions = [
        {"from": "S3", "to": "S0", "count": 1},
        {"from": "S0", "to": "S0", "count": 4},
        {"from": "S0", "to": "X", "count": 2},
    ]
    lines = a._matrix_lines(transitions, a.UPTREND_STATES, indent="").splitlines()
    assert lines[0].split() == ["from", "\\", "to", "S0", "S3", "X"]
    assert lines[2].split() == ["S0", "4", "0", "2"]
    assert lines[3].split() == ["S3", "1", "0", "0"]
    assert lines[4].split() == ["X", "0", "0", "0"]


def _driver_result() -> dict:
    return {
        "kind": "driver_at",
        "schema_version": 1,
        "requested_at": "2023-03-10T12:00:00Z",
        "driver": "small",
        "timeframe": "meso",
        "bar": {
            "driver": "small",
            "timeframe": "meso",
            "bar_interval": "1h",
            "bar_start": "2023-03-10T11:00:00Z",
            "bar_end": "2023-03-10T12:00:00Z",
            "bars_missing": 0,
        },
        "uptrend": {
            "state": "S1",
            "prev_state": "S0",
            "state_since": "2023-03-10T11:00:00Z",
            "buy_flag": True,
            "rebuy_flag": False,
            "trim_flag": False,
            "emergency_exit": False,
            "exit_reason": None,
            "ts_score": 0.6244,
            "ox": None,
            "dx": None,
            "edx": None,
        },
        "context": {
            "bucket_has_levers": True,
            "uptrend_states": [
                {
                    "driver": "small",
                    "timeframe": "macro",
                    "bar_interval": "1d",
                    "bar_start": None,
                    "bar_end": None,
                    "state": None,
                    "prev_state": None,
                    "state_since": None,
                    "buy_flag": None,
                    "rebuy_flag": None,
                    "trim_flag": None,
                    "emergency_exit": None,
                    "exit_reason": None,
                    "ts_score": None,
                    "ox": None,
                    "dx": None,
                    "edx": None,
                    "is_stale": None,
                }
            ],
            "levers": [
                {
                    "bucket": "small",
                    "execution_timeframe": "1h",
                    "bar_start": "2023-03-10T11:00:00Z",
                    "bar_end": "2023-03-10T12:00:00Z",
                    "a_value": 0.857,
                    "e_value": 0.33625,
                    "position_size_frac": 0.5285,
                    "intent_a": 0.0,
                    "intent_e": 0.0,
                    "is_degraded": False,
                    "n_used": 10,
                    "n_stale": 0,
                    "n_missing": 5,
                    "is_stale": True,
                }
            ],
            "volatility": [],
            "markets": [
                {
                    "market": "BTC",
                    "bar_start": None,
                    "bar_end": None,
                    "regime": None,
                    "trend": None,
                    "vol": None,
                    "price": None,
                    "ma": None,
                    "vol_value": None,
                    "prev_regime": None,
                    "is_stale": None,
                }
            ],
        },
    }


def test_format_driver_at_text():
    text = a.format_text(_driver_result())
    lines = text.splitlines()
    assert lines[0] == (
        "small meso: 1h bar 2023-03-10 11:00 - 2023-03-10 12:00 UTC, the last bar ended at or "
        "before 2023-03-10 12:00 UTC"
    )
    assert "  state        S1 since 2023-03-10 11:00 (previous bar: S0)" in lines
    assert "  flags        buy" in lines
    assert "  scores       TS 0.624  OX -  DX -  EDX -" in lines
    lever = next(x for x in lines if x.split()[:2] == ["small", "1h"])
    # 0.33625 and 0.5285 are stored as 0.3362499999999999933.. and 0.5284999999999999698..: 3 decimals round them
    # to 0.336 and 0.528
    assert lever.split() == ["small", "1h", "2023-03-10", "11:00", "0.857", "0.336", "0.528", "no", "stale"]
    assert any(x.split()[:3] == ["small", "macro", "none"] for x in lines)
    assert "    (no row ended by then)" in lines
    assert any(x.split()[:3] == ["BTC", "none", "-"] for x in lines)


def test_format_symbol_batch_text():
    summary = a.summarize_bars(
        [{"verdict": "RANGE_OK", "confidence": 0.5}, {"verdict": "TREND", "confidence": 0.25}],
        "verdict",
        a.VERDICTS,
        "confidence",
        [True, False],
    )
    result = {
        "kind": "symbol_batch",
        "symbol": "XUSDT",
        "from": "2024-01-01T00:00:00Z",
        "to": "2024-01-01T02:00:00Z",
        "bar_interval": "1h",
        "first_bar_start": "2024-01-01T00:00:00Z",
        "last_bar_start": "2024-01-01T01:00:00Z",
        "exchanges": ["binance"],
        "verdicts": summary,
        "coarse_verdicts": a.label_distribution([None, None], a.VERDICTS),
        "lifecycle_states": [
            {"grid_id": "virtual|binance|XUSDT", "grid_kind": "virtual", "state": "EXITED", "bars": 2}
        ],
        "lifecycle_events": [
            {
                "grid_id": "virtual|binance|XUSDT",
                "grid_kind": "virtual",
                "bar_start": "2024-01-01T01:00:00Z",
                "change_seq": 1,
                "from_state": "PROBATION",
                "to_state": "EXITED",
                "reason": "stop_trend",
                "triggers": [],
            }
        ],
        "lifecycle_event_counts": [],
        "notifications": [],
        "notification_counts": [
            {"grid_id": "g", "state": "WARNING", "is_sent": True, "count": 3},
            {"grid_id": "g", "state": "WARNING", "is_sent": False, "count": 2},
        ],
        "recommendations": [],
        "bars": [],
    }
    text = a.format_text(result)
    assert text.splitlines()[0] == (
        "XUSDT: 2 1h bars ended in [2024-01-01 00:00, 2024-01-01 02:00] UTC (bars "
        "2024-01-01 00:00 to 2024-01-01 01:00; binance); 2 with a verdict"
    )
    assert "  transitions (1 changes)" in text
    assert "    (none: the 4h series is not warm on these bars)" in text
    assert "exit notifications (marts.fct_exit_notifications): 3 sent, 2 suppressed" in text
    row = next(x for x in text.splitlines() if x.split()[:1] == ["all"])
    # n 2, mean 0.375, min 0.25, p10 0.275, p25 0.3125 -> 0.312, p50 0.375, p75 0.4375 -> 0.438 (round half even
    # of the binary value), p90 0.475, max 0.5
    assert row.split() == ["all", "2", "0.375", "0.250", "0.275", "0.312", "0.375", "0.438", "0.475", "0.500"]
    assert "2024-01-01 01:00  virtual|binance|XUSDT  PROBATION  EXITED  stop_trend" in text


def test_write_csv(tmp_path):
    bars = [{"a": "x", "b": 1.5, "c": True, "d": None}, {"a": "y", "b": 2.0, "c": False, "d": "2024-01-01T00:00:00Z"}]
    path = tmp_path / "sub" / "rows.csv"
    assert a.write_csv(bars, path, ("a", "b", "c", "d")) == 2
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows == [["a", "b", "c", "d"], ["x", "1.5", "true", ""], ["y", "2.0", "false", "2024-01-01T00:00:00Z"]]


def test_the_schema_is_valid_draft_2020_12_and_covers_four_kinds():
    import jsonschema

    schema = a.load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    kinds = {
        schema["$defs"][k]["properties"]["kind"]["const"]
        for k in ("symbol_at", "driver_at", "symbol_batch", "driver_batch")
    }
    assert kinds == {"symbol_at", "driver_at", "symbol_batch", "driver_batch"}
    assert list(schema["$defs"]["symbol_bar"]["properties"]) == list(a.SYMBOL_BAR_COLUMNS)
    assert list(schema["$defs"]["driver_bar"]["properties"]) == list(a.DRIVER_BAR_COLUMNS)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(_driver_result())
    broken = _driver_result()
    broken["uptrend"]["state"] = "S9"
    assert not validator.is_valid(broken)
