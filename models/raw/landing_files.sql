-- Per-file accounting: rows_read = rows_landed + rows_rejected + duplicates_collapsed.
-- A file is (source_file, content_hash): the same bytes under two paths are two files.
-- A file quarantined whole (docs/landing.md) has one ledger row, line_number 0, status
-- rejected, reason 'file: ...': status rejected here, with that reason.
{% set ledgers = ['klines', 'dominance_readings', 'daily_series'] %}
with ledger as (
    {% for ledger in ledgers %}
    select source_file, content_hash, layout, line_number, status, reject_reason, loaded_at from {{ ref(ledger) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    source_file,
    content_hash,
    any_value(layout) as layout,
    count(*) as rows_read,
    count(*) filter (where status = 'landed') as rows_landed,
    count(*) filter (where status = 'rejected') as rows_rejected,
    count(*) filter (where status = 'collapsed') as duplicates_collapsed,
    min(loaded_at) as loaded_at,
    case when bool_or(line_number = 0 and status = 'rejected') then 'rejected' else 'landed' end as status,
    any_value(reject_reason) filter (where line_number = 0 and status = 'rejected') as reject_reason
from ledger
group by source_file, content_hash
