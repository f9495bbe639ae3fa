-- Quarantine: every landed record that failed validation, with its reason (docs/landing.md).
{% set ledgers = ['klines', 'dominance_readings', 'daily_series'] %}
{% for ledger in ledgers %}
select source_file, line_number, reject_reason as reason, raw_record, layout, content_hash, loaded_at
from {{ ref(ledger) }}
where status = 'rejected'
{% if not loop.last %}union all{% endif %}
{% endfor %}
