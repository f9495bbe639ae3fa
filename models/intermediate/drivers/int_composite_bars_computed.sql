-- Composite driver bars (ALT and the buckets) per regime timeframe, by both methods
-- (docs/bars-and-drivers.md); fct_driver_bars keeps the method seed drivers.csv names.
--
-- equal_weight_index: index I starts at 100. A member contributes at bar t when it has
--   bars at t and t-1 (consecutive, t-1 final) in the same source; with
--   r_x = x_t / close_{t-1} (x in open, high, low, close) the composite's
--   x_t = I_{t-1} * mean over members of r_x, and I_t = close_t. Members with
--   |ln r_close| > var max_member_abs_log_return are excluded for the bar and counted.
--   I_{t-1} = 100 * exp(sum of ln(mean r_close) over earlier bars): the exact closed form
--   of the product recursion, as an ordered window sum. Each ln(mean r_close) is rounded
--   to a multiple of 2^-52 (an error <= 1.1e-16, one rounding of a double near 1) and summed
--   as HUGEINT: integer sums are exact in any order, so the index is the same to the
--   last bit in every build and every prefix (DuckDB's partitioned window sums of doubles
--   round differently when other partitions change size; measured 2e-14 on this sum).
-- price_average (the trading teams' original method, for comparison; docs/bars-and-drivers.md): open = avg(open),
--   high = max(high), low = min(low), close = avg(close) of the member bars at t.
-- volume = sum of contributing members' quote_volume (USDT). Means and sums add the
-- values in sorted order (macro ordered_fsum; DuckDB fsum(x order by x)): a parallel hash aggregate meets a group's
-- rows in any order, and even compensated sums round by order (measured: 1 ulp on 3
-- members), which would make builds differ in the last bits.
-- Incremental (docs/bars-and-drivers.md, "Incremental runs"): the pre-hook
-- rewind_composite_bars removes each driver x timeframe's bars from its first provisional
-- bar, and from the first member bar landed after the stored ones (loaded_at), on; the run
-- computes the bars after the last stored one from the member bars since then, the index
-- continuing from the stored log_index_units (the integer sum is the same in any split).
{{ config(materialized='incremental', incremental_strategy='append', pre_hook="{{ rewind_composite_bars() }}",
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with members as (
    select driver, symbol, exchange, priority from {{ ref('int_driver_members_listed') }} where kind = 'composite'
),

-- Each member series' newest bar, its exchange's newest bar at that interval, and the same
-- two for the series the member's newest bar was rolled up from (source_interval: the
-- member's own finest bars, e.g. 1h for the 1d rollups of a Binance member). A member has
-- stopped (docs/bars-and-drivers.md) when
--  (i)  its newest bar is more than max_gap_bars bars (of this interval) before the
--       driver's newest member bar on any exchange: the sample's Binance members (export
--       ends 2023-12-30) while the driver goes on with Bybit bars in 2025; or
--  (ii) its source series has stopped: no bar of it for more than max_gap_bars of its own
--       bars while its exchange's other series at that interval go on, the rule that
--       makes a delisted symbol's last candle final (macro finality_and_segments, horizon).
--       On the sample WTCUSDT's hourly bars end 2023-12-07 02:00 while Binance's go on to
--       2023-12-30; by (i) alone, 24 daily bars, it held the nano daily composite
--       provisional to its end (23 bars).
-- A stopped member's newest bar counts as final here and it holds no later composite bar
-- provisional (lag_frontiers); after its last bar it is missing, as any member without a
-- bar. Both rules read bar starts only (never is_final, which var as_of sets), so a cut
-- build sees a stop only once its data shows the silence.
newest as (
    select
        exchange, symbol, bar_interval,
        max(bar_start) as newest_bar_start,
        max_by(is_final, bar_start) as newest_is_final,
        max_by(source_interval, bar_start) as newest_source_interval,
        max(max(bar_start)) over (partition by exchange, bar_interval) as exchange_newest
    from {{ ref('int_symbol_bars_finalized') }}
    where is_primary
    group by exchange, symbol, bar_interval
),

member_series as (
    select
        {{ star_except(['interval_minutes', 'source_minutes', 'source_newest', 'source_exchange_newest']) }},
        newest_bar_start < {{ add_minutes('max(newest_bar_start) over (partition by driver, timeframe)',
                                          '-' ~ var('max_gap_bars') ~ ' * interval_minutes') }}
            or {{ add_minutes('source_newest', '(1 + ' ~ var('max_gap_bars') ~ ') * source_minutes') }}
               <= source_exchange_newest as is_stopped
    from (
        select
            m.driver, t.timeframe, n.exchange, n.symbol, n.bar_interval, i.interval_minutes,
            n.newest_bar_start, n.newest_is_final, n.exchange_newest,
            si.interval_minutes as source_minutes, s.newest_bar_start as source_newest,
            s.exchange_newest as source_exchange_newest
        from newest as n
        join members as m on m.symbol = n.symbol and m.exchange = n.exchange
        join {{ ref('regime_timeframes') }} as t on t.bar_interval = n.bar_interval
        join {{ ref('bar_intervals') }} as i on i.bar_interval = n.bar_interval
        join newest as s
            on s.exchange = n.exchange and s.symbol = n.symbol and s.bar_interval = n.newest_source_interval
        join {{ ref('bar_intervals') }} as si on si.bar_interval = n.newest_source_interval
    )
),

{% if is_incremental() -%}
stored as (
    select driver, timeframe, max(bar_start) as last_bar_start,
           max_by(log_index_units, bar_start) filter (where composite_method = 'equal_weight_index') as last_units
    from {{ this }}
    group by driver, timeframe
),
{%- else %}
stored as (
    select cast(null as {{ dbt.type_string() }}) as driver, cast(null as {{ dbt.type_string() }}) as timeframe, cast(null as timestamp) as last_bar_start,
           cast(null as {{ wide_integer_type() }}) as last_units
    where false
),
{%- endif %}

-- member bars from the last stored composite bar on (the lags of the first new bar)
member_bars as (
    select
        m.driver, t.timeframe, m.priority, b.exchange, b.symbol, b.bar_interval, b.bar_start,
        b.open, b.high, b.low, b.close, b.quote_volume, b.is_final or ms.is_stopped as is_final, b.is_complete,
        b.loaded_at,
        lag(b.close) over series as prev_close,
        lag(b.bar_start) over series as prev_bar_start,
        lag(b.is_final) over series as prev_is_final,
        i.interval_minutes
    from {{ ref('int_symbol_bars_finalized') }} as b
    join members as m on m.symbol = b.symbol and m.exchange = b.exchange
    join {{ ref('regime_timeframes') }} as t on t.bar_interval = b.bar_interval
    join {{ ref('bar_intervals') }} as i on i.bar_interval = b.bar_interval
    join member_series as ms
        on ms.driver = m.driver and ms.timeframe = t.timeframe and ms.exchange = b.exchange
       and ms.symbol = b.symbol and ms.bar_interval = b.bar_interval
    left join stored as s on s.driver = m.driver and s.timeframe = t.timeframe
    where b.is_primary and (s.last_bar_start is null or b.bar_start >= s.last_bar_start)
    window series as (partition by m.driver, t.timeframe, b.exchange, b.symbol order by b.bar_start)
),

-- one source per member and bar: highest priority, final bars first
chosen as (
    select *
    from member_bars
    qualify row_number() over (
        partition by driver, timeframe, symbol, bar_start order by is_final desc, priority
    ) = 1
),

member_returns as (
    select
        *,
        open / prev_close as r_open,
        high / prev_close as r_high,
        low / prev_close as r_low,
        close / prev_close as r_close,
        abs(ln(close / prev_close)) > {{ var('max_member_abs_log_return') }} as is_excluded
    from chosen
    where prev_is_final and prev_bar_start = {{ add_minutes('bar_start', '-interval_minutes') }}
),

index_growth as (
    select
        driver, timeframe, bar_interval, bar_start,
        {{ ordered_fsum('r_open', 'not is_excluded') }} / count(r_open) filter (where not is_excluded) as mean_r_open,
        {{ ordered_fsum('r_high', 'not is_excluded') }} / count(r_high) filter (where not is_excluded) as mean_r_high,
        {{ ordered_fsum('r_low', 'not is_excluded') }} / count(r_low) filter (where not is_excluded) as mean_r_low,
        {{ ordered_fsum('r_close', 'not is_excluded') }} / count(r_close) filter (where not is_excluded) as mean_r_close,
        {{ ordered_fsum('quote_volume', 'not is_excluded') }} as volume,
        count(*) filter (where not is_excluded) as n_constituents,
        count(*) filter (where is_excluded) as n_excluded_members,
        bool_and(is_complete) filter (where not is_excluded) as is_complete,
        bool_and(is_final) filter (where not is_excluded) as is_final,
        max(loaded_at) as loaded_at
    from member_returns
    group by driver, timeframe, bar_interval, bar_start
    having count(*) filter (where not is_excluded) > 0
),

-- log_index_units: the running integer sum of the rounded ln(mean r_close) through the bar,
-- continued from the last stored bar's
units as (
    select
        g.*,
        coalesce(s.last_units, 0) + sum(cast(round(ln(g.mean_r_close) * 4503599627370496) as {{ wide_integer_type() }})) over (
            partition by g.driver, g.timeframe order by g.bar_start rows between unbounded preceding and current row
        ) as log_index_units,
        coalesce(s.last_units, 0) + coalesce(sum(cast(round(ln(g.mean_r_close) * 4503599627370496) as {{ wide_integer_type() }})) over (
            partition by g.driver, g.timeframe order by g.bar_start rows between unbounded preceding and 1 preceding
        ), 0) as prev_units,
        s.last_bar_start
    from index_growth as g
    left join stored as s using (driver, timeframe)
    where s.last_bar_start is null or g.bar_start > s.last_bar_start
),

indexed as (
    select *, 100 * exp(cast(prev_units as double) / 4503599627370496) as prev_index
    from units
),

equal_weight_index as (
    select
        driver, timeframe, bar_interval, bar_start, 'equal_weight_index' as composite_method,
        prev_index * mean_r_open as open,
        prev_index * mean_r_high as high,
        prev_index * mean_r_low as low,
        prev_index * mean_r_close as close,
        volume, n_constituents, n_excluded_members, is_complete, is_final, log_index_units, loaded_at
    from indexed
),

price_average as (
    select
        driver, timeframe, bar_interval, bar_start, 'price_average' as composite_method,
        {{ ordered_fsum('open') }} / count(open) as open, max(high) as high, min(low) as low, {{ ordered_fsum('close') }} / count(close) as close,
        {{ ordered_fsum('quote_volume') }} as volume, count(*) as n_constituents, 0 as n_excluded_members,
        bool_and(is_complete) as is_complete, bool_and(is_final) as is_final,
        cast(null as {{ wide_integer_type() }}) as log_index_units, max(loaded_at) as loaded_at
    from chosen as c
    where not exists (
        select 1 from stored as s
        where s.driver = c.driver and s.timeframe = c.timeframe and c.bar_start <= s.last_bar_start
    )
    group by driver, timeframe, bar_interval, bar_start
),

-- A member is lagging when its newest bar (at t_m) is still provisional while its exchange
-- already has later bars at that interval and it has not stopped: its bars after t_m are
-- still to come, so a composite bar after t_m is provisional even if every member that
-- did report is final (otherwise a late member candle would rewrite a final composite
-- bar; the incremental indicator models refuse such history changes).
lag_frontiers as (
    select driver, timeframe, min(newest_bar_start) as lagging_since
    from member_series
    where not newest_is_final and not is_stopped and newest_bar_start < exchange_newest
    group by driver, timeframe
),

composite_bars as (
    select * from equal_weight_index
    union all
    select * from price_average
)

select
    {{ star_replace('is_final', 'c.is_final and (f.lagging_since is null or c.bar_start <= f.lagging_since)', 'c') }}
from composite_bars as c
left join lag_frontiers as f using (driver, timeframe)
{%- endcall %}
