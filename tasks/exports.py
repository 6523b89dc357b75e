"""Export the warehouse tables analysts use as Parquet, for tools that cannot open DuckDB.

One file a table (`<table>.parquet`, zstd-compressed) under `outputs/<run_id>/parquet/`:
every mart, the dimensions and facts, the submissions and the validation issues. DuckDB
writes them itself (COPY ... TO ... (FORMAT parquet)), streaming, from a read-only connection.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tongket.duck import connect_reading, identifier, sql_literal

PARQUET_DIR = "parquet"
# Tables by name pattern, plus the few named ones analysts join to.
EXPORT_PREFIXES = ("mart_", "dim_", "fact_", "award_")
EXPORT_TABLES = ("submission", "validation_issue")


def tables_to_export(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse tables written as Parquet, in name order."""
    names = [r[0] for r in con.execute("select table_name from duckdb_tables() order by table_name").fetchall()]
    return [n for n in names if n.startswith(EXPORT_PREFIXES) or n in EXPORT_TABLES]


def export_parquet(warehouse: Path, run_dir: Path, memory_limit: str = "") -> list[Path]:
    """Write each exported table to `<run_dir>/parquet/<table>.parquet`; returns the files."""
    out_dir = run_dir / PARQUET_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect_reading(warehouse, memory_limit) as con:
        for table in tables_to_export(con):
            path = out_dir / f"{table}.parquet"
            partial = out_dir / f".{table}.parquet.part"
            con.execute(
                f"copy (select * from {identifier(table)}) to {sql_literal(str(partial))} "
                "(format parquet, compression zstd)"
            )
            partial.replace(path)
            written.append(path)
    return written
