{#- Dagster partition window (docs/orchestration.md): the bar-local models rebuild only the bars whose
    bar_start lies in the half-open window [var partition_start, var partition_end). Both
    vars unset (a plain `dbt build`): every bar. -#}

{% macro partition_window_filter(ts_column) -%}
    {%- set start, end = var('partition_start', none), var('partition_end', none) -%}
    {%- if (start is none) != (end is none) -%}
        {{ exceptions.raise_compiler_error("partition_start and partition_end must be set together (got " ~ start ~ ", " ~ end ~ ")") }}
    {%- endif -%}
    {%- if start is none -%}true
    {%- else -%}({{ ts_column }} >= cast('{{ start }}' as timestamp) and {{ ts_column }} < cast('{{ end }}' as timestamp))
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a partitioned incremental model: delete the window's rows before the
    window is appended again (re-materialising a partition is idempotent). -#}
{% macro delete_partition_window(ts_column) -%}
    {%- if execute and is_incremental() -%}
    {%- do delete_rows(this, partition_window_filter('t.' ~ ts_column)) -%}
    {%- endif -%}
{%- endmacro %}
