-- one row per inbox path and version seen: lets a rerun skip unchanged files without opening them
create table if not exists raw_file_sighting (
    file_name varchar not null,
    file_size bigint not null,
    mtime_ns bigint not null,
    file_sha256 varchar not null,
    seen_at timestamp not null,
    primary key (file_name, file_size, mtime_ns)
);
