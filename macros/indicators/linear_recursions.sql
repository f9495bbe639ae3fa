{#- Exact closed form of first-order linear recursions in SQL window functions.

    Every EMA and Wilder smoothing here is a recursion S_t = b * S_(t-1) + w_t over the
    bars of one series segment (idx = 0, 1, ... in time order). Unrolled:
        S_t = sum_(j <= t) b^(t - j) * w_j.
    Seeds fold into the terms because the recursion is linear: TA-Lib seeds S at idx s
    with the mean (or sum) of x over [f, s]; taking w_j = x_j * b^(j - s) / (s - f + 1)
    (or x_j * b^(j - s)) for f <= j <= s gives exactly that S_s, and w_j = gain * x_j
    after s continues the recursion. Incremental runs carry the state instead: with
    carry_idx = L (the last stored bar), w_L = the stored S_L, w_j = gain * x_j after L
    and 0 before, so new bars continue from the stored value.
    SQL has no recursion window, and b^-j overflows, so the sum is split into chunks of
    C rows (chunk = idx // C, r = idx % C):
        P_t = running sum within the chunk of w_j * b^-(j % C)        (one window pass,
              frame from the chunk's first row, partitioned by series)
        Q_c = P at the chunk's last row
        T_c = S at the chunk's last row = b^(C-1) Q_c + b^C T_(c-1)
        S_t = b^r P_t + b^(r+1) T_(c-1)
    C is the largest chunk with b^-C <= e^40 for the fastest recursion, so every term
    stays finite and keeps double precision. T_(c-1) is the chunk recursion truncated
    after K chunks, K the smallest with (b^C)^K < e^-37 (< 1e-16 relative), computed as a
    weighted sum of lagged chunk totals on the small chunk table.

    Error bound: P and Q are sums of at most C terms and T of K: relative error
    <= (C + K) * 2^-53 ~ 5e-14 worst case for non-negative inputs, ~1e-15 typical
    (measured against TA-Lib in tests/integration/test_indicators.py). The window sum
    within a chunk adds the same rows in the same order in any build, so full and
    prefix (as_of) builds agree to the last bits on complete chunks.

    Args:
      relation: input relation (a CTE name) with the partition columns, `idx`, the
        columns used by the recursions and the column named by carry_idx.
      partition_by: list of series columns (e.g. ['series_part']).
      recursions: list of dicts {name, b, seed_from, seed_to, seed ('mean' | 'sum'),
        input (SQL expression x_j), gain (multiplier of x_j after the seed), state (SQL
        expression of the carried S at carry_idx)}.
      carry_idx: column holding the carried bar index L, NULL for a full computation.
      keep: relation columns passed through to the output.
      extra: list of {name, expr}: more window expressions evaluated in the same window
        pass (same sort) over the named window `series_order` (partition by the series,
        order by idx), e.g. framed averages; they may use the `keep` columns.
    Returns: partition columns, idx, the `keep` columns and one column per recursion,
      NULL before its seed index (or before carry_idx). Source: the unrolled recursion
      above; the chunking follows a measured option (benchmarks/README.md). -#}
{% macro linear_recursions(relation, partition_by, recursions, carry_idx='carry_idx', keep=[], extra=[]) -%}
{%- set keys = partition_by | join(', ') -%}
{#- chunk size from the fastest decay: largest C with b_min^C >= e^-40 -#}
{%- set ns = namespace(b_min=1.0, c=0, x=1.0) -%}
{%- for rec in recursions %}{% if rec.b < ns.b_min %}{% set ns.b_min = rec.b %}{% endif %}{% endfor -%}
{%- for i in range(20000) -%}
  {%- if ns.x * ns.b_min >= 4.248354255291589e-18 -%}{%- set ns.x = ns.x * ns.b_min -%}{%- set ns.c = ns.c + 1 -%}{%- else -%}{%- break -%}{%- endif -%}
{%- endfor -%}
{%- set chunk = ns.c -%}
{#- per recursion: B = b^C and K lags of chunk totals for the carry -#}
{%- set plans = [] -%}
{%- for rec in recursions -%}
  {%- set p = namespace(big=1.0, k=0, x=1.0) -%}
  {%- for i in range(chunk) %}{% set p.big = p.big * rec.b %}{% endfor -%}
  {%- for i in range(10000) -%}
    {%- if p.x >= 8.533047625744066e-17 -%}{%- set p.x = p.x * p.big -%}{%- set p.k = p.k + 1 -%}{%- else -%}{%- break -%}{%- endif -%}
  {%- endfor -%}
  {%- set scale = (1.0 / (rec.seed_to - rec.seed_from + 1)) if rec.seed == 'mean' else 1.0 -%}
  {%- do plans.append({'name': rec.name, 'b': rec.b, 'big': p.big, 'k': [p.k, 1] | max, 'scale': scale,
                       'seed_from': rec.seed_from, 'seed_to': rec.seed_to, 'input': rec.input,
                       'gain': rec.gain, 'state': rec.state}) -%}
{%- endfor -%}
with recursion_powers as (
    -- b^-r, b^r and b^(r+1) for r in [0, C): looked up instead of computed per row
    select
        r as _chunk_pos
        {%- for p in plans %},
        pow({{ p.b }}, -r) as _neg_{{ p.name }},
        pow({{ p.b }}, r) as _pos_{{ p.name }},
        pow({{ p.b }}, r + 1) as _next_{{ p.name }}
        {%- endfor %}
    from range({{ chunk }}) as powers(r)
),

recursion_terms as (
    select
        {{ keys }},
        idx,
        {%- for col in keep %}
        {{ col }},
        {%- endfor %}
        {{ carry_idx }} as _carry_idx,
        {{ int_div("idx", chunk) }} as _chunk,
        x._chunk_pos
        {%- for p in plans %},
        (case
            when {{ carry_idx }} is not null then
                case when idx = {{ carry_idx }} then {{ p.state }}
                     when idx > {{ carry_idx }} then {{ p.gain }} * ({{ p.input }})
                     else 0 end
            when idx > {{ p.seed_to }} then {{ p.gain }} * ({{ p.input }})
            when idx >= {{ p.seed_from }} then ({{ p.input }}) * pow({{ p.b }}, idx - {{ p.seed_to }}){% if p.scale != 1.0 %} * {{ p.scale }}{% endif %}
            else 0
         end) * w._neg_{{ p.name }} as _v_{{ p.name }}
        {%- endfor %}
    from (select *, idx % {{ chunk }} as _chunk_pos from {{ relation }}) as x
    join recursion_powers as w using (_chunk_pos)
),

recursion_partials as {{ cte_materialized() }}(
    select
        {%- set value_columns = [] %}{% for p in plans %}{% do value_columns.append('_v_' ~ p.name) %}{% endfor %}{{ star_except(value_columns) }}
        {%- for p in plans %},
        {{ chunk_running_sum('_v_' ~ p.name, keys) }} as _p_{{ p.name }}
        {%- endfor %}
        {%- for e in extra %},
        {{ e.expr }} as {{ e.name }}
        {%- endfor %}
    from recursion_terms
    window series_order as (partition by {{ keys }} order by idx)
),

recursion_chunk_totals as (
    select {{ keys }}, _chunk
        {%- for p in plans %}, max_by(_p_{{ p.name }}, idx) as _q_{{ p.name }}{% endfor %}
    from recursion_partials
    group by {{ keys }}, _chunk
),

recursion_carry as (
    -- T_(c-1): S at the end of the previous chunk, from the previous chunks' totals
    select {{ keys }}, _chunk
        {%- for p in plans %},
        pow({{ p.b }}, {{ chunk - 1 }}) * (
            {%- for k in range(1, p.k + 1) %}
            {% if not loop.first %}+ {% endif %}pow({{ p.big }}, {{ k - 1 }}) * coalesce(lag(_q_{{ p.name }}, {{ k }}) over chunk_order, 0)
            {%- endfor %}
        ) as _t_{{ p.name }}
        {%- endfor %}
    from recursion_chunk_totals
    window chunk_order as (partition by {{ keys }} order by _chunk)
)

select
    {%- for col in partition_by %}
    p.{{ col }},
    {%- endfor %}
    p.idx,
    {%- for col in keep %}
    p.{{ col }},
    {%- endfor %}
    p._carry_idx as {{ carry_idx }}
    {%- for e in extra %},
    p.{{ e.name }}
    {%- endfor %}
    {%- for q in plans %},
    case when p.idx >= coalesce(p._carry_idx, {{ q.seed_to }}) then
        w._pos_{{ q.name }} * p._p_{{ q.name }} + w._next_{{ q.name }} * c._t_{{ q.name }}
    end as {{ q.name }}
    {%- endfor %}
from recursion_partials as p
join recursion_carry as c
    on {% for col in partition_by %}c.{{ col }} = p.{{ col }} and {% endfor %}c._chunk = p._chunk
join recursion_powers as w on w._chunk_pos = p._chunk_pos
{%- endmacro %}
