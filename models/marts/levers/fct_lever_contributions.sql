-- One row per lever bar x bucket x lever driver x regime timeframe (docs/levers.md): the state
-- of the driver at the timeframe that had ended when the lever bar closed, its raw
-- deltas, the weights, and contribution = delta_raw x driver_weight x timeframe_weight x
-- execution_multiplier when the state is `used` (0 when `stale` or `missing`).
-- Lever formula (seed levers_config apply_timeframe_weights): 1 = `project` (timeframe_weight
-- from seed timeframe_weights, the default); 0 = `seed_compute_levers`, the trading teams'
-- literal compute_levers, whose timeframe_weight is 1 (delta x driver weight x execution
-- multiplier only). The column always holds the weight applied.
--
-- Lever bar: bar_start t of execution timeframe X describes [t, t + X); its lever time is
-- the close t + X, and only states with closed_at <= t + X are seen (DuckDB ASOF join).
-- Grid: 1h/4h/1d (X >= the meso interval) on the epoch-aligned bar-close grid of the
-- meso states of the required drivers (BTC, ALT); 5m/15m (micro <= X < meso) on that of
-- their micro states; X finer than micro gets no rows. A lever bar is on the grid when its
-- close lies within an island of states of every required driver (islands split where
-- consecutive states are more than var max_gap_bars bars apart, as segments do).
--
-- Incremental (docs/levers.md "Incremental runs"): the pre-hook rewind_lever_bars()
-- (macros/indicators/revisions.sql) deletes the lever bars a new state or a revision can
-- change (here and in fct_levers); the run then adds, per execution timeframe, the lever
-- bars after the last stored one, reading the islands from max_gap_bars + 1 grid bars
-- before the earliest of them. A revision rewinds it from the first changed bar (meta
-- revision_rewind = from_bar_start). An incremental run whose applied timeframe weights
-- differ from the stored rows' (the switch or seed timeframe_weights edited) stops with an
-- error asking for --full-refresh: a table never mixes two formulas.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['bar_start', 'execution_timeframe'], pre_hook="{{ rewind_lever_bars() }}",
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with config as (
    {{ seed_values(ref('levers_config'), ['stale_bars', 'apply_timeframe_weights']) }}
),

-- the timeframe weight each contribution applies: the seed's under formula `project`
-- (apply_timeframe_weights = 1), 1 under `seed_compute_levers` (0); any other value stops the
-- build. A seeds table without the key (loaded before the switch existed: update runs load
-- no seeds) keeps formula project, the behaviour of that warehouse.
applied_timeframe_weights as (
    select
        w.timeframe,
        case coalesce(c.apply_timeframe_weights, 1)
            when 1 then w.weight
            when 0 then cast(1 as double)
            else {{ error_function() }}('levers_config: apply_timeframe_weights must be 1 (formula project) or 0 '
                       || '(formula seed_compute_levers), not ' || cast(c.apply_timeframe_weights as {{ dbt.type_string() }}))
        end as weight
    from {{ ref('timeframe_weights') }} as w
    cross join config as c
),

