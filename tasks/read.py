"""Read a workbook's cells as they are: raw values with their positions, nothing inferred.

python-calamine reads .xlsx, .xlsm, .xls and .ods quickly and returns each cell's own value
(a text `1.300` stays text). It returns `''` both for an empty cell and for a formula with no
cached value, so for Office Open XML files the sheet XML is scanned for such formulas, which
the parser then evaluates or rejects: a formula is never taken for a blank.

python-calamine builds a dense grid from a sheet's first to its farthest cell, before anything
can look at its size: one cell at XFD1048576 asks for half a terabyte. So the contract sheets
of an Office Open XML file are measured from their XML first (`sheet_extent`), and a sheet
reaching past the limits is refused before python-calamine opens the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import defusedxml.ElementTree as SafeET
import python_calamine
from openpyxl.formula.translate import Translator
from openpyxl.utils import coordinate_to_tuple

from schemas.workbook import SHEETS
from tongket.text import fold_key

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# A formula element, with or without a namespace prefix (`<f>`, `<x:f t="shared" .../>`).
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
# A formula directly followed by a non-empty cached value (`<f>SUM(E6:I6)</f><v>12</v>`, or a
# shared formula's `<f t="shared" si="0"/><v>12</v>`): the case of every workbook Excel,
# LibreOffice or WPS saved. When every formula of a sheet matches, none needs evaluating and
# the sheet XML is not parsed at all.
_CACHED_FORMULA = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>[^<]*</(?:\w+:)?f>)\s*<(?:\w+:)?v>[^<]+</(?:\w+:)?v>")
# Start tags that place something on a sheet's grid: cells (readers build a dense grid up to
# the farthest one), rows (a cell without an address is placed by its row), merged ranges and
# hyperlinks (openpyxl makes an object for every cell they cover).
_GRID_TAG = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?(row|c|mergeCell|hyperlink)(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>"""
)
_ADDRESS_ATTR = re.compile(rb"""(?:^|\s)(r|ref)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_ADDRESS = re.compile(rb"^\$?([A-Za-z]+)\$?([0-9]+)$")
_FAR = 1 << 40  # an address too long to be a real one
_SCAN_CHUNK = 1 << 20
_MAX_TAG_BYTES = 1 << 20  # Excel's longest cell text is 32,767 characters

CellValue = Any  # int | float | str | bool | date | datetime | time | timedelta


class WorkbookReadError(Exception):
    """The file could not be read as a workbook; the message is for the unit (Vietnamese)."""

    def __init__(self, message: str, sheet: str | None = None) -> None:
        super().__init__(message)
        self.sheet = sheet


@dataclass
class SheetGrid:
    """One sheet's cells from A1, as python-calamine returns them."""

    name: str
    rows: list[list[CellValue]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # (row, col), 0-based -> formula text (no '='), for formulas that have no cached value
    uncached_formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    is_hidden: bool = False

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def value(self, row: int, col: int) -> CellValue:
        """The raw value at 0-based (row, col); '' when outside the used range."""
        if 0 <= row < len(self.rows) and 0 <= col < len(self.rows[row]):
            return self.rows[row][col]
        return ""


@dataclass
class RawWorkbook:
    """The contract sheets of one workbook, found by name, plus the names of the others."""

    sheets: dict[str, SheetGrid]
    other_sheet_names: list[str]
    file_format: str


def match_sheet_name(name: str) -> str | None:
    """The contract sheet a sheet name stands for, ignoring case, spaces and separators."""
    key = fold_key(name)
    for sheet in SHEETS:
        if fold_key(sheet) == key:
            return sheet
    return None


def _contract_sheet_names(names: list[str]) -> dict[str, str]:
    """Contract sheet -> the workbook's sheet that holds it: the exact name, else the one
    name that matches loosely ('01 PBGDPL'); two loose matches and no exact one is R16."""
    chosen: dict[str, str] = {}
    for contract in SHEETS:
        loose = [name for name in names if match_sheet_name(name) == contract]
        if contract in names:
            chosen[contract] = contract
        elif len(loose) == 1:
            chosen[contract] = loose[0]
        elif loose:
            listed = ", ".join(f"'{name}'" for name in loose)
            raise WorkbookReadError(
                f"có nhiều biểu có thể là biểu {contract} ({listed}); không xác định được biểu đúng"
            )
    return chosen


def _sheet_xml_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part, from workbook.xml and its relationships."""
    workbook = SafeET.fromstring(archive.read("xl/workbook.xml"))
    rels = SafeET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG_REL}Relationship")}
    paths = {}
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = str(PurePosixPath("xl") / target)
        paths[sheet.get("name", "")] = path
    return paths


def _address(text: bytes) -> tuple[int, int] | None:
    """1-based (row, column) of an address such as `XFD1048576`."""
    match = _CELL_ADDRESS.match(text.strip())
    if match is None:
        return None
    letters, digits = match.groups()
    if len(letters) > 4 or len(digits) > 10:
        return _FAR, _FAR
    col = 0
    for letter in letters.upper():
        col = col * 26 + letter - 64
    return int(digits), col


def sheet_extent(stream) -> tuple[int, int]:
    """How many rows and columns a worksheet part's cells, merged ranges and hyperlinks reach
    (1-based), read from its XML in chunks without building the sheet. A cell or row without
    an address follows the previous one, as the readers place it."""
    rows = cols = row = col = 0
    pending = b""
    while True:
        chunk = stream.read(_SCAN_CHUNK)
        data = pending + chunk
        # '<' never occurs inside a tag: what follows the last one may be a tag cut in two.
        cut = data.rfind(b"<") if chunk else -1
        data, pending = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
        if len(pending) > _MAX_TAG_BYTES:
            return _FAR, _FAR
        for match in _GRID_TAG.finditer(data):
            tag, attributes = match.groups()
            addresses: dict[bytes, list[bytes]] = {}
            for name, double, single in _ADDRESS_ATTR.findall(attributes):
                addresses.setdefault(name, []).append(double or single)
            if tag == b"row":
                numbers = [int(n) for n in addresses.get(b"r", []) if n.strip().isdigit() and len(n) <= 10]
                row, col = (max(numbers) if numbers else row + 1), 0
            elif tag == b"c":
                places = [a for a in map(_address, addresses.get(b"r", [])) if a]
                if places:
                    row, col = max(p[0] for p in places), max(p[1] for p in places)
                else:
                    row, col = max(row, 1), col + 1
                rows, cols = max(rows, row), max(cols, col)
            else:
                for ref in addresses.get(b"ref", []):
                    for place in filter(None, map(_address, re.split(rb"[:\s]+", ref))):
                        rows, cols = max(rows, place[0]), max(cols, place[1])
        if not chunk:
            return rows, cols


def _refuse_oversized_sheets(path: Path, max_rows: int | None, max_cols: int | None) -> None:
    """Measure the contract sheets from their XML; raise WorkbookReadError for one too large."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = _sheet_xml_paths(archive)
            names = set(archive.namelist())
            for name in _contract_sheet_names(list(parts)).values():
                if parts[name] not in names:
                    continue
                with archive.open(parts[name]) as stream:
                    height, width = sheet_extent(stream)
                if (max_rows and height > max_rows) or (max_cols and width > max_cols):
                    raise WorkbookReadError(
                        f"biểu {name} có {height} dòng x {width} cột, vượt giới hạn {max_rows} x {max_cols}",
                        sheet=name,
                    )
    except WorkbookReadError:
        raise
    except Exception as exc:
        raise WorkbookReadError(f"tệp không đọc được như một bảng tính ({type(exc).__name__})") from exc


def _uncached_formulas(xml: bytes) -> dict[tuple[int, int], str]:
    """Cells whose formula has no cached value, with the formula text (shared ones expanded)."""
    formulas = len(_FORMULA_TAG.findall(xml))
    if formulas == 0 or len(_CACHED_FORMULA.findall(xml)) == formulas:
        return {}
    shared: dict[str, tuple[str, str]] = {}  # si -> (master ref, formula)
    found: dict[tuple[int, int], str] = {}
    for _, elem in SafeET.iterparse(io.BytesIO(xml), events=("end",)):
        if elem.tag != f"{_NS_MAIN}c":
            continue
        ref = elem.get("r")
        f_elem = elem.find(f"{_NS_MAIN}f")
        if ref and f_elem is not None:
            text = (f_elem.text or "").strip()
            si = f_elem.get("si")
            if f_elem.get("t") == "shared" and si is not None:
                if text:
                    shared[si] = (ref, text)
                elif si in shared:
                    master_ref, master_text = shared[si]
                    text = Translator("=" + master_text, origin=master_ref).translate_formula(ref)
                    text = text.lstrip("=")
            v_elem = elem.find(f"{_NS_MAIN}v")
            has_cached = v_elem is not None and (v_elem.text or "") != ""
            if elem.get("t") == "inlineStr":
                has_cached = True
            if not has_cached and text:
                row, col = coordinate_to_tuple(ref)
                found[(row - 1, col - 1)] = text
        elem.clear()
    return found


def read_workbook(
    path: Path, file_format: str, max_rows: int | None = None, max_cols: int | None = None
) -> RawWorkbook:
    """Read every contract sheet of a workbook into raw cell grids.

    `file_format` is what the guard recognised (xlsx, xlsm, xls, ods). A contract sheet whose
    used range exceeds `max_rows` x `max_cols` is refused before its cells become Python
    objects (an .xlsx or .xlsm one before python-calamine even builds it). Raises
    WorkbookReadError (Vietnamese message) when the file cannot be read.
    """
    if file_format in ("xlsx", "xlsm") and (max_rows or max_cols):
        _refuse_oversized_sheets(path, max_rows, max_cols)
    try:
        # From the content, not the suffix: units rename files (.xlsx saved as .xls), and
        # from_path picks its reader by the suffix.
        with path.open("rb") as handle:
            book = python_calamine.CalamineWorkbook.from_filelike(handle)
    except python_calamine.PasswordError as exc:
        raise WorkbookReadError("tệp được đặt mật khẩu, không mở được") from exc
    except Exception as exc:  # CalamineError, ZipError, XmlError, ... all mean "unreadable"
        raise WorkbookReadError(f"tệp không đọc được như một bảng tính ({type(exc).__name__})") from exc
    try:
        hidden = {m.name for m in book.sheets_metadata if m.visible != python_calamine.SheetVisibleEnum.Visible}
        sheets: dict[str, SheetGrid] = {}
        chosen = _contract_sheet_names(book.sheet_names)
        others = [name for name in book.sheet_names if name not in chosen.values()]
        for contract, name in chosen.items():
            sheet = book.get_sheet_by_name(name)
            height, width = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
            if (max_rows and height > max_rows) or (max_cols and width > max_cols):
                raise WorkbookReadError(
                    f"biểu {name} có {height} dòng x {width} cột, vượt giới hạn {max_rows} x {max_cols}", sheet=name
                )
            sheets[contract] = SheetGrid(
                name=name,
                rows=sheet.to_python(skip_empty_area=False),
                merged=list(sheet.merged_cell_ranges or []),
                is_hidden=name in hidden,
            )
    except WorkbookReadError:
        raise
    except Exception as exc:
        raise WorkbookReadError(f"nội dung bảng tính bị hỏng ({type(exc).__name__})") from exc
    finally:
        book.close()
    if file_format in ("xlsx", "xlsm") and sheets:
        _attach_uncached_formulas(path, sheets)
    return RawWorkbook(sheets=sheets, other_sheet_names=others, file_format=file_format)


def _attach_uncached_formulas(path: Path, sheets: dict[str, SheetGrid]) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            xml_paths = _sheet_xml_paths(archive)
            for grid in sheets.values():
                part = xml_paths.get(grid.name)
                if part:
                    grid.uncached_formulas = _uncached_formulas(archive.read(part))
    except Exception as exc:
        raise WorkbookReadError(f"không đọc được công thức trong tệp ({type(exc).__name__})") from exc
