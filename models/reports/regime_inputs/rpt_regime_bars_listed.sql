-- The price path behind the regime research reports (docs/volatility-regimes.md): every final bar of each
-- series a regime detector labels, numbered within its segment (bar_seq) with
-- log_return = ln(close / previous final close of the segment); a view:
-- rpt_regime_labels_aligned reads it once.
-- * driver series (series_id driver|timeframe): marts.fct_driver_bars;
-- * symbol series (exchange|symbol|bar_interval, primary bars): marts.fct_symbol_bars;
-- * each trend_vol market's own price series (market|<market>): the final days and segments
--   of int_market_days_prepared, the rows fct_market_regimes walks, so a market's labels
--   sit on exactly the days its detector saw.
-- tag research_input: read only by the research reports, so the update job leaves it to the
-- daily job with them (orchestration/defs/automation.py)
{{ config(materialized='view', tags=['research_input']) }}

with labelled_drivers as (
    select distinct driver, timeframe
    from {{ ref('fct_uptrend_states') }}
    union
    select distinct driver, timeframe
    from {{ ref('fct_volatility_regimes') }}
    where series_type = 'driver'
),

driver_bars as (
    select 'driver' as series_type, {{ indicator_series_id('driver') }} as series_id, bar_interval,
           segment_id, bar_start, close
    from {{ ref('fct_driver_bars') }}
    where is_final and (driver, timeframe) in (select driver, timeframe from labelled_drivers)
),

symbol_series as (
    select distinct exchange, symbol, bar_interval
    from {{ ref('fct_volatility_regimes') }}
    where series_type = 'symbol'
),

symbol_bars as (
    select 'symbol' as series_type, {{ indicator_series_id('symbol') }} as series_id, bar_interval,
           segment_id, bar_start, close
    from {{ ref('fct_symbol_bars') }}
    where is_final and is_primary
        and (exchange, symbol, bar_interval) in (select exchange, symbol, bar_interval from symbol_series)
),

market_bars as (
    select 'market' as series_type, 'market|' || market as series_id, '1d' as bar_interval,
           segment_id, bar_start, price as close
    from {{ ref('int_market_days_prepared') }}
    where market in (select market from {{ ref('fct_market_regimes') }})
),

bars as (
    select * from driver_bars
    union all
    select * from symbol_bars
    union all
    select * from market_bars
),

numbered as (
    select *, {{ indicator_series_part('series_id', 'segment_id') }} as series_part
    from bars
)

-- narrow rows: the one sort of the price path happens here, before the labels join
select
    series_type,
    series_id,
    bar_interval,
    cast(segment_id as bigint) as segment_id,
    series_part,
    bar_start,
    row_number() over w as bar_seq,
    close,
    ln(close / lag(close) over w) as log_return
from numbered
window w as (partition by series_part order by bar_start)
