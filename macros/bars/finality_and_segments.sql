{#- Adds is_final and segment_id to a relation of bars (docs/bars-and-drivers.md).
    is_final: a newer bar of the same series exists, or the bar ended by var as_of, or
      (when horizon_columns is given) the series has stopped: its newest bar ended more
      than var max_gap_bars bars before the newest bar of any series sharing the horizon
      columns (e.g. the same exchange and interval). The last rule makes the final candle
      of a delisted symbol (REPUSDT on 2022-12-22 in the sample) final instead of
      provisional forever, which keeps full and as_of builds equal for it.
      With has_is_final=true the relation's own is_final is kept (or-ed with as_of).
    segment_id: 1-based; a new segment starts when the gap to the previous final bar of
      the series exceeds var max_gap_bars x the bar interval.
    bars: relation with the series columns, bar_start and interval_minutes.
    Cost: two window passes over the series order (lead/lag, then the running segment
    count); when is_final comes from lead, every bar but a series' newest is final, so
    the previous final bar is simply the previous bar. -#}
{% macro finality_and_segments(bars, series_columns, has_is_final=false, horizon_columns=none) -%}
{%- set keys = series_columns | join(', ') -%}
with ordered as (
    select
        *,
        {% if has_is_final -%}
        max(case when is_final then bar_start end) over (
            partition by {{ keys }} order by bar_start rows between unbounded preceding and 1 preceding
        ) as prev_final_bar_start
        {%- else -%}
        lag(bar_start) over series_order as prev_final_bar_start,
        lead(bar_start) over series_order as next_bar_start
        {%- endif %}
        {%- if horizon_columns %},
        max(bar_start) over (partition by {{ horizon_columns | join(', ') }}) as horizon_bar_start
        {%- endif %}
    from {{ bars }}
    {% if not has_is_final %}window series_order as (partition by {{ keys }} order by bar_start){% endif %}
),

finality as (
    select
        {%- set dropped = ['prev_final_bar_start'] %}
        {%- if has_is_final %}{% do dropped.append('is_final') %}{% else %}{% do dropped.append('next_bar_start') %}{% endif %}
        {%- if horizon_columns %}{% do dropped.append('horizon_bar_start') %}{% endif %}
        {{ star_except(dropped) }},
        {% if has_is_final -%}
        is_final or {{ ended_by_as_of('bar_start', 'interval_minutes') }} as is_final,
        {% endif -%}
        {% if not has_is_final -%}
        next_bar_start is not null
            or {{ ended_by_as_of('bar_start', 'interval_minutes') }}
            {%- if horizon_columns %}
            or {{ add_minutes('bar_start', '(1 + ' ~ var('max_gap_bars') ~ ') * interval_minutes') }} <= horizon_bar_start
            {%- endif %} as is_final,
        {% endif -%}
        coalesce({{ minutes_between('prev_final_bar_start', 'bar_start') }} > {{ var('max_gap_bars') }} * interval_minutes,
                 false) as starts_segment
    from ordered
)

select
    {{ star_except(['starts_segment']) }},
    -- BIGINT (a sum over integers is HUGEINT, which BI tools and pandas read as float)
    cast(1 + sum(case when starts_segment then 1 else 0 end) over (
        partition by {{ keys }} order by bar_start rows between unbounded preceding and current row
    ) as bigint) as segment_id
from finality
{%- endmacro %}
