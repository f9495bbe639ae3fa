"""The SQL of the models and macros stays portable (docs/scale-out.md): a construct that only
DuckDB has lives in the DuckDB form (``default__``) of an ``adapter.dispatch`` macro, with a
``spark__`` form beside it, and nowhere else. The scan reads the project's own SQL text with
comments, Jinja statements and the engine-specific macro bodies removed; what is left must
not use any construct of CONSTRUCTS (each one Spark's parser or analyser rejected when the
models were compiled for the ``spark`` target: benchmarks/spark_parse.py)."""

from __future__ import annotations

import re

from tests.helpers import PROJECT

# name -> pattern of a DuckDB-only construct; the dispatch macro that replaces it in brackets
CONSTRUCTS = {
    "HUGEINT (wide_integer_type)": r"\bhugeint\b",
    "UBIGINT (series_key_type)": r"\bubigint\b",
    "ASOF join (asof_latest)": r"\basof\s+(left\s+)?join\b",
    "* EXCLUDE (star_except)": r"\*\s*exclude\b",
    "* REPLACE (star_replace)": r"\*\s*replace\s*\(",
    "fsum (ordered_fsum)": r"\bfsum\s*\(",
    "list functions (macros/utils/lists.sql)": (
        r"\blist_(filter|transform|sort|reverse_sort|slice|value|aggregate|concat|contains|extract|distinct|apply|zip"
        r"|has_any|has_all|position|reduce)\s*\("
    ),
    "list/struct literal (list_of, struct_of)": r"\[\s*\{\s*'",
    "struct_pack (struct_of)": r"\bstruct_pack\s*\(",
    "unnest (unnest_with_position, unnest_timestamps)": r"\bunnest\s*\(",
    "generate_series (unnest_timestamps)": r"\bgenerate_series\s*\(",
    "string_split (split_on)": r"\bstring_split\s*\(",
    "quantile_cont (quantile_continuous)": r"\bquantile_cont\s*\(",
    "arg_max / arg_min (max_by / min_by: both engines)": r"\barg_(max|min)\s*\(",
    "isinf (is_infinite)": r"\bisinf\s*\(",
    "error() (error_function)": r"(?<![\w.])error\s*\(",
    "strpos (instr: both engines)": r"\bstrpos\s*\(",
    "to_minutes (add_minutes)": r"\bto_minutes\s*\(",
    "time_bucket (bar_bucket)": r"\btime_bucket\s*\(",
    "hash() (indicator_series_part)": r"(?<![\w.])hash\s*\(",
    "VARCHAR (dbt.type_string())": r"\bvarchar\b",
    "UNION BY NAME (columns in order)": r"\bunion\s+(all\s+)?by\s+name\b",
    "// (int_div)": r"[\w)]\s*//\s*[\w(]",
    "string_agg (ordered_string_agg)": r"\bstring_agg\s*\(",
}


def _portable_text(sql: str) -> str:
    """``sql`` without comments, Jinja statements and the bodies of engine-specific macros
    (``default__*`` / ``spark__*``), line numbers kept."""
    keep_lines = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731
    sql = re.sub(r"\{#.*?#\}", keep_lines, sql, flags=re.S)
    sql = re.sub(r"\{%-?\s*macro\s+(default|spark)__.*?\{%-?\s*endmacro\s*-?%\}", keep_lines, sql, flags=re.S)
    sql = re.sub(r"\{%.*?%\}", keep_lines, sql, flags=re.S)
    return re.sub(r"--[^\n]*", "", sql)


def find_duckdb_only(sql: str) -> list[tuple[int, str]]:
    """(line, construct) of every DuckDB-only construct outside the engine-specific macros."""
    text = _portable_text(sql)
    return sorted(
        (text[: m.start()].count("\n") + 1, name)
        for name, pattern in CONSTRUCTS.items()
        for m in re.finditer(pattern, text, flags=re.I)
    )


def test_models_and_macros_use_duckdb_only_constructs_only_in_dispatches():
    files = [p for folder in ("models", "macros", "tests/dbt") for p in sorted((PROJECT / folder).rglob("*.sql"))]
    assert len(files) > 70
    found = [
        f"{path.relative_to(PROJECT)}:{line} {name}"
        for path in files
        for line, name in find_duckdb_only(path.read_text())
    ]
    assert not found, "DuckDB-only SQL outside an adapter.dispatch macro:\n" + "\n".join(found)


