{#- Seeds on Spark (docs/scale-out.md): dbt-spark's session connection formats a seed's
    values into its INSERT without quoting them, so a text value with an apostrophe (the
    seeds' descriptions) breaks the statement. This override writes every value as a Spark
    literal instead: NULL, numbers and booleans as they are, text between quotes with
    backslash escapes (Spark string literals; a doubled quote would concatenate two
    literals), cast to the seed's column type. Used only by the spark target (dbt's
    dispatch finds the root project's spark__ macro first). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() %}
    {%- set column_override = model['config'].get('column_types', {}) %}
    {%- set statements = [] %}
    {%- for chunk in agate_table.rows | batch(batch_size) %}
        {%- set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for col_name in agate_table.column_names -%}
                {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }}){{ ',' if not loop.last }}
            {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset %}
        {%- do adapter.add_query(sql, abridge_sql_log=True) %}
        {%- if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
    {%- endfor %}
    {{ return(statements[0]) }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
