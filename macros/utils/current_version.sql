{#- The current version of each key in a landing ledger (docs/landing.md): landed rows only, cut
    at var as_of on `ts_column`, latest landing first (loaded_at, source_file,
    line_number), so a later landing supersedes a provisional bar.
    Returns a select of every ledger column for the winning rows. -#}
{% macro current_version(ledger, key_columns, ts_column) -%}
    select * exclude (version_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by loaded_at desc, source_file desc, line_number desc
            ) as version_rank
        from {{ ledger }}
        where status = 'landed'
        {{ as_of_filter(ts_column) }}
    )
    where version_rank = 1
{%- endmacro %}