def test_the_scan_names_the_construct_and_its_line():
    sql = """-- asof join in a comment is fine
{#- so is fsum( in a Jinja comment -#}
select p.*, s.state
from probes as p
asof left join states as s on s.k = p.k and p.t >= s.t
where cast(x as hugeint) > 0 and b.* exclude (a) is not null
{% macro default__f(x) -%} fsum({{ x }} order by {{ x }}) {%- endmacro %}
{% macro spark__f(x) -%} aggregate(...) {%- endmacro %}
select 7 // 2, [{'a': 1}] as s
"""
    assert find_duckdb_only(sql) == [
        (5, "ASOF join (asof_latest)"),
        (6, "* EXCLUDE (star_except)"),
        (6, "HUGEINT (wide_integer_type)"),
        (9, "// (int_div)"),
        (9, "list/struct literal (list_of, struct_of)"),
    ]


def test_every_dispatched_macro_has_both_forms():
    macros = "\n".join(p.read_text() for p in sorted((PROJECT / "macros").rglob("*.sql")))
    dispatched = set(re.findall(r"adapter\.dispatch\('(\w+)', 'market_regimes'\)", macros))
    assert len(dispatched) >= 20
    defaults = set(re.findall(r"\{%-?\s*macro\s+default__(\w+)\(", macros))
    sparks = set(re.findall(r"\{%-?\s*macro\s+spark__(\w+)\(", macros))
    assert not dispatched - defaults, f"dispatched without a DuckDB (default__) form: {sorted(dispatched - defaults)}"
    assert not dispatched - sparks, f"dispatched without a spark__ form: {sorted(dispatched - sparks)}"


def test_spark_significant_digits_scales_a_whole_expression():
    """The Spark form of significant_digits spells DuckDB's round(x, p) out in arithmetic, so an
    expression argument must be scaled whole: ``a * b + c * d`` (fct_grid_lifecycle_bars'
    next_high_vol_prob) once lost its first term (only c * d was scaled and rounded; found by
    the Spark parity on a 2.4-month landing). Rendered with Jinja and evaluated in DuckDB,
    whose round, power, floor and log10 are the same functions."""
    import duckdb
    import jinja2

    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    module = env.from_string((PROJECT / "macros" / "indicators" / "window_indicators.sql").read_text()).module
    sql = str(module.spark__significant_digits("0.5 * (1 - 0.25) + 0.625 * 0.5", 10))
    assert duckdb.sql(f"select {sql}").fetchone()[0] == 0.6875
    sql = str(module.spark__significant_digits("123456.78901234 + 0.000001", 10))
    assert duckdb.sql(f"select {sql}").fetchone()[0] == 123456.789


def test_ordered_fsum_is_duckdbs_fsum_in_ascending_order_bit_for_bit():
    """The DuckDB form of ordered_fsum (a sorted list folded with Kahan's recurrence) gives the
    same double as fsum(x order by x) filter (where ...): groups of 1-40 values spread over 30
    orders of magnitude, both signs, NULLs, a filter, and a group whose filter keeps nothing
    (NULL). The data makes the compensation matter (a plain ascending sum differs on many
    groups), so another fold would fail the check."""
    import duckdb
    import jinja2

    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    module = env.from_string((PROJECT / "macros" / "utils" / "portable.sql").read_text()).module
    con = duckdb.connect()
    con.execute(
        """create table v as
        select g, case when random() < 0.05 then null
                       else (random() - 0.4) * pow(10, floor(random() * 30) - 15) end as x,
               random() < 0.8 as keep
        from (select setseed(0.42)) as s, range(20000) as r(i),
             lateral (select i // (1 + i % 40) as g)"""
    )
    con.execute("insert into v values (-1, 1.0, false), (-1, 2.0, false)")  # nothing kept: NULL
    ours = str(module.default__ordered_fsum("x", "keep"))
    rows = con.sql(
        f"select g, {ours} as ours, fsum(x order by x) filter (where keep) as reference, count(x) as n "
        "from v group by g"
    ).fetchall()
    assert len(rows) > 1000 and max(r[3] for r in rows) >= 20
    assert [(g, o) for g, o, r, _ in rows if o != r and not (o is None and r is None)] == []
    assert [r[1] for r in rows if r[0] == -1] == [None]
    # the data makes the compensation matter: a plain ascending sum differs on some groups
    plain = con.sql(
        "select g, sum(x order by x) filter (where keep) as p, fsum(x order by x) filter (where keep) as f from v group by g"
    )
    assert plain.filter("p <> f").count("*").fetchone()[0] > 10
