{% macro grid_param(key) -%}
    {#- The value (DOUBLE) of row `key` of seed grid_config, as a scalar subquery: every grid
        threshold and weight lives in that seed (docs/grid-regimes.md). -#}
    (select value from {{ ref('grid_config') }} where key = '{{ key }}')
{%- endmacro %}

{% macro grid_lifecycle_param(key) -%}
    {#- The value (DOUBLE) of row `key` of seed grid_lifecycle_config, as a scalar subquery
        (the lifecycle's constants; docs/grid-lifecycle.md). -#}
    (select value from {{ ref('grid_lifecycle_config') }} where key = '{{ key }}')
{%- endmacro %}

{% macro clip(x, lo, hi) -%}
    {#- x clipped to [lo, hi]; NULL stays NULL (DuckDB's greatest / least skip NULL
        arguments, so greatest(0, least(1, NULL)) would be 1). -#}
    case when ({{ x }}) is null then null else greatest({{ lo }}, least({{ hi }}, {{ x }})) end
{%- endmacro %}

{% macro grid_feature_names() -%}
    {#- The features of the grid scores, in the order of seed grid_features (which holds each
        one's orientation); columns of int_grid_bars_prepared, ranked by int_grid_features_ranked. -#}
    {{ return(['adx_14', 'er_short', 'er_window', 'abs_normalized_slope_20', 'return_autocorr_50',
               'ou_half_life', 'variance_ratio', 'chop', 'bb_bandwidth_20', 'atr_ratio', 'd_bandwidth']) }}
{%- endmacro %}

{% macro after_stored_grid_bars(alias) -%}
    {#- Incremental grid lifecycle marts (append-only): the condition keeping the rows of
        `alias` (a fct_grid_lifecycle row) after the last bar this model stored for the same
        walk (grid version on a segment); true on a full build. -#}
    {%- if is_incremental() -%}
    {{ alias }}.bar_start > coalesce((select max(t.bar_start) from {{ this }} as t where t.walk_id = {{ alias }}.walk_id),
                                     {{ timestamp_before_all() }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
