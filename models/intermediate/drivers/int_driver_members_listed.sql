-- Which (symbol, exchange) bars feed each single or composite driver, with the exchange
-- priority (1 = preferred). Composite members: seed composite_members (ALT) plus the
-- bucket members of seed token_buckets for bucket drivers (majors are not a bucket).
with drivers as (
    select * from {{ ref('drivers') }} where kind in ('single', 'composite')
),

members as (
    select driver, symbol from {{ ref('composite_members') }}
    union all
    select bucket as driver, symbol from {{ ref('token_buckets') }} where bucket != 'major'
),

listed as (
    select
        d.driver,
        d.kind,
        case when d.kind = 'single' then d.symbol else m.symbol end as symbol,
        {{ split_on('d.exchange_priority', '|') }} as exchanges
    from drivers as d
    left join members as m on m.driver = d.driver and d.kind = 'composite'
)

select
    driver,
    kind,
    symbol,
    {{ unnest_with_position('exchanges', 'exchange', 'priority') }}
from listed
where symbol is not null
