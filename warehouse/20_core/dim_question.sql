-- one row per narrative question of sheet 06_DANHGIA
create or replace table dim_question as
select question_code, question_vi, question_en, sort_order
from ref_question
order by sort_order;
