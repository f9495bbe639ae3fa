{#- Small SQL pieces that differ between engines, dispatched (adapter.dispatch) so the models
    read the same on DuckDB and Spark (docs/scale-out.md). Each default__ is the DuckDB form. -#}

{#- Integer division of two positive integers (DuckDB //, Spark div). -#}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div', 'market_regimes')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    ({{ numerator }} // {{ denominator }})
{%- endmacro %}

{% macro spark__int_div(numerator, denominator) -%}
    ({{ numerator }} div {{ denominator }})
{%- endmacro %}

{#- Every column of `relation` (a table alias; none: every column of the FROM clause) but
    `columns` (a list of names): DuckDB * EXCLUDE, Spark * EXCEPT. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except', 'market_regimes')(columns, relation)) }}
{%- endmacro %}

{% macro default__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- The hint that makes a CTE read twice computed once (DuckDB AS MATERIALIZED); Spark has no
    such hint (its optimizer decides), so nothing. Followed by the CTE's parenthesis. -#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__cte_materialized() -%}
    materialized {% endmacro %}

{% macro spark__cte_materialized() -%}{%- endmacro %}

{#- The running sum of `expr` from the start of the row's chunk (column _chunk_pos: the
    row's position in it, column _chunk: its number) to the row, per `partition` (the series
    columns), in idx order. DuckDB: a frame of _chunk_pos rows over the named window
    series_order (as built); Spark cannot size a frame by a column, so it partitions by the
    chunk instead (the same rows). -#}
{% macro chunk_running_sum(expr, partition) -%}
    {{ return(adapter.dispatch('chunk_running_sum', 'market_regimes')(expr, partition)) }}
{%- endmacro %}

{% macro default__chunk_running_sum(expr, partition) -%}
    sum({{ expr }}) over (series_order rows between _chunk_pos preceding and current row)
{%- endmacro %}

{% macro spark__chunk_running_sum(expr, partition) -%}
    sum({{ expr }}) over (partition by {{ partition }}, _chunk order by idx rows between unbounded preceding and current row)
{%- endmacro %}

{#- The type of a series key (indicator_series_part: a 64-bit hash): DuckDB's hash() returns
    UBIGINT, Spark's xxhash64 a signed BIGINT. -#}
{% macro series_key_type() -%}
    {{ return(adapter.dispatch('series_key_type', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__series_key_type() -%}ubigint{%- endmacro %}

{% macro spark__series_key_type() -%}bigint{%- endmacro %}

{#- A 128-bit-wide exact integer (the composites' index in integer units of 2^-52 log points,
    summed without rounding): DuckDB HUGEINT; Spark has no 128-bit integer, DECIMAL(38, 0)
    holds the same range to 10^38. -#}
{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('wide_integer_type', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__wide_integer_type() -%}hugeint{%- endmacro %}

{% macro spark__wide_integer_type() -%}decimal(38, 0){%- endmacro %}

{#- The compensated sum of `expr` over a group's rows (where `condition`, when given), adding
    the values in ascending order so the result does not depend on the order the engine meets
    the rows in (a parallel hash aggregate meets them in any order). NULL for no rows.
    DuckDB: the sorted list of the values folded with Kahan's compensated addition (W. Kahan,
    CACM 8 (1965): y = x - e; t = s + y; e = (t - s) - y; s = t), the recurrence of DuckDB's
    fsum, so the same double as fsum(expr order by expr) (tested bit for bit on the sample's
    composites), at half its cost: an ordered aggregate sorts every group on its own.
    The lambdas' parameters have names no relation uses (DuckDB resolves a table alias before a
    lambda parameter of the same name). Spark has no compensated sum: the sorted list folded
    with Neumaier's compensation (sum + running compensation, A. Neumaier, ZAMM 54 (1974);
    equal to DuckDB's to 1e-12). -#}
{% macro ordered_fsum(expr, condition=none) -%}
    {{ return(adapter.dispatch('ordered_fsum', 'market_regimes')(expr, condition)) }}
{%- endmacro %}

{% macro default__ordered_fsum(expr, condition) -%}
    list_reduce(
        list_transform(
            list_sort(list(cast({{ expr }} as double)) filter (where {{ expr }} is not null{{ ' and (' ~ condition ~ ')' if condition }})),
            fsum_x -> {'s': fsum_x, 'e': cast(0 as double)}),
        (fsum_acc, fsum_y) -> {'s': fsum_acc.s + (fsum_y.s - fsum_acc.e),
                               'e': ((fsum_acc.s + (fsum_y.s - fsum_acc.e)) - fsum_acc.s) - (fsum_y.s - fsum_acc.e)}).s
{%- endmacro %}

{% macro spark__ordered_fsum(expr, condition) -%}
    aggregate(
        array_sort(collect_list(cast({{ expr }} as double)){{ ' filter (where ' ~ condition ~ ')' if condition }}),
        named_struct('s', cast(null as double), 'c', cast(0 as double)),
        (acc, x) -> named_struct(
            's', coalesce(acc.s, 0) + x,
            'c', acc.c + case when abs(coalesce(acc.s, 0)) >= abs(x) then (coalesce(acc.s, 0) - (coalesce(acc.s, 0) + x)) + x
                              else (x - (coalesce(acc.s, 0) + x)) + coalesce(acc.s, 0) end),
        acc -> acc.s + acc.c)
{%- endmacro %}

{#- A SELECT of every column of `left` (a relation: CTE name, ref or parenthesised query) plus,
    from the latest row of `right` with the same `keys` (list of column names) and
    right.`right_time` <= left.`left_time`, the columns of `right_columns` (a dict: output
    name -> column of right); NULLs when there is none. The ASOF LEFT JOIN of DuckDB.
    Spark has no ASOF join: the left rows' (keys, time) and the right rows, as a struct, in
    one stream ordered by time (right rows first at equal times: <= is inclusive), each left
    row taking the last right struct before it (last_value ignoring NULLs), joined back. -#}
{% macro asof_latest(left, right, keys, left_time, right_time, right_columns) -%}
    {{ return(adapter.dispatch('asof_latest', 'market_regimes')(left, right, keys, left_time, right_time, right_columns)) }}
{%- endmacro %}

{% macro default__asof_latest(left, right, keys, left_time, right_time, right_columns) -%}
    select l.*{% for out, col in right_columns.items() %}, r.{{ col }} as {{ out }}{% endfor %}
    from {{ left }} as l
    asof left join {{ right }} as r
        on {% for key in keys %}r.{{ key }} = l.{{ key }} and {% endfor %}l.{{ left_time }} >= r.{{ right_time }}
{%- endmacro %}

{% macro spark__asof_latest(left, right, keys, left_time, right_time, right_columns) -%}
    select l.*{% for out, col in right_columns.items() %}, a._latest.{{ col }} as {{ out }}{% endfor %}
    from {{ left }} as l
    left join (
        select * from (
            select
                {% for key in keys %}{{ key }}, {% endfor %}_t, _kind,
                last_value(_row, true) over (
                    partition by {{ keys | join(', ') }} order by _t, _kind rows between unbounded preceding and current row
                ) as _latest
            from (
                select {% for key in keys %}{{ key }}, {% endfor %}{{ right_time }} as _t, 0 as _kind,
                       named_struct({% for col in right_columns.values() | unique %}'{{ col }}', {{ col }}{{ ', ' if not loop.last }}{% endfor %}) as _row
                from {{ right }}
                union all
                select distinct {% for key in keys %}{{ key }}, {% endfor %}{{ left_time }} as _t, 1 as _kind, null as _row
                from {{ left }}
            ) as stream
        ) as picked
        where _kind = 1
    ) as a
        on {% for key in keys %}a.{{ key }} = l.{{ key }} and {% endfor %}a._t = l.{{ left_time }}
{%- endmacro %}

{#- Whether a double is +/- infinity (NULL for NULL): DuckDB isinf; Spark compares the
    absolute value with infinity. -#}
{% macro is_infinite(x) -%}
    {{ return(adapter.dispatch('is_infinite', 'market_regimes')(x)) }}
{%- endmacro %}

{% macro default__is_infinite(x) -%}
    isinf({{ x }})
{%- endmacro %}

{% macro spark__is_infinite(x) -%}
    (abs({{ x }}) = cast('infinity' as double))
{%- endmacro %}

{#- The name of the function that stops the query with its message argument when evaluated
    (`{{ error_function() }}('message')`): DuckDB error, Spark raise_error. -#}
{% macro error_function() -%}
    {{ return(adapter.dispatch('error_function', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__error_function() -%}error{%- endmacro %}

{% macro spark__error_function() -%}raise_error{%- endmacro %}

{#- Every column of `relation` with column `column` replaced by the SQL expression `expr`:
    DuckDB * REPLACE keeps the column's place; Spark has no REPLACE, so there the column comes
    last (the project compares and inserts by column name). -#}
{% macro star_replace(column, expr, relation=none) -%}
    {{ return(adapter.dispatch('star_replace', 'market_regimes')(column, expr, relation)) }}
{%- endmacro %}

{% macro default__star_replace(column, expr, relation) -%}
    {{ relation ~ '.' if relation }}* replace ({{ expr }} as {{ column }})
{%- endmacro %}

{% macro spark__star_replace(column, expr, relation) -%}
    {{ star_except([column], relation) }}, {{ expr }} as {{ column }}
{%- endmacro %}

{#- The elements of `list` as rows, with their 1-based position: two select-list columns
    named `value_name` and `position_name`. DuckDB: two unnests of one length (they zip);
    Spark: inline over the list of (value, position) structs. -#}
{% macro unnest_with_position(list, value_name, position_name) -%}
    {{ return(adapter.dispatch('unnest_with_position', 'market_regimes')(list, value_name, position_name)) }}
{%- endmacro %}

{% macro default__unnest_with_position(list, value_name, position_name) -%}
    unnest({{ list }}) as {{ value_name }}, unnest(generate_series(1, len({{ list }}))) as {{ position_name }}
{%- endmacro %}

{% macro spark__unnest_with_position(list, value_name, position_name) -%}
    inline(transform({{ list }}, (x, i) -> named_struct('v', x, 'p', cast(i + 1 as bigint)))) as ({{ value_name }}, {{ position_name }})
{%- endmacro %}

{#- The timestamps start, start + minutes, ... up to stop (inclusive) as rows (a select-list
    column): DuckDB unnest(generate_series), Spark explode(sequence). No row when start > stop
    or either is NULL (DuckDB's generate_series gives an empty list there; Spark's sequence
    raises "Illegal sequence boundaries", so the Spark form asks for it only when start <=
    stop: an incremental lever run whose first new bar lies after an island's end). -#}
{% macro unnest_timestamps(start, stop, minutes) -%}
    {{ return(adapter.dispatch('unnest_timestamps', 'market_regimes')(start, stop, minutes)) }}
{%- endmacro %}

{% macro default__unnest_timestamps(start, stop, minutes) -%}
    unnest(generate_series({{ start }}, {{ stop }}, to_minutes(cast({{ minutes }} as bigint))))
{%- endmacro %}

{% macro spark__unnest_timestamps(start, stop, minutes) -%}
    explode(if({{ start }} <= {{ stop }},
               sequence({{ start }}, {{ stop }}, make_dt_interval(0, 0, cast({{ minutes }} as bigint))),
               cast(array() as array<timestamp>)))
{%- endmacro %}

{#- The list of the parts of `string` between the single character `separator`: DuckDB
    string_split; Spark split takes a regular expression, so the character is quoted. -#}
{% macro split_on(string, separator) -%}
    {{ return(adapter.dispatch('split_on', 'market_regimes')(string, separator)) }}
{%- endmacro %}

{% macro default__split_on(string, separator) -%}
    string_split({{ string }}, '{{ separator }}')
{%- endmacro %}

{% macro spark__split_on(string, separator) -%}
    split({{ string }}, '[{{ separator }}]')
{%- endmacro %}

{#- The continuous quantile (linear interpolation between the two nearest values) of `x` at
    fraction `p`, an aggregate (also over a window frame): DuckDB quantile_cont, Spark
    percentile (the same interpolation). -#}
{% macro quantile_continuous(x, p) -%}
    {{ return(adapter.dispatch('quantile_continuous', 'market_regimes')(x, p)) }}
{%- endmacro %}

{% macro default__quantile_continuous(x, p) -%}
    quantile_cont({{ x }}, {{ p }})
{%- endmacro %}

{% macro spark__quantile_continuous(x, p) -%}
    percentile({{ x }}, {{ p }})
{%- endmacro %}

{#- The JSON text `expr` (a JSON array of objects) as a list of structs with `fields` (a dict,
    field name -> 'text' or 'json': a nested JSON value kept as its JSON text). DuckDB
    from_json with a structure, Spark from_json with a DDL schema. -#}
{% macro json_struct_list(expr, fields) -%}
    {{ return(adapter.dispatch('json_struct_list', 'market_regimes')(expr, fields)) }}
{%- endmacro %}

{% macro default__json_struct_list(expr, fields) -%}
    from_json({{ expr }}, '[{ {%- for name, kind in fields.items() %}"{{ name }}": "{{ 'JSON' if kind == 'json' else 'VARCHAR' }}"{{ ', ' if not loop.last }}{% endfor -%} }]')
{%- endmacro %}

{% macro spark__json_struct_list(expr, fields) -%}
    from_json({{ expr }}, 'array<struct<{%- for name, kind in fields.items() %}{{ name }}: string{{ ', ' if not loop.last }}{% endfor -%}>>')
{%- endmacro %}

{#- Whether the engine ranks within a sliding frame (percent_rank / cume_dist over `rows between
    n preceding and current row`): DuckDB does (cost ~ n log w); Spark's rank functions take
    no frame, so the ranked models count the values below in a join with the window instead
    (cost ~ n x w; docs/scale-out.md). -#}
{% macro framed_ranks_supported() -%}
    {{ return(adapter.dispatch('framed_ranks_supported', 'market_regimes')()) }}
{%- endmacro %}

{% macro default__framed_ranks_supported() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__framed_ranks_supported() -%}
    {{ return(false) }}
{%- endmacro %}

{#- A hint placed after SELECT that computes the select's rows once before what reads them:
    nothing on DuckDB; on Spark a REPARTITION by `columns`. Without it Spark evaluated the grid
    features' rounding for every pair of the ranked models' window self-join (measured:
    > 400 s instead of 17 s for int_grid_features_ranked on 77,562 rows). -#}
{% macro compute_once_hint(columns) -%}
    {{ return(adapter.dispatch('compute_once_hint', 'market_regimes')(columns)) }}
{%- endmacro %}

{% macro default__compute_once_hint(columns) -%}{%- endmacro %}

{% macro spark__compute_once_hint(columns) -%}/*+ REPARTITION({{ columns | join(', ') }}) */ {% endmacro %}

{#- The text values of `expr` joined with `separator` (a literal) in the order of `order_by`, an
    aggregate: DuckDB string_agg(... order by ...), Spark listagg(...) within group (order by
    ...). A FILTER clause may follow. -#}
{% macro ordered_string_agg(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'market_regimes')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}' order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(expr, separator, order_by) -%}
    listagg({{ expr }}, '{{ separator }}') within group (order by {{ order_by }})
{%- endmacro %}

{#- An order-free fingerprint of a group's rows: the sum of a 64-bit hash of `columns` (a
    list of expressions) over the group, as an exact wide integer (no overflow, so the same
    rows give the same sum in any order). Equal sums say the rows are (with probability
    1 - 2^-64 per change) the same values bit for bit; different sums say nothing about how
    far apart they are. DuckDB hash(), Spark xxhash64 (different fingerprints of the same
    rows: compare only within one engine). -#}
{% macro rows_fingerprint(columns) -%}
    {{ return(adapter.dispatch('rows_fingerprint', 'market_regimes')(columns)) }}
{%- endmacro %}

{% macro default__rows_fingerprint(columns) -%}
    sum(cast(hash({{ columns | join(', ') }}) as hugeint))
{%- endmacro %}

{% macro spark__rows_fingerprint(columns) -%}
    sum(cast(xxhash64({{ columns | join(', ') }}) as decimal(38, 0)))
{%- endmacro %}
