{#- Row deletes and scratch tables of the incremental pre-hooks (revision rewinds, partition
    windows), dispatched (docs/scale-out.md). DuckDB deletes rows in place and keeps scratch
    results in session temp tables. Spark's Parquet tables cannot DELETE: the rows that stay
    are copied to a new table that replaces the old one (a production table format - Delta,
    Iceberg - has DELETE); scratch results are tables of schema `scratch` (a temp view would
    be recomputed after the deletes it drives). -#}

{#- Runs `select_sql` into a scratch table called `name`; returns the relation to read it by. -#}
{% macro scratch_table(name, select_sql) -%}
    {{ return(adapter.dispatch('scratch_table', 'market_regimes')(name, select_sql)) }}
{%- endmacro %}

{% macro default__scratch_table(name, select_sql) -%}
    {%- do run_query('create or replace temp table ' ~ name ~ ' as ' ~ select_sql) -%}
    {{ return(name) }}
{%- endmacro %}

{% macro spark__scratch_table(name, select_sql) -%}
    {%- do run_query('create schema if not exists scratch') -%}
    {%- do run_query('drop table if exists scratch.' ~ name) -%}
    {%- do run_query('create table scratch.' ~ name ~ ' using parquet as ' ~ select_sql) -%}
    {{ return('scratch.' ~ name) }}
{%- endmacro %}

{#- Deletes the rows of `relation` (alias t in `condition`) for which `condition` holds,
    optionally against the rows of `using_relation` (alias u: a row goes when some u row
    meets the condition); returns how many rows went. -#}
{% macro delete_rows(relation, condition, using_relation=none) -%}
    {{ return(adapter.dispatch('delete_rows', 'market_regimes')(relation, condition, using_relation)) }}
{%- endmacro %}

{% macro default__delete_rows(relation, condition, using_relation) -%}
    {%- set result = run_query('delete from ' ~ relation ~ ' as t'
                               ~ (' using ' ~ using_relation ~ ' as u' if using_relation else '')
                               ~ ' where ' ~ condition) -%}
    {{ return(result.rows[0][0]) }}
{%- endmacro %}

{#- Spark: a table partitioned by time (spark_time_partition) keeps its untouched partitions:
    the partitions holding a deleted row are overwritten with their other rows (a dynamic
    insert overwrite, which may read the table it writes), a partition left without rows is
    dropped. Another table is copied and swapped (spark_rewrite_table). -#}
{% macro spark__delete_rows(relation, condition, using_relation) -%}
    {%- set matches = ('exists (select 1 from ' ~ using_relation ~ ' as u where ' ~ condition ~ ')')
                      if using_relation else 'coalesce(' ~ condition ~ ', false)' -%}
    {%- set part = spark_time_partition(relation) -%}
    {%- if part -%}
        {#- per partition holding a row that goes: those rows and all its rows, so a partition
            whose every row goes is dropped, not overwritten (the condition may hold a
            correlated subquery, which Spark takes in a where clause only) -#}
        {%- set touched = scratch_table('_touched_' ~ relation.identifier,
                                        'select g.p, g.gone, h.held from (select t.' ~ part ~ ' as p, count(*) as gone from '
                                        ~ relation ~ ' as t where ' ~ matches ~ ' group by t.' ~ part ~ ') as g join (select '
                                        ~ part ~ ' as p, count(*) as held from ' ~ relation ~ ' group by ' ~ part
                                        ~ ') as h on h.p = g.p') -%}
        {#- one read of the per-partition counts: the rows that go, and the partitions emptied -#}
        {%- set gone = [] -%}
        {%- set emptied = [] -%}
        {%- for row in run_query('select p, gone, held from ' ~ touched).rows -%}
            {%- do gone.append(row[1] | int) -%}
            {%- if row[1] == row[2] %}{% do emptied.append(row[0]) %}{% endif -%}
        {%- endfor -%}
        {%- set n = gone | sum -%}
        {%- if n > 0 -%}
        {%- do run_query(spark_overwrite_partitions(relation, part, 'select t.* from ' ~ relation ~ ' as t where t.' ~ part
                         ~ ' in (select p from ' ~ touched ~ ' where gone < held) and not ' ~ matches)) -%}
        {%- endif -%}
        {%- if emptied | length > 0 -%}
            {%- set specs = [] -%}
            {%- for p in emptied %}{% do specs.append('partition (' ~ part ~ " = '" ~ p ~ "')") %}{% endfor -%}
            {%- do run_query('alter table ' ~ relation ~ ' drop if exists ' ~ specs | join(', ')) -%}
        {%- endif -%}
    {%- else -%}
        {%- set n = run_query('select count(*) from ' ~ relation ~ ' as t where ' ~ matches).rows[0][0] -%}
        {%- if n > 0 -%}
        {%- do run_query(spark_rewrite_table(relation, 'select t.* from ' ~ relation ~ ' as t where not ' ~ matches)) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(n) }}
{%- endmacro %}

{#- The time partition column of a Spark table (bar_date or bar_month: time_partition_select),
    none for a table without one. -#}
{% macro spark_time_partition(relation, columns=none) -%}
    {%- set names = columns if columns is not none else adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- for name in ['bar_date', 'bar_month'] -%}
        {%- if name in names -%}{{ return(name) }}{%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- The statement that overwrites the partitions of `relation` (column `part`) that the rows of
    `select_sql` fall in, with those rows (Spark's dynamic partition overwrite: the table's
    other partitions stay; the select may read the table). -#}
{% macro spark_overwrite_partitions(relation, part, select_sql) -%}
    {%- if execute %}{% do run_query('set spark.sql.sources.partitionOverwriteMode = DYNAMIC') %}{% endif -%}
    {{ return('insert overwrite table ' ~ relation ~ ' partition (' ~ part ~ ') ' ~ select_sql) }}
{%- endmacro %}

{#- Spark's copy-and-swap, shared by delete_rows and the delete+insert strategy
    (macros/utils/spark_incremental.sql): the rows of `kept_select` (and of `added_select`,
    when given) go to a new Parquet table `<relation>__dbt_kept` and the old table is dropped;
    returns the statement that renames the new table to the old name (the caller runs it:
    dbt's incremental materialization runs it as its main statement). Both selects are run
    before the old table goes, so they may read it. -#}
{% macro spark_rewrite_table(relation, kept_select, added_select=none) -%}
    {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_kept'}) -%}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- do run_query('create table ' ~ kept ~ ' using parquet as ' ~ kept_select) -%}
        {%- if added_select %}{% do run_query('insert into ' ~ kept ~ ' ' ~ added_select) %}{% endif -%}
        {%- do run_query('drop table ' ~ relation) -%}
    {%- endif -%}
    {{ return('alter table ' ~ kept ~ ' rename to ' ~ relation) }}
{%- endmacro %}

{#- A timestamp before every bar (the watermark of an empty table): DuckDB -infinity; Spark has
    no infinite timestamps, so its first representable day. -#}
{% macro timestamp_before_all() -%}
    {{ return(adapter.dispatch('timestamp_before_all', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__timestamp_before_all() -%}timestamp '-infinity'{%- endmacro %}

{% macro spark__timestamp_before_all() -%}timestamp '0001-01-01 00:00:00'{%- endmacro %}
