-- Transition matrices, persistence and whipsaw per detector x series (docs/volatility-regimes.md), on the
-- same bars as rpt_regime_forward_returns (is_aligned bars of rpt_regime_labels_aligned).
-- RESEARCH OUTPUT, NOT POINT-IN-TIME (full-sample counts); never feeds a detector.
-- A transition is a pair of consecutive final bars of one segment, both aligned (so both
-- labelled by the detector), self-transitions included. A run is a maximal chain of such
-- pairs with one regime, so every labelled bar is in exactly one run and
-- runs(r) = bars(r) - self-transitions(r -> r): mean_run_bars = bars(r) / runs(r).
{%- set detectors = ['uptrend', 'volatility_rv', 'volatility_hmm', 'volatility_quadrant', 'trend_vol'] %}
with aligned as (
    select
        series_id, series_part, bar_seq
        {%- for detector in detectors %}, {{ detector }}_regime{% endfor %}
    from {{ ref('rpt_regime_labels_aligned') }}
    where is_aligned
),

-- each aligned bar with the labels of the next final bar of its segment (bar_seq + 1)
-- when that bar is aligned too (else NULL: the chain breaks)
chained as (
    select
        a.series_id,
        {%- for detector in detectors %}
        a.{{ detector }}_regime, n.{{ detector }}_regime as next_{{ detector }}_regime{{ ',' if not loop.last }}
        {%- endfor %}
    from aligned as a
    left join aligned as n on n.series_part = a.series_part and n.bar_seq = a.bar_seq + 1
),

-- one row per labelled aligned bar and detector
pairs as (
    {%- for detector in detectors %}
    select '{{ detector }}' as detector, series_id,
           {{ detector }}_regime as from_regime, next_{{ detector }}_regime as to_regime
    from chained
    where {{ detector }}_regime is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- to_regime NULL: the bar's run ends without a transition (no next aligned bar)
counts as (
    select detector, series_id, from_regime, to_regime, count(*) as n_bars
    from pairs
    group by detector, series_id, from_regime, to_regime
),

by_from as (
    select
        detector, series_id, from_regime,
        cast(sum(n_bars) as bigint) as n_bars_from,
        cast(sum(case when to_regime = from_regime then n_bars else 0 end) as bigint) as n_self
    from counts
    group by detector, series_id, from_regime
),

by_series as (
    select
        detector, series_id,
        cast(sum(n_bars) as bigint) as n_bars_labelled,
        cast(sum(case when to_regime <> from_regime then n_bars else 0 end) as bigint) as n_regime_changes
    from counts
    group by detector, series_id
),

transitions as (
    select detector, series_id, from_regime, to_regime, n_bars as n_transitions
    from counts
    where to_regime is not null
),

series as (
    select distinct series_id, series_type, bar_interval
    from {{ ref('rpt_regime_labels_aligned') }}
)

select
    t.detector,
    series.series_type,
    t.series_id,
    series.bar_interval,
    t.from_regime,
    t.to_regime,
    t.n_transitions,
    cast(t.n_transitions as double)
        / sum(t.n_transitions) over (partition by t.detector, t.series_id, t.from_regime) as probability,
    cast(f.n_bars_from as double) / (f.n_bars_from - f.n_self) as mean_run_bars,
    100 * cast(s.n_regime_changes as double) / s.n_bars_labelled as whipsaw_per_100_bars,
    f.n_bars_from - f.n_self as n_runs,
    f.n_bars_from,
    s.n_regime_changes,
    s.n_bars_labelled
from transitions as t
join by_from as f on f.detector = t.detector and f.series_id = t.series_id and f.from_regime = t.from_regime
join by_series as s on s.detector = t.detector and s.series_id = t.series_id
join series on series.series_id = t.series_id
