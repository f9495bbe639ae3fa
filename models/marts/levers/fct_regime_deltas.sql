-- Raw lever deltas per driver x timeframe x state bar (docs/levers.md): the
-- state's row of regime_state_deltas + one regime_flag_deltas row per active flag (buy,
-- rebuy, trim) + the regime_transition_deltas row on the bar of an emergency move to S0.
-- NULL flags (the engine has not computed them yet) count as inactive; first_dip_buy is a
-- kind of buy and maps to the same (state, buy) row, counted once. A state or flag
-- without a seed row adds 0 (the seeds list only the combinations that matter).
-- Incremental: each driver x timeframe adds its state bars after its last stored one (a
-- row depends on its own state bar only); a revision rewinds it from the first changed bar
-- (meta revision_rewind = from_bar_start, macros/indicators/revisions.sql).
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['driver', 'timeframe', 'bar_start'],
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with
{%- if is_incremental() %}
frontier as (
    select driver, timeframe, max(bar_start) as last_bar_start from {{ this }} group by all
),
{% endif %}

states as (
    select
        s.driver,
        s.timeframe,
        s.bar_start,
        t.bar_interval,
        {{ add_minutes('s.bar_start', 'i.interval_minutes') }} as closed_at,
        s.state,
        s.prev_state,
        coalesce(s.buy_flag, false) as buy_flag,
        coalesce(s.first_dip_buy_flag, false) as first_dip_buy_flag,
        coalesce(s.rebuy_flag, false) as rebuy_flag,
        coalesce(s.trim_flag, false) as trim_flag
    from {{ ref('fct_uptrend_states') }} as s
    join {{ ref('regime_timeframes') }} as t using (timeframe)
    join {{ ref('bar_intervals') }} as i using (bar_interval)
    {%- if is_incremental() %}
    left join frontier as f on f.driver = s.driver and f.timeframe = s.timeframe
    where f.last_bar_start is null or s.bar_start > f.last_bar_start
    {%- endif %}
),

flag_deltas as (
    select state, flag, delta_a, delta_e from {{ ref('regime_flag_deltas') }}
)

select
    s.driver,
    s.timeframe,
    s.bar_start,
    s.bar_interval,
    s.closed_at,
    s.state,
    s.prev_state,
    s.buy_flag,
    s.first_dip_buy_flag,
    s.rebuy_flag,
    s.trim_flag,
    tr.from_state is not null as has_transition_delta,
    coalesce(sd.delta_a, 0) + coalesce(buy_d.delta_a, 0) + coalesce(rebuy_d.delta_a, 0)
        + coalesce(trim_d.delta_a, 0) + coalesce(tr.delta_a, 0) as delta_a_raw,
    coalesce(sd.delta_e, 0) + coalesce(buy_d.delta_e, 0) + coalesce(rebuy_d.delta_e, 0)
        + coalesce(trim_d.delta_e, 0) + coalesce(tr.delta_e, 0) as delta_e_raw
from states as s
left join {{ ref('regime_state_deltas') }} as sd
    on sd.state = s.state
left join flag_deltas as buy_d
    on buy_d.state = s.state and buy_d.flag = 'buy' and (s.buy_flag or s.first_dip_buy_flag)
left join flag_deltas as rebuy_d
    on rebuy_d.state = s.state and rebuy_d.flag = 'rebuy' and s.rebuy_flag
left join flag_deltas as trim_d
    on trim_d.state = s.state and trim_d.flag = 'trim' and s.trim_flag
-- the seed's rows are the emergency moves (S1/S2/S3 -> S0); any other change matches none
left join {{ ref('regime_transition_deltas') }} as tr
    on tr.from_state = s.prev_state and tr.to_state = s.state
{%- endcall %}
