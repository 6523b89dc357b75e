-- one row per indicator of the catalogue (reference/indicators.csv)
create table if not exists ref_indicator (
    code varchar primary key,
    sheet varchar,
    label_vi varchar,
    label_en varchar,
    unit_vi varchar,
    kind varchar,
    value_type varchar,
    reported_by varchar,
    typical_min double,
    typical_max double,
    note varchar,
    sort_order integer
);
