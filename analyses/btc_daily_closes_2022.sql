-- BTC daily closes and the share of complete bars in 2022 (macro timeframe).
select bar_start::date as day, close, is_complete, source
from {{ ref('fct_driver_bars') }}
where driver = 'BTC' and timeframe = 'macro'
  and bar_start >= '2022-01-01' and bar_start < '2023-01-01'
order by day
