-- one row per figure of every submission (superseded and rejected ones included), as read
create or replace table fact_indicator_history as
with figures as (
    select * from stg_figure
),

submissions as (
    select * from submission
)

select
    submissions.unit_code,
    figures.indicator_code,
    figures.period,
    case when figures.is_rejected then null else figures.value end as value,
    case when figures.is_rejected then 'rejected' else figures.value_status end as value_status,
    figures.raw_value,
    figures.is_in_scope,
    figures.is_rejected,
    submissions.status as submission_status,
    submissions.is_current,
    figures.file_sha256,
    submissions.file_name,
    submissions.received_at,
    submissions.reported_on,
    figures.sheet,
    figures.cell
from figures
inner join submissions using (file_sha256)
where submissions.unit_code is not null;
