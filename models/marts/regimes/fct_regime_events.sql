-- One row per state change of a regime detector: every bar whose state differs from a
-- non-NULL previous state.
-- * uptrend (docs/uptrend-engine.md): the Uptrend Engine per driver x timeframe; reason = the exit reason
--   when the change is an exit, else '<from>_to_<to>'.
-- * trend_vol (docs/trend-vol-regimes.md): the trend x volatility regime per market (entity) on days
--   (timeframe macro); reason names the band crossed: 'price_below_ma_band' /
--   'price_above_ma_band' for the trend, 'vol_above_high' / 'vol_below_low' for the vol,
--   joined by ' & ' when both change on the same day.
with uptrend as (
    select
        'uptrend' as detector,
        driver as entity,
        timeframe,
        bar_start,
        prev_state as from_state,
        state as to_state,
        coalesce(exit_reason, prev_state || '_to_' || state) as reason
    from {{ ref('fct_uptrend_states') }}
    where prev_state is not null and state <> prev_state
),

market_changes as (
    select
        market,
        bar_start,
        prev_regime,
        regime,
        -- regime = '<trend>_<vol>'; the trend never contains '_'
        split_part(prev_regime, '_', 1) <> trend as trend_changed,
        substr(prev_regime, strpos(prev_regime, '_') + 1) <> vol as vol_changed,
        trend,
        vol
    from {{ ref('fct_market_regimes') }}
    where prev_regime is not null and regime <> prev_regime
),

trend_vol as (
    select
        'trend_vol' as detector,
        market as entity,
        'macro' as timeframe,
        bar_start,
        prev_regime as from_state,
        regime as to_state,
        concat_ws(' & ',
            case when trend_changed then
                case when trend = 'downtrend' then 'price_below_ma_band' else 'price_above_ma_band' end end,
            case when vol_changed then
                case when vol = 'high_vol' then 'vol_above_high' else 'vol_below_low' end end) as reason
    from market_changes
),

-- volatility detectors (docs/volatility-regimes.md): changes of the realized-vol percentile
-- label, of the HMM label and of the quadrant of the regime drivers (symbol-level regimes
-- stay in fct_volatility_regimes)
volatility_labels as (
    select driver, timeframe, bar_start, rv_vol_regime, hmm_vol_regime, quadrant, prev_quadrant,
           lag(rv_vol_regime) over w as prev_rv_vol_regime,
           lag(hmm_vol_regime) over w as prev_hmm_vol_regime
    from {{ ref('fct_volatility_regimes') }}
    where series_type = 'driver'
    window w as (partition by series_part order by idx)
),

volatility as (
    select 'volatility_rv' as detector, driver as entity, timeframe, bar_start,
           prev_rv_vol_regime as from_state, rv_vol_regime as to_state,
           prev_rv_vol_regime || '_to_' || rv_vol_regime as reason
    from volatility_labels
    where rv_vol_regime <> prev_rv_vol_regime
    union all
    select 'volatility_hmm' as detector, driver as entity, timeframe, bar_start,
           prev_hmm_vol_regime as from_state, hmm_vol_regime as to_state,
           prev_hmm_vol_regime || '_to_' || hmm_vol_regime as reason
    from volatility_labels
    where hmm_vol_regime <> prev_hmm_vol_regime
    union all
    select 'volatility_quadrant' as detector, driver as entity, timeframe, bar_start,
           prev_quadrant as from_state, quadrant as to_state,
           prev_quadrant || '_to_' || quadrant as reason
    from volatility_labels
    where quadrant <> prev_quadrant
)

select * from uptrend
union all
select * from trend_vol
union all
select * from volatility
