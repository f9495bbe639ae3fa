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

{#- The incremental config of a day-partitioned model (keyword arguments of config()):
    `{{ config(materialized='incremental', **day_partitioned('bar_start')) }}`. DuckDB:
    append after the pre-hook deleted the window's rows. Spark (plain Parquet cannot delete
    rows): the table is partitioned by the UTC day of ts_column (column bar_date, added by
    time_partition_select), the pre-hook drops the window's day partitions and the run
    overwrites the day partitions it writes (insert_overwrite, dynamic) - no table rewrite. -#}
{% macro day_partitioned(ts_column) -%}
    {{ return(adapter.dispatch('day_partitioned', 'market_regimes')(ts_column)) }}
{%- endmacro %}

{% macro default__day_partitioned(ts_column) -%}
    {{ return({'incremental_strategy': 'append',
               'pre_hook': "{{ delete_partition_window('" ~ ts_column ~ "') }}"}) }}
{%- endmacro %}

{% macro spark__day_partitioned(ts_column) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': ['bar_date'],
               'pre_hook': "{{ delete_partition_window('" ~ ts_column ~ "') }}"}) }}
{%- endmacro %}

{#- The select of a model partitioned by time on Spark (a call block around it):
    `{% call time_partition_select('bar_start', 'day') %} select ... {% endcall %}`. DuckDB:
    the select as written; Spark: its rows with the partition column, the UTC day of
    ts_column as bar_date (grain 'day': day_partitioned) or its month's first day as
    bar_month (grain 'month': month_partitioned). Parquet partitions by a column, not an
    expression (Iceberg's hidden days() / months() would need none). -#}
{% macro time_partition_select(ts_column, grain) -%}
    {%- if grain not in ('day', 'month') -%}
        {{ exceptions.raise_compiler_error("time_partition_select: grain must be day or month, not " ~ grain) }}
    {%- endif -%}
    {{ return(adapter.dispatch('time_partition_select', 'market_regimes')(caller(), ts_column, grain)) }}
{%- endmacro %}

{% macro default__time_partition_select(select_sql, ts_column, grain) -%}
    {{ return(select_sql) }}
{%- endmacro %}

{% macro spark__time_partition_select(select_sql, ts_column, grain) -%}
    {%- set column = ('cast(partitioned.' ~ ts_column ~ ' as date) as bar_date') if grain == 'day'
                     else ("cast(date_trunc('month', partitioned." ~ ts_column ~ ') as date) as bar_month') -%}
    {{ return('select partitioned.*, ' ~ column ~ '\nfrom (\n' ~ select_sql ~ '\n) as partitioned') }}
{%- endmacro %}

{#- The config of an incremental model partitioned by month on Spark (keyword arguments of
    config(), its select in time_partition_select(ts, 'month')): nothing on DuckDB; on Spark
    partition_by bar_month, so that an incremental run rewrites only the months it writes
    (delete+insert: spark_delete_insert_sql; append: only adds files) or rewinds
    (spark__delete_rows) instead of the whole table. Months,
    not days: these tables hold daily bars over years beside the intraday ones (a day
    partition of a few daily rows is a file of its own). -#}
{% macro month_partitioned() -%}
    {{ return(adapter.dispatch('month_partitioned', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__month_partitioned() -%}
    {{ return({}) }}
{%- endmacro %}

{% macro spark__month_partitioned() -%}
    {{ return({'partition_by': ['bar_month']}) }}
{%- endmacro %}

{#- Pre-hook of a partitioned incremental model: delete the window's rows before the
    window is written again (re-materialising a partition is idempotent). -#}
{% macro delete_partition_window(ts_column) -%}
    {%- if execute and is_incremental() -%}
    {%- do adapter.dispatch('delete_partition_window', 'market_regimes')(this, ts_column) -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__delete_partition_window(relation, ts_column) -%}
    {%- do delete_rows(relation, partition_window_filter('t.' ~ ts_column)) -%}
{%- endmacro %}

{#- Spark, a table partitioned by day (day_partitioned): the window's day partitions are
    dropped (a metadata operation and their files), every row when no window is set
    (truncate): a day of the window that the run no longer writes goes, as DuckDB's delete.
    The window must be whole UTC days (the partitions). A table without partitions: the
    rows are deleted (delete_rows: the copy-and-swap). -#}
{% macro spark__delete_partition_window(relation, ts_column) -%}
    {%- if not config.get('partition_by') -%}
        {{ return(default__delete_partition_window(relation, ts_column)) }}
    {%- endif -%}
    {%- set days = partition_window_days() -%}
    {%- if days is none -%}
        {%- do run_query('truncate table ' ~ relation) -%}
    {%- elif days -%}
        {%- set specs = [] -%}
        {%- for day in days %}{% do specs.append("partition (bar_date = '" ~ day ~ "')") %}{% endfor -%}
        {%- do run_query('alter table ' ~ relation ~ ' drop if exists ' ~ specs | join(', ')) -%}
    {%- endif -%}
{%- endmacro %}

{#- The UTC days ('YYYY-MM-DD') of the partition window [var partition_start, var
    partition_end), or none when both vars are unset; a compile error when the window does
    not start and end at midnight (the day partitions of Spark cannot hold part of a day). -#}
{% macro partition_window_days() -%}
    {%- set start, end = var('partition_start', none), var('partition_end', none) -%}
    {%- do partition_window_filter('x') -%}  {#- both vars or neither -#}
    {%- if start is none -%}{{ return(none) }}{%- endif -%}
    {%- set dt = modules.datetime -%}
    {%- set first = dt.datetime.fromisoformat(start | string) -%}
    {%- set last = dt.datetime.fromisoformat(end | string) -%}
    {%- if first.time() != dt.time(0) or last.time() != dt.time(0) -%}
        {{ exceptions.raise_compiler_error("partition window " ~ start ~ " to " ~ end
            ~ ": the day partitions need a window of whole UTC days (midnight to midnight)") }}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for n in range((last - first).days) -%}
        {%- do days.append((first + dt.timedelta(days=n)).strftime('%Y-%m-%d')) -%}
    {%- endfor -%}
    {{ return(days) }}
{%- endmacro %}
