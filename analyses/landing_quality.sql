-- Landing health: files per layout, rows read/landed/rejected/collapsed, top reject reasons.
select l.layout, count(*) as files, sum(rows_read) as rows_read, sum(rows_landed) as rows_landed,
       sum(rows_rejected) as rows_rejected, sum(duplicates_collapsed) as duplicates_collapsed
from {{ ref('landing_files') }} as l
group by all
order by layout
