{#- One row with a column per key of a key/value seed (columns key, value): `keys` are the
    keys wanted; a key without a row gives NULL. The config CTE of the lever models. -#}
{% macro seed_values(seed_relation, keys) -%}
    select
        {%- for k in keys %}
        max(value) filter (where key = '{{ k }}') as {{ k }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ seed_relation }}
{%- endmacro %}
