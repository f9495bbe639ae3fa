-- Every (series, bar_start) the daily-series ledger has landed, ignoring as_of:
-- fct_market_regimes checks seed trend_vol_markets against it, so an early as_of build of a
-- valid seed passes (a series is "missing" only if it never landed).
select distinct
    series,
    bar_start
from {{ ref('daily_series') }}
where status = 'landed'
