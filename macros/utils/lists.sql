{#- Lists of structs, dispatched (docs/scale-out.md): DuckDB's list syntax and list_ functions
    (default__) and Spark's arrays and higher-order functions (spark__). A lambda is written
    `x -> expression` on both engines. -#}

{#- A struct literal: `fields` is a dict, field name -> SQL expression (in order). -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'market_regimes')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    {{ '{' }}{% for name, expr in fields.items() %}'{{ name }}': {{ expr }}{{ ', ' if not loop.last }}{% endfor %}{{ '}' }}
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct({% for name, expr in fields.items() %}'{{ name }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A list literal of the SQL expressions `items`. -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of', 'market_regimes')(items)) }}
{%- endmacro %}

{% macro default__list_of(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}

{% macro spark__list_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}

{#- The elements of `list` for which `lambda` (x -> boolean) holds, in order. -#}
{% macro list_where(list, lambda) -%}
    {{ return(adapter.dispatch('list_where', 'market_regimes')(list, lambda)) }}
{%- endmacro %}

{% macro default__list_where(list, lambda) -%}
    list_filter({{ list }}, {{ lambda }})
{%- endmacro %}

{% macro spark__list_where(list, lambda) -%}
    filter({{ list }}, {{ lambda }})
{%- endmacro %}

{#- `list` sorted ascending (descending=true: descending); structs compare field by field. -#}
{% macro list_sorted(list, descending=false) -%}
    {{ return(adapter.dispatch('list_sorted', 'market_regimes')(list, descending)) }}
{%- endmacro %}

{% macro default__list_sorted(list, descending) -%}
    {{ 'list_reverse_sort' if descending else 'list_sort' }}({{ list }})
{%- endmacro %}

{% macro spark__list_sorted(list, descending) -%}
    {{ 'reverse(array_sort(' ~ list ~ '))' if descending else 'array_sort(' ~ list ~ ')' }}
{%- endmacro %}

{#- The first n elements of `list`. -#}
{% macro list_head(list, n) -%}
    {{ return(adapter.dispatch('list_head', 'market_regimes')(list, n)) }}
{%- endmacro %}

{% macro default__list_head(list, n) -%}
    list_slice({{ list }}, 1, {{ n }})
{%- endmacro %}

{% macro spark__list_head(list, n) -%}
    slice({{ list }}, 1, {{ n }})
{%- endmacro %}

{#- `lambda` (x -> expression) applied to every element of `list`. -#}
{% macro list_map(list, lambda) -%}
    {{ return(adapter.dispatch('list_map', 'market_regimes')(list, lambda)) }}
{%- endmacro %}

{% macro default__list_map(list, lambda) -%}
    list_transform({{ list }}, {{ lambda }})
{%- endmacro %}

{% macro spark__list_map(list, lambda) -%}
    transform({{ list }}, {{ lambda }})
{%- endmacro %}

{#- The number of elements of `list`. -#}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length', 'market_regimes')(list)) }}
{%- endmacro %}

{% macro default__list_length(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro spark__list_length(list) -%}
    size({{ list }})
{%- endmacro %}

{#- True when `list` holds `value` (NULL when `value` is NULL). -#}
{% macro list_has(list, value) -%}
    {{ return(adapter.dispatch('list_has', 'market_regimes')(list, value)) }}
{%- endmacro %}

{% macro default__list_has(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro spark__list_has(list, value) -%}
    array_contains({{ list }}, {{ value }})
{%- endmacro %}
