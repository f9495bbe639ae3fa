{#- Adds is_final and segment_id to a relation of bars (SPEC §2).
    is_final: a newer bar of the same series exists, or the bar ended by var as_of, or
      (when horizon_columns is given) the series has stopped: its newest bar ended more
      than var max_gap_bars bars before the newest bar of any series sharing the horizon
      columns (e.g. the same exchange and interval). The last rule makes the final candle
      of a delisted symbol (REPUSDT on 2022-12-22 in the sample) final instead of
      provisional forever, which keeps full and as_of builds equal for it.
      With has_is_final=true the relation's own is_final is kept (or-ed with as_of).
    segment_id: 1-based; a new segment starts when the gap to the previous final bar of
      the series exceeds var max_gap_bars x the bar interval.
    bars: relation with the series columns, bar_start and interval_minutes. -#}
{% macro finality_and_segments(bars, series_columns, has_is_final=false, horizon_columns=none) -%}
{%- set keys = series_columns | join(', ') -%}
with finality as (
    select
        * {% if has_is_final %}replace (
            is_final or {{ ended_by_as_of('bar_start', 'interval_minutes') }} as is_final
        ){% endif %}
        {% if not has_is_final -%}
        , (lead(bar_start) over (partition by {{ keys }} order by bar_start) is not null)
            or {{ ended_by_as_of('bar_start', 'interval_minutes') }}
            {%- if horizon_columns %}
            or {{ add_minutes('bar_start', '(1 + ' ~ var('max_gap_bars') ~ ') * interval_minutes') }}
                <= max(bar_start) over (partition by {{ horizon_columns | join(', ') }})
            {%- endif %} as is_final
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
