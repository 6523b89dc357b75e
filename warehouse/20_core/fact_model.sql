-- one row per good model listed by a unit in its current report (rows with errors left out)
create or replace table fact_model as
with models as (
    select * from stg_model where not is_rejected
),

current_submissions as (
    select file_sha256, unit_code from submission where is_current
)

select
    current_submissions.unit_code,
    models.model_name,
    models.field,
    models.target_group,
    models.start_year,
    models.result,
    coalesce(models.is_replicated, false) as is_replicated,
    models.file_sha256,
    models.row_number,
    models.cell
from models
inner join current_submissions using (file_sha256)
order by current_submissions.unit_code, models.row_number;
