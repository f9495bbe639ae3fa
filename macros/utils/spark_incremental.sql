{#- Incremental models on Spark (docs/scale-out.md). The project's incremental models use
    DuckDB's delete+insert: the rows of each unique key the run computes replace the stored
    ones. dbt-spark offers append, insert_overwrite (whole partitions) and merge (Delta,
    Iceberg, Hudi only); on plain Parquet tables no row can be deleted. These overrides of
    dbt-spark's macros add delete+insert for any file format, in three statements: the
    stored rows whose key the run does not write are copied to a new table, the run's rows
    are added to it, and it replaces the old table. Correct, but it rewrites the whole table
    on every incremental run: a production deployment on Delta or Iceberg uses their DELETE
    (or merge) instead (docs/scale-out.md, "Incremental models"). -#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- set known = ['append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'] %}
    {%- if raw_strategy not in known %}
        {% do exceptions.raise_compiler_error('Invalid incremental strategy provided: ' ~ raw_strategy
            ~ '; expected one of ' ~ known | join(', ')) %}
    {%- endif %}
    {%- if raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi'] %}
        {% do exceptions.raise_compiler_error("incremental strategy merge needs file_format delta, iceberg or hudi, not "
            ~ file_format) %}
    {%- endif %}
    {% do return(raw_strategy) %}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {{ spark_delete_insert_sql(source, target, unique_key) }}
    {%- elif strategy == 'append' -%}
        {{ get_insert_into_sql(source, target) }}
    {%- elif strategy in ['insert_overwrite', 'microbatch'] -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'merge' -%}
        {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
    {%- else -%}
        {% do exceptions.raise_compiler_error('No SQL for the incremental strategy ' ~ strategy) %}
    {%- endif -%}
{% endmacro %}

{#- delete+insert on any table: the stored rows whose key the run does not write, plus the
    run's rows, replace the table (spark_rewrite_table); returns the swap statement. A table
    partitioned by time (spark_time_partition: the month_partitioned models) has only the
    partitions the run writes rewritten (a dynamic insert overwrite of their kept and new
    rows; every such partition gets a new row, so none is left empty); returns that
    statement. unique_key: a column name or a list of them. -#}
{% macro spark_delete_insert_sql(source, target, unique_key) %}
    {%- set keys = [unique_key] if unique_key is string else unique_key %}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list %}
    {%- set part = spark_time_partition(target, columns) %}
    {%- if part and execute %}
    {#- the run's rows computed once (the source is a view of the model's query, which the
        overwrite would otherwise run for each of its three uses) -#}
    {%- set source = scratch_table('_new_' ~ target.identifier, 'select * from ' ~ source) %}
    {%- endif %}
    {%- set kept_select -%}
        select t.* from {{ target }} as t
        left anti join (select distinct {{ keys | join(', ') }} from {{ source }}) as s
            on {% for key in keys %}s.{{ key }} = t.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
        {%- if part %}
        where t.{{ part }} in (select distinct {{ part }} from {{ source }})
        {%- endif %}
    {%- endset %}
    {%- set added_select = 'select ' ~ columns | join(', ') ~ ' from ' ~ source %}
    {%- if part %}
    {{ spark_overwrite_partitions(target, part, kept_select ~ ' union all ' ~ added_select) }}
    {%- else %}
    {{ spark_rewrite_table(target, kept_select, added_select) }}
    {%- endif %}
{% endmacro %}
