-- one row per unit with a current report and narrative question: its answer (NULL if none)
create or replace table fact_narrative as
with current_submissions as (
    select file_sha256, unit_code from submission where is_current
),

answers as (
    select * from stg_narrative
),

questions as (
    select * from dim_question
)

select
    current_submissions.unit_code,
    questions.question_code,
    questions.question_vi,
    answers.answer,
    current_submissions.file_sha256,
    answers.cell
from current_submissions
cross join questions
left join answers
    on answers.file_sha256 = current_submissions.file_sha256
    and answers.question_code = questions.question_code
order by current_submissions.unit_code, questions.sort_order;
