-- Current version of every landed candle (a later landing supersedes a provisional bar),
-- cut at var as_of; quote_volume = close x volume.
-- A table, not a view: the rollups, fct_symbol_bars and four tests read it, and a view
-- would redo the version window over the whole ledger each time.
{{ config(materialized='table') }}
with current_version as (
    {{ current_version(ref('klines'), ['exchange', 'symbol', 'bar_interval', 'bar_start'], 'bar_start') }}
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
    source_file
from current_version
