-- one row: the settings this warehouse was built with (config/tongket.toml and run options)
create table if not exists ref_run_config (
    run_id varchar,
    built_at timestamp,
    district_code integer,
    district_name varchar,
    province_name varchar,
    deadline date,
    outlier_median_factor double,
    outlier_jump_factor double,
    outlier_jump_min_base double
);
