"""The ``market-regimes`` console script on the bundled sample build (session fixture
``sample_db``): ``now --json`` against direct SQL of the same marts, ``export`` read back
with pandas, ``summary``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_regimes import cli
from tests.helpers import query

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "market-regimes"
runner = CliRunner()


def iso(value) -> str:
    """A naive-UTC timestamp as ``now --json`` writes it."""
    return pd.Timestamp(value).isoformat() + "Z"


@pytest.fixture(scope="module")
def now_json(sample_db):
    result = runner.invoke(cli.app, ["now", "--json", "--db", str(sample_db)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_now_uptrend_states_equal_the_last_rows(sample_db, now_json):
    last = query(
        sample_db,
        """
        select driver, timeframe, bar_start, state from marts.fct_uptrend_states
        qualify row_number() over (partition by driver, timeframe order by bar_start desc) = 1""",
    )
    got = {(r["driver"], r["timeframe"]): r for r in now_json["uptrend_states"]}
    assert len(got) == len(last) > 0
    for row in last.itertuples():
        assert got[(row.driver, row.timeframe)]["state"] == row.state
        assert got[(row.driver, row.timeframe)]["bar_start"] == iso(row.bar_start)
    btc = query(
        sample_db,
        "select state, bar_start from marts.fct_uptrend_states where driver = 'BTC' "
        "and timeframe = 'meso' order by bar_start desc limit 1",
    ).iloc[0]
    assert got[("BTC", "meso")]["state"] == btc.state


def test_now_state_since_is_the_start_of_the_current_run(sample_db, now_json):
    """state_since / bars_in_state recomputed by walking BTC meso's bars back in pandas."""
    bars = query(
        sample_db,
        "select bar_start, state, prev_state from marts.fct_uptrend_states "
        "where driver = 'BTC' and timeframe = 'meso' order by bar_start desc",
    )
    current = bars.state.iloc[0]
    n = 0
    for row in bars.itertuples():
        if row.state != current:
            break
        n += 1
        if pd.isna(row.prev_state):  # the engine restarted here (a segment's first bar)
            break
    got = next(r for r in now_json["uptrend_states"] if (r["driver"], r["timeframe"]) == ("BTC", "meso"))
    assert got["bars_in_state"] == n
    assert got["state_since"] == iso(bars.bar_start.iloc[n - 1])


def test_now_levers_equal_the_latest_lever_bars(sample_db, now_json):
    latest = query(
        sample_db,
        """
        select bucket, execution_timeframe, bar_start, a_value, e_value, position_size_frac from marts.fct_levers
        qualify bar_start = max(bar_start) over (partition by bucket, execution_timeframe)""",
    )
    got = {(r["bucket"], r["execution_timeframe"]): r for r in now_json["levers"]}
    assert len(got) == len(latest) > 0
    for row in latest.itertuples():
        record = got[(row.bucket, row.execution_timeframe)]
        assert record["bar_start"] == iso(row.bar_start)
        assert (record["a_value"], record["e_value"], record["position_size_frac"]) == (
            row.a_value,
            row.e_value,
            row.position_size_frac,
        )


def test_now_market_and_volatility_regimes(sample_db, now_json):
    markets = query(
        sample_db,
        "select market, bar_start, regime from marts.fct_market_regimes "
        "qualify bar_start = max(bar_start) over (partition by market)",
    )
    assert {(r["market"], r["bar_start"], r["regime"]) for r in now_json["market_regimes"]} == {
        (m.market, iso(m.bar_start), m.regime) for m in markets.itertuples()
    }
    vol = query(
        sample_db,
        "select series_id, bar_start, vol_regime, quadrant, hmm_p_high_vol "
        "from marts.fct_volatility_regimes "
        "qualify bar_start = max(bar_start) over (partition by series_id)",
    )
    got = {r["series_id"]: r for r in now_json["volatility_regimes"]}
    assert set(got) == set(vol.series_id) and "BTC|macro" in got
    for row in vol.itertuples():
        record = got[row.series_id]
        assert record["bar_start"] == iso(row.bar_start)
        assert record["vol_regime"] == (None if pd.isna(row.vol_regime) else row.vol_regime)
        assert record["quadrant"] == (None if pd.isna(row.quadrant) else row.quadrant)


def test_now_text_names_every_source(sample_db):
    result = runner.invoke(cli.app, ["now", "--db", str(sample_db)])
    assert result.exit_code == 0, result.output
    for mart in ("fct_uptrend_states", "fct_levers", "fct_market_regimes", "fct_volatility_regimes"):
        assert f"(marts.{mart}, as of bar " in result.stdout


def test_export_levers_parquet_via_the_installed_script(sample_db, tmp_path):
    out = tmp_path / "fct_levers.parquet"
    proc = subprocess.run(
        [str(SCRIPT), "export", "fct_levers", "--format", "parquet", "--output", str(out), "--db", str(sample_db)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    table = query(sample_db, "select * from marts.fct_levers")
    assert f"{len(table)} rows written to {out}" in proc.stdout
    back = pd.read_parquet(out)
    keys = ["bar_start", "execution_timeframe", "bucket"]
    pd.testing.assert_frame_equal(
        back.sort_values(keys).reset_index(drop=True), table.sort_values(keys).reset_index(drop=True), check_dtype=False
    )


def test_export_query_csv(sample_db, tmp_path):
    out = tmp_path / "states.csv"
    sql = (
        "select driver, timeframe, count(*) as bars from marts.fct_uptrend_states "
        "group by all order by driver, timeframe"
    )
    result = runner.invoke(cli.app, ["export", sql, "-o", str(out), "--db", str(sample_db)])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_csv(out), query(sample_db, sql), check_dtype=False)


def test_summary(sample_db):
    result = runner.invoke(cli.app, ["summary", str(sample_db)])
    assert result.exit_code == 0, result.output
    assert "Regime drivers (marts.fct_driver_bars)" in result.stdout
