{#- Point-in-time helpers (docs/architecture.md). -#}

{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}cast('{{ var("as_of") }}' as timestamp){%- else -%}null{%- endif -%}
{%- endmacro %}

{% macro as_of_filter(ts_column) -%}
    {%- if var('as_of', none) %} and {{ ts_column }} < {{ as_of_timestamp() }}{% endif -%}
{%- endmacro %}

{% macro ended_by_as_of(bar_start, interval_minutes) -%}
    {%- if var('as_of', none) -%}
    ({{ add_minutes(bar_start, interval_minutes) }} <= {{ as_of_timestamp() }})
    {%- else -%}false{%- endif -%}
{%- endmacro %}
