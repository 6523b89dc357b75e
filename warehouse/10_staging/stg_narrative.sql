-- one row per narrative answer in sheet 06_DANHGIA
create table if not exists stg_narrative (
    file_sha256 varchar not null,
    question_code varchar not null,
    answer varchar,
    cell varchar
);
