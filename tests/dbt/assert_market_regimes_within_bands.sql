-- Invariants (docs/trend-vol-regimes.md) of marts.fct_market_regimes against the seed row of each market:
-- hysteresis never holds a state beyond its band (a downtrend above MA x (1 + h), an uptrend
-- below MA x (1 - h), high_vol below the low threshold, low_vol above the high one), and
-- a first row (prev_regime NULL) uses the no-previous rules (uptrend iff price >= MA; vol
-- inside the band => low_vol).
select r.*
from {{ ref('fct_market_regimes') }} as r
join {{ ref('trend_vol_markets') }} as m using (market)
where (r.trend = 'downtrend' and r.price > r.ma * (1 + m.trend_hysteresis_pct))
   or (r.trend = 'uptrend' and r.price < r.ma * (1 - m.trend_hysteresis_pct))
   or (r.vol = 'high_vol' and r.vol_value < m.vol_low_threshold)
   or (r.vol = 'low_vol' and r.vol_value > m.vol_high_threshold)
   or (r.prev_regime is null and (r.trend = 'uptrend') <> (r.price >= r.ma))
   or (r.prev_regime is null and r.vol = 'high_vol' and r.vol_value <= m.vol_high_threshold)
