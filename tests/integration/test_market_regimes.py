"""marts.fct_market_regimes and its fct_regime_events rows (docs/trend-vol-regimes.md, issue 6 item 1).

* On the bundled sample (fixture sample_db): BTC (daily close vs DVOL, thresholds 60/50)
  visits all four regimes between 2022-11 and 2025-11, every change is a regime event,
  and the mart equals an independent pandas replay of the documented rules.
* The add-a-market flow exactly as a user runs it: a copy of the project (without .venv,
  target, warehouse, sample), the sample's daily files plus two made-up files daily/FOO.csv
  and daily/FOOVOL.csv in a fresh landing directory, one row appended to the copy's
  seeds/trend_vol_markets.csv, then a plain `dbt build`.
* Bad seed rows in that copy: `dbt build -s trend_vol_markets fct_market_regimes` fails
  naming the market (or, for a missing file in the default warn mode, skips it with a
  warning naming it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import DBT, PROJECT, query, without_unit_tests

pytestmark = pytest.mark.integration

REGIMES = {"uptrend_low_vol", "uptrend_high_vol", "downtrend_low_vol", "downtrend_high_vol"}
# BTC's days per regime 2022-11 .. 2025-11 on the sample's daily files (closing note of issue 6)
BTC_DAYS_PER_REGIME = {
    "uptrend_low_vol": 461,
    "uptrend_high_vol": 391,
    "downtrend_low_vol": 134,
    "downtrend_high_vol": 113,
}
SEED_HEADER = "market,price_series,vol_series,ma_period,trend_hysteresis_pct,vol_high_threshold,vol_low_threshold"
# top-level entries of the repo a user's copy of the project does not need
NOT_COPIED = {
    ".venv",
    ".git",
    "target",
    "warehouse",
    "logs",
    "sample",
    ".hypothesis",
    ".pytest_cache",
    ".dagster",
    "benchmarks",
    "market_regimes.egg-info",
    "reports",
}


# --- the bundled sample -----------------------------------------------------------------


def test_btc_visits_all_four_regimes_on_the_sample(sample_db):
    counts = (
        query(
            sample_db,
            """
        select regime, count(*) as n_days from marts.fct_market_regimes
        where market = 'BTC' and bar_start >= '2022-11-01' and bar_start < '2025-12-01'
        group by regime""",
        )
        .set_index("regime")["n_days"]
        .to_dict()
    )
    print("BTC days per regime:", counts)
    assert counts == BTC_DAYS_PER_REGIME  # DVOL from 2022-11-06, BTC to 2025-11


def test_btc_regime_changes_are_regime_events(sample_db):
    events = query(
        sample_db,
        """
        select bar_start, from_state, to_state, reason from marts.fct_regime_events
        where detector = 'trend_vol' and entity = 'BTC' and timeframe = 'macro' order by bar_start""",
    )
    changes = query(
        sample_db,
        """
        select bar_start, prev_regime as from_state, regime as to_state from marts.fct_market_regimes
        where market = 'BTC' and regime <> prev_regime order by bar_start""",
    )
    pd.testing.assert_frame_equal(events[["bar_start", "from_state", "to_state"]], changes)
    assert len(events) >= 8 and set(events["to_state"]) == REGIMES
    assert set(events["reason"]) <= {
        "price_below_ma_band",
        "price_above_ma_band",
        "vol_above_high",
        "vol_below_low",
        "price_above_ma_band & vol_above_high",
        "price_above_ma_band & vol_below_low",
        "price_below_ma_band & vol_above_high",
        "price_below_ma_band & vol_below_low",
    }


def test_btc_equals_an_independent_replay(sample_db):
    """SMA-200 of BTC's final daily closes (pandas rolling), inner join with DVOL's final
    closes, the docs/trend-vol-regimes.md rules replayed in a plain loop with the seed row's values."""
    seed = query(sample_db, "select * from seeds.trend_vol_markets where market = 'BTC'").iloc[0]
    daily = query(
        sample_db,
        "select series, bar_start, close from staging.stg_landing__daily_series "
        "where series in ('BTC', 'DVOL') order by series, bar_start",
    )
    btc = daily[daily["series"] == "BTC"].iloc[:-1]  # the newest landed day is provisional
    dvol = daily[daily["series"] == "DVOL"].iloc[:-1]
    frame = pd.DataFrame(
        {
            "bar_start": btc["bar_start"],
            "price": btc["close"],
            "ma": btc["close"].rolling(int(seed["ma_period"])).mean(),
        }
    )
    frame = frame.merge(dvol.rename(columns={"close": "vol_value"})[["bar_start", "vol_value"]], on="bar_start")
    frame = frame.dropna().reset_index(drop=True)
    h, high, low = seed["trend_hysteresis_pct"], seed["vol_high_threshold"], seed["vol_low_threshold"]
    trend, vol, regimes = None, None, []
    for price, ma, v in zip(frame["price"], frame["ma"], frame["vol_value"]):
        trend = (
            "downtrend"
            if price < ma * (1 - h)
            else "uptrend"
            if price > ma * (1 + h)
            else trend or ("uptrend" if price >= ma else "downtrend")
        )
        vol = "high_vol" if v > high else "low_vol" if v < low else vol or "low_vol"
        regimes.append(f"{trend}_{vol}")
    mart = query(
        sample_db,
        "select bar_start, price, ma, vol_value, regime from marts.fct_market_regimes "
        "where market = 'BTC' order by bar_start",
    )
    assert mart["bar_start"].tolist() == frame["bar_start"].tolist()
    assert (mart["price"] == frame["price"]).all() and (mart["vol_value"] == frame["vol_value"]).all()
    assert ((mart["ma"] - frame["ma"]).abs() <= 1e-9 * frame["ma"]).all()
    assert mart["regime"].tolist() == regimes


