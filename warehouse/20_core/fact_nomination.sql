-- one row per award nomination in a unit's current report (rows with errors left out)
create or replace table fact_nomination as
with nominations as (
    select * from stg_nomination where not is_rejected
),

current_submissions as (
    select file_sha256, unit_code from submission where is_current
)

select
    current_submissions.unit_code,
    nominations.kind,
    nominations.full_name,
    nominations.gender,
    nominations.position,
    nominations.sessions,
    nominations.materials,
    nominations.cases_settled,
    nominations.years,
    nominations.prior_awards,
    nominations.is_disciplined,
    nominations.summary,
    nominations.file_sha256,
    nominations.row_number,
    nominations.cell
from nominations
inner join current_submissions using (file_sha256)
order by current_submissions.unit_code, nominations.row_number;
