-- one row per award nomination listed in sheet 05_DEXUAT_KT
create table if not exists stg_nomination (
    file_sha256 varchar not null,
    row_number integer not null,
    cell varchar,
    kind varchar,                     -- Tập thể | Cá nhân
    full_name varchar,
    gender varchar,                   -- Nam | Nữ
    position varchar,
    sessions double,
    materials double,
    cases_settled double,
    years double,
    prior_awards varchar,
    is_disciplined boolean,
    summary varchar,
    is_rejected boolean not null
);
