{#- The data tests of an update run check the rows of the window it targets (docs/orchestration.md,
    "Tests in update runs"). dbt wraps the model of every generic data test in
    get_where_subquery(); this override keeps dbt's behaviour (the test's `where` config) and,
    when var test_since is set (a timestamp), also keeps only the rows with bar_start >= test_since
    of models that document a bar_start column. A key that contains bar_start is then still
    checked completely for the new rows (a duplicate of a new row has the same bar_start).
    Project definition: the hourly/5-minute jobs set test_since to the start of their partition
    range; full builds and the daily job leave it null and test every row. Singular tests
    (tests/dbt/*.sql) always read whole tables. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set clauses = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do clauses.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set since = var('test_since', none) -%}
    {%- if since and relation_has_column(relation, 'bar_start') -%}
        {%- do clauses.append("bar_start >= cast('" ~ since ~ "' as timestamp)") -%}
    {%- endif -%}
    {%- if clauses -%}
        {#- aliased: Spark would read `relation where (...)` as an alias with column names -#}
        {%- do return('(select * from ' ~ relation ~ ' as dbt_where_base where ' ~ clauses | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the model or seed behind `relation` documents `column` in its YAML (parse-time
    metadata: no query). -#}
{% macro relation_has_column(relation, column) -%}
    {%- if execute and relation.identifier is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot')
                and (node.alias or node.name) | lower == relation.identifier | lower
                and node.schema | lower == relation.schema | lower -%}
            {{- return(column in node.columns) -}}
        {%- endfor -%}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

{#- For singular tests: `column >= var test_since - minutes_before minutes` when test_since is set
    (an update run), else `true` (every row). minutes_before leaves room for the look-back
    (a lag) of the first tested row. -#}
{% macro test_window_filter(column, minutes_before=0) -%}
    {%- set since = var('test_since', none) -%}
    {%- if since -%}
        {{ column }} >= {{ add_minutes("cast('" ~ since ~ "' as timestamp)", '-(' ~ minutes_before ~ ')') }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
