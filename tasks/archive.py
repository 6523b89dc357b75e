"""Keep every file a unit sent, byte for byte, named by its SHA-256.

The archive is the source of truth: everything in the warehouse can be rebuilt from it, and
nothing is lost when the inbox is cleaned. A file is hashed while it is copied, so it is read
once; the copy, not the inbox file, is what the reader opens, so a file that changes while a
run reads it cannot be half-read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tasks.discover import InboxFile
from tasks.guard import WORKBOOK_SUFFIXES

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchivedFile:
    """An inbox file after archiving: its content hash and where the bytes are kept."""

    file_sha256: str | None  # None when the file changed while it was copied
    archive_path: str | None  # None when the inbox entry could not be archived
    problem: str | None = None  # why (Vietnamese), for R16

    @property
    def is_changing(self) -> bool:
        """The file was being written while we read it: skip it this run, read it next run."""
        return self.file_sha256 is None


def archive_path_for(archive_dir: Path, sha256: str, suffix: str) -> Path:
    suffix = suffix.lower() if suffix.lower() in WORKBOOK_SUFFIXES else ".bin"
    return archive_dir / sha256[:2] / f"{sha256}{suffix}"


def _pseudo_hash(item: InboxFile, reason: str) -> str:
    """A stable key for an inbox entry whose bytes cannot be read (it has no content hash)."""
    return hashlib.sha256(f"{reason}\0{item.file_name}\0{item.file_size}\0{item.mtime_ns}".encode()).hexdigest()


def archive_file(item: InboxFile, archive_dir: Path, max_bytes: int) -> ArchivedFile:
    """Copy an inbox file into the archive under its SHA-256; idempotent."""
    if not item.is_regular:
        return ArchivedFile(
            _pseudo_hash(item, "not-a-file"), None, "không phải tệp thông thường (liên kết hoặc thư mục)"
        )
    if item.file_size > max_bytes:
        return ArchivedFile(
            _pseudo_hash(item, "too-large"),
            None,
            f"tệp lớn {item.file_size / 1e6:.1f} MB, vượt giới hạn {max_bytes / 1e6:g} MB",
        )
    archive_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(item.path, flags)
    except OSError:
        return ArchivedFile(_pseudo_hash(item, "unreadable"), None, "không đọc được tệp trong thư mục nhận")
    with os.fdopen(fd, "rb") as source, tempfile.NamedTemporaryFile(dir=archive_dir, delete=False) as target:
        try:
            copied = 0
            while chunk := source.read(_CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise OSError("grew beyond the size limit while being read")
                digest.update(chunk)
                target.write(chunk)
            after = os.fstat(source.fileno())
        except OSError:
            os.unlink(target.name)
            return ArchivedFile(
                _pseudo_hash(item, "unreadable"), None, "không đọc được trọn vẹn tệp trong thư mục nhận"
            )
    if (after.st_size, after.st_mtime_ns) != (item.file_size, item.mtime_ns) or copied != item.file_size:
        os.unlink(target.name)
        return ArchivedFile(None, None, "tệp đang được ghi khi đọc")
    sha = digest.hexdigest()
    final = archive_path_for(archive_dir, sha, Path(item.file_name).suffix)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        os.unlink(target.name)
    else:
        os.chmod(target.name, 0o444)
        os.replace(target.name, final)
    return ArchivedFile(sha, str(final))
