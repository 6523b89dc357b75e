"""Check a file before any workbook library opens it (rule R16).

A unit's file may be a renamed PDF, an encrypted workbook or a zip bomb. Everything here
looks only at the file's size, magic bytes and zip directory: nothing is inflated.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tongket.settings import LimitsConfig

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}


@dataclass(frozen=True)
class GuardResult:
    """`file_format` when the file may be opened, else `problem` (Vietnamese, for R16)."""

    file_format: str | None
    problem: str | None = None


def _reject(problem: str) -> GuardResult:
    return GuardResult(None, problem)


def _ole_format(head: bytes, path: Path) -> GuardResult:
    """An OLE2 container is either a legacy .xls or an encrypted Office Open XML file."""
    with path.open("rb") as handle:
        data = handle.read(1 << 20)
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return _reject("tệp được đặt mật khẩu (mã hóa), không mở được; đề nghị gửi lại tệp không đặt mật khẩu")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return GuardResult("xls")
    return _reject("tệp Office cũ nhưng không phải bảng tính Excel")


def _zip_format(path: Path, limits: LimitsConfig) -> GuardResult:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return _reject("tệp nén bị hỏng hoặc không phải bảng tính")
    if len(entries) > limits.max_zip_entries:
        return _reject(f"tệp có {len(entries)} thành phần, vượt giới hạn {limits.max_zip_entries}")
    total = 0
    for entry in entries:
        name = entry.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            return _reject(f"tệp chứa đường dẫn không hợp lệ '{name[:80]}'")
        if entry.flag_bits & 0x1:
            return _reject("tệp nén có thành phần được mã hóa")
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1_000_000 and ratio > limits.max_compression_ratio:
            return _reject(f"tệp có tỷ lệ nén bất thường ({ratio:.0f} lần), có thể là tệp độc hại")
    if total > limits.max_uncompressed_mb * 1_000_000:
        return _reject(f"tệp giải nén ra {total / 1e6:.0f} MB, vượt giới hạn {limits.max_uncompressed_mb:g} MB")
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" in names:
        return GuardResult("xlsm" if "xl/vbaProject.bin" in names else "xlsx")
    if "xl/workbook.bin" in names:
        return GuardResult("xlsb")
    if "content.xml" in names and "mimetype" in names:
        with zipfile.ZipFile(path) as archive:
            mimetype = archive.read("mimetype")[:100]
        if b"spreadsheet" in mimetype:
            return GuardResult("ods")
        return _reject("tệp OpenDocument nhưng không phải bảng tính")
    if "word/document.xml" in names:
        return _reject("tệp Word (.docx), không phải bảng tính Excel")
    return _reject("tệp nén nhưng không phải bảng tính Excel")


def guard_file(path: Path, limits: LimitsConfig) -> GuardResult:
    """Decide, without opening it as a workbook, whether a file may be read."""
    try:
        info = path.lstat()
    except OSError:
        return _reject("không đọc được tệp")
    if stat.S_ISLNK(info.st_mode):
        return _reject("tệp là liên kết (symlink), không phải tệp thật")
    if not stat.S_ISREG(info.st_mode):
        return _reject("không phải tệp thông thường")
    if info.st_size == 0:
        return _reject("tệp rỗng (0 byte)")
    if info.st_size > limits.max_file_mb * 1_000_000:
        return _reject(f"tệp lớn {info.st_size / 1e6:.1f} MB, vượt giới hạn {limits.max_file_mb:g} MB")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return _reject("không đọc được tệp")
    if head.startswith(_ZIP_MAGIC):
        return _zip_format(path, limits)
    if head.startswith(_OLE_MAGIC):
        return _ole_format(head, path)
    if head.startswith(b"%PDF"):
        return _reject("tệp PDF, không phải bảng tính Excel; đề nghị gửi tệp Excel theo mẫu")
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _reject("tệp có đuôi bảng tính nhưng nội dung không phải bảng tính")
    return _reject("không phải tệp bảng tính Excel")
