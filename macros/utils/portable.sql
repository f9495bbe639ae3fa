{#- Small SQL pieces that differ between engines, dispatched (adapter.dispatch) so the models
    read the same on DuckDB and Spark (docs/scale-out.md). Each default__ is the DuckDB form. -#}

{#- Integer division of two positive integers (DuckDB //, Spark div). -#}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div', 'market_regimes')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    ({{ numerator }} // {{ denominator }})
{%- endmacro %}

{% macro spark__int_div(numerator, denominator) -%}
    ({{ numerator }} div {{ denominator }})
{%- endmacro %}
