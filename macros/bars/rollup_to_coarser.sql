{#- Roll every series up from its finest landed interval to each coarser rollup target
    of seed bar_intervals (docs/bars-and-drivers.md: "each coarser bar is rolled up from the finest
    landed interval of that series").
    bars: relation with the series columns, bar_interval, bar_start, open, high, low,
      close, volume, quote_volume.
    series_columns: list of columns identifying a series (without bar_interval).
    window_column: optional; only fine bars whose window_column passes
      partition_window_filter are rolled up (a Dagster partition). The finest interval is
      always taken over all bars, so a window rolls up exactly what a full build does.
      Day windows hold whole target bars: every rollup target is <= 1d and day-aligned.
    max_columns: optional list of columns of `bars` carried as their maximum over the fine
      bars of each coarse bar (e.g. loaded_at, the newest landing batch inside it).
    Output: series columns, source_interval, bar_interval, bar_start, OHLCV,
    n_sub_bars, expected_sub_bars, is_complete (and the max_columns). -#}
{% macro rollup_to_coarser(bars, series_columns, window_column=none, max_columns=[]) -%}
{%- set keys = series_columns | join(', ') -%}
with intervals as (
    select bar_interval, interval_minutes, is_rollup_target from {{ ref('bar_intervals') }}
),

finest as (
    select {{ keys }}, min_by(i.bar_interval, i.interval_minutes) as source_interval,
           min(i.interval_minutes) as sub_minutes
    from (select distinct {{ keys }}, bar_interval from {{ bars }}) as s
    join intervals as i using (bar_interval)
    group by {{ keys }}
),

fine as (
    select
        {% for col in series_columns %}b.{{ col }}, {% endfor %}
        f.source_interval, f.sub_minutes,
        t.bar_interval as target_interval, t.interval_minutes as target_minutes,
        b.bar_start, b.open, b.high, b.low, b.close, b.volume, b.quote_volume
        {%- for col in max_columns %}, b.{{ col }}{% endfor %}
    from {{ bars }} as b
    join finest as f
        on {% for col in series_columns %}b.{{ col }} = f.{{ col }} and {% endfor %}b.bar_interval = f.source_interval
    join intervals as t
        on t.is_rollup_target and t.interval_minutes > f.sub_minutes
    {%- if window_column %}
    where {{ partition_window_filter('b.' ~ window_column) }}
    {%- endif %}
),

rolled as (
    {{ rollup_ohlcv('fine', series_columns + ['source_interval'], max_columns) }}
)

select *, n_sub_bars = expected_sub_bars as is_complete
from rolled
{%- endmacro %}
