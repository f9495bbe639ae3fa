-- The inputs of the trend x volatility detector (docs/trend-vol-regimes.md), one row per seed
-- market (trend_vol_markets) x final day of its price series (stg_landing__daily_series):
-- * final days and segments by macro finality_and_segments, as every bar of the warehouse: a
--   day is final when its series has a newer day or it ended by var as_of; a gap of more
--   than var max_gap_bars days between final days starts a segment (the windows below warm
--   up again);
-- * ma = SMA of the last ma_period (seed column, per market) final closes of the segment
--   (compensated sum in sorted order, macro ordered_fsum), NULL until the segment has ma_period
--   days;
-- * vol_value = the vol series' final close on the same day, or, for an empty vol_series,
--   100 x (number of the last var trend_vol_percentile_window (365) realized-vol values of
--   the segment strictly below the day's) / (window - 1), ties taking the lowest rank (the
--   convention of int_indicators_ranked), NULL until the window is full; realized vol =
--   sample standard deviation of the segment's last 20 daily log returns (not annualised:
--   the factor cancels in a rank).
-- Point-in-time: every window ends at the day. fct_market_regimes walks these rows.
{%- set window = var('trend_vol_percentile_window') | int %}
{%- if window < 2 %}
{{ exceptions.raise_compiler_error("var trend_vol_percentile_window must be >= 2 (a percentile needs a window), got " ~ window) }}
{%- endif %}
{#- realized_vol_20: 20 log returns (docs/indicators.md), a definition, not a tunable -#}
{%- set rv_bars = 20 %}
with days as (
    select series, bar_start, close, 1440 as interval_minutes
    from {{ ref('stg_landing__daily_series') }}
),

finalised as (
    {{ finality_and_segments('days', ['series']) }}
),

final_days as (
    select series, bar_start, close, segment_id
    from finalised
    where is_final
),

price_days as (
    select
        -- a bad ma_period (fct_market_regimes fails naming the market) still gives a valid frame
        m.market, greatest(coalesce(cast(m.ma_period as bigint), 1), 1) as ma_period, m.vol_series, d.bar_start, d.segment_id, d.close as price,
        row_number() over segment_order - 1 as seg_idx,
        -- ln(close) - ln(previous close): the difference of the logs, as np.diff(np.log(close))
        ln(d.close) - ln(lag(d.close) over segment_order) as log_return
    from {{ ref('trend_vol_markets') }} as m
    join final_days as d on d.series = m.price_series
    window segment_order as (partition by m.market, d.segment_id order by d.bar_start)
),

realized as (
    select
        *,
        case when seg_idx >= {{ rv_bars }} then
            stddev_samp(log_return) over (
                partition by market, segment_id order by bar_start rows between {{ rv_bars - 1 }} preceding and current row
            )
        end as realized_vol
    from price_days
),

-- each day joined with the segment's days of its MA frame (ma_period, per market) and of its
-- percentile window: at most greatest(ma_period, window) daily rows per day. A frame sized
-- by a column and a framed rank are DuckDB-only; the join runs on any engine and gives the
-- same numbers (the MA adds its values in sorted order, macro ordered_fsum).
ranked as (
    select
        d.market, d.bar_start, d.segment_id, d.price, d.vol_series,
        case when d.seg_idx >= d.ma_period - 1 then
            {{ ordered_fsum('w.price', 'w.seg_idx > d.seg_idx - d.ma_period') }} / d.ma_period
        end as ma,
        -- rank - 1 = the window's realized vols strictly below the day's
        case when d.seg_idx >= {{ rv_bars + window - 1 }} then
            100.0 * count(*) filter (where w.seg_idx > d.seg_idx - {{ window }} and w.realized_vol < d.realized_vol)
            / {{ window - 1 }}
        end as vol_percentile
    from realized as d
    join realized as w
        on w.market = d.market and w.segment_id = d.segment_id
        and w.seg_idx between d.seg_idx - greatest(d.ma_period, {{ window }}) + 1 and d.seg_idx
    group by d.market, d.bar_start, d.segment_id, d.price, d.vol_series, d.seg_idx, d.ma_period, d.realized_vol
)

select
    r.market, r.bar_start, r.segment_id, r.price, r.ma,
    case when coalesce(r.vol_series, '') = '' then r.vol_percentile else v.close end as vol_value
from ranked as r
left join final_days as v on v.series = r.vol_series and v.bar_start = r.bar_start
