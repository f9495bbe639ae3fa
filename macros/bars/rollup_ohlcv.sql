{#- Roll fine OHLCV bars up to coarser bars (docs/bars-and-drivers.md).
    relation: CTE/relation with bar_start, open, high, low, close, volume, quote_volume, the group
      columns, sub_minutes (length of a fine bar) and target_minutes (length of the
      coarse bar) and target_interval.
    group_columns: list of series key columns (e.g. ['exchange', 'symbol']).
    Output per series x target_interval x coarse bar_start: open = first open by time,
    high = max, low = min, close = last close, volume = sum, quote_volume = sum of the
    fine bars' quote volumes, n_sub_bars,
    expected_sub_bars = target_minutes / sub_minutes, is_complete; plus max(c) as c for every
    column c of the optional list max_columns. -#}
{% macro rollup_ohlcv(relation, group_columns, max_columns=[]) -%}
    select
        {% for col in group_columns %}{{ col }},
        {% endfor -%}
        target_interval as bar_interval,
        {{ bar_bucket('bar_start', 'target_minutes') }} as bar_start,
        min_by(open, bar_start) as open,
        max(high) as high,
        min(low) as low,
        max_by(close, bar_start) as close,
        sum(volume) as volume,
        sum(quote_volume) as quote_volume,
        count(*) as n_sub_bars,
        {{ int_div('max(target_minutes)', 'max(sub_minutes)') }} as expected_sub_bars
        {%- for col in max_columns %},
        max({{ col }}) as {{ col }}
        {%- endfor %}
    from {{ relation }}
    group by {% for col in group_columns %}{{ col }}, {% endfor %}target_interval, {{ bar_bucket('bar_start', 'target_minutes') }}
{%- endmacro %}
