"""Check a file before any workbook library opens it (rule R16).

A unit's file may be a renamed PDF, an encrypted workbook or a zip bomb. Everything here looks
only at the file's size, magic bytes, OLE directory and zip directory, and then inflates each
zip member at most up to the size its directory declares: a member that inflates to more than
it declares (a bomb with lying sizes) is caught after one chunk past its declared size, and the
declared sizes are capped before anything is inflated. Nothing is inflated past the caps.
While inflating, the XML parts are searched for an entity declaration (`<!ENTITY`): Office and
OpenDocument files never declare one, and entities are how an XML "billion laughs" bomb expands
a few kilobytes into gigabytes (or an external entity reads a file of the machine).
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tongket.settings import LimitsConfig

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
_CHUNK = 1 << 16
_MACRO_WORKBOOK_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_ENCRYPTED_OOXML_STREAMS = {"EncryptedPackage", "EncryptionInfo"}
_XLS_STREAMS = {"Workbook", "Book"}
# An entity declaration, in the encodings an XML part may use.
_DECLARATIONS = tuple("<!ENTITY".encode(encoding) for encoding in ("ascii", "utf-16-le", "utf-16-be"))
_DECLARATION_TAIL = max(len(m) for m in _DECLARATIONS) - 1
_MARKUP_SUFFIXES = (".xml", ".rels", ".vml")
_OTHER_OFFICE_STREAMS = {"WordDocument": "tệp Word (.doc)", "PowerPoint Document": "tệp PowerPoint (.ppt)"}


@dataclass(frozen=True)
class GuardResult:
    """`file_format` when the file may be opened, else `problem` (Vietnamese, for R16).

    `inflated_bytes` is how much the guard decompressed to check a zip: never more than the
    declared sizes allow, plus one chunk per member.
    """

    file_format: str | None
    problem: str | None = None
    inflated_bytes: int = 0


def _reject(problem: str, inflated: int = 0) -> GuardResult:
    return GuardResult(None, problem, inflated)


# --- OLE2 containers: legacy .xls, or an encrypted Office Open XML file --------------------
class _NotOle(Exception):
    pass


def ole_stream_names(path: Path, max_sectors: int = 1 << 16) -> set[str]:
    """The names in an OLE2 compound file's directory, read from its header, FAT and directory
    chain (a few kilobytes), whatever the file's size. Raises _NotOle if it is malformed."""
    with path.open("rb") as handle:
        header = handle.read(512)
        if len(header) < 512 or not header.startswith(_OLE_MAGIC):
            raise _NotOle
        size = path.stat().st_size
        shift = struct.unpack_from("<H", header, 0x1E)[0]
        if shift not in (9, 12):
            raise _NotOle
        sector_size = 1 << shift
        fat_count, first_dir = struct.unpack_from("<II", header, 0x2C)
        first_difat, difat_count = struct.unpack_from("<II", header, 0x44)

        def sector(sid: int) -> bytes:
            offset = (sid + 1) * sector_size
            if sid >= 0xFFFFFFFA or offset >= size:
                raise _NotOle
            handle.seek(offset)
            return handle.read(sector_size)

        fat_sids = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < 0xFFFFFFFA]
        sid, seen = first_difat, 0
        while sid < 0xFFFFFFFA and seen < difat_count and seen < max_sectors:
            data = sector(sid)
            entries = struct.unpack(f"<{sector_size // 4}I", data)
            fat_sids += [s for s in entries[:-1] if s < 0xFFFFFFFA]
            sid, seen = entries[-1], seen + 1
        if len(fat_sids) < fat_count or fat_count > max_sectors:
            raise _NotOle
        fat: list[int] = []
        for fat_sid in fat_sids[:fat_count]:
            fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(fat_sid)))
        names: set[str] = set()
        sid, visited = first_dir, set()
        while sid < 0xFFFFFFFA:
            if sid in visited or len(visited) >= max_sectors or sid >= len(fat):
                raise _NotOle
            visited.add(sid)
            data = sector(sid)
            for offset in range(0, len(data), 128):
                entry = data[offset : offset + 128]
                name_length = struct.unpack_from("<H", entry, 0x40)[0]
                if entry[0x42] in (1, 2) and 2 <= name_length <= 64:
                    names.add(entry[: name_length - 2].decode("utf-16-le", errors="replace"))
            sid = fat[sid]
    return names


def _ole_format(path: Path) -> GuardResult:
    try:
        names = ole_stream_names(path)
    except (_NotOle, OSError, struct.error):
        return _reject("tệp Office cũ (OLE) bị hỏng, không đọc được")
    if names & _ENCRYPTED_OOXML_STREAMS:
        return _reject("tệp được đặt mật khẩu (mã hóa), không mở được; đề nghị gửi lại tệp không đặt mật khẩu")
    if names & _XLS_STREAMS:
        return GuardResult("xls")
    for stream, what in _OTHER_OFFICE_STREAMS.items():
        if stream in names:
            return _reject(f"{what}, không phải bảng tính Excel")
    return _reject("tệp Office cũ nhưng không phải bảng tính Excel")


# --- zip containers: .xlsx, .xlsm, .xlsb, .ods ---------------------------------------------
class _Bomb(Exception):
    """A zip member inflates past what its directory declares."""


