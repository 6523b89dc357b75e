"""Fingerprints of the code: a file is read again when the reading code changes, and the
warehouse is rebuilt when the building code changes (an unchanged run is skipped otherwise)."""

from __future__ import annotations

import hashlib
from functools import cache

from tongket.settings import PROJECT_ROOT

# Everything whose change can change what is staged from a workbook.
READING_CODE = (
    "tasks/guard.py",
    "tasks/read.py",
    "tasks/parse.py",
    "tasks/extract.py",
    "tasks/identify.py",
    "tasks/ingest.py",
    "tasks/validate.py",
    "schemas",
    "tongket/text.py",
    "tongket/reference.py",
    "reference",
    "warehouse/10_staging",
)


# Everything whose change can change what is built from the staged rows.
BUILDING_CODE = (
    "tasks/load.py",
    "tasks/marts.py",
    "tasks/awards.py",
    "tongket/rubric.py",
    "tongket/reference.py",
    "reference",
    "warehouse",
)


def _fingerprint(entries: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        path = PROJECT_ROOT / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in (".py", ".csv", ".sql"):
                digest.update(file.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@cache
def code_fingerprint() -> str:
    """SHA-256 (shortened) over the reading code and reference data, in a stable order."""
    return _fingerprint(READING_CODE)


@cache
def building_fingerprint() -> str:
    """SHA-256 (shortened) over the code and SQL that build the warehouse from staged rows."""
    return _fingerprint(BUILDING_CODE)
