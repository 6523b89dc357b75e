"""List the inbox and decide which files need reading.

A file whose path, size and modification time match a sighting the warehouse recorded is
known without being opened (its hash is taken from the record): a nightly run over an
unchanged inbox opens no workbook. Everything else is archived (hashed while copied) and read.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tongket.duck import table_names

_SKIPPED_PREFIXES = (".", "~$")  # hidden files and Office lock files are not submissions
VN_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class InboxFile:
    """A file found in the inbox (not opened yet)."""

    file_name: str  # path relative to the inbox, with '/' separators
    path: str
    file_size: int
    mtime_ns: int
    is_regular: bool

    @property
    def received_at(self) -> dt.datetime:
        """When the file arrived: its modification time, in Vietnam time (naive)."""
        moment = dt.datetime.fromtimestamp(self.mtime_ns / 1e9, VN_TZ)
        return moment.replace(tzinfo=None, microsecond=0)

    @property
    def sighting_key(self) -> tuple[str, int, int]:
        return (self.file_name, self.file_size, self.mtime_ns)


class InboxUnreadableError(OSError):
    """The inbox, or a folder in it, cannot be listed (permissions, a share that went away)."""


def display_name(name: str) -> str:
    """A file name safe to show and store: control characters made visible."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)


def list_inbox(inbox: Path) -> list[InboxFile]:
    """Every candidate file under the inbox, sorted by name. Symlinks (to files or folders) are
    listed, never followed: they are rejected as not regular files, so nothing outside the
    inbox is read and the office sees that the link was there. A folder that cannot be read
    raises InboxUnreadableError: its files are never silently left out."""
    found: list[InboxFile] = []

    def unreadable(error: OSError) -> None:
        raise InboxUnreadableError(
            f"Cannot read the inbox folder {error.filename}: {error.strerror or error}"
        ) from error

    for root, dirs, files in os.walk(inbox, onerror=unreadable, followlinks=False):
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = sorted(d for d in dirs if not d.startswith(_SKIPPED_PREFIXES) and d not in links)
        for name in [*files, *links]:
            if name.startswith(_SKIPPED_PREFIXES):
                continue
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            relative = path.relative_to(inbox).as_posix()
            found.append(
                InboxFile(
                    file_name=display_name(relative),
                    path=str(path),
                    file_size=info.st_size,
                    mtime_ns=info.st_mtime_ns,
                    is_regular=stat.S_ISREG(info.st_mode),
                )
            )
    return sorted(found, key=lambda f: f.file_name)


def known_sightings(warehouse: Path) -> dict[tuple[str, int, int], str]:
    """(name, size, mtime_ns) -> SHA-256 of every inbox file the published warehouse saw."""
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if "raw_file_sighting" not in table_names(con):
            return {}
        rows = con.execute("select file_name, file_size, mtime_ns, file_sha256 from raw_file_sighting").fetchall()
    return {(name, size, mtime): sha for name, size, mtime, sha in rows}
