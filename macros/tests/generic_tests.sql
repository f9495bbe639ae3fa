{#- Small generic data tests (dbt Hub packages cannot be installed here). -#}

{#- Fails with one row per duplicated key combination. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
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
