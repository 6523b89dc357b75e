-- one row per narrative question of sheet 06_DANHGIA (reference/narrative_questions.csv)
create table if not exists ref_question (
    question_code varchar primary key,
    question_vi varchar,
    question_en varchar,
    sort_order integer
);
