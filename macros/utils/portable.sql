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

{#- Every column of `relation` (a table alias; none: every column of the FROM clause) but
    `columns` (a list of names): DuckDB * EXCLUDE, Spark * EXCEPT. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except', 'market_regimes')(columns, relation)) }}
{%- endmacro %}

{% macro default__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- The hint that makes a CTE read twice computed once (DuckDB AS MATERIALIZED); Spark has no
    such hint (its optimizer decides), so nothing. Followed by the CTE's parenthesis. -#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__cte_materialized() -%}
    materialized {% endmacro %}

{% macro spark__cte_materialized() -%}{%- endmacro %}

{#- The running sum of `expr` from the start of the row's chunk (column _chunk_pos: the
    row's position in it, column _chunk: its number) to the row, per `partition` (the series
    columns), in idx order. DuckDB: a frame of _chunk_pos rows over the named window
    series_order (as built); Spark cannot size a frame by a column, so it partitions by the
    chunk instead (the same rows). -#}
{% macro chunk_running_sum(expr, partition) -%}
    {{ return(adapter.dispatch('chunk_running_sum', 'market_regimes')(expr, partition)) }}
{%- endmacro %}

{% macro default__chunk_running_sum(expr, partition) -%}
    sum({{ expr }}) over (series_order rows between _chunk_pos preceding and current row)
{%- endmacro %}

{% macro spark__chunk_running_sum(expr, partition) -%}
    sum({{ expr }}) over (partition by {{ partition }}, _chunk order by idx rows between unbounded preceding and current row)
{%- endmacro %}
