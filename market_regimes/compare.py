"""Compare two warehouse builds table by table (determinism, docs/architecture.md).

``python -m market_regimes.compare LEFT.duckdb RIGHT.duckdb [--schemas marts reports]``

Every base table of the given schemas is compared: the same row count, and rows equal as
multisets (``EXCEPT ALL`` both ways). Where rows differ only in DOUBLE columns, the rows
are matched on every other column and each DOUBLE column must agree within
:func:`float_tolerances` relative (determinism, docs/architecture.md: 1e-12, with the documented
exceptions). Prints one line per table; exit status 0 only if every table agrees.

Both files are opened read-only (attached as catalogs ``l`` and ``r``), so a build can
be compared while BI readers are open.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Determinism (docs/architecture.md): floats equal to 1e-12 relative. For values near zero (slopes, EMA
# separations) "relative" is taken against the column's mean magnitude: a difference of
# EMAs that nearly cross has no relative precision of its own.
# ou_half_life_100 = -ln 2 / beta roughly, beta an OLS slope of price changes on prices
# ~6e4: its covariance cancels to ~1e-10 relative, and DuckDB's window aggregate rounds it
# differently when a partition starts or ends elsewhere (a prefix build, an incremental
# run's look-back). Measured <= 1.5e-10. OLS slopes (ema_*_slope, *_slope_10,
# normalized_slope_20) and their differences come from the same window aggregate and
# cancel less: 1e-10 (measured <= 5.6e-12). EMA separations (sep_*, d_sep_*_5) are
# differences of EMAs, each exact to ~1e-15 of the price: on 1m/5m bars they are ~1e-4,
# so an incremental run's carried EMA shows as 1e-12 of them (measured 2.3e-12): 1e-10.
# Half-lives are compared as their reciprocals (compared_value): ou_half_life_100 is -ln 2 over
# an OLS slope, so where the slope nears zero (a series without mean reversion) the
# half-life runs to millions of bars and amplifies the slope's last-bit differences by the
# same factor (measured: 1.9e-9 relative at a half-life of 2.3 million bars, b = 1 - 3e-7,
# between the Spark and DuckDB builds of a 77,130-candle landing; the slope differs there by
# one unit in the last place). The reciprocal is the quantity computed; compared to
# max(|value|, the column's mean magnitude) like the slopes, its precision no longer
# depends on how close the slope is to zero (the same builds: worst 8.8e-13 over 156,420
# finite values). Its tolerance stays the half-life's 1e-9.
RECIPROCAL_COLUMNS = frozenset({"ou_half_life_100"})


def compared_value(column: str, alias: str) -> str:
    """SQL of the value compared for DOUBLE ``column`` of table alias ``alias``: the
    reciprocal for :data:`RECIPROCAL_COLUMNS` (an infinite half-life compares as 0), else the
    column itself."""
    value = f"{alias}.{column}" if alias else column
    return f"(1.0 / {value})" if column in RECIPROCAL_COLUMNS else value


# Columns read from fct_grid_lifecycle_bars' inputs rounded to 10 significant digits
# (macro significant_digits), per table: inputs that agree to 1e-12 (two full builds' Wilder
# recursions differ in the last bits, measured <= 1.5e-15 relative) can round to neighbouring
# 10th digits on a rounding tie (measured: 1 row of 984,973, atr_14 0.82581357065 +- 3 ulps
# rounded to ...706 / ...707): one unit of the 10th digit, at most 1e-9 relative.
ROUNDED_10_DIGIT_COLUMNS = {"reports.rpt_grid_lifecycle_inputs": frozenset({"atr_14"})}


def float_tolerances(columns: list[str], table: str | None = None) -> dict[str, float]:
    """Relative tolerance per float column (1e-12 unless documented above) of ``table``
    (schema.name; None: the column rules only)."""
    tol = {c: 1e-12 for c in columns}
    tol.update({c: 1e-10 for c in columns if "slope" in c or "sep" in c})
    if "ou_half_life_100" in tol:
        tol["ou_half_life_100"] = 1e-9
    # Uptrend Engine scores are sigmoids of OLS slopes (1e-10, above) times scales up to
    # 1000 (seed uptrend_config): they inherit the slopes' 1e-10.
    tol.update({c: 1e-9 for c in ("ts_score", "sr_boost", "ox", "dx", "edx") if c in tol})
    # The grid lifecycle's half-life baseline is a median of OU half-lives rounded to 10
    # significant digits (fct_grid_lifecycle_bars): a 1e-12 difference can round to
    # the neighbouring 10th digit (measured 3.2e-10 between an as_of and a full build): 1e-9.
    if "half_life_baseline" in tol:
        tol["half_life_baseline"] = 1e-9
    # ROC AUCs (rpt_grid_verdict_calibration) are rank statistics: two scores 1e-15 apart in
    # one build may tie or swap in another (their inputs agree to 1e-12), which moves the AUC
    # by 1 / (n_pos x n_neg) or half of it (measured 1.3e-9 after 14 incremental updates): 1e-8.
    tol.update({c: 1e-8 for c in tol if c.startswith("auc")})
    tol.update({c: 1e-9 for c in ROUNDED_10_DIGIT_COLUMNS.get(table or "", ()) if c in tol})
    return tol


@dataclass
class TableDiff:
    """How one table differs between the builds: row counts, rows present on one side
    only (as multisets), and the worst relative difference per DOUBLE column among rows
    matched on all other columns (``unmatched`` counts rows that still differ after that)."""

    table: str
    left_rows: int
    right_rows: int
    only_left: int = 0
    only_right: int = 0
    unmatched: int = 0
    worst: dict[str, float] = field(default_factory=dict)
    over_tolerance: list[str] = field(default_factory=list)
    # rows whose rounded JSON numbers differ by a flipped rounding tie only (the Spark
    # parity's documented exception, market_regimes.spark_parity.TIE_FLIP_JSON); equal otherwise
    tie_flips: int = 0

    @property
    def equal(self) -> bool:
        return self.left_rows == self.right_rows and self.unmatched == 0 and not self.over_tolerance

    def __str__(self) -> str:
        verdict = "equal" if self.equal else "DIFFERENT"
        text = f"{self.table}: {verdict}, {self.left_rows} vs {self.right_rows} rows"
        if self.only_left or self.only_right:
            text += (
                f"; {self.only_left} / {self.only_right} rows not bit-identical, "
                f"{self.unmatched} unmatched on the non-DOUBLE columns"
            )
            if self.worst:
                column, value = max(self.worst.items(), key=lambda kv: kv[1])
                text += f"; worst {column} {value:.1e}"
            if self.over_tolerance:
                text += f"; over tolerance: {', '.join(self.over_tolerance)}"
        return text


# Not compared: loaded_at is landing metadata (when a row landed: an incrementally updated
# warehouse landed its rows in several batches, a full build of the same folder in one);
# engine_state is an engine's carried state serialised as text (fct_grid_lifecycle,
# fct_uptrend_states): its floats are running sums of inputs that themselves agree only to
# the tolerances above, so the text differs in the last digits while every column the
# engine produces from it is compared.
METADATA_COLUMNS = ("loaded_at", "engine_state")


def compare_table(con: duckdb.DuckDBPyConnection, table: str) -> TableDiff:
    """Compare ``table`` (``schema.name``) between the attached catalogs ``l`` and ``r``
    (every column but :data:`METADATA_COLUMNS`)."""

    def without_metadata(relation: str) -> str:
        names = {name for name, *_ in con.sql(f"describe {relation}").fetchall()}
        dropped = [c for c in METADATA_COLUMNS if c in names]
        return f"(select * exclude ({', '.join(dropped)}) from {relation})" if dropped else relation

    left, right = without_metadata(f"l.{table}"), without_metadata(f"r.{table}")
    nl = con.sql(f"select count(*) from {left}").fetchone()[0]
    nr = con.sql(f"select count(*) from {right}").fetchone()[0]
    diff = TableDiff(table, nl, nr)
    diff.only_left = con.sql(f"select count(*) from (from {left} except all from {right})").fetchone()[0]
    diff.only_right = con.sql(f"select count(*) from (from {right} except all from {left})").fetchone()[0]
    if not (diff.only_left or diff.only_right):
        return diff
    described = con.sql(f"describe select * from {left}").fetchall()
    floats = [name for name, ctype, *_ in described if ctype == "DOUBLE"]
    keys = [name for name, ctype, *_ in described if ctype != "DOUBLE"]
    if not floats or not keys:
        diff.unmatched = diff.only_left + diff.only_right
        return diff
    tol = float_tolerances(floats, table)
    on = " and ".join(f"a.{k} is not distinct from b.{k}" for k in keys)
    # relative to max(|value|, the column's mean magnitude), as in the determinism tests
    values = {x: compared_value(x, "") for x in floats}
    scales = con.sql(
        "select "
        + ", ".join(f"coalesce(avg(abs({v})) filter (where isfinite({v})), 0)" for v in values.values())
        + f" from {left}"
    ).fetchone()
    rel = {}
    for x, scale in zip(floats, scales):
        a, b = compared_value(x, "a"), compared_value(x, "b")
        rel[x] = f"abs({a} - {b}) / greatest(abs({a}), abs({b}), {scale!r}, 1e-300)"
    base = f"with a as (from {left} except all from {right}), b as (from {right} except all from {left}) "
    # matched pairs: rows equal on every non-DOUBLE column (a key must match once)
    stats = ", ".join(
        f"coalesce(max({rel[x]}), 0), count(*) filter (where (a.{x} is null) != (b.{x} is null))" for x in floats
    )
    matched, *row = con.sql(base + f"select count(*), {stats} from a join b on {on}").fetchone()
    if matched > min(diff.only_left, diff.only_right):  # the other columns are no key
        diff.unmatched = diff.only_left + diff.only_right
        return diff
    diff.unmatched = diff.only_left + diff.only_right - 2 * matched
    for i, x in enumerate(floats):
        worst, null_mismatch = row[2 * i], row[2 * i + 1]
        diff.worst[x] = float(worst)
        if worst > tol[x] or null_mismatch:
            diff.over_tolerance.append(x)
    return diff


def compare_warehouses(left: Path, right: Path, schemas: list[str]) -> list[TableDiff]:
    """Compare every base table of ``schemas`` present in either file.

    A relation that is a base table on one side and a view on the other (a model whose rows
    moved to another table, its old name kept as a view of it) is compared by content;
    relations that are views on both sides are not compared (their tables are). Raises
    FileNotFoundError for a missing file; a table present on one side only is a TableDiff
    with -1 rows on the missing side.
    """
    for path in (left, right):
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such warehouse file")
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        listed = ", ".join(f"'{s}'" for s in schemas)
        kinds: dict[str, dict[str, str]] = {}
        for catalog in ("l", "r"):
            for schema, name, kind in con.sql(
                f"select table_schema, table_name, table_type from information_schema.tables where table_catalog = "
                f"'{catalog}' and table_schema in ({listed})"
            ).fetchall():
                kinds.setdefault(f"{schema}.{name}", {})[catalog] = kind
        # sides holding the relation, for every relation that is a base table on some side
        tables = {t: set(k) for t, k in kinds.items() if "BASE TABLE" in k.values()}
        out = []
        for table in sorted(tables):
            if tables[table] != {"l", "r"}:
                out.append(TableDiff(table, 0 if "l" in tables[table] else -1, 0 if "r" in tables[table] else -1))
                continue
            out.append(compare_table(con, table))
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("left", type=Path)
    parser.add_argument("right", type=Path)
    parser.add_argument("--schemas", nargs="+", default=["marts", "reports"])
    args = parser.parse_args(argv)
    try:
        diffs = compare_warehouses(args.left, args.right, args.schemas)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    for d in diffs:
        print(d, flush=True)
    different = [d.table for d in diffs if not d.equal]
    print(
        f"{len(diffs)} tables compared, {len(different)} different" + (f": {', '.join(different)}" if different else "")
    )
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
