{#- on-run-start hook: the tables of source `trading` (models/raw/_trading__sources.yml) that
    do not exist yet, created empty. The desks write into them; dbt only reads them.
    Project definition: a declared source must exist for lineage, Dagster and dbt unit tests,
    and an empty table means "no intents" (docs/levers.md). -#}
{% macro create_trading_inputs() -%}
    create schema if not exists raw;
    create table if not exists raw.position_intents (
        bar_start timestamp,
        bucket varchar,
        execution_timeframe varchar,
        delta_a double,
        delta_e double
    )
{%- endmacro %}
