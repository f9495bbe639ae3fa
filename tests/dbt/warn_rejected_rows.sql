-- Row-level landing problems never fail the build (docs/landing.md): they warn, one result per
-- quarantined record. See raw.rejected_rows for the reasons.
{{ config(severity='warn') }}
select source_file, line_number, reason from {{ ref('rejected_rows') }}
