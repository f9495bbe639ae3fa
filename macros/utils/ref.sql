{% macro ref() %}
    {#- dbt's ref() without the catalog name: "marts"."fct_levers" instead of
        "market_regimes"."marts"."fct_levers". DuckDB names a file's catalog after the file
        stem, so a view that spelled out the catalog would break in a copy of the warehouse
        opened under another name; unqualified, it binds to the catalog the view lives in.
        Arguments as dbt's ref (model name, optional package, version=...). -#}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is not none and relation.include is defined -%}
        {%- do return(relation.include(database=False)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
