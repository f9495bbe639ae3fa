-- Share of time in the high-volatility regime per regime driver x timeframe, for both
-- volatility detectors side by side (docs/volatility-regimes.md; BI: "how often is each
-- driver in high vol, and how jumpy is the label?"). vol_regime is the configured detector's
-- label (realized-vol percentile by default), hmm_vol_regime the HMM's.
-- pct_* are percent (0-100) of the labelled bars; changes_per_100_bars the whipsaw rate of
-- each label; avg_hmm_p_high_vol the mean filtered HMM probability (0..1).
with labels as (
    select
        driver,
        timeframe,
        bar_start,
        vol_regime,
        prev_vol_regime,
        hmm_vol_regime,
        hmm_p_high_vol,
        lag(hmm_vol_regime) over (partition by series_part order by idx) as prev_hmm_vol_regime
    from {{ ref('fct_volatility_regimes') }}
    where series_type = 'driver'
)

select
    driver,
    timeframe,
    count(vol_regime) as labelled_bars,
    min(bar_start) as first_bar,
    max(bar_start) as last_bar,
    round(100.0 * count(*) filter (where vol_regime = 'high') / count(vol_regime), 1) as pct_high_vol,
    round(100.0 * count(*) filter (where vol_regime <> prev_vol_regime) / count(vol_regime), 1)
        as changes_per_100_bars,
    round(100.0 * count(*) filter (where hmm_vol_regime = 'high') / count(hmm_vol_regime), 1) as pct_high_vol_hmm,
    round(100.0 * count(*) filter (where hmm_vol_regime <> prev_hmm_vol_regime) / count(hmm_vol_regime), 1)
        as changes_per_100_bars_hmm,
    round(avg(hmm_p_high_vol), 3) as avg_hmm_p_high_vol
from labels
group by driver, timeframe
having count(vol_regime) > 0
order by driver, timeframe
