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
        substr(prev_regime, instr(prev_regime, '_') + 1) <> vol as vol_changed,
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
{%- set volatility_detectors = {'volatility_rv': 'rv_vol_regime', 'volatility_hmm': 'hmm_vol_regime',
                                 'volatility_quadrant': 'quadrant'} %}
volatility_labels as (
    select
        driver, timeframe, bar_start
        {%- for label in volatility_detectors.values() %},
        {{ label }}, lag({{ label }}) over w as prev_{{ label }}
        {%- endfor %}
    from {{ ref('fct_volatility_regimes') }}
    where series_type = 'driver'
    window w as (partition by series_part order by idx)
),

volatility as (
    {%- for detector, label in volatility_detectors.items() %}
    select
        '{{ detector }}' as detector, driver as entity, timeframe, bar_start,
        prev_{{ label }} as from_state, {{ label }} as to_state,
        prev_{{ label }} || '_to_' || {{ label }} as reason
    from volatility_labels
    where {{ label }} <> prev_{{ label }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from uptrend
union all
select * from trend_vol
union all
select * from volatility
