"""Hostile and broken files, made in code from a good unit workbook, for the reliability tests.

Each builder writes one file and returns its path. `HOSTILE` lists the cases the hostile-inbox
test plants, each with the Vietnamese R16 detail the unit must read (after "Tệp không đọc
được hoặc không đúng mẫu: ").
"""

from __future__ import annotations

import os
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import python_calamine
import xlwt

from tasks.reader_process import out_of_memory_message
from tongket.sample.messy import write_encrypted, write_zip_bomb

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ODS_TABLE = '<table:table table:name="{name}"'


def sheet_part(path: Path, sheet: str) -> str:
    """The zip part that holds a sheet of an .xlsx (from workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG}Relationship")}
    for element in book.iter(f"{_MAIN}sheet"):
        if element.get("name") == sheet:
            return str(PurePosixPath("xl") / targets[element.get(f"{_REL}id")])
    raise KeyError(sheet)


def rewrite_zip(
    source: Path, target: Path, edits: dict[str, Callable[[bytes], bytes]], extra: dict[str, bytes] | None = None
) -> Path:
    """A copy of a zip with some parts changed and some added (names written as given)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename in edits:
                data = edits[info.filename](data)
            method = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            new.writestr(info.filename, data, compress_type=method)
        for name, data in (extra or {}).items():
            new.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def _edit_sheet(source: Path, target: Path, sheet: str, edit: Callable[[bytes], bytes]) -> Path:
    return rewrite_zip(source, target, {sheet_part(source, sheet): edit})


# --- zip and XML bombs ---------------------------------------------------------------------------
def billion_laughs(source: Path, target: Path, sheet: str = "01_PBGDPL") -> Path:
    """The classic entity expansion: ten entities of ten, nine levels deep (10^9 'lol's, about
    3 GB once expanded), used in a cell of the sheet. The file stays a few kilobytes."""
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    ]
    doctype = f"<!DOCTYPE worksheet [{''.join(entities)}]>".encode()

    def edit(xml: bytes) -> bytes:
        declaration, rest = xml.split(b"?>", 1)
        rest = re.sub(rb"(<row [^>]*>)", rb'\1<c r="Z1" t="inlineStr"><is><t>&lol9;</t></is></c>', rest, count=1)
        return declaration + b"?>" + doctype + rest

    return _edit_sheet(source, target, sheet, edit)


def zip_bomb(target: Path) -> Path:
    """A 200 KB file whose one sheet inflates to 200 MB (its directory says so)."""
    return write_zip_bomb(target, 200)


def lying_zip_bomb(target: Path) -> Path:
    """A sheet that inflates to 64 MB while the zip directory declares 4 KB."""
    return write_zip_bomb(target, 64, declared_bytes=4096)


# --- sheets that claim millions of cells ------------------------------------------------------------
def far_cell(source: Path, target: Path, address: str = "XFD1048576", sheet: str = "01_PBGDPL") -> Path:
    """One more cell, at the far corner of the grid: a dense reader asks for rows x columns cells."""
    row = re.match(r"[A-Z]+(\d+)", address).group(1)
    cell = f'<row r="{row}"><c r="{address}"><v>1</v></c></row></sheetData>'.encode()
    return _edit_sheet(source, target, sheet, lambda xml: xml.replace(b"</sheetData>", cell, 1))


def lying_dimension(source: Path, target: Path, sheet: str = "01_PBGDPL") -> Path:
    """The sheet's <dimension> claims A1:XFD1048576; its cells are the real, small report."""

    def edit(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml, count=1)

    return _edit_sheet(source, target, sheet, edit)


def huge_merge(source: Path, target: Path, sheet: str = "01_PBGDPL") -> Path:
    """A merged range to the far corner (openpyxl would make 17 billion merged-cell objects)."""

    def edit(xml: bytes) -> bytes:
        if b"<mergeCells" in xml:
            return re.sub(rb'<mergeCells count="\d+">', b'\\g<0><mergeCell ref="M1:XFD1048576"/>', xml, count=1)
        return xml.replace(
            b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="M1:XFD1048576"/></mergeCells>'
        )

    return _edit_sheet(source, target, sheet, edit)


def ods_repeated_rows(source_ods: Path, target: Path, rows: int = 1_000_000, cols: int = 40) -> Path:
    """An .ods whose 01_PBGDPL ends with one row of figures repeated a million times, 40 columns
    wide: 5 KB on disk, 40 million cells for a reader that expands repeats."""
    cell = (
        f'<table:table-cell table:number-columns-repeated="{cols}" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell>'
    )
    row = f'<table:table-row table:number-rows-repeated="{rows}">{cell}</table:table-row>'

    def edit(xml: bytes) -> bytes:
        text = xml.decode("utf-8")
        start = text.index(_ODS_TABLE.format(name="01_PBGDPL"))
        end = text.index("</table:table>", start)
        return (text[:end] + row + text[end:]).encode("utf-8")

    return rewrite_zip(source_ods, target, {"content.xml": edit})


def xls_far_cell(source_xlsx: Path, target: Path) -> Path:
    """The report as .xls (values) with one more cell at the last row and column .xls has."""
    source = python_calamine.CalamineWorkbook.from_path(str(source_xlsx))
    book = xlwt.Workbook(encoding="utf-8")
    for name in source.sheet_names:
        sheet = book.add_sheet(name)
        for r, row in enumerate(source.get_sheet_by_name(name).to_python(skip_empty_area=False)):
            for c, value in enumerate(row):
                if value != "" and not hasattr(value, "year"):
                    sheet.write(r, c, value)
        if name == "01_PBGDPL":
            sheet.write(65535, 255, 1)
    source.close()
    book.save(str(target))
    return target


