-- One row per regime driver from seed drivers.csv, with its member count.
select
    d.driver,
    d.kind,
    d.is_required,
    d.composite_method,
    d.symbol,
    d.exchange_priority,
    d.description,
    coalesce(m.n_members, 0) as n_members
from {{ ref('drivers') }} as d
left join (
    select driver, count(distinct symbol) as n_members
    from {{ ref('int_driver_members_listed') }}
    group by driver
) as m using (driver)
