-- one row per file read: how it was read and what its 00_THONGTIN sheet says
create table if not exists stg_file (
    file_sha256 varchar primary key,
    read_status varchar not null,     -- readable | rejected (a file-level error: R15, R16)
    file_format varchar,              -- xlsx | xlsm | xls | xlsb | ods
    unit_code varchar,                -- identified against the registry (NULL: not identified)
    matched_by varchar,               -- code | name
    unit_code_typed varchar,
    unit_name_typed varchar,
    unit_type_typed varchar,
    unit_type varchar,                -- from the registry
    reported_on date,                 -- Ngày lập báo cáo
    template_version varchar,
    preparer varchar,
    phone varchar,
    email varchar,
    parser_version varchar            -- code fingerprint that read it; another one means read again
);
