{#- on-run-start hook: the tables of source `trading` (models/raw/_trading__sources.yml) that
    do not exist yet, created empty. The desks write into them; dbt only reads them.
    Project definition: a declared source must exist for lineage, Dagster and dbt unit tests,
    and an empty table means "no intents" (docs/levers.md). -#}
{% macro create_trading_inputs() -%}
    {%- if execute %}{% do run_query('create schema if not exists raw') %}{% endif %}
    create table if not exists raw.position_intents (
        bar_start timestamp,
        bucket {{ dbt.type_string() }},
        execution_timeframe {{ dbt.type_string() }},
        delta_a double,
        delta_e double
    ){{ table_format_clause() }}
{%- endmacro %}

{#- The storage clause of a CREATE TABLE: nothing on DuckDB; Parquet on Spark (the format
    dbt-spark gives the models; a Hive text table otherwise). -#}
{% macro table_format_clause() -%}
    {{ return(adapter.dispatch('table_format_clause', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__table_format_clause() -%}{%- endmacro %}

{% macro spark__table_format_clause() %} using parquet{% endmacro %}
