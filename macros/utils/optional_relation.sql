{#- The relation schema.identifier of the target database if it exists, else none (always
    none at parse time). For optional inputs that dbt does not build, e.g.
    raw.position_intents (docs/levers.md): the caller falls back to an empty relation. -#}
{% macro optional_relation(schema, identifier) -%}
    {%- if execute -%}
        {{ return(adapter.get_relation(database=target.database, schema=schema, identifier=identifier)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
