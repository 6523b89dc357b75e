-- one row per figure cell read from an indicator sheet, with its provenance
create table if not exists stg_figure (
    file_sha256 varchar not null,
    sheet varchar not null,
    indicator_code varchar not null,
    period integer not null,          -- 2017..2021; 0 = the unit's own total (column Tổng)
    cell varchar not null,            -- e.g. F12
    raw_value varchar,                -- the cell as typed ('1.300', '12 cuộc', '=SUM(E6:I6)')
    value double,                     -- our reading of it
    value_status varchar not null,    -- reported | blank | not_applicable | unreadable
    is_in_scope boolean not null,     -- false: the unit's type does not report it (R12)
    is_rejected boolean not null,     -- an error concerns this figure
    primary key (file_sha256, sheet, cell)
);
