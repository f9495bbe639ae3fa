-- A file quarantined whole (unreadable or truncated gzip, 0 bytes, bad name or exchange
-- folder, unknown header, invalid JSON, bad snapshot price_scale, no records, ...; docs/landing.md)
-- never fails the build and never blocks the other files: it warns, one result per such
-- file of the LATEST landing batch (the newest loaded_at), naming the file and the reason;
-- each is also logged to the build output. See raw.landing_files (status rejected).
{{ config(severity='warn') }}
{#- the batch: macro warned_landing_batch (macros/utils/landing_batch.sql) -#}
{%- set latest_files -%}
select l.source_file, l.content_hash, l.layout, l.reject_reason
from {{ ref('landing_files') }} as l
where l.status = 'rejected'
  and l.loaded_at = {{ warned_landing_batch() }}
{%- endset %}
{%- if execute and load_relation(ref('landing_files')) is not none %}
    {%- set files = run_query(latest_files ~ " order by 1") %}
    {%- for row in files.rows %}
        {%- do log("landing: file quarantined whole: " ~ row[0] ~ ": " ~ row[3], info=True) %}
    {%- endfor %}
{%- endif %}
{{ latest_files }}
