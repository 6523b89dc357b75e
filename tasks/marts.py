"""Run the warehouse's SQL files: DDL of the loaded layers, then core and marts, then checks.

Each file creates the table (or macro) its name says. Folders run in order (00_raw,
05_reference, 10_staging, 20_core, 30_marts); inside a folder a file runs after the files
whose tables it reads, so adding a model needs no renumbering.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import duckdb

from tongket.duck import scalar
from tongket.settings import WAREHOUSE_SQL_DIR

DDL_LAYERS = ("00_raw", "05_reference", "10_staging")
MODEL_LAYERS = ("20_core", "30_marts")
CHECK_LAYER = "90_checks"


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def ordered_sql_files(layer: str, root: Path = WAREHOUSE_SQL_DIR) -> list[Path]:
    """The layer's files, each after the files whose tables it reads (then by name)."""
    files = sorted((root / layer).glob("*.sql"))
    names = {f.stem: f for f in files}
    deps = {
        f.stem: {
            other
            for other in names
            if other != f.stem and re.search(rf"\b{re.escape(other)}\b", _strip_comments(f.read_text()))
        }
        for f in files
    }
    ordered: list[Path] = []
    done: set[str] = set()
    while len(done) < len(files):
        ready = [n for n in sorted(names) if n not in done and deps[n] <= done]
        if not ready:
            raise RuntimeError(f"circular references among {sorted(set(names) - done)} in {layer}")
        ordered.append(names[ready[0]])
        done.add(ready[0])
    return ordered


@cache
def ddl_fingerprint() -> str:
    """Changes whenever a loaded table's definition changes (staged rows must then be re-read)."""
    digest = hashlib.sha256()
    for layer in DDL_LAYERS:
        for path in ordered_sql_files(layer):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run_layers(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...]) -> list[str]:
    """Execute every SQL file of the layers in order; returns the tables created."""
    created = []
    for layer in layers:
        for path in ordered_sql_files(layer):
            try:
                con.execute(path.read_text(encoding="utf-8"))
            except duckdb.Error as exc:
                raise type(exc)(f"{path.relative_to(path.parents[1])}: {exc}") from exc
            created.append(path.stem)
    return created


def run_checks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each check returns the rows that are wrong; the result maps failing checks to counts."""
    failing = {}
    for path in ordered_sql_files(CHECK_LAYER):
        sql = path.read_text(encoding="utf-8").strip().rstrip(";")
        count = scalar(con, f"select count(*) from ({sql})")
        if count:
            failing[path.stem] = count
    return failing
