{#- Incremental indicator models (docs/indicators.md: stateful models are incremental from the last
    final bar of each segment).

    indicator_series_id(series_type): the series_id expression of a 'driver' row
      (driver|timeframe) or a 'symbol' row (exchange|symbol|bar_interval), written once
      for every model that keys on it.

    indicator_series_part(series_id, segment_id): the stable id of a series segment
      (type series_key_type(): UBIGINT on DuckDB, BIGINT on Spark), a hash of
      (series_id, segment_id); the same segment gets the same id in every
      build, so incremental models can key their stored rows on it. DuckDB's hash is
      stable within a DuckDB version; after a DuckDB upgrade run the indicator models
      with --full-refresh.

    indicator_frontier(state_columns, warm_idx): a relation of the series already
      computed by this model ({{ this }}): series_part, carry_idx = the last stored idx,
      and state_<column> = the stored value of each state column at carry_idx. Only
      series whose last idx >= warm_idx (every carried recursion warm) are listed;
      others are recomputed from their first bar. Empty on a full build or
      --full-refresh, so full and incremental runs share one query.

    indicator_lookback(carry_idx, lookback): SQL condition keeping the rows an
      incremental run reads: every row of a series without carry_idx, else the rows
      from carry_idx - lookback on (the window frames of the new bars). -#}

{% macro indicator_series_id(series_type) -%}
    {%- if series_type == 'driver' -%}
    driver || '|' || timeframe
    {%- else -%}
    exchange || '|' || symbol || '|' || bar_interval
    {%- endif -%}
{%- endmacro %}

{% macro indicator_series_part(series_id, segment_id) -%}
    {{ return(adapter.dispatch('indicator_series_part', 'market_regimes')(series_id, segment_id)) }}
{%- endmacro %}

{#- DuckDB: hash() is a UBIGINT; hashed as HUGEINT, the type segment_id had until 2026-11, so
    warehouses built before keep their incremental keys -#}
{% macro default__indicator_series_part(series_id, segment_id) -%}
    hash({{ series_id }}, cast({{ segment_id }} as hugeint))
{%- endmacro %}

{#- Spark: xxhash64 (a signed BIGINT); a different key than DuckDB's for the same segment. The
    key is internal (never compared across engines: parity joins on series_id, segment_id). -#}
{% macro spark__indicator_series_part(series_id, segment_id) -%}
    xxhash64({{ series_id }}, cast({{ segment_id }} as bigint))
{%- endmacro %}

{% macro indicator_frontier(state_columns=[], warm_idx=0) -%}
{%- if is_incremental() %}
    select
        t.series_part,
        t.idx as carry_idx
        {%- for col in state_columns %},
        t.{{ col }} as state_{{ col }}
        {%- endfor %}
    from {{ this }} as t
    join (select series_part, max(idx) as last_idx from {{ this }} group by series_part) as l
        on l.series_part = t.series_part and l.last_idx = t.idx
    where t.idx >= {{ warm_idx }}
{%- else %}
    select
        cast(null as {{ series_key_type() }}) as series_part,
        cast(null as bigint) as carry_idx
        {%- for col in state_columns %},
        cast(null as double) as state_{{ col }}
        {%- endfor %}
    where false
{%- endif %}
{%- endmacro %}

{% macro indicator_lookback(carry_idx, lookback) -%}
    ({{ carry_idx }} is null or idx >= {{ carry_idx }} - {{ lookback }})
{%- endmacro %}

{#- The stored series of the frontier CTE `frontier` whose new bars in `source` are few
    enough (var percentile_rank_counting_max_bars) to be ranked by counting; the rank models'
    other series take the window pass. -#}
{% macro rank_counted_series(source) -%}
    select f.series_part
    from frontier as f
    join (select series_part, max(idx) as last_idx from {{ source }} group by series_part) as m
        using (series_part)
    where m.last_idx - f.carry_idx <= {{ var('percentile_rank_counting_max_bars') | int }}
{%- endmacro %}
