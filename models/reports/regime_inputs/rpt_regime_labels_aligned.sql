-- Every regime detector's label side by side on the final bars of each labelled series
-- (docs/volatility-regimes.md, research reports): one row per final bar of the series (labelled or not: the
-- reports' forward paths and bar-to-bar pairs run over all of them), one column per
-- detector, and is_aligned when every detector that labels the series at all labels the bar.
-- * uptrend_regime: marts.fct_uptrend_states.state (S0..S4) per driver|timeframe;
-- * volatility_rv_regime / volatility_hmm_regime / volatility_quadrant_regime:
--   marts.fct_volatility_regimes rv_vol_regime / hmm_vol_regime (high, low) / quadrant
--   (CRISIS, EXPANSION, NORMAL, QUIET; of the configured vol_regime) per driver and symbol
--   series;
-- * trend_vol_regime: marts.fct_market_regimes.regime per market on the market's own price
--   series (market|<market>) and, through var regime_report_market_series, also on the
--   mapped 1d series (the label of day d on that series' bar starting at d).
-- tag research_input: read only by the research reports, so the update job leaves it to the
-- daily job with them (orchestration/defs/automation.py)
{{ config(tags=['research_input']) }}
{%- set market_series = var('regime_report_market_series') or {} %}
with market_series as (
    {%- for market, series_id in market_series.items() %}
    select '{{ market }}' as market, '{{ series_id }}' as series_id
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as market, cast(null as {{ dbt.type_string() }}) as series_id where false
    {%- endfor %}
),

uptrend as (
    select {{ indicator_series_id('driver') }} as series_id, bar_start, state as uptrend_regime
    from {{ ref('fct_uptrend_states') }}
),

volatility as (
    select series_id, bar_start, rv_vol_regime as volatility_rv_regime, hmm_vol_regime as volatility_hmm_regime,
           quadrant as volatility_quadrant_regime
    from {{ ref('fct_volatility_regimes') }}
),

trend_vol as (
    select 'market|' || market as series_id, bar_start, regime as trend_vol_regime
    from {{ ref('fct_market_regimes') }}
    union all
    select s.series_id, r.bar_start, r.regime as trend_vol_regime
    from {{ ref('fct_market_regimes') }} as r
    join market_series as s on s.market = r.market
),

bars as (
    select
        b.series_type, b.series_id, b.bar_interval, b.segment_id, b.series_part, b.bar_start, b.bar_seq,
        b.close, b.log_return, u.uptrend_regime, v.volatility_rv_regime, v.volatility_hmm_regime,
        v.volatility_quadrant_regime, t.trend_vol_regime
    from {{ ref('rpt_regime_bars_listed') }} as b
    left join uptrend as u on u.series_id = b.series_id and u.bar_start = b.bar_start
    left join volatility as v on v.series_id = b.series_id and v.bar_start = b.bar_start
    left join trend_vol as t on t.series_id = b.series_id and t.bar_start = b.bar_start
),

-- which detectors label the series at all
series_detectors as (
    select
        series_id,
        count(uptrend_regime) > 0 as has_uptrend,
        count(volatility_rv_regime) > 0 as has_volatility_rv,
        count(volatility_hmm_regime) > 0 as has_volatility_hmm,
        count(volatility_quadrant_regime) > 0 as has_volatility_quadrant,
        count(trend_vol_regime) > 0 as has_trend_vol
    from bars
    group by series_id
)

select
    b.*,
    cast(d.has_uptrend as integer) + cast(d.has_volatility_rv as integer) + cast(d.has_volatility_hmm as integer)
        + cast(d.has_volatility_quadrant as integer) + cast(d.has_trend_vol as integer) as n_detectors,
    (b.uptrend_regime is not null or not d.has_uptrend)
        and (b.volatility_rv_regime is not null or not d.has_volatility_rv)
        and (b.volatility_hmm_regime is not null or not d.has_volatility_hmm)
        and (b.volatility_quadrant_regime is not null or not d.has_volatility_quadrant)
        and (b.trend_vol_regime is not null or not d.has_trend_vol) as is_aligned
from bars as b
join series_detectors as d on d.series_id = b.series_id
