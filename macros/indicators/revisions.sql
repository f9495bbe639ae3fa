{#- Revisions of bars the incremental models have already consumed (docs/indicators.md,
    "Revisions"). The incremental chain (int_indicator_bars_prepared -> the indicator and
    grid models keyed on (series_part, idx) -> the grid lifecycle marts) continues every
    series from its stored state. When a bar it consumed changes afterwards (a revised
    provisional candle of a series that was already final, a correction, a back-filled or
    removed bar), continuing would leave the stored rows silently different from a full
    build. rewind_revised_series(), the pre-hook of int_indicator_bars_prepared, finds those
    series and rewinds them so that the same run recomputes them from the first changed
    bar:

    * a series (series_part) is revised when, among its first last_idx + 1 final bars now
      (last_idx = its last stored idx), a bar differs from the stored one: another
      bar_start, or high / low / close / ln(1 + volume) beyond var revision_relative_tolerance
      (relative; sums of sub-bars may differ in the last bits between builds), or a stored
      bar is no longer final (or gone); from_idx = the first such idx;
    * every model whose config meta has revision_rewind = 'series_idx' loses its rows
      series_part = s and idx >= from_idx: its frontier (the last stored idx) is then
      from_idx - 1 and its incremental run recomputes the rest (the chain shares series_part
      and idx);
    * every model with revision_rewind = 'grid_walk' loses the walks (walk_id) of the
      symbols whose grid-lifecycle interval series is revised: the lifecycle stores its
      engine state on a walk's last row only, so such a walk is walked again from its
      first bar;
    * the run log names every revised series with its first changed bar.

    Empty first builds and full refreshes skip all of it. -#}

{% macro indicator_final_bars() -%}
    {#- The final bars every indicator series is computed on: drivers (fct_driver_bars) and
        primary exchange candles (fct_symbol_bars), with series_id and series_part. -#}
    select
        {{ indicator_series_id('driver') }} as series_id,
        {{ indicator_series_part(indicator_series_id('driver'), 'segment_id') }} as series_part,
        bar_start, high, low, close, volume
    from {{ ref('fct_driver_bars') }}
    where is_final
    union all
    select
        {{ indicator_series_id('symbol') }} as series_id,
        {{ indicator_series_part(indicator_series_id('symbol'), 'segment_id') }} as series_part,
        bar_start, high, low, close, volume
    from {{ ref('fct_symbol_bars') }}
    where is_final and is_primary
{%- endmacro %}

{% macro revision_same(a, b) -%}
    ({{ a }} = {{ b }} or abs({{ a }} - {{ b }}) <= {{ var('revision_relative_tolerance') }}
        * greatest(abs({{ a }}), abs({{ b }})))
{%- endmacro %}

{% macro _node_relation(name) -%}
    {#- The warehouse relation of model `name` if it exists (none before its first build). -#}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{% macro rewind_revised_series() -%}
    {%- if execute and is_incremental() -%}
    {%- set detect -%}
        create or replace temp table _revised_series as
        with stored as (
            select series_part, idx, bar_start, high, low, close, log_volume from {{ this }}
        ),
        last as (
            select series_part, max(idx) as last_idx from stored group by series_part
        ),
        current_final as (
            {{ indicator_final_bars() }}
        ),
        numbered as (
            select c.*, row_number() over (partition by c.series_part order by c.bar_start) - 1 as idx
            from current_final as c
            where c.series_part in (select series_part from last)
        ),
        compared as (
            select n.* from numbered as n join last as l using (series_part) where n.idx <= l.last_idx
        ),
        diff as (
            select coalesce(s.series_part, n.series_part) as series_part, coalesce(s.idx, n.idx) as idx,
                   least(coalesce(s.bar_start, n.bar_start), coalesce(n.bar_start, s.bar_start)) as bar_start
            from stored as s
            full join compared as n on n.series_part = s.series_part and n.idx = s.idx
            where s.idx is null or n.idx is null or s.bar_start <> n.bar_start
               or not {{ revision_same('s.high', 'n.high') }} or not {{ revision_same('s.low', 'n.low') }}
               or not {{ revision_same('s.close', 'n.close') }}
               or not {{ revision_same('s.log_volume', 'ln(1 + coalesce(n.volume, 0))') }}
        )
        select d.series_part, min(d.idx) as from_idx, arg_min(d.bar_start, d.idx) as from_bar_start,
               coalesce(any_value(i.series_id), 'series_part ' || d.series_part::varchar) as series_id
        from diff as d
        left join (select distinct series_part, series_id from current_final) as i using (series_part)
        group by d.series_part
    {%- endset -%}
    {%- do run_query(detect) -%}
    {%- set revised = run_query("select series_id, from_idx, from_bar_start from _revised_series order by series_id") -%}
    {%- if revised.rows | length > 0 -%}
        {%- set shown = [] -%}
        {%- for row in revised.rows[:10] -%}
            {%- do shown.append(row[0] ~ ' from ' ~ row[2] ~ ' (idx ' ~ row[1] ~ ')') -%}
        {%- endfor -%}
        {{ log('[revision] ' ~ (revised.rows | length) ~ ' series changed after the incremental models consumed them: '
               ~ shown | join(', ') ~ ((', ...') if revised.rows | length > 10 else '')
               ~ '; recomputing them from the first changed bar', info=True) }}
        {#- the lifecycle walks of the revised symbols, before any row goes -#}
        {%- set grid_bars = _node_relation('int_grid_bars_prepared') -%}
        {%- set lifecycle = _node_relation('fct_grid_lifecycle') -%}
        {%- if grid_bars is not none and lifecycle is not none -%}
            {%- do run_query("create or replace temp table _revised_walks as select distinct l.walk_id from "
                             ~ lifecycle ~ " as l join (select distinct g.exchange, g.symbol from " ~ grid_bars
                             ~ " as g join _revised_series as r using (series_part) where g.bar_interval = '"
                             ~ var('grid_lifecycle_interval') ~ "') as s using (exchange, symbol)") -%}
        {%- else -%}
            {%- do run_query("create or replace temp table _revised_walks as select null::varchar as walk_id where false") -%}
        {%- endif -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model'
                and node.config.meta.get('revision_rewind') in ('series_idx', 'grid_walk') -%}
            {%- set rel = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- if rel is not none -%}
                {%- if node.config.meta.get('revision_rewind') == 'series_idx' -%}
                    {%- set removed = run_query("delete from " ~ rel ~ " as t using _revised_series as r "
                                                ~ "where t.series_part = r.series_part and t.idx >= r.from_idx") -%}
                {%- else -%}
                    {%- set removed = run_query("delete from " ~ rel ~ " where walk_id in (select walk_id from _revised_walks)") -%}
                {%- endif -%}
                {{ log('[revision]   ' ~ node.name ~ ': ' ~ removed.rows[0][0] ~ ' rows to recompute', info=True) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
