{#- Use the custom schema name as-is (raw, staging, intermediate, marts, reports, seeds)
    instead of dbt's default "<target>_<custom>" so BI users see the documented schema names (docs/architecture.md). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
