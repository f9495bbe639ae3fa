-- The price path of the lever-outcome report (docs/levers.md, "Do the levers pay?"): per
-- bucket x execution timeframe, the final closes of the bucket's composite at the lever
-- closes, i.e. the epoch-aligned bar closes of the execution timeframe. Source bars: the
-- composite (marts.fct_driver_bars) at the coarsest regime timeframe whose interval divides
-- the execution timeframe's (sample: 1d <- macro 1d bars, 4h and 1h <- meso 1h bars, 15m
-- and 5m <- micro 5m bars); close_at = that bar's close (bar_start + its interval), kept when
-- it is aligned to the execution timeframe. An execution timeframe no regime timeframe
-- divides (1m on the sample) gets no rows. segment_id: the composite bar's segment.
-- A view; tag research_input (read only by rpt_lever_outcomes, rebuilt by the daily job).
{{ config(materialized='view', tags=['research_input']) }}
with execution_timeframes as (
    select distinct m.execution_timeframe, i.interval_minutes as execution_minutes
    from {{ ref('execution_timeframe_multipliers') }} as m
    join {{ ref('bar_intervals') }} as i on i.bar_interval = m.execution_timeframe
),

timeframes as (
    select t.timeframe, i.interval_minutes
    from {{ ref('regime_timeframes') }} as t
    join {{ ref('bar_intervals') }} as i using (bar_interval)
),

-- the coarsest regime timeframe whose bars tile the execution timeframe's
sources as (
    select
        e.execution_timeframe,
        e.execution_minutes,
        max_by(t.timeframe, t.interval_minutes) as timeframe,
        max(t.interval_minutes) as source_minutes
    from execution_timeframes as e
    join timeframes as t on e.execution_minutes % t.interval_minutes = 0
    group by all
),

buckets as (
    select d.driver as bucket
    from {{ ref('drivers') }} as d
    where d.driver in (select bucket from {{ ref('token_buckets') }})
),

closes as (
    select
        b.driver as bucket,
        s.execution_timeframe,
        s.execution_minutes,
        s.timeframe as source_timeframe,
        {{ add_minutes('b.bar_start', 's.source_minutes') }} as close_at,
        b.close,
        b.segment_id
    from {{ ref('fct_driver_bars') }} as b
    join sources as s on s.timeframe = b.timeframe
    where b.is_final and b.driver in (select bucket from buckets)
)

select bucket, execution_timeframe, execution_minutes, source_timeframe, close_at, close,
       cast(segment_id as bigint) as segment_id
from closes
where {{ bar_bucket('close_at', 'execution_minutes') }} = close_at
