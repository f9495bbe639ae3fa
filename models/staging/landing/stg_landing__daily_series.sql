-- Current version of every daily-series bar (index, volatility or price), cut at as_of.
-- Version order as stg_landing__klines: latest batch, a correction first, later file and line.
with current_version as (
    {{ current_version(ref('daily_series'), ['series', 'bar_start'], 'bar_start') }}
)

select series, bar_start, open, high, low, close, volume, source_file
from current_version
