"""The uptrend states and the lever chain continue from stored state (docs/uptrend-engine.md and
docs/levers.md, "Incremental runs").

On the session's updated copy of the sample build (conftest.sample_updated, no new full
build): the exchange's next day is landed (market_regimes.landing.synthetic.write_next_candles)
and `+fct_levers` runs incrementally (fct_uptrend_states continues each segment from the
engine state on its last row; the deltas, contributions and levers add the bars after their
last stored ones). A copy of that warehouse rebuilds the four models from scratch
(--full-refresh) on the same inputs; both must hold exactly the same rows (floats bit for
bit, NaN = NaN, the engine state JSON included).
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.helpers import dbt, query

MODELS = ["fct_uptrend_states", "fct_regime_deltas", "fct_lever_contributions", "fct_levers"]


@pytest.fixture(scope="module")
def updated(sample_updated, tmp_path_factory):
    """The session's updated sample (conftest.sample_updated: the next day landed, `+fct_levers`
    run incrementally) as "inc", and "full": a copy of it with the four models rebuilt from
    scratch (--full-refresh) on the same inputs; "before"/"after": row counts, "marks": the
    marked old values after the update."""
    work = tmp_path_factory.mktemp("levers_incremental")
    inc = sample_updated["db"]
    full = work / "full" / inc.name  # the same file stem: dbt-duckdb views name their catalog by it
    full.parent.mkdir()
    shutil.copy(inc, full)
    dbt("run", full, sample_updated["landing"], work, extra=["--full-refresh", "--select", *MODELS])
    yield {"inc": inc, "full": full, "landing": sample_updated["landing"]} | {
        k: sample_updated[k] for k in ("before", "after", "marks")
    }
    shutil.rmtree(work, ignore_errors=True)  # a 1.7 GB copy: free the disk for the next module


def test_the_update_adds_rows_without_rebuilding_stored_ones(updated):
    assert all(updated["after"][m] > updated["before"][m] for m in MODELS), (updated["before"], updated["after"])
    assert updated["marks"] == {"fct_uptrend_states": -1, "fct_levers": -1}, "the incremental run rewrote a stored row"


@pytest.mark.parametrize("model", MODELS)
def test_the_incremental_run_equals_a_rebuild(updated, model):
    con = duckdb.connect()
    try:
        con.execute(f"attach '{updated['inc']}' as inc (read_only)")
        con.execute(f"attach '{updated['full']}' as full_build (read_only)")
        cols = ", ".join(
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'full_build' "
                "and table_schema = 'marts' and table_name = ? order by ordinal_position",
                [model],
            ).fetchall()
        )
        only = [
            con.execute(
                f"select count(*) from (select {cols} from {a}.marts.{model} except all "
                f"select {cols} from {b}.marts.{model})"
            ).fetchone()[0]
            for a, b in (("inc", "full_build"), ("full_build", "inc"))
        ]
        n = con.execute(f"select count(*) from inc.marts.{model}").fetchone()[0]
    finally:
        con.close()
    assert n > 100_000 or (model == "fct_levers" and n > 10_000)
    assert only == [0, 0], f"{model}: {only[0]} rows only in the incremental build, {only[1]} only in the rebuild"


def test_an_intent_added_and_removed_later_reaches_the_stored_rows(updated, tmp_path):
    """Source trading.position_intents (raw.position_intents, docs/levers.md "Intents"): an
    intent written after the build for an old and for the newest lever row is applied by the
    next incremental run (only those two rows change: summed, capped at intent_cap 0.4);
    once the intents are deleted, the next run restores every row bit for bit."""
    work = tmp_path / "levers_intents"
    work.mkdir()
    db = work / "db" / updated["inc"].name
    db.parent.mkdir()
    shutil.copy(updated["inc"], db)
    con = duckdb.connect(str(db))
    con.execute("create table main.levers_before as select * from marts.fct_levers")
    newest = con.execute(
        "select max(bar_start) from marts.fct_levers where bucket = 'small' and execution_timeframe = '1h'"
    ).fetchone()[0]
    old = "2022-01-03 00:00:00"
    con.execute(
        "insert into raw.position_intents values (?, 'small', '1h', 0.3, -0.05), (?, 'small', '1h', 0.3, -0.05), "
        "(?, 'mid', '4h', -0.1, 0.25)",
        [newest, newest, old],
    )
    con.close()
    changed = """
        select n.bucket, n.execution_timeframe, n.intent_a, n.intent_e, n.a_unclamped - b.a_unclamped as d_a,
               n.e_unclamped - b.e_unclamped as d_e
        from marts.fct_levers n join main.levers_before b using (bar_start, execution_timeframe, bucket)
        where n is distinct from b order by n.bucket"""
    dbt("run", db, updated["landing"], work, extra=["--select", "fct_levers"])
    rows = query(db, changed)
    assert rows["bucket"].tolist() == ["mid", "small"], rows
    assert rows["intent_a"].tolist() == [-0.1, 0.4] and rows["intent_e"].tolist() == [0.25, -0.1]
    assert rows["d_a"].tolist() == pytest.approx([-0.1, 0.4], abs=1e-12)
    assert rows["d_e"].tolist() == pytest.approx([0.25, -0.1], abs=1e-12)
    duckdb.connect(str(db)).execute("delete from raw.position_intents").close()
    dbt("run", db, updated["landing"], work, extra=["--select", "fct_levers"])
    diff = "select count(*) as n from (select * from {} except all select * from {})"
    assert query(db, diff.format("marts.fct_levers", "main.levers_before"))["n"][0] == 0
    assert query(db, diff.format("main.levers_before", "marts.fct_levers"))["n"][0] == 0
