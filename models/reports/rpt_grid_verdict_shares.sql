-- Per grid series: the share of bars in each verdict and how often the verdict changes
-- (changes per 100 bars: a change is a bar whose verdict differs from the previous bar's in
-- the same segment; the whipsaw rate of docs/volatility-regimes.md's reports). Bars with a
-- verdict only. docs/grid-regimes.md.
{{ config(materialized='table') }}
with verdicts as (
    select
        exchange, symbol, bar_interval, verdict,
        verdict <> lag(verdict) over (partition by series_part order by idx) as is_change
    from {{ ref('fct_grid_regimes') }}
    where verdict is not null
)

select
    exchange, symbol, bar_interval,
    count(*) as bars,
    count(*) filter (where verdict = 'RANGE_OK') / count(*) as share_range_ok,
    count(*) filter (where verdict = 'RANGE_WEAK') / count(*) as share_range_weak,
    count(*) filter (where verdict = 'TREND') / count(*) as share_trend,
    count(*) filter (where verdict = 'TRANSITION') / count(*) as share_transition,
    100.0 * count(*) filter (where is_change) / count(*) as changes_per_100_bars
from verdicts
group by all
