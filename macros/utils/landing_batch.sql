{#- The loaded_at of the landing batch the warn tests report (docs/landing.md): a scalar
    subquery over raw.landing_files. In `dbt build` / `dbt run`: only a batch this
    invocation landed (the raw models stamp loaded_at with run_started_at), so a rebuild
    that lands nothing does not warn again (NULL: nothing matches); in `dbt test`: the
    latest batch. -#}
{% macro warned_landing_batch() -%}
    (select max(loaded_at) from {{ ref('landing_files') }}
    {%- if flags.WHICH in ('build', 'run') and run_started_at is not none %}
     having max(loaded_at) >= cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
    {%- endif -%})
{%- endmacro %}
