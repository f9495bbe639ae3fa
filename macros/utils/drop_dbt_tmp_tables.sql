{% macro drop_dbt_tmp_tables() %}
    {{ return(adapter.dispatch('drop_dbt_tmp_tables', 'market_regimes')()) }}
{% endmacro %}

{% macro default__drop_dbt_tmp_tables() %}
    {#- on-run-end hook: drops the `<model>__dbt_tmp<timestamp>` tables that dbt-duckdb's
        incremental materialization leaves in schema main after an incremental run of a
        Python model (it creates them as tables and drops only SQL models' temp tables).
        Also drops the helper views that earlier versions of the Python marts created in
        main (_uptrend_*, _volatility_*, _strategy_fit_*, _trend_vol_*; they are session
        temp views now). Returns the DROP statements the hook runs (a no-op SELECT when
        there is none). -#}
    {%- if not execute -%}{{ return("select 1") }}{%- endif -%}
    {%- set leftovers = run_query(
        "select table_schema, table_name, table_type from information_schema.tables "
        ~ "where table_catalog = current_database() and (contains(table_name, '__dbt_tmp') or (table_schema = 'main' "
        ~ "and table_type = 'VIEW' and regexp_matches(table_name, '^_(uptrend|volatility|strategy_fit|trend_vol)_')))") -%}
    {%- set drops = [] -%}
    {%- for row in leftovers.rows -%}
        {%- do drops.append("drop " ~ ("view" if row[2] == "VIEW" else "table") ~ " if exists "
                            ~ adapter.quote(row[0]) ~ "." ~ adapter.quote(row[1])) -%}
    {%- endfor -%}
    {{- return(drops | join(";\n") if drops else "select 1") -}}
{% endmacro %}

{#- Spark: dbt-spark's materializations leave no such tables (its temporary relations are
    session views), so nothing to drop. -#}
{% macro spark__drop_dbt_tmp_tables() %}
    {{- return("select 1") -}}
{% endmacro %}
