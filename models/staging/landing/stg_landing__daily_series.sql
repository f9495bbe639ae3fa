-- Current version of every daily-series bar (index, volatility or price), cut at as_of.
-- Version order as stg_landing__klines: latest batch, a correction first, later file and line.
with current_version as (
    select * exclude (version_rank)
    from (
        select
            *,
            row_number() over (
                partition by series, bar_start
                order by loaded_at desc, (layout like 'corrections/%') desc, source_file desc, line_number desc
            ) as version_rank
        from {{ ref('daily_series') }}
        where status = 'landed'
        {{ as_of_filter('bar_start') }}
    )
    where version_rank = 1
)

select series, bar_start, open, high, low, close, volume, source_file
from current_version