timeframes as (
    select t.timeframe, t.bar_interval, t.sets_lever_grid, i.interval_minutes
    from {{ ref('regime_timeframes') }} as t
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

-- buckets: the drivers that are token buckets; every other driver (BTC, ALT, BTC.d,
-- USDT.d) is a market driver and feeds every bucket's levers
buckets as (
    select d.driver as bucket
    from {{ ref('drivers') }} as d
    where d.driver in (select bucket from {{ ref('token_buckets') }})
),

lever_drivers as (
    select b.bucket, d.driver
    from buckets as b
    join {{ ref('drivers') }} as d
        on d.driver = b.bucket or d.driver not in (select bucket from buckets)
),

required_drivers as (
    select driver from {{ ref('drivers') }} where is_required
),

-- each execution timeframe's grid timeframe: the coarsest timeframe that sets the lever grid
-- (seed regime_timeframes sets_lever_grid: meso, micro) not longer than it
execution_timeframes as (
    select
        e.execution_timeframe,
        i.interval_minutes as execution_minutes,
        max_by(t.timeframe, t.interval_minutes) as grid_timeframe
    from (select distinct execution_timeframe from {{ ref('execution_timeframe_multipliers') }}) as e
    join {{ ref('bar_intervals') }} as i on i.bar_interval = e.execution_timeframe
    join timeframes as t
        on t.sets_lever_grid and t.interval_minutes <= i.interval_minutes
    group by all
),

{% if is_incremental() -%}
-- the stored rows were computed with the timeframe weights applied now (same formula, same
-- seed), else the run stops: a switch or weight edit needs a full refresh
stored_formula as (
    select case when coalesce(bool_or(s.timeframe_weight is distinct from w.weight), false)
        then {{ error_function() }}('fct_lever_contributions: the stored rows were computed with other timeframe weights '
                   || '(levers_config apply_timeframe_weights or seed timeframe_weights changed): '
                   || 'rebuild the lever marts with --full-refresh')
        else true end as is_same
    from (select distinct timeframe, timeframe_weight from {{ this }}) as s
    left join applied_timeframe_weights as w using (timeframe)
),

-- the lever bars after the last stored one of each execution timeframe are computed
stored_last as (
    select e.execution_timeframe, max(c.bar_start) as last_bar_start
    from execution_timeframes as e
    left join {{ this }} as c using (execution_timeframe)
    where (select is_same from stored_formula)
    group by all
),

cutoff as (
    select case when bool_or(l.last_bar_start is null) then {{ timestamp_before_all() }}
                else min({{ add_minutes('l.last_bar_start', 'e.execution_minutes') }}) end as from_closed_at
    from stored_last as l join execution_timeframes as e using (execution_timeframe)
),

{% endif -%}
grid_states as (
    select
        d.driver, d.timeframe, d.bar_start, d.closed_at, t.interval_minutes,
        coalesce(
            {{ minutes_between('lag(d.bar_start) over series_order', 'd.bar_start') }}
                > {{ var('max_gap_bars') }} * t.interval_minutes,
            true
        ) as starts_island
    from {{ ref('fct_regime_deltas') }} as d
    join timeframes as t using (timeframe)
    where d.driver in (select driver from required_drivers)
      and d.timeframe in (select grid_timeframe from execution_timeframes)
      {%- if is_incremental() %}
      -- an island reaching the cutoff has a state within max_gap_bars bars before it
      and d.closed_at >= {{ add_minutes('(select from_closed_at from cutoff)',
                                        '-(' ~ var('max_gap_bars') ~ ' + 1) * t.interval_minutes') }}
      {%- endif %}
    window series_order as (partition by d.driver, d.timeframe order by d.bar_start)
),

islands as (
    select driver, timeframe, min(closed_at) as first_closed_at, max(closed_at) as last_closed_at
    from (
        select *, sum(cast(starts_island as integer)) over (
            partition by driver, timeframe order by bar_start rows unbounded preceding
        ) as island_id
        from grid_states
    ) as numbered
    group by driver, timeframe, island_id
),

-- the epoch-aligned lever closes at/after an island's first and at/before its last state close
island_closes as (
    select
        e.execution_timeframe, e.execution_minutes, e.grid_timeframe,
        {{ bar_bucket('i.first_closed_at', 'e.execution_minutes') }} as first_floor,
        i.first_closed_at,
        {{ bar_bucket('i.last_closed_at', 'e.execution_minutes') }} as last_close
    from execution_timeframes as e
    join islands as i on i.timeframe = e.grid_timeframe
),

-- candidate lever bars: every aligned bar whose close falls in some island
candidates as (
    select distinct execution_timeframe, execution_minutes, grid_timeframe, bar_start
    from (
        select
            *,
            {{ unnest_timestamps(
                "case when first_floor = first_closed_at then " ~ add_minutes('first_floor', '-execution_minutes')
                ~ " else first_floor end",
                add_minutes('last_close', '-execution_minutes'),
                'execution_minutes') }} as bar_start
        from island_closes
    )
),

lever_bars as (
    select c.execution_timeframe, c.execution_minutes, c.bar_start,
           {{ add_minutes('c.bar_start', 'c.execution_minutes') }} as closed_at
    from candidates as c
    join islands as i
        on i.timeframe = c.grid_timeframe
       and {{ add_minutes('c.bar_start', 'c.execution_minutes') }} between i.first_closed_at and i.last_closed_at
    {%- if is_incremental() %}
    join stored_last as s
        on s.execution_timeframe = c.execution_timeframe and (s.last_bar_start is null or c.bar_start > s.last_bar_start)
    {%- endif %}
    group by all
    having count(distinct i.driver) = (select count(*) from required_drivers)
),

-- one probe per lever bar x driver x timeframe, shared by the buckets
probes as (
    select l.execution_timeframe, l.execution_minutes, l.bar_start, l.closed_at,
           d.driver, t.timeframe, t.interval_minutes
    from lever_bars as l
    cross join (select distinct driver from lever_drivers) as d
    cross join timeframes as t
),

-- the state each probe sees: the latest one closed by the lever bar's close (ASOF join)
latest_states as (
    {{ asof_latest('probes', ref('fct_regime_deltas'), ['driver', 'timeframe'], 'closed_at', 'closed_at',
                   {'state_bar_start': 'bar_start', 'state_closed_at': 'closed_at', 'state': 'state',
                    'delta_a_raw': 'delta_a_raw', 'delta_e_raw': 'delta_e_raw'}) }}
),

statused as (
    select
        *,
        case
            when state_bar_start is null then 'missing'
            when {{ minutes_between('state_closed_at', 'closed_at') }}
                > (select stale_bars from config) * interval_minutes then 'stale'
            else 'used'
        end as status
    from latest_states
),

-- weights and contributions per probe, before fanning out to the buckets
weighted as (
    select
        s.*,
        dw.weight as driver_weight,
        tw.weight as timeframe_weight,
        m.multiplier as execution_multiplier,
        case when s.status = 'used'
            then s.delta_a_raw * dw.weight * tw.weight * m.multiplier else 0 end as contribution_a,
        case when s.status = 'used'
            then s.delta_e_raw * dw.weight * tw.weight * m.multiplier else 0 end as contribution_e
    from statused as s
    left join {{ ref('driver_weights') }} as dw using (driver)
    left join applied_timeframe_weights as tw using (timeframe)
    left join {{ ref('execution_timeframe_multipliers') }} as m using (execution_timeframe, timeframe)
)

select
    w.bar_start,
    w.execution_timeframe,
    ld.bucket,
    w.driver,
    w.timeframe,
    w.state_bar_start,
    w.state,
    w.delta_a_raw,
    w.delta_e_raw,
    w.driver_weight,
    w.timeframe_weight,
    w.execution_multiplier,
    w.contribution_a,
    w.contribution_e,
    w.status
from weighted as w
join lever_drivers as ld using (driver)
{%- endcall %}
