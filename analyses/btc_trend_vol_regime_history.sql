-- Trend x volatility regime history of the BTC market (docs/trend-vol-regimes.md: BTC daily close vs its
-- 200-day SMA, and DVOL) as episodes: one row per run of consecutive days in one regime
-- (a detector restart also starts a new run), with its first and last day, length in
-- days, BTC close (USDT) at both ends, the change over the episode (fraction) and the
-- mean DVOL (annualised implied volatility, percent points).
{%- set market = 'BTC' %}
with days as (
    select
        *,
        cast(count(*) filter (where prev_regime is distinct from regime)
            over (order by bar_start) as integer) as episode
    from {{ ref('fct_market_regimes') }}
    where market = '{{ market }}'
)

select
    episode,
    regime,
    min(bar_start)::date as first_day,
    max(bar_start)::date as last_day,
    count(*) as days,
    round(arg_min(price, bar_start), 2) as price_first_day,
    round(arg_max(price, bar_start), 2) as price_last_day,
    round(arg_max(price, bar_start) / arg_min(price, bar_start) - 1, 4) as price_change,
    round(avg(vol_value), 1) as avg_vol_value
from days
group by episode, regime
order by first_day
