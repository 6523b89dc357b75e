-- one row per file received: whose it is, when it came, and whether it is the unit's current report
create or replace table submission as
with files as (
    select * from raw_file
),

read_files as (
    select * from stg_file
),

file_issues as (
    select * from stg_issue
),

config as (
    select * from ref_run_config
),

issue_counts as (
    select
        file_sha256,
        count(*) filter (where severity = 'error') as error_count,
        count(*) filter (where severity = 'warning') as warning_count
    from file_issues
    group by file_sha256
),

joined as (
    select
        files.file_sha256,
        files.file_name,
        read_files.unit_code,
        files.received_at,
        read_files.reported_on,
        coalesce(read_files.read_status, 'rejected') as read_status,
        read_files.file_format,
        read_files.matched_by,
        coalesce(issue_counts.error_count, 0) as error_count,
        coalesce(issue_counts.warning_count, 0) as warning_count
    from files
    left join read_files using (file_sha256)
    left join issue_counts using (file_sha256)
),

-- a unit's later report supersedes the earlier: by report date, then by arrival
ranked as (
    select
        *,
        read_status = 'readable' and unit_code is not null as is_loadable,
        case
            when read_status = 'readable' and unit_code is not null
                then row_number() over (
                    partition by unit_code, (read_status = 'readable')
                    order by reported_on desc nulls last, received_at desc, file_sha256
                )
        end as recency
    from joined
),

current_files as (
    select unit_code, file_sha256 as current_sha256
    from ranked
    where recency = 1
)

select
    ranked.file_sha256,
    ranked.file_name,
    ranked.unit_code,
    ranked.received_at,
    ranked.reported_on,
    case
        when not ranked.is_loadable then 'rejected'
        when ranked.recency = 1 then 'accepted'
        else 'superseded'
    end as status,
    coalesce(ranked.recency = 1, false) as is_current,
    ranked.received_at::date <= config.deadline as on_time,
    ranked.error_count > 0 as has_errors,
    ranked.error_count,
    ranked.warning_count,
    ranked.read_status,
    ranked.file_format,
    ranked.matched_by,
    case when ranked.recency > 1 then current_files.current_sha256 end as superseded_by
from ranked
cross join config
left join current_files on ranked.unit_code = current_files.unit_code
order by ranked.unit_code nulls last, ranked.received_at;
