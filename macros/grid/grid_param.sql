{% macro grid_param(key) -%}
    {#- The value (DOUBLE) of row `key` of seed grid_config, as a scalar subquery: every grid
        threshold and weight lives in that seed (docs/grid-regimes.md). -#}
    (select value from {{ ref('grid_config') }} where key = '{{ key }}')
{%- endmacro %}

{% macro clip(x, lo, hi) -%}
    {#- x clipped to [lo, hi]; NULL stays NULL (DuckDB's greatest / least skip NULL
        arguments, so greatest(0, least(1, NULL)) would be 1). -#}
    case when ({{ x }}) is null then null else greatest({{ lo }}, least({{ hi }}, {{ x }})) end
{%- endmacro %}
