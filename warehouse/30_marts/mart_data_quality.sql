-- one row per unit (or unidentified file) and rule: how many problems its current files have
create or replace table mart_data_quality as
with issues as (
    select * from validation_issue where is_current or unit_code is null
),

units as (
    select * from dim_unit
),

rules as (
    select * from dim_rule
)

select
    issues.unit_code,
    coalesce(units.unit_name, any_value(issues.file_name)) as unit_name,
    units.unit_type,
    issues.rule_id,
    rules.severity,
    rules.message_vi,
    count(*) as issue_count,
    min(issues.sheet || '!' || issues.cell) as first_location
from issues
left join units using (unit_code)
inner join rules using (rule_id)
group by issues.unit_code, units.unit_name, units.unit_type, issues.rule_id, rules.severity, rules.message_vi
order by issues.unit_code nulls last, issues.rule_id;