# --- broken containers -------------------------------------------------------------------------------
def path_traversal(source: Path, target: Path) -> Path:
    """The report plus a member that would be written outside any folder it was unpacked in."""
    return rewrite_zip(source, target, {}, {"../../../../tmp/tongket-zip-slip.txt": b"owned"})


def truncated(source: Path, target: Path, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def random_bytes(target: Path, size: int = 50_000, seed: int = 9, prefix: bytes = b"") -> Path:
    target.write_bytes(prefix + random.Random(seed).randbytes(size))
    return target


def empty(target: Path) -> Path:
    target.write_bytes(b"")
    return target


def encrypted(source: Path, target: Path) -> Path:
    return write_encrypted(source, target)


# --- what the hostile inbox holds -----------------------------------------------------------------
R16 = "Tệp không đọc được hoặc không đúng mẫu: "


@dataclass(frozen=True)
class Hostile:
    """One planted file: its name in the inbox, how to make it, the R16 detail it must get."""

    name: str
    make: Callable[[Path, Path, Path], Path]  # (good .xlsx, good .ods, target) -> path
    detail: str


def _limits_message(sheet: str, rows: int, cols: int) -> str:
    return f"biểu {sheet} có {rows} dòng x {cols} cột, vượt giới hạn 2000 x 200"


HOSTILE = [
    Hostile(
        "bom-nen.xlsx",
        lambda x, o, t: zip_bomb(t),
        "tệp có tỷ lệ nén bất thường (1029 lần), có thể là tệp độc hại",
    ),
    Hostile(
        "bom-khai-sai.xlsx",
        lambda x, o, t: lying_zip_bomb(t),
        "tệp nén khai báo sai kích thước (giải nén ra nhiều hơn khai báo), có thể là tệp độc hại",
    ),
    Hostile(
        "billion-laughs.xlsx",
        lambda x, o, t: billion_laughs(x, t),
        "tệp chứa khai báo thực thể XML (<!ENTITY>), bảng tính thật không có; có thể là tệp độc hại",
    ),
    Hostile("o-xa-nhat.xlsx", lambda x, o, t: far_cell(x, t), _limits_message("01_PBGDPL", 1048576, 16384)),
    Hostile(
        "trieu-dong.xlsx",
        lambda x, o, t: far_cell(x, t, "A1048576", "02_HGCS"),
        _limits_message("02_HGCS", 1048576, 11),
    ),
    Hostile("gop-o-khong-lo.xlsx", lambda x, o, t: huge_merge(x, t), _limits_message("01_PBGDPL", 1048576, 16384)),
    Hostile("lap-dong.ods", lambda x, o, t: ods_repeated_rows(o, t), out_of_memory_message(1024)),
    Hostile("o-xa-nhat.xls", lambda x, o, t: xls_far_cell(x, t), out_of_memory_message(1024)),
    Hostile(
        "duong-dan-nguoc.xlsx",
        lambda x, o, t: path_traversal(x, t),
        "tệp chứa đường dẫn không hợp lệ '../../../../tmp/tongket-zip-slip.txt'",
    ),
    Hostile("rong.xlsx", lambda x, o, t: empty(t), "tệp rỗng (0 byte)"),
    Hostile("cat-doi.xlsx", lambda x, o, t: truncated(x, t), "tệp nén bị hỏng hoặc không phải bảng tính"),
    Hostile("cat-cuoi.xlsx", lambda x, o, t: truncated(x, t, 0.99), "tệp nén bị hỏng hoặc không phải bảng tính"),
    Hostile(
        "ngau-nhien.xlsx",
        lambda x, o, t: random_bytes(t),
        "tệp có đuôi bảng tính nhưng nội dung không phải bảng tính",
    ),
    Hostile(
        "ngau-nhien-pk.xlsx",
        lambda x, o, t: random_bytes(t, prefix=b"PK\x03\x04"),
        "tệp nén bị hỏng hoặc không phải bảng tính",
    ),
    Hostile("ngau-nhien.bin", lambda x, o, t: random_bytes(t, seed=10), "không phải tệp bảng tính Excel"),
    Hostile(
        "mat-khau.xlsx",
        lambda x, o, t: encrypted(x, t),
        "tệp được đặt mật khẩu (mã hóa), không mở được; đề nghị gửi lại tệp không đặt mật khẩu",
    ),
    Hostile(
        # backslashes: one file name on Linux, never a path (a name starting with '.' would be
        # skipped as a hidden file, as .DS_Store and ._x.xlsx are)
        "bao-cao\\..\\..\\Windows\\x.xlsx",
        lambda x, o, t: random_bytes(t, seed=12),
        "tệp có đuôi bảng tính nhưng nội dung không phải bảng tính",
    ),
    Hostile(
        "ten\x07co\x1bky-tu-dieu-khien\n.xlsx",
        lambda x, o, t: random_bytes(t, seed=11),
        "tệp có đuôi bảng tính nhưng nội dung không phải bảng tính",
    ),
]
NOT_A_FILE = "không phải tệp thông thường (liên kết hoặc thư mục)"


def make_fifo(target: Path) -> Path:
    """A named pipe: opening it for reading would wait forever for a writer."""
    os.mkfifo(target)
    return target
