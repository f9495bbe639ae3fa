-- A market of seed trend_vol_markets with no row in marts.fct_market_regimes is a warning:
-- its series are missing (var trend_vol_missing_series = warn), or shorter than ma_period
-- (or the percentile warm-up) where they overlap, or only their provisional newest day overlaps.
{{ config(severity='warn') }}
select m.market, m.price_series, m.vol_series, m.ma_period
from {{ ref('trend_vol_markets') }} as m
where not exists (select 1 from {{ ref('fct_market_regimes') }} as r where r.market = m.market)
