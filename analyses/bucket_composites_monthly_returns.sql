-- Monthly returns of the bucket composites (equal-weight indices) side by side.
select
    date_trunc('month', bar_start) as month,
    driver,
    arg_max(close, bar_start) / arg_min(open, bar_start) - 1 as monthly_return,
    round(avg(n_constituents), 1) as avg_members
from {{ ref('fct_driver_bars') }}
where timeframe = 'meso' and driver in ('nano', 'small', 'mid', 'big')
group by all
order by month, driver
