-- one row per distinct file content ever received (raw archive index); never deleted
create table if not exists raw_file (
    file_sha256 varchar primary key,  -- SHA-256 of the bytes as received
    file_name varchar not null,       -- name (path under the inbox) it first arrived under
    file_size bigint,
    received_at timestamp not null,   -- first arrival: the file's modification time, Vietnam time
    first_seen_at timestamp not null, -- when a run first found it, Vietnam time
    archive_path varchar              -- where the bytes are kept (NULL: could not be archived)
);
