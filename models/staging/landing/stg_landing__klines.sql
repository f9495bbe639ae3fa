-- Current version of every landed candle, cut at var as_of; quote_volume = close x volume.
-- Versions of a key, newest first (docs/landing.md; market_regimes.landing.ledger.VERSION_ORDER):
-- the latest landing batch (loaded_at), within it a correction (layout corrections/...)
-- before any other row, then the later file and line. So a later landing supersedes a
-- provisional bar and a correction supersedes even a final one.
-- A table, not a view: the rollups, fct_symbol_bars and four tests read it, and a view
-- would redo the version window over the whole ledger each time.
-- Incremental: a run re-decides only the keys with ledger rows newer than the newest batch
-- it has staged, and the keys after each series' last staged bar (rows an earlier run's
-- as_of cut left out, or a new series) (delete+insert on the key); the version order puts
-- the newest batch first, so every other key keeps its current version.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['exchange', 'symbol', 'bar_interval', 'bar_start'],
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with ledger as (
    {%- if is_incremental() %}
    -- the keys to re-decide (a join with their distinct list: a row-valued IN is DuckDB's)
    select l.*
    from {{ ref('klines') }} as l
    join (
        select distinct k.exchange, k.symbol, k.bar_interval, k.bar_start
        from {{ ref('klines') }} as k
        left join (
            select exchange, symbol, bar_interval, max(bar_start) as last_bar_start
            from {{ this }} group by exchange, symbol, bar_interval
        ) as s on s.exchange = k.exchange and s.symbol = k.symbol and s.bar_interval = k.bar_interval
        where k.loaded_at > (select coalesce(max(loaded_at), {{ timestamp_before_all() }}) from {{ this }})
           or s.last_bar_start is null or k.bar_start > s.last_bar_start
    ) as redo
        on redo.exchange = l.exchange and redo.symbol = l.symbol and redo.bar_interval = l.bar_interval
        and redo.bar_start = l.bar_start
    {%- else %}
    select * from {{ ref('klines') }}
    {%- endif %}
),

current_version as (
    {{ current_version('ledger', ['exchange', 'symbol', 'bar_interval', 'bar_start'], 'bar_start') }}
)

select
    exchange,
    symbol,
    bar_interval,
    bar_start,
    open,
    high,
    low,
    close,
    volume,
    close * volume as quote_volume,
    layout,
    source_file,
    loaded_at
from current_version
{%- endcall %}
