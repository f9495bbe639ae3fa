{#- Adds is_final and segment_id to a relation of bars (SPEC §2).
    is_final: a newer bar of the same series exists, or the bar ended by var as_of
      (unless the relation already decides it: pass has_is_final=true).
    segment_id: 1-based; a new segment starts when the gap to the previous final bar of
      the series exceeds var max_gap_bars x the bar interval.
    bars: relation with the series columns, bar_start and interval_minutes. -#}
{% macro finality_and_segments(bars, series_columns, has_is_final=false) -%}
{%- set keys = series_columns | join(', ') -%}
with finality as (
    select
        * {% if has_is_final %}replace (
            is_final or {{ ended_by_as_of('bar_start', 'interval_minutes') }} as is_final
        ){% endif %}
        {% if not has_is_final -%}
        , (lead(bar_start) over (partition by {{ keys }} order by bar_start) is not null)
            or {{ ended_by_as_of('bar_start', 'interval_minutes') }} as is_final
        {%- endif %}
    from {{ bars }}
),

previous_final as (
    select *, {{ prev_final_bar_start(keys) }} as prev_final_bar_start
    from finality
)

select * exclude (prev_final_bar_start), {{ segment_id(keys, 'interval_minutes') }} as segment_id
from previous_final
{%- endmacro %}