# --- a user's copy of the project --------------------------------------------------------


def run_dbt(project: Path, db: Path, landing: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` in the copied project (its own profiles.yml, target and logs); a build
    without dbt's unit tests (code tests of the models, run once by the fixture build)."""
    if args[0] == "build":
        args = without_unit_tests(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(
        {
            "MARKET_REGIMES_DB": str(db),
            "MARKET_REGIMES_LANDING": str(landing),
            "DBT_PROFILES_DIR": str(project),
            "DO_NOT_TRACK": "1",
        }
    )
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(project),
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(project / "logs"),
        ],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
    )


FOO_CSV = """date,open,high,low,close,volume
2024-03-01,100,100,100,100,1
2024-03-02,100,100,100,100,1
2024-03-03,100,100,100,100,1
2024-03-04,100,100,90,90,1
2024-03-05,90,95,90,95,1
2024-03-06,95,110,95,110,1
2024-03-07,110,110,110,110,1
2024-03-08,110,110,110,110,1
2024-03-09,110,110,110,110,1
"""
# a VIX-like index for FOO; no reading on 2024-03-07 (the inner join drops that day)
FOOVOL_CSV = "date_utc,close\n2024-03-02,50\n2024-03-03,25\n2024-03-04,35\n2024-03-05,25\n2024-03-06,15\n2024-03-08,31\n2024-03-09,10\n"
FOO_ROW = "FOO,FOO,FOOVOL,3,0.02,30,20"  # SMA 3, h 2%, high 30, low 20


@pytest.fixture(scope="module")
def user_project(tmp_path_factory):
    """{"project", "landing", "db", "stdout"}: the project copy built with `dbt build` on the
    sample's daily files + FOO + FOOVOL (+ OLDVOL, 2010 readings used only by the
    never-overlapping test), with FOO_ROW appended to the copy's seed."""
    root = tmp_path_factory.mktemp("user")
    project = root / "project"
    shutil.copytree(
        PROJECT,
        project,
        ignore=lambda folder, names: (
            NOT_COPIED & set(names) if Path(folder) == PROJECT else {"__pycache__"} & set(names)
        ),
    )
    landing = root / "landing"
    shutil.copytree(PROJECT / "sample" / "landing" / "daily", landing / "daily")
    (landing / "daily" / "FOO.csv").write_text(FOO_CSV)
    (landing / "daily" / "FOOVOL.csv").write_text(FOOVOL_CSV)
    (landing / "daily" / "OLDVOL.csv").write_text("date,close\n2010-01-04,20\n2010-01-05,21\n")
    seed = project / "seeds" / "trend_vol_markets.csv"
    seed.write_text(seed.read_text().rstrip("\n") + "\n" + FOO_ROW + "\n")
    db = root / "warehouse" / "market_regimes.duckdb"
    db.parent.mkdir()
    proc = run_dbt(project, db, landing, "build")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    yield {"project": project, "landing": landing, "db": db, "stdout": proc.stdout}
    shutil.rmtree(root, ignore_errors=True)  # free the disk for the next module


def test_add_a_market_end_to_end(user_project):
    rows = query(user_project["db"], "select * from marts.fct_market_regimes where market = 'FOO' order by bar_start")
    # by hand: SMA 3 from 03-03; 03-07 has no FOOVOL reading; 03-09 is FOO's provisional newest day
    assert rows["bar_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-03",
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-08",
    ]
    assert rows["ma"].round(6).tolist() == [100.0, 96.666667, 95.0, 98.333333, 110.0]
    assert rows["vol_value"].tolist() == [25.0, 35.0, 25.0, 15.0, 31.0]
    assert rows["regime"].tolist() == [
        "uptrend_low_vol",  # first day: price == MA => uptrend; 25 inside 20-30 => low_vol
        "downtrend_high_vol",  # 90 < 96.67 x 0.98; 35 > 30
        "downtrend_high_vol",  # 95 inside 95 x (1 -+ 2%); 25 inside the band: both kept
        "uptrend_low_vol",  # 110 > 98.33 x 1.02; 15 < 20
        "uptrend_high_vol",  # 110 == MA: kept; 31 > 30
    ]
    assert rows["prev_regime"].isna().tolist() == [True, False, False, False, False]
    events = query(
        user_project["db"],
        "select bar_start, from_state, to_state, reason from marts.fct_regime_events "
        "where detector = 'trend_vol' and entity = 'FOO' order by bar_start",
    )
    assert events.assign(bar_start=events["bar_start"].dt.strftime("%m-%d")).values.tolist() == [
        ["03-04", "uptrend_low_vol", "downtrend_high_vol", "price_below_ma_band & vol_above_high"],
        ["03-06", "downtrend_high_vol", "uptrend_low_vol", "price_above_ma_band & vol_below_low"],
        ["03-08", "uptrend_low_vol", "uptrend_high_vol", "vol_above_high"],
    ]
    # the shipped market is untouched by the new one (the same days per regime as the sample build)
    btc = query(
        user_project["db"],
        "select regime, count(*) as n from marts.fct_market_regimes where market = 'BTC' "
        "and bar_start >= '2022-11-01' and bar_start < '2025-12-01' group by regime",
    )
    assert dict(zip(btc["regime"], btc["n"])) == BTC_DAYS_PER_REGIME


@pytest.fixture
def bad_seed(user_project):
    """Run `dbt build -s trend_vol_markets fct_market_regimes` in the copied project with the
    shipped BTC row plus the given row(s) (lines), each time on a fresh copy of the user build at the
    user build's own path (same profile: dbt reuses its partial parse). Restores the
    copy's seed and the user build afterwards."""
    seed = user_project["project"] / "seeds" / "trend_vol_markets.csv"
    original = seed.read_text()
    db = user_project["db"]
    backup = db.parent.parent / "user_build.duckdb.bak"
    if not backup.exists():
        shutil.copy(db, backup)

    def run(row: str, *extra: str) -> subprocess.CompletedProcess:
        shutil.copy(backup, db)
        seed.write_text(f"{SEED_HEADER}\nBTC,BTC,DVOL,200,0.02,60,50\n{row}\n")
        return run_dbt(
            user_project["project"],
            db,
            user_project["landing"],
            "build",
            "-s",
            "trend_vol_markets",
            "fct_market_regimes",
            *extra,
        )

    yield run
    seed.write_text(original)
    shutil.copy(backup, db)


def test_a_missing_file_in_the_default_mode_skips_the_market_with_a_warning(bad_seed):
    proc = bad_seed("NO_PRICE,BAR,FOOVOL,3,0.02,30,20")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "market 'NO_PRICE' skipped, no landed rows for daily series ['BAR']" in proc.stdout + proc.stderr
    assert "WARN 1 warn_trend_vol_markets_without_regimes" in proc.stdout


@pytest.mark.parametrize(
    "rows, extra, messages",
    [
        # rejected when the seed is read: both rows named in one error
        (
            ["BAD_BANDS,FOO,FOOVOL,3,0.02,20,30", "EQUAL_BANDS,FOO,FOOVOL,3,0.02,25,25"],
            (),
            [
                "market 'BAD_BANDS': vol_low_threshold (30) must be below vol_high_threshold (20)",
                "market 'EQUAL_BANDS': vol_low_threshold (25) must be below vol_high_threshold (25)",
            ],
        ),
        # rejected against the landed series (strict mode; a --vars change makes dbt re-parse,
        # so it runs last): both markets named in one error
        (
            ["NO_OVERLAP,FOO,OLDVOL,3,0.02,30,20", "NO_FILE,FOO,FOOVIX,3,0.02,30,20"],
            ("--vars", "{trend_vol_missing_series: error}"),
            [
                "market 'NO_OVERLAP': price_series 'FOO' (2024-03-01..2024-03-09) and vol_series 'OLDVOL' "
                "(2010-01-04..2010-01-05) never share a day",
                "market 'NO_FILE': vol_series 'FOOVIX' has no landed rows",
            ],
        ),
    ],
)
def test_bad_seed_rows_fail_the_build_naming_every_market(bad_seed, rows, extra, messages):
    proc = bad_seed("\n".join(rows), *extra)
    assert proc.returncode != 0
    assert "ERROR creating python table model marts.fct_market_regimes" in proc.stdout
    assert f"TrendVolConfigError: seed trend_vol_markets, {messages[0]}" in proc.stdout, proc.stdout[-4000:]
    for message in messages[1:]:
        assert f"; seed trend_vol_markets, {message}" in proc.stdout, proc.stdout[-4000:]


GRID_HEADER = "grid_id,symbol,exchange,lower,upper,levels,allocation_frac,enabled,valid_from"


# one bad row per failure kind (g5 and g6 share BTCUSDT's valid_from with each other: the
# rows above them fail an earlier check first, as each row reports its first problem)
BAD_GRID_ROWS = {
    "g1,BTCUSDT,binance,110,100,10,0.5,true,2024-01-01 00:00:00": (
        "row grid_id=g1, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: lower (110.0) must be below upper (100.0)"
    ),
    "g2,BTCUSDT,binance,100,110,1,0.5,true,2024-01-01 00:00:00": (
        "row grid_id=g2, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: levels (1) must be at least 2"
    ),
    "g3,BTCUSDT,binance,100,110,10,1.5,true,2024-01-01 00:00:00": (
        "row grid_id=g3, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: allocation_frac (1.5) must be in (0, 1]"
    ),
    "g4,BTCUSDT,binance,100,110,10,0,true,2024-01-01 00:00:00": (
        "row grid_id=g4, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: allocation_frac (0.0) must be in (0, 1]"
    ),
    "g5,BTCUSDT,binance,100,110,10,0.5,true,2024-01-01 00:00:00": (
        "row grid_id=g5, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: "
        "duplicate (symbol, valid_from): another row of BTCUSDT starts at the same time"
    ),
    "g6,BTCUSDT,binance,90,120,10,0.5,true,2024-01-01 00:00:00": (
        "row grid_id=g6, symbol=BTCUSDT, valid_from=2024-01-01 00:00:00: "
        "duplicate (symbol, valid_from): another row of BTCUSDT starts at the same time"
    ),
    "g7,NOPEUSDT,binance,100,110,10,0.5,true,2024-01-01 00:00:00": (
        "row grid_id=g7, symbol=NOPEUSDT, valid_from=2024-01-01 00:00:00: "
        "unknown symbol: no binance NOPEUSDT series at 1h or 4h"
    ),
}


def test_bad_grid_configs_fail_the_build_naming_every_row(user_project):
    """Seed grid_configs with one bad row per failure kind (docs/grid-regimes.md): the build
    stops in int_grid_configs_validated with one message naming every bad row and its
    reason, in (grid_id, symbol, valid_from) order, each row with its first problem. The
    user landing has no hourly series, so every symbol is unknown there: only g7 reaches the
    strict mode's unknown-symbol check, the others fail before it."""
    seed = user_project["project"] / "seeds" / "grid_configs.csv"
    original = seed.read_text()
    seed.write_text(GRID_HEADER + "\n" + "\n".join(BAD_GRID_ROWS) + "\n")
    os.environ["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"] = "error"
    try:
        proc = run_dbt(
            user_project["project"],
            user_project["db"],
            user_project["landing"],
            "build",
            "-s",
            "grid_configs",
            "int_grid_configs_validated",
        )
    finally:
        os.environ["MARKET_REGIMES_GRID_UNKNOWN_SYMBOL"] = "warn"
        seed.write_text(original)
    assert proc.returncode != 0
    assert "ERROR creating sql table model intermediate.int_grid_configs_validated" in proc.stdout, proc.stdout[-4000:]
    expected = "seeds/grid_configs.csv: 7 bad row(s): " + "; ".join(BAD_GRID_ROWS.values())
    assert expected in proc.stdout.replace("\n", " "), proc.stdout[-4000:]
