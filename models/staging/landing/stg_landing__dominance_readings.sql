-- Current version of every dominance reading, mapped to its driver and source by seed
-- dominance_series (unmapped series keep a NULL driver and fail a warn test), cut at as_of.
-- Version order as stg_landing__klines: latest batch, a correction first, later file and line.
with current_version as (
    {{ current_version(ref('dominance_readings'), ['series', 'reading_at'], 'reading_at') }}
)

select
    v.series,
    s.driver,
    s.source,
    s.priority,
    v.reading_interval,
    v.reading_at,
    v.dominance_pct,
    v.source_file
from current_version as v
left join {{ ref('dominance_series') }} as s on s.series = v.series
