-- Composite reconciliation (docs/bars-and-drivers.md): for every equal_weight_index bar whose previous
-- composite bar exists, close_t / close_{t-1} equals the mean of the contributing
-- members' close_t / close_{t-1} (recomputed here from fct_symbol_bars), to 1e-9.
-- In an update run (var test_since) the bars from test_since on, with a day of look-back.
with composite as (
    select
        driver, timeframe, bar_start, close, n_constituents,
        lag(close) over (partition by driver, timeframe order by bar_start) as prev_close
    from {{ ref('int_composite_bars_computed') }}
    where composite_method = 'equal_weight_index' and {{ test_window_filter('bar_start', 1440) }}
),

member_bars as (
    select
        m.driver, t.timeframe, b.exchange, b.symbol, b.bar_start, b.close, b.is_final, m.priority,
        lag(b.close) over w as prev_close,
        lag(b.bar_start) over w as prev_bar_start,
        lag(b.is_final) over w as prev_is_final,
        i.interval_minutes
    from {{ ref('fct_symbol_bars') }} as b
    join {{ ref('int_driver_members_listed') }} as m on m.symbol = b.symbol and m.exchange = b.exchange
    join {{ ref('regime_timeframes') }} as t on t.bar_interval = b.bar_interval
    join {{ ref('bar_intervals') }} as i on i.bar_interval = b.bar_interval
    where b.is_primary and m.kind = 'composite' and {{ test_window_filter('b.bar_start', 1440) }}
    window w as (partition by m.driver, t.timeframe, b.exchange, b.symbol order by b.bar_start)
),

member_returns as (
    select driver, timeframe, bar_start, avg(close / prev_close) as mean_member_return, count(*) as n_members
    from (
        select * from member_bars
        where prev_is_final and prev_bar_start = {{ add_minutes('bar_start', '-interval_minutes') }}
          and abs(ln(close / prev_close)) <= {{ var('max_member_abs_log_return') }}
        qualify row_number() over (partition by driver, timeframe, symbol, bar_start order by is_final desc, priority) = 1
    )
    group by all
)

select c.*, r.mean_member_return, r.n_members
from composite as c
join member_returns as r using (driver, timeframe, bar_start)
where c.prev_close is not null and {{ test_window_filter('c.bar_start') }}
  and (abs(c.close / c.prev_close - r.mean_member_return) > 1e-9 or c.n_constituents != r.n_members)
