{#- Small generic data tests (dbt Hub packages cannot be installed here). -#}

{#- Fails with one row per duplicated key combination. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Fails with one row per listed column that holds NULLs (column_name, null_rows), from one
    scan of the model. One test per model instead of one per column: an update run pays dbt's
    per-test cost (~15 ms) once per model (docs/development.md, "Data tests"). -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
    {%- for column in columns %}
        sum(case when {{ adapter.quote(column) }} is null then 1 else 0 end) as n_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column in columns %}
select '{{ column }}' as column_name, n_{{ loop.index }} as null_rows from null_counts where n_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}

{#- Fails with the rows where the SQL boolean expression is not true. -#}
{% test expression_is_true(model, expression, where_clause=none) %}
select * from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where_clause %} and ({{ where_clause }}){% endif %}
{% endtest %}

{#- OHLC sanity: low <= open, close <= high (NULL-safe: rows with NULL prices fail). -#}
{% test ohlc_sane(model) %}
select * from {{ model }}
where not coalesce(low <= open and low <= close and open <= high and close <= high and low > 0, false)
{% endtest %}

{#- Fails with one row (column_name, outside_rows) per listed column with values outside
    [lower, upper], from one scan of the model; NULL values pass (indicators are NULL until
    warm). Bounds are keys of key/value seeds, written seed.key (e.g.
    quality_thresholds.oscillator_max), so a seed edit changes the check and no bound is in
    code; strict_lower makes the lower bound exclusive. A bound whose key the seed lacks
    fails the test (a row 'bound <seed.key>'). -#}
{% test within_bounds(model, columns, lower=none, upper=none, strict_lower=false) %}
{%- set bounds = {'lower': lower, 'upper': upper} %}
with bounds as (
    select
    {%- for name, bound in bounds.items() %}
        {%- if bound %}
        (select cast(value as double) from {{ ref(bound.split('.')[0]) }} where key = '{{ bound.split('.')[1] }}')
        {%- else %}
        cast(null as double)
        {%- endif %} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
),

outside as (
    select
    {%- for column in columns %}
        sum(case when m.{{ adapter.quote(column) }} {{ '<=' if strict_lower else '<' }} b.lower
                   or m.{{ adapter.quote(column) }} > b.upper then 1 else 0 end) as n_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    -- {{ model }} is a subquery in an update run (the test_since window): aliased around it
    from (select * from {{ model }}) as m
    cross join bounds as b
)
{%- for column in columns %}
select '{{ column }}' as column_name, n_{{ loop.index }} as outside_rows from outside where n_{{ loop.index }} > 0
union all
{%- endfor %}
{%- for name, bound in bounds.items() if bound %}
select 'bound {{ bound }}' as column_name, 1 as outside_rows from bounds where {{ name }} is null
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- if not (lower or upper) %}
select 'no bound given' as column_name, 1 as outside_rows
{%- endif %}
{% endtest %}
