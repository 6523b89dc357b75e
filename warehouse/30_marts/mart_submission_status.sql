-- one row per active unit of the registry: did it report, on time, how completely
-- (completeness = share of the figures, indicator x year, its type must report that it reported)
create or replace table mart_submission_status as
with units as (
    select * from dim_unit where is_active
),

submissions as (
    select * from submission
),

figures as (
    select * from fact_indicator
),

current_submissions as (
    select * from submissions where is_current
),

files_per_unit as (
    select
        unit_code,
        count(*) as files_received,
        count(*) filter (where status = 'rejected') as files_rejected,
        arg_max(file_name, received_at) filter (where status = 'rejected') as last_rejected_file,
        max(received_at) filter (where status = 'rejected') as last_rejected_at
    from submissions
    where unit_code is not null
    group by unit_code
),

-- the 2021 legal access assessment happens after the window closes: not required
required_cells as (
    select
        unit_code,
        count(*) filter (where not (indicator_code in ('CT_DAT', 'CT_DIEM') and period = 2021)) as required,
        count(*) filter (
            where not (indicator_code in ('CT_DAT', 'CT_DIEM') and period = 2021)
            and value_status in ('reported', 'not_applicable')
        ) as answered
    from figures
    group by unit_code
)

select
    units.unit_code,
    units.unit_name,
    units.unit_type,
    case
        when current_submissions.file_sha256 is not null then 'accepted'
        when files_per_unit.files_rejected > 0 then 'rejected'
        else 'missing'
    end as status,
    coalesce(current_submissions.file_name, files_per_unit.last_rejected_file) as file_name,
    current_submissions.reported_on,
    coalesce(current_submissions.received_at, files_per_unit.last_rejected_at) as received_at,
    current_submissions.on_time,
    round(required_cells.answered / nullif(required_cells.required, 0), 4) as completeness,
    coalesce(current_submissions.has_errors, false) as has_errors,
    coalesce(current_submissions.error_count, 0) as error_count,
    coalesce(current_submissions.warning_count, 0) as warning_count,
    coalesce(files_per_unit.files_received, 0) as files_received,
    current_submissions.file_sha256
from units
left join current_submissions using (unit_code)
left join files_per_unit using (unit_code)
left join required_cells using (unit_code)
order by units.unit_type desc, units.unit_code;
