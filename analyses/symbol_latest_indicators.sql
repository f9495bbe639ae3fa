-- Latest technical indicators of one symbol (docs/indicators.md), per exchange x bar interval (BI:
-- "what do the indicators say about BTCUSDT right now?"). The newest final bar of each
-- series with its close; prices, EMAs and ATR in USDT per coin, rsi_14 / adx_14 in points
-- 0-100, bb_bandwidth_20 and realized_vol_20 (annualised) as fractions,
-- pr_realized_vol_20 a percentile rank 0..1. Set the symbol below.
{%- set symbol = 'BTCUSDT' %}
select
    i.exchange,
    i.bar_interval,
    i.bar_start,
    b.close,
    round(i.ema_20, 2) as ema_20,
    round(i.ema_60, 2) as ema_60,
    round(i.ema_333, 2) as ema_333,
    round(i.rsi_14, 1) as rsi_14,
    round(i.adx_14, 1) as adx_14,
    round(i.atr_14, 2) as atr_14,
    round(i.bb_bandwidth_20, 4) as bb_bandwidth_20,
    round(i.realized_vol_20, 3) as realized_vol_20,
    round(i.pr_realized_vol_20, 3) as pr_realized_vol_20
from {{ ref('fct_symbol_indicators') }} as i
join {{ ref('fct_symbol_bars') }} as b
    on b.exchange = i.exchange and b.symbol = i.symbol and b.bar_interval = i.bar_interval
    and b.bar_start = i.bar_start and b.is_primary
join {{ ref('bar_intervals') }} as n on n.bar_interval = i.bar_interval
where i.symbol = '{{ symbol }}'
qualify row_number() over (partition by i.exchange, i.bar_interval order by i.bar_start desc) = 1
order by i.exchange, n.interval_minutes
