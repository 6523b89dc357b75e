-- one row per reporting period (reference/periods.csv)
create table if not exists ref_period (
    period integer primary key,
    label_vi varchar,
    starts_on date,
    ends_on date,
    months integer
);
