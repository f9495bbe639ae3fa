-- Final bars of every indicator series segment, numbered idx = 0, 1, ... from the
-- segment's first bar, keyed by series_part = hash(series_id, segment_id) (macro
-- indicator_series_part), with the per-bar inputs of the indicators: previous close,
-- absolute change, true range, gain/loss, Wilder directional movement, log return (and
-- the previous one) and ln(1 + volume) (0 without volume). Indicators use final bars only
-- and restart at every segment (docs/indicators.md).
-- Incremental: appends the final bars after each series' last stored bar; the lags of the
-- first new bar come from the last two stored rows. A stored bar that changed since (a
-- revision, a correction, a back-fill or a bar no longer final) is found by the pre-hook
-- rewind_revised_series (macros/indicators/revisions.sql): the series is cut back to its
-- first changed bar in this model and in every model downstream, and recomputed from there
-- in the same run (docs/indicators.md, "Revisions"). The out-of-order check below remains
-- as a guard: after the rewind it cannot fire.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'}, pre_hook="{{ rewind_revised_series() }}",
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with final_bars as (
    {{ indicator_final_bars() }}
),

{%- if is_incremental() %}

stored as (
    select series_part, max(idx) as last_idx, max(bar_start) as last_bar_start
    from {{ this }}
    group by series_part
),

-- stored series whose final bars up to the last stored bar are no longer exactly the stored ones
out_of_order as (
    select f.series_id
    from final_bars as f
    join stored as s using (series_part)
    where f.bar_start <= s.last_bar_start
    group by f.series_id, s.last_idx
    having count(*) <> s.last_idx + 1
),

context as (
    -- the last two stored bars of each series: the lags of the first new bar
    select t.series_part, t.idx, t.bar_start, t.high, t.low, t.close, null::double as volume, true as is_context
    from {{ this }} as t
    join stored as s on s.series_part = t.series_part and t.idx >= s.last_idx - 1
),

{%- else %}

stored as (
    select cast(null as {{ series_key_type() }}) as series_part, cast(null as bigint) as last_idx,
           cast(null as timestamp) as last_bar_start
    where false
),

out_of_order as (select cast(null as {{ dbt.type_string() }}) as series_id where false),

context as (
    select cast(null as {{ series_key_type() }}) as series_part, cast(null as bigint) as idx, cast(null as timestamp) as bar_start,
           null::double as high, null::double as low, null::double as close, null::double as volume, true as is_context
    where false
),

{%- endif %}

new_bars as (
    -- base_idx: idx of the series' first row in this run (its first context row, or 0)
    select f.series_part, f.bar_start, f.high, f.low, f.close, f.volume, false as is_context,
           coalesce(greatest(s.last_idx - 1, 0), 0) as base_idx
    from final_bars as f
    left join stored as s using (series_part)
    where s.last_bar_start is null or f.bar_start > s.last_bar_start
),

sequenced as (
    -- one window pass: numbering and lags share the sort
    select
        series_part, is_context, bar_start, high, low, close, volume,
        case when is_context then idx else base_idx + row_number() over series_order - 1 end as idx,
        lag(close) over series_order as prev_close,
        lag(high) over series_order as prev_high,
        lag(low) over series_order as prev_low,
        lag(close, 2) over series_order as prev_prev_close
    from (
        select series_part, bar_start, high, low, close, volume, is_context, base_idx, null as idx from new_bars
        union all
        select series_part, bar_start, high, low, close, volume, is_context, null as base_idx, idx from context
    ) as unioned
    window series_order as (partition by series_part order by bar_start)
)

select
    series_part,
    idx,
    bar_start,
    high,
    low,
    close,
    prev_close,
    abs(close - prev_close) as abs_change,
    {{ true_range('high', 'low', 'prev_close') }} as true_range,
    greatest(close - prev_close, 0) as gain,
    greatest(prev_close - close, 0) as loss,
    {{ directional_movement('high', 'low', 'prev_high', 'prev_low', 'plus') }} as plus_dm,
    {{ directional_movement('high', 'low', 'prev_high', 'prev_low', 'minus') }} as minus_dm,
    ln(close / prev_close) as log_return,
    ln(prev_close / prev_prev_close) as prev_log_return,
    ln(1 + coalesce(volume, 0)) as log_volume
from sequenced
where not is_context
    and (select case when count(*) = 0 then true
                     else {{ error_function() }}('int_indicator_bars_prepared: final bars landed before the last computed bar of '
                                || count(*) || ' series (e.g. ' || min(series_id) || '); indicators are computed in '
                                || 'chronological order: rebuild them with dbt build --full-refresh --select int_indicator_bars_prepared+')
                end
         from out_of_order)
{%- endcall %}
