"""``market-regimes analyze`` on the bundled sample build (session fixture ``sample_db``).

Every number the command prints is checked against an independent SQL query of the
marts it reads, and the known bar BTCUSDT 2022-06-13 11:00-12:00 UTC (the answer at
"2022-06-13 12:00") also against constants read off the sample and checked by hand:
a TRANSITION decided at step 1 because VolChangeScore 99.2 > 70, so the confidence is
(99.2 - 70) / (100 - 70) = 0.97333..; the virtual grid is EXITED since its quick stop of
2022-06-10 16:00; BTC and ALT are in S0 at meso and macro; every bucket's 1h lever bar
of 11:00 sits at the clamps, A = 0 and E = 1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from typer.testing import CliRunner

from market_regimes import analyze, cli
from tests.helpers import query

pytestmark = pytest.mark.integration

runner = CliRunner()
AT = "2022-06-13 12:00"
BAR = pd.Timestamp("2022-06-13 11:00")
WEEK = ("2025-05-26 00:00", "2025-06-02 00:00")  # ETHUSDT: a configured grid with notifications


def iso(value) -> str:
    return pd.Timestamp(value).isoformat() + "Z"


def run(sample_db: Path, *args: str):
    return runner.invoke(cli.app, ["analyze", *args, "--db", str(sample_db)])


def run_json(sample_db: Path, *args: str) -> dict:
    result = run(sample_db, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def validator():
    schema = analyze.load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def btc(sample_db) -> dict:
    return run_json(sample_db, "--symbol", "BTCUSDT", "--at", AT)


@pytest.fixture(scope="module")
def eth_week(sample_db) -> dict:
    return run_json(sample_db, "--symbol", "ETHUSDT", "--from", WEEK[0], "--to", WEEK[1])


# --------------------------------------------------------------------------- --at, the known bar


def test_the_answer_is_the_last_ended_bar(btc):
    assert btc["bar"] == {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "bar_interval": "1h",
        "bar_start": "2022-06-13T11:00:00Z",
        "bar_end": "2022-06-13T12:00:00Z",
        "segment_id": 1,
        "bars_missing": 0,
    }
    assert btc["requested_at"] == "2022-06-13T12:00:00Z"


def test_known_bar_verdict_by_hand(btc):
    v = btc["grid_verdict"]
    assert (v["verdict"], v["decided_by"], v["capacity_limited"]) == ("TRANSITION", "vol_change", False)
    assert v["vol_change_score"] == pytest.approx(99.2, abs=1e-9)
    assert v["confidence"] == pytest.approx((99.2 - 70) / 30, abs=1e-12)
    assert [c["verdict"] for c in v["competing_verdicts"]] == ["TREND", "RANGE_WEAK", "RANGE_OK"]
    # RANGE_WEAK's support is 100 - RQS, RANGE_OK's min(RQS, MeanRev), TREND's TrendScore
    support = {c["verdict"]: c["support"] for c in v["competing_verdicts"]}
    assert support["RANGE_WEAK"] == pytest.approx(100 - v["range_quality_score"], abs=1e-6)
    assert support["RANGE_OK"] == pytest.approx(min(v["range_quality_score"], v["mean_rev_score"]), abs=1e-6)
    assert support["TREND"] == pytest.approx(v["trend_score"], abs=1e-6)
    assert [f["feature"] for f in v["decision_factors"]] == ["bb_bandwidth_20", "d_bandwidth", "er_window"]
    assert btc["coarse_verdict"]["bar_start"] == "2022-06-13T08:00:00Z"
    assert btc["coarse_verdict"]["verdict"] == "TRANSITION"


def test_known_bar_verdict_equals_the_mart(sample_db, btc):
    row = query(
        sample_db,
        f"""
        select * from marts.fct_grid_regimes
        where symbol = 'BTCUSDT' and bar_interval = '1h' and bar_start = '{BAR}'""",
    ).iloc[0]
    v = btc["grid_verdict"]
    for col in (
        "verdict",
        "decided_by",
        "confidence",
        "trend_score",
        "mean_rev_score",
        "range_quality_score",
        "vol_change_score",
        "grid_capacity",
        "support",
        "resistance",
        "close",
    ):
        assert v[col] == row[col], col
    assert [(c["verdict"], c["support"]) for c in v["competing_verdicts"]] == [
        (c["verdict"], c["support"]) for c in row["competing_verdicts"]
    ]
    coarse = query(
        sample_db,
        f"""
        select verdict, confidence from marts.fct_grid_regimes
        where symbol = 'BTCUSDT' and bar_interval = '4h' and bar_start = '{row["coarse_bar_start"]}'""",
    ).iloc[0]
    assert (btc["coarse_verdict"]["verdict"], btc["coarse_verdict"]["confidence"]) == (
        coarse.verdict,
        coarse.confidence,
    )


def test_known_bar_ranges_equal_the_mart(sample_db, btc):
    row = query(
        sample_db,
        f"""
        select * from marts.fct_grid_ranges
        where symbol = 'BTCUSDT' and bar_interval = '1h' and bar_start = '{BAR}'""",
    ).iloc[0]
    r = btc["ranges"]
    assert [m["method"] for m in r["methods"]] == ["quantile", "donchian", "swing"]
    for m in r["methods"]:
        for part in ("support", "resistance", "support_fit", "resistance_fit"):
            assert m[part] == row[f"{m['method']}_{part}"], (m["method"], part)
    for col in ("method_agreement", "width_pct", "width_atr", "width_rw", "traversals", "containment_k"):
        assert r[col] == row[col], col
    # the primary range is the verdict's range
    assert (r["methods"][0]["support"], r["methods"][0]["resistance"]) == (
        btc["grid_verdict"]["support"],
        btc["grid_verdict"]["resistance"],
    )
    assert r["methods"][1]["support"] == 23500.0  # the donchian low of the window: the 2022-06-13 low


def test_known_bar_lifecycle(sample_db, btc):
    assert [g["grid_id"] for g in btc["lifecycle"]] == ["virtual|binance|BTCUSDT"]
    g = btc["lifecycle"][0]
    assert (g["state"], g["state_since"], g["stop_reason"]) == ("EXITED", "2022-06-10T16:00:00Z", "quick_stop")
    assert g["last_change"]["from_state"] == "PROBATION" and g["last_change"]["reason"] == "quick_stop"
    gates = query(
        sample_db,
        f"""
        select * from marts.fct_restart_gates where grid_id = 'virtual|binance|BTCUSDT' and bar_start = '{BAR}'""",
    )
    assert len(gates) == 1
    for col in (
        "gate_1_bars",
        "gate_2_bars",
        "gate_3_bars",
        "gates_passed",
        "bars_since_stop",
        "time_floor_bars",
        "post_stop_lower",
        "post_stop_upper",
        "restart_permitted",
    ):
        assert g["restart_gates"][col] == gates.iloc[0][col], col
    # the stop was 2022-06-10 16:00, 67 bars before 2022-06-13 11:00
    assert g["restart_gates"]["bars_since_stop"] == 67
    assert g["restart_gates"]["gate_3_required_bars"] == 12
    # no configured grid of BTCUSDT is in force in 2022 (the shipped ones start in 2025)
    assert btc["recommendations"] == []
    assert {c["valid_from"] for c in btc["configured_grids"]} == {"2025-05-15T00:00:00Z", "2025-06-10T00:00:00Z"}


def test_known_bar_context(sample_db, btc):
    ctx = btc["context"]
    assert (ctx["bucket"], ctx["bucket_has_levers"]) == ("major", False)
    states = {(u["driver"], u["timeframe"]): u for u in ctx["uptrend_states"]}
    assert set(states) == {(d, tf) for d in ("BTC", "ALT") for tf in ("micro", "meso", "macro")}
    assert states[("BTC", "micro")]["state"] is None  # no 5m data before 2025
    assert (states[("BTC", "meso")]["bar_start"], states[("BTC", "meso")]["state"]) == ("2022-06-13T11:00:00Z", "S0")
    assert states[("BTC", "meso")]["state_since"] == "2022-06-10T17:00:00Z"
    assert (states[("BTC", "macro")]["bar_start"], states[("BTC", "macro")]["state"]) == ("2022-06-12T00:00:00Z", "S0")
    assert states[("ALT", "meso")]["state"] == "S0" and states[("ALT", "macro")]["state"] == "S0"
    for (driver, tf), u in states.items():
        if u["bar_start"] is None:
            continue
        sql = query(
            sample_db,
            f"""
            select state, ts_score from marts.fct_uptrend_states
            where driver = '{driver}' and timeframe = '{tf}' and bar_start = '{u["bar_start"][:-1]}'""",
        ).iloc[0]
        assert (u["state"], u["ts_score"]) == (sql.state, sql.ts_score)
    # a major has no bucket of its own: every bucket's levers, each at its last ended lever bar
    levers = {(lv["bucket"], lv["execution_timeframe"]): lv for lv in ctx["levers"]}
    assert {b for b, _ in levers} == {"nano", "small", "mid", "big"}
    assert {tf for _, tf in levers} == {"1h", "4h", "1d"}  # no 5m / 15m lever bars before 2025
    for bucket in ("nano", "small", "mid", "big"):
        assert levers[(bucket, "1h")]["bar_start"] == "2022-06-13T11:00:00Z"
        assert (levers[(bucket, "1h")]["a_value"], levers[(bucket, "1h")]["e_value"]) == (0.0, 1.0)
        assert levers[(bucket, "4h")]["bar_start"] == "2022-06-13T08:00:00Z"
        assert levers[(bucket, "1d")]["bar_start"] == "2022-06-12T00:00:00Z"
    sql = query(
        sample_db,
        """
        select bucket, execution_timeframe, a_value, e_value, position_size_frac from marts.fct_levers
        where (execution_timeframe = '1h' and bar_start = timestamp '2022-06-13 11:00')
           or (execution_timeframe = '4h' and bar_start = timestamp '2022-06-13 08:00')
           or (execution_timeframe = '1d' and bar_start = timestamp '2022-06-12 00:00')""",
    )
    assert len(sql) == len(levers) == 12
    for row in sql.itertuples():
        lv = levers[(row.bucket, row.execution_timeframe)]
        assert (lv["a_value"], lv["e_value"], lv["position_size_frac"]) == (
            row.a_value,
            row.e_value,
            row.position_size_frac,
        )
    vol = {v["series_id"]: v for v in ctx["volatility"]}
    assert (vol["binance|BTCUSDT|1h"]["vol_regime"], vol["binance|BTCUSDT|1h"]["quadrant"]) == ("high", "CRISIS")
    assert vol["binance|BTCUSDT|1d"]["bar_start"] == "2022-06-12T00:00:00Z"
    hmm = query(
        sample_db,
        f"""
        select hmm_p_high_vol, hmm_p_low_vol * (1 - hmm_stay_prob_low) + hmm_p_high_vol * hmm_stay_prob_high as nxt
        from marts.fct_volatility_regimes where series_id = 'binance|BTCUSDT|1h' and bar_start = '{BAR}'""",
    ).iloc[0]
    assert vol["binance|BTCUSDT|1h"]["hmm_p_high_vol"] == hmm.hmm_p_high_vol
    assert vol["binance|BTCUSDT|1h"]["hmm_p_high_vol_next"] == pytest.approx(hmm.nxt, rel=1e-12)
    # the BTC trend x vol market starts on 2022-11-06: no reading yet
    assert [(m["market"], m["regime"]) for m in ctx["markets"]] == [("BTC", None)]


def test_a_symbol_with_a_bucket_and_a_configured_grid(sample_db, validator):
    data = run_json(sample_db, "--symbol", "DOTUSDT", "--at", "2023-06-20 12:00")
    assert validator.is_valid(data)
    assert (data["context"]["bucket"], data["context"]["bucket_has_levers"]) == ("big", True)
    assert {lv["bucket"] for lv in data["context"]["levers"]} == {"big"}
    assert {u["driver"] for u in data["context"]["uptrend_states"]} == {"BTC", "ALT", "big"}
    rec = query(
        sample_db,
        """
        select grid_id, rule, recommendation, overlap, exit_state from marts.fct_grid_recommendations
        where symbol = 'DOTUSDT' and bar_start = '2023-06-20 11:00'""",
    )
    assert [
        (r["grid_id"], r["rule"], r["recommendation"], r["overlap"], r["exit_state"]) for r in data["recommendations"]
    ] == list(rec.itertuples(index=False, name=None))
    assert data["recommendations"][0]["grid_id"] == "dot_spot_2022"
    assert data["recommendations"][0]["lower"] == 4.0  # the version of 2023-06-15: [4, 6.5]
    kinds = [g["grid_kind"] for g in data["lifecycle"]]
    assert kinds == ["virtual", "configured"]


def test_text_output_names_the_bar_and_every_section(sample_db):
    result = run(sample_db, "--symbol", "BTCUSDT", "--at", AT)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0].startswith("BTCUSDT on binance: 1h bar 2022-06-13 11:00 - 2022-06-13 12:00 UTC")
    assert "verdict      TRANSITION, decided by vol_change, confidence 0.973" in out
    for heading in (
        "Grid verdict",
        "Ranges",
        "Configured grids",
        "Grid lifecycle",
        "Uptrend states",
        "A/E levers",
        "Volatility regime (configured detector",
        "Trend x volatility",
    ):
        assert heading in out, heading


def test_at_json_validates_and_the_schema_rejects_a_wrong_document(btc, validator):
    assert list(validator.iter_errors(btc)) == []
    wrong = json.loads(json.dumps(btc))
    wrong["grid_verdict"]["verdict"] = "RANGING"
    assert not validator.is_valid(wrong)
    missing = json.loads(json.dumps(btc))
    del missing["context"]["levers"]
    assert not validator.is_valid(missing)
    extra = json.loads(json.dumps(btc))
    extra["bar"]["bar_close"] = extra["bar"]["bar_end"]
    assert not validator.is_valid(extra)


def test_time_forms_and_mid_bar_moments(sample_db, btc):
    for form in ("2022-06-13T12:00", "2022-06-13T12:00:00Z", "2022-06-13T14:00:00+02:00", "2022-06-13 12:59"):
        data = run_json(sample_db, "--symbol", "btcusdt", "--at", form)
        assert data["bar"]["bar_start"] == "2022-06-13T11:00:00Z", form
        assert data["grid_verdict"] == btc["grid_verdict"]


def test_an_outage_inside_a_segment_answers_with_the_bar_before_it(sample_db):
    """Binance has no BTCUSDT bars 02:00-05:00 on 2021-08-13 (the segment goes on)."""
    data = run_json(sample_db, "--symbol", "BTCUSDT", "--at", "2021-08-13 04:00")
    assert (data["bar"]["bar_start"], data["bar"]["bars_missing"]) == ("2021-08-13T01:00:00Z", 2)


def test_driver_at(sample_db, validator):
    data = run_json(sample_db, "--driver", "small", "--timeframe", "meso", "--at", "2023-03-10 12:00")
    assert validator.is_valid(data)
    assert data["bar"]["bar_start"] == "2023-03-10T11:00:00Z" and data["bar"]["bar_interval"] == "1h"
    row = query(
        sample_db,
        """
        select state, ts_score from marts.fct_uptrend_states
        where driver = 'small' and timeframe = 'meso' and bar_start = '2023-03-10 11:00'""",
    ).iloc[0]
    assert (data["uptrend"]["state"], data["uptrend"]["ts_score"]) == (row.state, row.ts_score)
    assert data["context"]["bucket_has_levers"] is True
    assert {lv["bucket"] for lv in data["context"]["levers"]} == {"small"}
    daily = run_json(sample_db, "--driver", "btc.d", "-t", "macro", "--at", "2024-06-01 00:00")
    assert validator.is_valid(daily)
    assert (daily["driver"], daily["bar"]["bar_start"]) == ("BTC.d", "2024-05-31T00:00:00Z")


# --------------------------------------------------------------------------- exit code 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--symbol", "NOPEUSDT", "--at", AT], "unknown symbol 'NOPEUSDT'"),
        (["--symbol", "BTCUSDT", "--at", "2021-04-04 20:30"], "is before the data of BTCUSDT"),
        (
            ["--symbol", "BTCUSDT", "--at", "2021-04-10 00:00"],
            "BTCUSDT has no grid verdict yet at 2021-04-10 00:00 UTC: the 1h bar 2021-04-09 23:00 is in the warm-up; "
            "its first verdict in this segment is at the bar 2021-04-22 10:00",
        ),
        (["--symbol", "FTTUSDT", "--at", "2023-10-01 00:00"], "FTTUSDT has no grid verdict yet"),
        (
            ["--symbol", "BTCUSDT", "--at", "2026-01-01"],
            "2026-01-01 00:00 UTC is after the data of BTCUSDT: its last 1h bar 2025-07-02 16:00 ended at 2025-07-02 17:00",
        ),
        (["--symbol", "BTCUSDT", "--at", "2024-06-01"], "falls in a gap between segments"),
        (["--symbol", "BTCUSDT", "--at", "13/06/2022"], "cannot read the time '13/06/2022'"),
        (["--driver", "DOGE", "--at", AT], "unknown driver 'DOGE'"),
        (["--driver", "BTC", "--timeframe", "hourly", "--at", AT], "unknown timeframe 'hourly'"),
        (["--driver", "BTC.d", "--timeframe", "meso", "--at", AT], "driver BTC.d has no meso Uptrend states"),
        (["--driver", "BTC", "--at", "2021-04-10 00:00"], "BTC meso has no Uptrend state yet"),
        (["--driver", "BTC", "--at", "2026-01-01"], "is after the data of BTC meso"),
        (["--symbol", "BTCUSDT", "--from", "2030-01-01", "--to", "2030-02-01"], "no 1h bar of BTCUSDT ended in"),
        (["--symbol", "BTCUSDT", "--from", "2021-04-05", "--to", "2021-04-12"], "all 168 bars are in the warm-up"),
        (
            ["--symbol", "BTCUSDT", "--from", "2022-06-13", "--to", "2022-06-12"],
            "--to (2022-06-12 00:00) must be after",
        ),
        (["--symbol", "BTCUSDT", "--driver", "BTC", "--at", AT], "exactly one of --symbol and --driver"),
        (["--symbol", "BTCUSDT", "--timeframe", "meso", "--at", AT], "--timeframe goes with --driver"),
        (["--symbol", "BTCUSDT"], "give either --at TIME, or both --from TIME and --to TIME"),
        (["--symbol", "BTCUSDT", "--at", AT, "--from", "2022-06-01"], "give either --at TIME"),
        (["--symbol", "BTCUSDT", "--at", AT, "--out", "x.csv"], "FILE.csv is for a --from/--to batch"),
    ],
)
def test_no_answer_exits_2_with_one_line(sample_db, args, message):
    result = run(sample_db, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert result.stdout == ""


# --------------------------------------------------------------------------- --from / --to


def test_batch_counts_equal_sql(sample_db, eth_week, validator):
    assert list(validator.iter_errors(eth_week)) == []
    bars = f"""
        from marts.fct_grid_regimes where symbol = 'ETHUSDT' and bar_interval = '1h'
        and bar_start >= '{WEEK[0]}' and bar_start + interval 1 hour <= '{WEEK[1]}'"""
    counts = query(sample_db, f"select verdict, count(*) as n {bars} group by verdict")
    v = eth_week["verdicts"]
    assert v["bars"] == 168 == int(counts.n.sum())
    got = {d["label"]: d["count"] for d in v["distribution"]}
    assert got == {**dict.fromkeys(analyze.VERDICTS, 0), **dict(zip(counts.verdict, counts.n))}
    assert sum(d["share"] for d in v["distribution"]) == pytest.approx(1.0)
    pairs = query(
        sample_db,
        f"""
        select prev, verdict, count(*) as n from (
            select verdict, lag(verdict) over (partition by exchange, segment_id order by bar_start) as prev {bars})
        where prev is not null and verdict is not null group by all""",
    )
    assert {(t["from"], t["to"]): t["count"] for t in v["transitions"]} == {
        (r.prev, r.verdict): r.n for r in pairs.itertuples()
    }
    assert v["changes"] == int(pairs[pairs.prev != pairs.verdict].n.sum())
    q = query(
        sample_db,
        f"""
        select count(confidence) as n, avg(confidence) as mean,
               quantile_cont(confidence, [0.1, 0.25, 0.5, 0.75, 0.9]) as qs,
               count(*) filter (where confidence >= 0.8) as top {bars} and verdict is not null""",
    ).iloc[0]
    conf = v["value"]
    assert conf["n"] == q.n and conf["mean"] == pytest.approx(q["mean"], rel=1e-12)
    assert [x["value"] for x in conf["quantiles"]] == pytest.approx(list(q.qs), rel=1e-12)
    assert conf["bins"][-1]["count"] == q.top
    assert sum(b["count"] for b in conf["bins"]) == conf["n"]


def test_batch_lifecycle_and_notifications_equal_sql(sample_db, eth_week):
    window = f"symbol = 'ETHUSDT' and bar_start >= '{WEEK[0]}' and bar_start < '{WEEK[1]}'"
    events = query(
        sample_db,
        f"select grid_id, bar_start, to_state, reason from marts.fct_exit_states where {window} "
        "order by bar_start, grid_id, change_seq",
    )
    assert [(e["grid_id"], e["bar_start"], e["to_state"], e["reason"]) for e in eth_week["lifecycle_events"]] == [
        (r.grid_id, iso(r.bar_start), r.to_state, r.reason) for r in events.itertuples()
    ]
    assert len(events) == 8  # hand-read from the sample: 2 of the virtual grid, 6 of eth_perp_range
    notes = query(
        sample_db, f"select state, is_sent, count(*) as n from marts.fct_exit_notifications where {window} group by all"
    )
    assert {(c["state"], c["is_sent"]): c["count"] for c in eth_week["notification_counts"]} == {
        (r.state, r.is_sent): r.n for r in notes.itertuples()
    }
    assert len(eth_week["notifications"]) == int(notes.n.sum()) == 104
    states = query(
        sample_db, f"select grid_id, state, count(*) as n from marts.fct_grid_lifecycle where {window} group by all"
    )
    assert {(s["grid_id"], s["state"]): s["bars"] for s in eth_week["lifecycle_states"]} == {
        (r.grid_id, r.state): r.n for r in states.itertuples()
    }
    recs = query(
        sample_db,
        f"select grid_id, recommendation, count(*) as n from marts.fct_grid_recommendations "
        f"where {window} group by all",
    )
    assert {(r["grid_id"], r["recommendation"]): r["bars"] for r in eth_week["recommendations"]} == {
        (r.grid_id, r.recommendation): r.n for r in recs.itertuples()
    }


def test_batch_across_a_segment_gap_counts_no_transition_over_it(sample_db):
    data = run_json(sample_db, "--symbol", "FTTUSDT", "--from", "2022-11-01", "--to", "2023-10-31")
    v = data["verdicts"]
    labelled = query(
        sample_db,
        """
        select segment_id, count(verdict) as n from marts.fct_grid_regimes where symbol = 'FTTUSDT'
        and bar_interval = '1h' and bar_start >= '2022-11-01' and bar_start + interval 1 hour <= '2023-10-31'
        group by all""",
    )
    # one transition per consecutive labelled pair inside each segment, none across the gap
    assert sum(t["count"] for t in v["transitions"]) == int((labelled.n - 1).clip(lower=0).sum())
    assert v["labelled_bars"] == int(labelled.n.sum()) < v["bars"]


def test_batch_csv_and_json_files(sample_db, tmp_path):
    path = tmp_path / "eth.csv"
    result = run(sample_db, "--symbol", "ETHUSDT", "--from", WEEK[0], "--to", WEEK[1], "--out", str(path))
    assert result.exit_code == 0, result.stderr
    assert f"168 per-bar rows written to {path}" in result.stderr
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(analyze.SYMBOL_BAR_COLUMNS)
    assert len(rows) == 168
    first = query(
        sample_db,
        f"""
        select verdict, confidence, support from marts.fct_grid_regimes
        where symbol = 'ETHUSDT' and bar_interval = '1h' and bar_start = '{WEEK[0]}'""",
    ).iloc[0]
    assert rows[0]["bar_start"] == "2025-05-26T00:00:00Z" and rows[0]["bar_end"] == "2025-05-26T01:00:00Z"
    assert (rows[0]["verdict"], float(rows[0]["confidence"]), float(rows[0]["support"])) == (
        first.verdict,
        first.confidence,
        first.support,
    )
    assert rows[0]["capacity_limited"] in ("true", "false")
    assert {r["virtual_grid_state"] for r in rows} == {"EXITED", "PROBATION"}
    out = tmp_path / "eth.json"
    result = run(sample_db, "--symbol", "ETHUSDT", "--from", WEEK[0], "--to", WEEK[1], "--out", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text())["verdicts"]["bars"] == 168


def test_driver_batch(sample_db, validator):
    data = run_json(sample_db, "--driver", "small", "--from", "2023-03-01", "--to", "2023-03-08")
    assert validator.is_valid(data)
    counts = query(
        sample_db,
        """
        select state, count(*) as n, count(*) filter (where trim_flag) as trims from marts.fct_uptrend_states
        where driver = 'small' and timeframe = 'meso' and bar_start >= '2023-03-01'
        and bar_start + interval 1 hour <= '2023-03-08' group by all""",
    )
    assert {d["label"]: d["count"] for d in data["states"]["distribution"] if d["count"]} == dict(
        zip(counts.state, counts.n)
    )
    assert data["flags"]["trim_flag"] == counts.trims.sum()
    assert sum(d["count"] for d in data["quadrants"]) == data["states"]["bars"] == 168
