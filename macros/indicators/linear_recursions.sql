{#- Exact closed form of first-order linear recursions in SQL window functions.

    Every EMA and Wilder smoothing here is a recursion S_t = b * S_{t-1} + w_t over the
    bars of one series segment (idx = 0, 1, ... in time order), where w_t is 0 before a
    start index i0, the seed at i0 (e.g. the SMA of the first n values, as TA-Lib seeds)
    and an input term after it (e.g. alpha * close_t). Unrolled:
        S_t = sum_{j <= t} b^(t - j) * w_j.
    SQL has no recursion window, and b^-j overflows, so the sum is split into chunks of
    C rows (chunk = idx // C, r = idx % C):
        P_t        = running sum within the chunk of w_j * b^-(j % C)
        Q_c        = the chunk's total of those terms
        T_c        = S at the chunk's last row = b^(C-1) Q_c + b^C T_(c-1)
        S_t        = b^r P_t + b^(r+1) T_(c-1)
    C is the largest chunk with b^-C <= e^40 for the fastest recursion, so every term
    stays finite and keeps double precision. T_(c-1) is the exact chunk recursion
    truncated after K chunks, K the smallest with (b^C)^K < e^-37 (< 1e-16 relative), as
    a weighted sum of lagged chunk totals on the small chunk table. All recursions share
    one window pass (same partition and order).

    Error bound: all inputs here are non-negative, so P and Q are sums of non-negative
    terms: relative error <= (C + K) * 2^-53 ~ 5e-14 worst case, typically 1e-15
    (measured against TA-Lib in tests/integration/test_indicators.py).

    Args:
      relation: input relation (a CTE name) with the partition columns and `idx`.
      partition_by: list of series columns (e.g. ['series_id', 'segment_id']).
      recursions: list of dicts {name, b, start_idx, seed, input}; `seed` and `input`
        are SQL expressions evaluated per row (seed at idx = start_idx, input after).
    Returns: a select of every input column plus one column per recursion, NULL before
      its start_idx. Source: the unrolled recursion above; the chunking follows the
      measured option in shared/docs/STACK.md. -#}
{% macro linear_recursions(relation, partition_by, recursions) -%}
{%- set keys = partition_by | join(', ') -%}
{#- chunk size from the fastest decay: largest C with b_min^C >= e^-40 -#}
{%- set ns = namespace(b_min=1.0, c=0, x=1.0) -%}
{%- for rec in recursions %}{% if rec.b < ns.b_min %}{% set ns.b_min = rec.b %}{% endif %}{% endfor -%}
{%- for i in range(20000) -%}
  {%- if ns.x * ns.b_min >= 4.248354255291589e-18 -%}{%- set ns.x = ns.x * ns.b_min -%}{%- set ns.c = ns.c + 1 -%}{%- endif -%}
{%- endfor -%}
{%- set chunk = ns.c -%}
{#- per recursion: B = b^C and K lags of chunk totals for the carry -#}
{%- set plans = [] -%}
{%- for rec in recursions -%}
  {%- set p = namespace(big=1.0, k=0, x=1.0) -%}
  {%- for i in range(chunk) %}{% set p.big = p.big * rec.b %}{% endfor -%}
  {%- for i in range(10000) -%}
    {%- if p.x >= 8.533047625744066e-17 -%}{%- set p.x = p.x * p.big -%}{%- set p.k = p.k + 1 -%}{%- endif -%}
  {%- endfor -%}
  {%- do plans.append({'name': rec.name, 'b': rec.b, 'big': p.big, 'k': [p.k, 1] | max,
                       'start_idx': rec.start_idx, 'seed': rec.seed, 'input': rec.input}) -%}
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
        x.*,
        x.idx // {{ chunk }} as _chunk,
        x.idx % {{ chunk }} as _chunk_pos
        {%- for p in plans %},
        (case when x.idx = {{ p.start_idx }} then {{ p.seed }}
              when x.idx > {{ p.start_idx }} then {{ p.input }}
              else 0 end) * w._neg_{{ p.name }} as _v_{{ p.name }}
        {%- endfor %}
    from {{ relation }} as x
    join recursion_powers as w on w._chunk_pos = x.idx % {{ chunk }}
),

recursion_chunk_totals as (
    -- compensated sums (fsum): the same rows give the same bits whatever the thread scheduling
    select {{ keys }}, _chunk
        {%- for p in plans %}, fsum(_v_{{ p.name }}) as _q_{{ p.name }}{% endfor %}
    from recursion_terms
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
),

recursion_partials as (
    select
        t.*
        {%- for p in plans %},
        sum(_v_{{ p.name }}) over within_chunk as _p_{{ p.name }}
        {%- endfor %}
    from recursion_terms as t
    window within_chunk as (
        partition by {{ keys }}, _chunk order by idx rows between unbounded preceding and current row
    )
)

select
    p.* exclude (_chunk, _chunk_pos{% for q in plans %}, _v_{{ q.name }}, _p_{{ q.name }}{% endfor %})
    {%- for q in plans %},
    case when p.idx >= {{ q.start_idx }} then
        w._pos_{{ q.name }} * p._p_{{ q.name }} + w._next_{{ q.name }} * c._t_{{ q.name }}
    end as {{ q.name }}
    {%- endfor %}
from recursion_partials as p
join recursion_carry as c
    on {% for col in partition_by %}c.{{ col }} = p.{{ col }} and {% endfor %}c._chunk = p._chunk
join recursion_powers as w on w._chunk_pos = p._chunk_pos
{%- endmacro %}
