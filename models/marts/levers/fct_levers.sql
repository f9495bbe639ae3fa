-- A (aggressiveness) and E (exit pressure) per lever bar x execution timeframe x bucket
-- (docs/levers.md): A = base_a + sum of the 15 contributions + intent_a, clamped to [0, 1]; the
-- same for E; position_size_frac = size_min + size_span x A (clamped).
--
-- Incremental (docs/levers.md "Incremental runs"): per execution timeframe, the lever bars
-- of fct_lever_contributions after the last stored one (the pre-hook of
-- fct_lever_contributions deletes the lever bars it recomputes here too), and every lever
-- row that has an intent in source trading.position_intents or was stored with one (an
-- intent may be added, changed or removed for any bar at any time). A revision rewinds it
-- from the first changed bar (meta revision_rewind = from_bar_start).
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['bar_start', 'execution_timeframe', 'bucket'],
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with
{%- if is_incremental() %}
stored_last as (
    select execution_timeframe, max(bar_start) as last_bar_start from {{ this }} group by all
),

-- lever rows whose intents may differ from the stored ones
intent_rows as (
    select bar_start, execution_timeframe, bucket from {{ source('trading', 'position_intents') }}
    union
    select bar_start, execution_timeframe, bucket from {{ this }} where intent_a <> 0 or intent_e <> 0
),
{% endif %}

config as (
    {{ seed_values(ref('levers_config'), ['base_a', 'base_e', 'intent_cap', 'size_min', 'size_span']) }}
),

-- Totals are summed as DECIMAL(38, 18): each term is rounded to 18 decimal places
-- (~1e-16 relative), then integer addition is exact, so a total does not depend on the
-- order in which threads add the rows (determinism, docs/architecture.md; 3x faster than an ordered
-- aggregate) and cancelling terms give exactly 0.
summed as (
    select
        c.bar_start,
        c.execution_timeframe,
        c.bucket,
        cast(sum(cast(c.contribution_a as decimal(38, 18))) as double) as total_contribution_a,
        cast(sum(cast(c.contribution_e as decimal(38, 18))) as double) as total_contribution_e,
        count(*) filter (where c.status = 'used') as n_used,
        count(*) filter (where c.status = 'stale') as n_stale,
        count(*) filter (where c.status = 'missing') as n_missing,
        -- degraded: a required driver (BTC, ALT) is not used at a timeframe that decides it
        -- (seed regime_timeframes decides_degraded: meso)
        coalesce(bool_or(t.decides_degraded and c.status <> 'used' and d.is_required), false) as is_degraded
    from {{ ref('fct_lever_contributions') }} as c
    join {{ ref('drivers') }} as d using (driver)
    join {{ ref('regime_timeframes') }} as t using (timeframe)
    {%- if is_incremental() %}
    left join stored_last as s using (execution_timeframe)
    where
        s.last_bar_start is null or c.bar_start > s.last_bar_start
        or exists (
            select 1 from intent_rows as i
            where
                i.bar_start = c.bar_start and i.execution_timeframe = c.execution_timeframe
                and i.bucket = c.bucket
        )
    {%- endif %}
    group by c.bar_start, c.execution_timeframe, c.bucket
),

-- the desks' intents (source trading.position_intents, empty by default)
intents as (
    select
        bar_start,
        bucket,
        execution_timeframe,
        cast(sum(cast(delta_a as decimal(38, 18))) as double) as delta_a,
        cast(sum(cast(delta_e as decimal(38, 18))) as double) as delta_e
    from {{ source('trading', 'position_intents') }}
    group by bar_start, bucket, execution_timeframe
),

with_intents as (
    select
        s.*,
        -- the intent total per lever row is capped, not each intent (coalesce first:
        -- greatest/least skip NULLs)
        greatest(-cfg.intent_cap, least(cfg.intent_cap, coalesce(i.delta_a, 0))) as intent_a,
        greatest(-cfg.intent_cap, least(cfg.intent_cap, coalesce(i.delta_e, 0))) as intent_e
    from summed as s
    cross join config as cfg
    left join intents as i using (bar_start, bucket, execution_timeframe)
),

unclamped as (
    select
        w.*,
        cfg.base_a + w.total_contribution_a + w.intent_a as a_unclamped,
        cfg.base_e + w.total_contribution_e + w.intent_e as e_unclamped,
        cfg.size_min,
        cfg.size_span
    from with_intents as w
    cross join config as cfg
)

select
    bar_start,
    execution_timeframe,
    bucket,
    greatest(0, least(1, a_unclamped)) as a_value,
    greatest(0, least(1, e_unclamped)) as e_value,
    size_min + size_span * greatest(0, least(1, a_unclamped)) as position_size_frac,
    intent_a,
    intent_e,
    a_unclamped,
    e_unclamped,
    is_degraded,
    n_used,
    n_stale,
    n_missing
from unclamped
{%- endcall %}
