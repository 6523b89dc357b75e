-- one row per problem found while reading one file (rules that need other files come later)
create table if not exists stg_issue (
    file_sha256 varchar not null,
    file_name varchar,
    rule_id varchar not null,
    severity varchar not null,
    message varchar not null,
    sheet varchar,
    cell varchar,
    indicator_code varchar,
    period integer
);
