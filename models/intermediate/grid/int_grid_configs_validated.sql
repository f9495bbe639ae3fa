-- Seed grid_configs, checked: bad rows stop the build with one message that names every bad
-- row and its reason (DuckDB error(), Spark raise_error()), before any recommendation is
-- computed from them: a user fixes the seed in one pass, not one row per build. Adds
-- valid_to (the next version's valid_from, NULL for the current one) and the symbol's
-- known series (an (exchange, symbol) with final bars at a grid interval).
-- A row whose (exchange, symbol) has no such series is an error too, unless env
-- MARKET_REGIMES_GRID_UNKNOWN_SYMBOL=warn: then the row is left out and the dbt test
-- warn_grid_configs_unknown_symbols reports it (for landing directories that lack the
-- shipped examples' symbols, e.g. the test fixtures).
{%- set intervals = var('grid_bar_intervals') %}
{%- set unknown_mode = env_var('MARKET_REGIMES_GRID_UNKNOWN_SYMBOL', 'error') %}
{%- if unknown_mode not in ('error', 'warn') %}
    {{ exceptions.raise_compiler_error("env MARKET_REGIMES_GRID_UNKNOWN_SYMBOL must be error or warn, not " ~ unknown_mode) }}
{%- endif %}
with configs as (
    select * from {{ ref('grid_configs') }}
),

known as (
    select distinct exchange, symbol
    from {{ ref('int_indicator_series_listed') }}
    where series_type = 'symbol' and bar_interval in ({% for i in intervals %}'{{ i }}'{{ ", " if not loop.last }}{% endfor %})
),

checked as (
    select
        c.*,
        case
            when c.grid_id is null or c.symbol is null or c.exchange is null or c.valid_from is null
                then 'grid_id, symbol, exchange and valid_from are required'
            when c.lower is null or c.upper is null or not (c.lower < c.upper)
                then 'lower (' || coalesce(cast(c.lower as {{ dbt.type_string() }}), 'empty') || ') must be below upper ('
                     || coalesce(cast(c.upper as {{ dbt.type_string() }}), 'empty') || ')'
            when c.lower <= 0 then 'lower (' || c.lower || ') must be a positive price'
            when c.levels is null or c.levels < 2 then 'levels (' || coalesce(cast(c.levels as {{ dbt.type_string() }}), 'empty') || ') must be at least 2'
            when c.allocation_frac is null or not (c.allocation_frac > 0 and c.allocation_frac <= 1)
                then 'allocation_frac (' || coalesce(cast(c.allocation_frac as {{ dbt.type_string() }}), 'empty') || ') must be in (0, 1]'
            when c.enabled is null then 'enabled must be true or false'
            when count(*) over (partition by c.symbol, c.valid_from) > 1
                then 'duplicate (symbol, valid_from): another row of ' || c.symbol || ' starts at the same time'
            when k.symbol is null and '{{ unknown_mode }}' = 'error' then 'unknown symbol: no ' || c.exchange || ' ' || c.symbol || ' series at '
                                      || '{{ intervals.keys() | join(" or ") }}'
        end as problem,
        k.symbol is not null as is_known
    from configs as c
    left join known as k using (exchange, symbol)
),

problems as (
    select
        count(*) as n_bad,
        {{ ordered_string_agg(
            "'row grid_id=' || coalesce(grid_id, '?') || ', symbol=' || coalesce(symbol, '?') || ', valid_from='
             || coalesce(cast(valid_from as " ~ dbt.type_string() ~ "), '?') || ': ' || problem",
            '; ', 'grid_id, symbol, valid_from') }} as message
    from checked
    where problem is not null
)

select
    c.grid_id, c.symbol, c.exchange, c.lower, c.upper, c.levels, c.allocation_frac, c.enabled, c.valid_from,
    lead(c.valid_from) over (partition by c.grid_id order by c.valid_from) as valid_to
from checked as c
cross join problems as p
where {% if unknown_mode == 'warn' %}(c.is_known or c.problem is not null) and {% endif %}case when p.n_bad = 0 then true
           else {{ error_function() }}('seeds/grid_configs.csv: ' || cast(p.n_bad as {{ dbt.type_string() }})
                      || ' bad row(s): ' || p.message)
      end
