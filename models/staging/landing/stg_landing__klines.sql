-- Current version of every landed candle, cut at var as_of; quote_volume = close x volume.
-- Versions of a key, newest first (docs/landing.md; market_regimes.landing.ledger.VERSION_ORDER):
-- the latest landing batch (loaded_at), within it a correction (layout corrections/...)
-- before any other row, then the later file and line. So a later landing supersedes a
-- provisional bar and a correction supersedes even a final one.
-- A table, not a view: the rollups, fct_symbol_bars and four tests read it, and a view
-- would redo the version window over the whole ledger each time.
-- Incremental: a run re-decides only the keys with ledger rows newer than the newest batch
-- it has staged (delete+insert on the key); the version order puts the newest batch first,
-- so every other key keeps its current version.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['exchange', 'symbol', 'bar_interval', 'bar_start']) }}
with ledger as (
    select * from {{ ref('klines') }}
    {%- if is_incremental() %}
    where (exchange, symbol, bar_interval, bar_start) in (
        select (exchange, symbol, bar_interval, bar_start) from {{ ref('klines') }}
        where loaded_at > (select coalesce(max(loaded_at), timestamp '-infinity') from {{ this }})
    )
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
