-- A and E of every lever row under both lever formulas side by side (docs/levers.md, "Two
-- formulas"), from the same rows of marts.fct_lever_contributions:
-- * `project`: contribution = delta_raw x driver_weight x timeframe_weight x
--   execution_multiplier (timeframe_weight from seed timeframe_weights);
-- * `seed_compute_levers`: the trading teams' literal compute_levers, delta_raw x
--   driver_weight x execution_multiplier.
-- Both from the rows' own delta_raw, driver_weight and execution_multiplier and the seed's
-- timeframe weights, whatever formula the switch (seed levers_config
-- apply_timeframe_weights) gave fct_lever_contributions; A = clamp(base_a + sum + intent_a,
-- 0, 1) with the sums, intents and clamps of marts.fct_levers, so the rows of the configured
-- formula (is_configured) equal fct_levers' a_value / e_value bit for bit.
-- tag research_input: read only by the research report rpt_lever_outcomes, so the update
-- job leaves it to the daily job with the reports (orchestration/defs/automation.py).
{{ config(tags=['research_input']) }}
with config as (
    {{ seed_values(ref('levers_config'), ['base_a', 'base_e', 'apply_timeframe_weights']) }}
),

-- one pass over the contributions, four exact sums (DECIMAL(38, 18) as in fct_levers):
-- the products are written as fct_lever_contributions writes them, ((delta x driver
-- weight) x timeframe weight) x multiplier, and x 1 changes no bit
summed as (
    select
        c.bar_start,
        c.execution_timeframe,
        c.bucket,
        cast(sum(cast(case when c.status = 'used'
            then c.delta_a_raw * c.driver_weight * w.weight * c.execution_multiplier else 0 end
            as decimal(38, 18))) as double) as project_a,
        cast(sum(cast(case when c.status = 'used'
            then c.delta_e_raw * c.driver_weight * w.weight * c.execution_multiplier else 0 end
            as decimal(38, 18))) as double) as project_e,
        cast(sum(cast(case when c.status = 'used'
            then c.delta_a_raw * c.driver_weight * c.execution_multiplier else 0 end
            as decimal(38, 18))) as double) as literal_a,
        cast(sum(cast(case when c.status = 'used'
            then c.delta_e_raw * c.driver_weight * c.execution_multiplier else 0 end
            as decimal(38, 18))) as double) as literal_e
    from {{ ref('fct_lever_contributions') }} as c
    left join {{ ref('timeframe_weights') }} as w using (timeframe)
    group by c.bar_start, c.execution_timeframe, c.bucket
),

by_formula as (
    select bar_start, execution_timeframe, bucket, 'project' as formula,
           project_a as total_contribution_a, project_e as total_contribution_e
    from summed
    union all
    select bar_start, execution_timeframe, bucket, 'seed_compute_levers' as formula,
           literal_a as total_contribution_a, literal_e as total_contribution_e
    from summed
),

unclamped as (
    select
        f.*,
        l.intent_a,
        l.intent_e,
        l.is_degraded,
        cfg.base_a + f.total_contribution_a + l.intent_a as a_unclamped,
        cfg.base_e + f.total_contribution_e + l.intent_e as e_unclamped,
        -- the formula fct_lever_contributions applies (a seeds table without the key: project)
        f.formula = case coalesce(cfg.apply_timeframe_weights, 1) when 1 then 'project' else 'seed_compute_levers' end
            as is_configured
    from by_formula as f
    join {{ ref('fct_levers') }} as l using (bar_start, execution_timeframe, bucket)
    cross join config as cfg
)

select
    bar_start,
    execution_timeframe,
    bucket,
    formula,
    greatest(0, least(1, a_unclamped)) as a_value,
    greatest(0, least(1, e_unclamped)) as e_value,
    a_unclamped,
    e_unclamped,
    total_contribution_a,
    total_contribution_e,
    intent_a,
    intent_e,
    is_degraded,
    is_configured
from unclamped
