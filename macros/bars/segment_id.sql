{#- Segment numbering (SPEC §2): within a series ordered by bar_start, a new segment
    starts when the gap to the previous final bar exceeds max_gap_bars x the interval.
    Emits a window expression; `partition_by` is a SQL list of series columns and the
    relation must have bar_start and an integer minutes column. Segments count from 1. -#}
{% macro segment_id(partition_by, minutes_column) -%}
    1 + sum(case when {{ minutes_between('prev_final_bar_start', 'bar_start') }}
                      > {{ var('max_gap_bars') }} * {{ minutes_column }} then 1 else 0 end)
        over (partition by {{ partition_by }} order by bar_start rows between unbounded preceding and current row)
{%- endmacro %}

{#- The previous *final* bar_start of the series (NULL at the first bar). -#}
{% macro prev_final_bar_start(partition_by) -%}
    max(case when is_final then bar_start end)
        over (partition by {{ partition_by }} order by bar_start rows between unbounded preceding and 1 preceding)
{%- endmacro %}
