-- one row per expected reporting unit, from the registry CSV of this run
create table if not exists ref_unit (
    unit_code varchar primary key,
    unit_name varchar not null,
    unit_type varchar not null,
    population integer,
    active boolean not null
);
