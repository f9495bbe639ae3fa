-- One row per state change of a regime detector (SPEC §6): every bar whose state differs
-- from a non-NULL previous state. reason = the exit reason when the change is an exit,
-- else '<from>_to_<to>'.
select
    'uptrend' as detector,
    driver as entity,
    timeframe,
    bar_start,
    prev_state as from_state,
    state as to_state,
    coalesce(exit_reason, prev_state || '_to_' || state) as reason
from {{ ref('fct_uptrend_states') }}
where prev_state is not null and state <> prev_state
