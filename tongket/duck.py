"""Small DuckDB helpers used across the project.

DuckDB 2.0 keeps a result open until it is fetched to the end: a `fetchone()` leaves the
connection busy ("unfinished result") for the next `register`. `scalar` fetches everything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row of a query (None when it returns no row)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def table_names(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> set[str]:
    """Tables (and views) of the main schema of a catalog (the default database when None)."""
    if catalog is None:
        rows = con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()
    else:
        rows = con.execute(
            "select table_name from information_schema.tables where table_catalog = ?", [catalog]
        ).fetchall()
    return {r[0] for r in rows}


def connect_reading(path: str | Path, memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    """A read-only connection to a warehouse file, within `memory_limit` ("" = DuckDB's default).
    The outputs of a run open theirs at once in one process, so they pass the same limit: DuckDB
    refuses a second connection to a file with another configuration."""
    return duckdb.connect(str(path), read_only=True, config={"memory_limit": memory_limit} if memory_limit else {})


def connect_building(
    path: str, memory_limit: str = "", config: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to a warehouse being built, within the configured memory."""
    options = dict(config or {})
    if memory_limit:
        options["memory_limit"] = memory_limit
    return duckdb.connect(path, config=options)


def identifier(name: str) -> str:
    """A table or column name of the warehouse, quoted, for a SQL string; raises ValueError for
    anything but a lower-case identifier (names come from the project, never from a unit)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a warehouse identifier: {name!r}")
    return f'"{name}"'


def sql_literal(text: str) -> str:
    """A text as a SQL string literal (for the few places DuckDB takes no parameter, such as
    the file of COPY ... TO)."""
    return "'" + text.replace("'", "''") + "'"
