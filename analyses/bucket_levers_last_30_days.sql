-- A / E levers of one token bucket over the last 30 days of data, per day (BI: "how
-- aggressive should the small bucket be, and how has that moved?").
-- Set the bucket (nano, small, mid, big) and execution timeframe (5m, 15m, 1h, 4h, 1d)
-- below. "Last 30 days" ends at the bucket's newest lever bar (not now(): the sample ends
-- in 2025-07). a_value / e_value / position_size_frac are fractions 0..1; degraded_bars
-- counts bars where BTC or ALT had no fresh meso state.
{%- set bucket = 'small' %}
{%- set execution_timeframe = '1h' %}
with levers as (
    select *
    from {{ ref('fct_levers') }}
    where bucket = '{{ bucket }}' and execution_timeframe = '{{ execution_timeframe }}'
),

last_bar as (
    select max(bar_start) as last_bar_start from levers
)

select
    l.bar_start::date as day,
    count(*) as bars,
    round(avg(l.a_value), 3) as avg_a,
    round(min(l.a_value), 3) as min_a,
    round(max(l.a_value), 3) as max_a,
    round(avg(l.e_value), 3) as avg_e,
    round(avg(l.position_size_frac), 3) as avg_position_size_frac,
    round(arg_max(l.a_value, l.bar_start), 3) as a_at_day_close,
    count(*) filter (where l.is_degraded) as degraded_bars
from levers as l
cross join last_bar as b
where l.bar_start > b.last_bar_start - interval 30 day
group by all
order by day
