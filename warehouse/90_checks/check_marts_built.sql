-- wrong rows: accepted reports exist but a mart is empty
with accepted as (
    select count(*) as n from submission where status = 'accepted'
),

mart_rows as (
    select 'mart_district_indicator' as mart, count(*) as n from mart_district_indicator
    union all select 'mart_unit_indicator', count(*) from mart_unit_indicator
    union all select 'mart_district_rate', count(*) from mart_district_rate
    union all select 'mart_submission_status', count(*) from mart_submission_status
    union all select 'mart_award_collective', count(*) from mart_award_collective
)

select mart_rows.mart
from mart_rows
cross join accepted
where accepted.n > 0 and mart_rows.n = 0 and mart_rows.mart <> 'mart_award_collective'
