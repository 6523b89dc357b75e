-- wrong rows: an accepted report whose staged figures did not all reach fact_indicator
with staged as (
    select s.file_sha256, count(*) as staged_figures
    from stg_figure f
    inner join submission s using (file_sha256)
    where s.status = 'accepted' and f.period <> 0 and f.is_in_scope and not f.is_rejected
        and f.value_status in ('reported', 'not_applicable', 'blank')
    group by s.file_sha256
),

loaded as (
    select file_sha256, count(*) filter (where value_status in ('reported', 'not_applicable', 'blank')) as loaded
    from fact_indicator
    group by file_sha256
)

select staged.file_sha256, staged.staged_figures, coalesce(loaded.loaded, 0) as loaded
from staged
left join loaded using (file_sha256)
where coalesce(loaded.loaded, 0) <> staged.staged_figures
