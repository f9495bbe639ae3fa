-- Per-file accounting: rows_read = rows_landed + rows_rejected + duplicates_collapsed.
{% set ledgers = ['klines', 'dominance_readings', 'daily_series'] %}
with ledger as (
    {% for ledger in ledgers %}
    select source_file, content_hash, layout, status, loaded_at from {{ ref(ledger) }}
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
    min(loaded_at) as loaded_at
from ledger
group by source_file, content_hash
