-- one row per good model listed in sheet 04_MOHINH
create table if not exists stg_model (
    file_sha256 varchar not null,
    row_number integer not null,
    cell varchar,
    model_name varchar,
    field varchar,
    target_group varchar,
    start_year integer,
    result varchar,
    is_replicated boolean,
    is_rejected boolean not null
);
