-- Row-level landing problems never fail the build (docs/landing.md): they warn, one result
-- per record quarantined by the LATEST landing batch (the newest loaded_at; one dbt build
-- is one batch), so an old reject does not warn again on every build. Each result names
-- its file, line and reason, the file's reject count and its top three reasons; the same
-- per-file summary is logged to the build output. See raw.rejected_rows for every reject.
{{ config(severity='warn') }}
{#- the batch: macro warned_landing_batch (macros/utils/landing_batch.sql) -#}
{%- set latest_rejects -%}
with batch as (
    select {{ warned_landing_batch() }} as loaded_at
),
rejects as (
    select r.source_file, r.line_number, r.reason, r.content_hash
    from {{ ref('rejected_rows') }} as r
    join batch as b on r.loaded_at = b.loaded_at
),
per_reason as (
    select
        source_file, content_hash, reason, count(*) as n,
        row_number() over (partition by source_file, content_hash order by count(*) desc, reason) as reason_rank
    from rejects
    group by source_file, content_hash, reason
),
per_file as (
    select
        p.source_file,
        p.content_hash,
        sum(p.n) as rejects_in_file,
        {{ ordered_string_agg("p.reason || ' (' || p.n || ')'", '; ', 'p.reason_rank') }} filter (where p.reason_rank <= 3)
            as top_reasons
    from per_reason as p
    group by p.source_file, p.content_hash
)
select
    r.source_file,
    r.line_number,
    r.reason,
    f.rejects_in_file,
    l.rows_read as records_in_file,
    f.top_reasons
from rejects as r
join per_file as f on f.source_file = r.source_file and f.content_hash = r.content_hash
join {{ ref('landing_files') }} as l on l.source_file = r.source_file and l.content_hash = r.content_hash
{%- endset %}
{%- if execute and load_relation(ref('rejected_rows')) is not none and load_relation(ref('landing_files')) is not none %}
    {%- set summary = run_query("select source_file, any_value(rejects_in_file), any_value(records_in_file), "
                                ~ "any_value(top_reasons) from (" ~ latest_rejects ~ ") group by source_file order by source_file") %}
    {%- for row in summary.rows %}
        {%- do log("landing: " ~ row[0] ~ ": " ~ row[1] ~ " of " ~ row[2] ~ " records rejected by the latest batch; top reasons: " ~ row[3], info=True) %}
    {%- endfor %}
{%- endif %}
{{ latest_rejects }}
