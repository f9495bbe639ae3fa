-- Current version of every landed candle, cut at var as_of; quote_volume = close x volume.
-- Versions of a key, newest first (docs/landing.md; market_regimes.landing.ledger.VERSION_ORDER):
-- the latest landing batch (loaded_at), within it a correction (layout corrections/...)
-- before any other row, then the later file and line. So a later landing supersedes a
-- provisional bar and a correction supersedes even a final one.
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
    source_file,
    loaded_at
from current_version
