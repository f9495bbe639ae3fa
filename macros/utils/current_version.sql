{#- The current version of each key in a landing ledger (docs/landing.md): landed rows only,
    cut at var as_of on `ts_column`, newest first: the latest landing batch (loaded_at),
    within it a correction (layout corrections/...) before any other row, then the later
    file and line (market_regimes.landing.ledger's version order). So a later landing
    supersedes a provisional bar and a correction supersedes even a final one.
    Returns a select of every ledger column for the winning rows. -#}
{% macro current_version(ledger, key_columns, ts_column) -%}
    select {{ star_except(['version_rank']) }}
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by loaded_at desc, (layout like 'corrections/%') desc, source_file desc, line_number desc
            ) as version_rank
        from {{ ledger }}
        where status = 'landed'
        {{ as_of_filter(ts_column) }}
    )
    where version_rank = 1
{%- endmacro %}
