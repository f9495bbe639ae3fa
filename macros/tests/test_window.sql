{#- The data tests of an update run check the rows of the window it targets (docs/orchestration.md,
    "Tests in update runs"). dbt wraps the model of every generic data test in
    get_where_subquery(); this override keeps dbt's behaviour (the test's `where` config) and,
    when var test_since is set (a timestamp), also keeps only the rows with bar_start >= test_since
    of models that document a bar_start column, and of the models keyed on the indicator
    chain's (series_part, idx) without one (config meta revision_rewind = series_idx) the rows
    whose bar in int_indicator_bars_prepared has bar_start >= test_since. A key that contains
    bar_start (or is (series_part, idx)) is then still checked completely for the new rows (a
    duplicate of a new row has the same key).
    Project definition: the hourly/5-minute jobs set test_since to the start of their partition
    range; full builds and the daily job leave it null and test every row. Singular tests
    (tests/dbt/*.sql) always read whole tables. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set clauses = [] -%}
    {%- set joins = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do clauses.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set since = var('test_since', none) -%}
    {%- if since and relation_has_column(relation, 'bar_start') -%}
        {%- do clauses.append("bar_start >= cast('" ~ since ~ "' as timestamp)") -%}
    {%- elif since and relation_meta(relation, 'revision_rewind') == 'series_idx' -%}
        {#- keyed on the indicator chain's (series_part, idx) without a bar_start: the rows
            of the bars with bar_start >= test_since in int_indicator_bars_prepared (a join
            with their keys: a correlated EXISTS made DuckDB collect every key of the model) -#}
        {%- set bars = model_relation('int_indicator_bars_prepared') -%}
        {%- if bars is not none -%}
            {%- do joins.append("join (select distinct series_part as dbt_window_part, idx as dbt_window_idx from "
                ~ bars ~ " where bar_start >= cast('" ~ since ~ "' as timestamp)) as dbt_window_bars"
                ~ " on dbt_window_bars.dbt_window_part = dbt_where_base.series_part"
                ~ " and dbt_window_bars.dbt_window_idx = dbt_where_base.idx") -%}
        {%- endif -%}
    {%- endif -%}
    {%- if clauses or joins -%}
        {#- aliased: Spark would read `relation where (...)` as an alias with column names -#}
        {%- do return('(select dbt_where_base.* from ' ~ relation ~ ' as dbt_where_base'
                      ~ ((' ' ~ joins | join(' ')) if joins else '')
                      ~ ((' where ' ~ clauses | join(' and ')) if clauses else '') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The value of config meta `key` of the model behind `relation` (none without one;
    parse-time metadata: no query). -#}
{% macro relation_meta(relation, key) -%}
    {%- set node = relation_node(relation) -%}
    {{- return(node.config.meta.get(key) if node is not none and node.resource_type == 'model' else none) -}}
{%- endmacro %}

{#- The relation of model `name` from the manifest, schema-qualified as dbt renders a ref in
    this project's single database (no query; none when there is no such model or outside
    execution). -#}
{% macro model_relation(name) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
            {{- return(api.Relation.create(schema=node.schema, identifier=node.alias or node.name)) -}}
        {%- endfor -%}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- True when the model or seed behind `relation` documents `column` in its YAML (parse-time
    metadata: no query). -#}
{% macro relation_has_column(relation, column) -%}
    {%- set node = relation_node(relation) -%}
    {{- return(node is not none and column in node.columns) -}}
{%- endmacro %}

{#- The manifest node (model, seed or snapshot) behind `relation`, matched on schema and
    alias; none outside execution or for a relation of no such node. -#}
{% macro relation_node(relation) -%}
    {%- if execute and relation.identifier is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot')
                and (node.alias or node.name) | lower == relation.identifier | lower
                and node.schema | lower == relation.schema | lower -%}
            {{- return(node) -}}
        {%- endfor -%}
    {%- endif -%}
    {{- return(none) -}}
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
