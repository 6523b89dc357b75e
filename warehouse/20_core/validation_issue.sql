-- one row per problem of every file received: those found reading the file, plus the ones that
-- need other files or settings (R13 outliers, R18 late, R20 superseding)
create or replace table validation_issue as
with file_issues as (
    select * from stg_issue
),

submissions as (
    select * from submission
),

rules as (
    select * from dim_rule
),

indicators as (
    select * from dim_indicator
),

periods as (
    select * from dim_period
),

config as (
    select * from ref_run_config
),

outliers as (
    select * from fact_outlier
),

read_issues as (
    select
        file_issues.file_sha256,
        submissions.file_name,
        submissions.unit_code,
        file_issues.sheet,
        file_issues.cell,
        file_issues.rule_id,
        file_issues.severity,
        file_issues.message,
        file_issues.indicator_code,
        file_issues.period
    from file_issues
    inner join submissions using (file_sha256)
),

outlier_issues as (
    select
        outliers.file_sha256,
        submissions.file_name,
        outliers.unit_code,
        outliers.sheet,
        outliers.cell,
        'R13' as rule_id,
        rules.severity,
        rules.message_vi || ': ' || outliers.indicator_code || ' (' || indicators.label_vi || '), '
            || periods.label_vi || ': ' || vi_number(outliers.value)
            || case when outliers.value <> outliers.full_year_value
                then ' (quy đổi cả năm ' || vi_number(round(outliers.full_year_value)) || ')' else '' end
            || ' ' || outliers.reason_vi as message,
        outliers.indicator_code,
        outliers.period
    from outliers
    inner join submissions using (file_sha256)
    inner join indicators using (indicator_code)
    inner join periods using (period)
    cross join rules
    where rules.rule_id = 'R13'
),

late_issues as (
    select
        submissions.file_sha256,
        submissions.file_name,
        submissions.unit_code,
        null as sheet,
        null as cell,
        'R18' as rule_id,
        rules.severity,
        rules.message_vi || ': nhận ngày ' || strftime(submissions.received_at, '%d/%m/%Y')
            || ', hạn ' || strftime(config.deadline, '%d/%m/%Y') as message,
        null as indicator_code,
        null as period
    from submissions
    cross join config
    cross join rules
    where rules.rule_id = 'R18' and submissions.status <> 'rejected' and not submissions.on_time
),

earlier_files as (
    select
        superseded_by as file_sha256,
        string_agg(file_name, ', ' order by received_at) as earlier_names
    from submissions
    where superseded_by is not null
    group by superseded_by
),

superseding_issues as (
    select
        submissions.file_sha256,
        submissions.file_name,
        submissions.unit_code,
        null as sheet,
        null as cell,
        'R20' as rule_id,
        rules.severity,
        rules.message_vi || ': thay thế tệp ' || earlier_files.earlier_names as message,
        null as indicator_code,
        null as period
    from earlier_files
    inner join submissions using (file_sha256)
    cross join rules
    where rules.rule_id = 'R20'
),

all_issues as (
    select * from read_issues
    union all by name
    select * from outlier_issues
    union all by name
    select * from late_issues
    union all by name
    select * from superseding_issues
)

select
    all_issues.file_sha256,
    all_issues.file_name,
    all_issues.unit_code,
    all_issues.sheet,
    all_issues.cell,
    all_issues.rule_id,
    all_issues.severity,
    all_issues.message,
    all_issues.indicator_code,
    all_issues.period::integer as period,
    submissions.is_current
from all_issues
inner join submissions using (file_sha256)
order by all_issues.unit_code nulls last, all_issues.file_sha256, all_issues.rule_id, all_issues.sheet, all_issues.cell;
