-- one row per validation rule (reference/rules.csv)
create table if not exists ref_rule (
    id varchar primary key,
    severity varchar,
    applies_to varchar,
    rule varchar,
    message_vi varchar
);
