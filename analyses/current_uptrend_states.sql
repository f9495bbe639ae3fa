-- Current Uptrend Engine state per regime driver x timeframe (BI: "where is each driver now?").
-- One row per driver x timeframe: its newest final bar, the state after it, since when the
-- state has held (bar_start of the first bar of the current run, UTC) and the bar's flags
-- and trend-strength score (0..1). A driver x timeframe without data has no row.
with states as (
    select
        *,
        -- a run starts where the state changes or the engine (re)starts (prev_state NULL)
        max(case when prev_state is null or prev_state <> state then bar_start end)
            over (partition by driver, timeframe order by bar_start) as state_since
    from {{ ref('fct_uptrend_states') }}
)

select
    s.driver,
    s.timeframe,
    s.bar_start as last_bar,
    s.state,
    s.state_since,
    s.buy_flag,
    s.rebuy_flag,
    s.trim_flag,
    round(s.ts_score, 3) as ts_score
from states as s
join {{ ref('dim_drivers') }} as d using (driver)
qualify row_number() over (partition by s.driver, s.timeframe order by s.bar_start desc) = 1
order by d.kind desc, s.driver, case s.timeframe when 'micro' then 1 when 'meso' then 2 else 3 end