class _Declaration(Exception):
    """An XML part declares entities."""


class _MarkupScanner:
    """Finds an entity declaration in a part read chunk by chunk."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> None:
        window = self._tail + data
        if any(marker in window for marker in _DECLARATIONS):
            raise _Declaration
        self._tail = window[-_DECLARATION_TAIL:]


def _inflate_member(handle, entry: zipfile.ZipInfo) -> int:
    """Inflate one member, in chunks, never past its declared size (+ one chunk to notice a
    lie), and check its CRC; returns the bytes produced. Raises _Bomb, _Declaration (an XML
    part), zipfile.BadZipFile or zlib.error (corrupt compressed data)."""
    handle.seek(entry.header_offset)
    local = handle.read(30)
    if len(local) < 30 or not local.startswith(_ZIP_MAGIC):
        raise zipfile.BadZipFile("bad local header")
    name_length, extra_length = struct.unpack_from("<HH", local, 26)
    # The name in the member's own header must be the directory's: readers that trust one or
    # the other would otherwise not read the same part.
    directory_name = entry.orig_filename.encode("utf-8" if entry.flag_bits & 0x800 else "cp437")
    if handle.read(name_length) != directory_name:
        raise zipfile.BadZipFile("member name differs from the directory's")
    handle.seek(entry.header_offset + 30 + name_length + extra_length)
    remaining = entry.compress_size
    scanner = _MarkupScanner() if entry.filename.lower().endswith(_MARKUP_SUFFIXES) else None
    crc = 0

    def take(data: bytes) -> None:
        nonlocal crc
        crc = zlib.crc32(data, crc)
        if scanner is not None:
            scanner.feed(data)

    if entry.compress_type == zipfile.ZIP_STORED:
        if entry.compress_size != entry.file_size:
            raise _Bomb
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                raise zipfile.BadZipFile("truncated member")
            remaining -= len(chunk)
            take(chunk)
        produced = entry.file_size
    elif entry.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        produced = 0
        budget = entry.file_size + 1  # one byte more than declared is enough to know it lies
        while remaining > 0 and not inflater.eof:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                raise zipfile.BadZipFile("truncated member")
            remaining -= len(chunk)
            data = inflater.decompress(chunk, _CHUNK)
            while True:
                produced += len(data)
                if produced >= budget:
                    raise _Bomb
                take(data)
                if not inflater.unconsumed_tail or inflater.eof:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
        rest = inflater.flush()
        produced += len(rest)
        take(rest)
        if produced != entry.file_size:
            raise _Bomb if produced > entry.file_size else zipfile.BadZipFile("member shorter than declared")
    else:
        raise zipfile.BadZipFile(f"compression method {entry.compress_type}")
    if crc != entry.CRC:
        raise zipfile.BadZipFile("bad CRC-32")
    return produced


def _read_member(path: Path, name: str) -> bytes:
    """A small member already checked by _inflate_member (size and CRC)."""
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _zip_format(path: Path, limits: LimitsConfig) -> GuardResult:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, struct.error):
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
    inflated = 0
    try:
        with path.open("rb") as handle:
            for entry in entries:
                inflated += _inflate_member(handle, entry)
    except _Bomb:
        return _reject(
            "tệp nén khai báo sai kích thước (giải nén ra nhiều hơn khai báo), có thể là tệp độc hại", inflated
        )
    except _Declaration:
        return _reject(
            "tệp chứa khai báo thực thể XML (<!ENTITY>), bảng tính thật không có; có thể là tệp độc hại", inflated
        )
    except (zipfile.BadZipFile, zlib.error, OSError, struct.error):
        return _reject("tệp nén bị hỏng hoặc không phải bảng tính", inflated)
    names = {entry.filename for entry in entries}
    try:
        content_types = _read_member(path, "[Content_Types].xml") if "[Content_Types].xml" in names else b""
        mimetype = _read_member(path, "mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, zlib.error, OSError, struct.error):
        return _reject("tệp nén bị hỏng hoặc không phải bảng tính", inflated)
    if "xl/workbook.xml" in names:
        is_macro = "xl/vbaProject.bin" in names or _MACRO_WORKBOOK_TYPE in content_types
        return GuardResult("xlsm" if is_macro else "xlsx", None, inflated)
    if "xl/workbook.bin" in names:
        return GuardResult("xlsb", None, inflated)
    if "content.xml" in names and "mimetype" in names:
        if b"spreadsheet" in mimetype:
            return GuardResult("ods", None, inflated)
        return _reject("tệp OpenDocument nhưng không phải bảng tính", inflated)
    if "word/document.xml" in names:
        return _reject("tệp Word (.docx), không phải bảng tính Excel", inflated)
    return _reject("tệp nén nhưng không phải bảng tính Excel", inflated)


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
        return _ole_format(path)
    if head.startswith(_EMPTY_ZIP_MAGIC):
        return _reject("tệp nén rỗng, không phải bảng tính")
    if head.startswith(b"%PDF"):
        return _reject("tệp PDF, không phải bảng tính Excel; đề nghị gửi tệp Excel theo mẫu")
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _reject("tệp có đuôi bảng tính nhưng nội dung không phải bảng tính")
    return _reject("không phải tệp bảng tính Excel")
