-- Share of time in each HMM volatility regime per regime driver x timeframe (docs/volatility-regimes.md;
-- BI: "how often is each driver in high vol, and how jumpy is the label?").
-- pct_* are percent (0-100) of the bars with a label; changes_per_100_bars is the
-- whipsaw rate of vol_regime; avg_p_high_vol is the mean filtered probability (0..1).
select
    v.driver,
    v.timeframe,
    count(v.vol_regime) as labelled_bars,
    min(v.bar_start) as first_bar,
    max(v.bar_start) as last_bar,
    round(100.0 * count(*) filter (where v.vol_regime = 'high') / count(v.vol_regime), 1) as pct_high_vol,
    round(100.0 * count(*) filter (where v.vol_regime = 'low') / count(v.vol_regime), 1) as pct_low_vol,
    round(100.0 * count(*) filter (where v.vol_regime <> v.prev_vol_regime) / count(v.vol_regime), 1)
        as changes_per_100_bars,
    round(avg(v.hmm_p_high_vol), 3) as avg_p_high_vol
from {{ ref('fct_volatility_regimes') }} as v
where v.series_type = 'driver'
group by v.driver, v.timeframe
having count(v.vol_regime) > 0
order by v.driver, v.timeframe
