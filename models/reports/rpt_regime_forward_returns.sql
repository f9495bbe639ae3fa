-- Forward returns and forward realized vol by regime, every detector side by side on the
-- same bars (docs/volatility-regimes.md). RESEARCH OUTPUT, NOT POINT-IN-TIME: each bar's values look h bars
-- ahead by design; nothing here may feed a detector, a lever or any as_of-tested model.
-- Per final bar t of a series segment and horizon h (var regime_report_horizon_bars):
--   forward_return = ln(close_{t+h} / close_t), forward_rv = sample std of the h 1-bar log
--   returns of bars t+1..t+h, both NULL unless bar t+h (the h-th next final bar) is in the
--   same segment. Only is_aligned bars count (rpt_regime_labels_aligned).
{%- set horizons = var('regime_report_horizon_bars') %}
{%- set detectors = ['uptrend', 'volatility_rv', 'volatility_hmm', 'volatility_quadrant', 'trend_vol'] %}
{#- window w spelled out where it is framed (Spark cannot refine a named window) #}
{%- set series_order = 'partition by series_part order by bar_seq' %}
with forward as (
    -- only the columns the aggregates need go through the sort
    select
        series_id, is_aligned,
        {%- for detector in detectors %}
        {{ detector }}_regime,
        {%- endfor %}
        {%- for h in horizons %}
        ln(lead(close, {{ h }}) over w / close) as forward_return_{{ h }},
        -- bar t+h is in the segment exactly when the forward return exists
        case when lead(close, {{ h }}) over w is not null
             then stddev_samp(log_return) over ({{ series_order }} rows between 1 following and {{ h }} following)
        end as forward_rv_{{ h }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('rpt_regime_labels_aligned') }}
    window w as (partition by series_part order by bar_seq)
),

-- one row per detector label of an aligned bar
labelled as (
    {%- for detector in detectors %}
    select '{{ detector }}' as detector, series_id, {{ detector }}_regime as regime,
           {%- for h in horizons %}
           forward_return_{{ h }}, forward_rv_{{ h }}{{ ',' if not loop.last }}
           {%- endfor %}
    from forward
    where is_aligned and {{ detector }}_regime is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

stats as (
    select
        detector, series_id, regime,
        count(*) as n_bars_labelled,
        {%- for h in horizons %}
        count(forward_return_{{ h }}) as n_{{ h }},
        avg(forward_return_{{ h }}) as mean_return_{{ h }},
        percentile_cont(0.5) within group (order by forward_return_{{ h }}) as median_return_{{ h }},
        stddev_samp(forward_return_{{ h }}) as sd_return_{{ h }},
        cast(sum(case when forward_return_{{ h }} > 0 then 1 else 0 end) as bigint) as n_positive_{{ h }},
        avg(forward_rv_{{ h }}) as mean_forward_rv_{{ h }},
        percentile_cont(0.5) within group (order by forward_rv_{{ h }}) as median_forward_rv_{{ h }}{{ ',' if not loop.last }}
        {%- endfor %}
    from labelled
    group by detector, series_id, regime
),

series as (
    select distinct series_id, series_type, bar_interval, n_detectors
    from {{ ref('rpt_regime_labels_aligned') }}
),

by_horizon as (
    {%- for h in horizons %}
    select
        s.detector, series.series_type, s.series_id, series.bar_interval, s.regime, {{ h }} as horizon_bars,
        n_{{ h }} as n, mean_return_{{ h }} as mean_return, median_return_{{ h }} as median_return,
        sd_return_{{ h }} as sd_return, n_positive_{{ h }} as n_positive,
        mean_forward_rv_{{ h }} as mean_forward_rv, median_forward_rv_{{ h }} as median_forward_rv,
        s.n_bars_labelled, series.n_detectors
    from stats as s
    join series on series.series_id = s.series_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    detector,
    series_type,
    series_id,
    bar_interval,
    regime,
    horizon_bars,
    n,
    mean_return,
    median_return,
    case when n > 0 then cast(n_positive as double) / n end as win_rate,
    case when n >= 2 and sd_return > 0 then mean_return / (sd_return / sqrt(n)) end as t_stat,
    mean_forward_rv,
    median_forward_rv,
    sd_return,
    n_bars_labelled,
    cast(n_bars_labelled as double)
        / sum(n_bars_labelled) over (partition by detector, series_id, horizon_bars) as share_of_bars,
    n_detectors
from by_horizon
