"""Write a feedback workbook for each unit whose latest file has problems, to send back.

A feedback workbook has a first sheet listing every problem in Vietnamese (rule, sheet, cell,
message, what to do), then a copy of what the unit sent with each problem cell coloured and
commented. The problems come from the warehouse's `validation_issue` table; the copy is made
from the archived bytes (`raw_file.archive_path`), never from the inbox. A file the guard
rejected (R16: not a workbook, encrypted, too large, a zip bomb) is never opened here: its
feedback has the list only.

The copy is inert: nothing in it acts when the office or the unit opens it. Macros and external
links are not copied, hyperlinks, conditional formats, data validations, pivot tables and
defined names are dropped, and a formula stays a formula only when it is arithmetic over cells
of the workbook (`is_plain_formula`); any other (HYPERLINK, WEBSERVICE, a DDE or external
reference) is copied as its text. A workbook whose sheets reach past the sheet limits, or that
inflates to more than COPY_MAX_INFLATED_MB, is not copied at all: openpyxl makes an object for
every cell, merged cell and linked cell, in this process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import python_calamine
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidationList
from openpyxl.worksheet.worksheet import Worksheet

from tasks.read import match_sheet_name, sheet_extent
from tasks.reports import LATEST_DIR
from tongket.duck import connect_reading
from tongket.settings import LimitsConfig, load_settings
from tongket.text import fold_key

FEEDBACK_DIR = "phan-hoi"
LIST_SHEET = "Danh sách lỗi"
AUTHOR = "Phòng Tư pháp"
CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
OPENPYXL_FORMATS = ("xlsx", "xlsm")
CALAMINE_FORMATS = ("xls", "xlsb", "ods")
# A unit report inflates to well under a megabyte; openpyxl needs ~50 times a part's size.
COPY_MAX_INFLATED_MB = 25
# Functions a unit's formula may use and stay a formula in the copy.
PLAIN_FUNCTIONS = frozenset(
    "SUM SUBTOTAL ROUND ROUNDUP ROUNDDOWN INT ABS MIN MAX AVERAGE COUNT COUNTA COUNTIF SUMIF "
    "SUMPRODUCT PRODUCT IF IFERROR AND OR NOT".split()
)
# A reference to cells of the same workbook: no external book ([1]), no DDE (|), no name.
_PLAIN_REFERENCE = re.compile(
    r"^(?:(?:'[^'\[\]|]+'|[A-Za-z0-9_.]+)!)?\$?[A-Za-z]{1,3}\$?[0-9]{1,7}(?::\$?[A-Za-z]{1,3}\$?[0-9]{1,7})?$"
)

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
FILL = {
    "error": PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE"),
    "warning": PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C"),
}

# What the unit should do about each rule (rules.csv says what is wrong; this says how to fix it).
WHAT_TO_DO = {
    "R01": "Sửa thành số không âm; chỉ tiêu đếm (cuộc, người, bản, ...) ghi số nguyên.",
    "R02": "Kiểm tra lại số cuộc và số lượt người: có cuộc thì phải có người tham dự, "
    "số lượt người không ít hơn số cuộc.",
    "R03": "Số lượt người là đồng bào dân tộc thiểu số không được lớn hơn tổng số lượt người tham dự.",
    "R04": "Có cuộc thi thì phải có lượt người dự thi và ngược lại; bổ sung số còn thiếu.",
    "R05": "Số bản tài liệu phải từ số loại tài liệu trở lên; kiểm tra lại hai số.",
    "R06": "Sửa để số vụ việc thành + không thành + đang hòa giải bằng số vụ việc tiếp nhận.",
    "R07": "Số hòa giải viên nữ không được lớn hơn tổng số hòa giải viên.",
    "R08": "Kiểm tra lại số tổ và số hòa giải viên (mỗi tổ từ 03 người, có hòa giải viên nữ); "
    "nếu đúng thực tế, ghi lý do ở cột Ghi chú.",
    "R09": "Ghi điểm từ 0 đến 100; kết quả đạt chuẩn ghi 1 (đạt) hoặc 0 (không đạt).",
    "R10": "Kiểm tra lại kết quả đạt chuẩn và tổng điểm đánh giá của năm đó.",
    "R11": "Sửa cột Tổng cho khớp với các năm (hệ thống dùng tổng tính từ các năm).",
    "R12": "Xóa số liệu ở chỉ tiêu không thuộc phạm vi báo cáo của đơn vị (số này không được tổng hợp).",
    "R13": "Kiểm tra lại số liệu; nếu đúng thực tế, ghi lý do ở cột Ghi chú để Phòng Tư pháp nắm.",
    "R14": "Chỉ ghi số vào ô (không kèm chữ hay đơn vị tính); số thập phân ghi rõ, ví dụ 12,5.",
    "R15": "Ghi đúng mã đơn vị và tên đơn vị ở sheet 00_THONGTIN như trong mẫu Phòng Tư pháp đã gửi.",
    "R16": "Dùng đúng mẫu báo cáo Phòng Tư pháp đã gửi, lưu dạng .xlsx, không đặt mật khẩu, "
    "không xóa hay đổi tên sheet, rồi gửi lại.",
    "R17": "Nhập số liệu vào ô còn trống: không có hoạt động ghi 0 (hoặc -), không áp dụng ghi x.",
    "R18": "Lưu ý gửi đúng hạn các lần sau; không cần gửi lại vì lý do này.",
    "R19": "Bổ sung họ tên (hoặc tên tập thể), loại (Tập thể/Cá nhân) và các số liệu không âm "
    "của người, tập thể được đề nghị.",
    "R20": "Không cần làm gì: báo cáo này thay thế báo cáo đã gửi trước đó.",
}

log = logging.getLogger("tongket.feedback")


@dataclass(frozen=True)
class FeedbackTarget:
    """A file a unit should hear back about: the unit's latest current or rejected file."""

    file_sha256: str
    file_name: str
    unit_code: str | None
    unit_name: str | None
    status: str
    received_at: dt.datetime | None
    archive_path: str | None
    file_format: str | None
    can_open: bool


@dataclass(frozen=True)
class Problem:
    rule_id: str
    severity: str
    sheet: str | None
    cell: str | None
    message: str


TARGETS_SQL = """
with problem_files as (
    -- a problem the unit can act on: R18 (it came late) and R20 (a correction replaced an
    -- earlier file) are news for the office, not something to fix
    select file_sha256
    from validation_issue
    group by file_sha256
    having count(*) filter (where rule_id not in ('R18', 'R20')) > 0
),

unopenable as (
    select distinct file_sha256 from validation_issue where rule_id = 'R16'
),

candidates as (
    select
        s.*,
        r.archive_path,
        u.unit_name,
        row_number() over (
            partition by coalesce(s.unit_code, s.file_sha256)
            order by s.received_at desc, s.file_sha256
        ) as recency
    from submission s
    left join raw_file r using (file_sha256)
    left join dim_unit u using (unit_code)
    where s.is_current or s.status = 'rejected'
)

select
    c.file_sha256,
    c.file_name,
    c.unit_code,
    c.unit_name,
    c.status,
    c.received_at,
    c.archive_path,
    c.file_format,
    c.status <> 'rejected' or c.file_sha256 not in (select file_sha256 from unopenable) as can_open
from candidates c
where c.recency = 1 and c.file_sha256 in (select file_sha256 from problem_files)
order by c.unit_code nulls last, c.file_name
"""

PROBLEMS_SQL = """
select
    i.file_sha256,
    i.rule_id,
    i.severity,
    i.sheet,
    i.cell,
    i.message
from validation_issue i
where i.file_sha256 in (select unnest(?::varchar[]))
order by
    i.file_sha256,
    i.severity = 'error' desc,
    i.sheet nulls first,
    try_cast(regexp_extract(i.cell, '[0-9]+') as integer) nulls first,
    length(regexp_extract(i.cell, '[A-Z]+')),
    regexp_extract(i.cell, '[A-Z]+'),
    i.rule_id,
    i.message
"""


def feedback_targets(con: duckdb.DuckDBPyConnection) -> list[FeedbackTarget]:
    """The files to write feedback for: per unit its latest current or rejected file, if it has problems."""
    return [FeedbackTarget(*row) for row in con.execute(TARGETS_SQL).fetchall()]


def feedback_file_name(target: FeedbackTarget) -> str:
    """`<unit code>_<unit name folded>.xlsx`; an unidentified file is named after itself."""
    if target.unit_code:
        code = re.sub(r"[^A-Za-z0-9_-]", "-", target.unit_code)
        slug = fold_key(target.unit_name or "").replace(" ", "-")[:60]
        return f"{code}_{slug}.xlsx" if slug else f"{code}.xlsx"
    stem = fold_key(Path(target.file_name).stem).replace(" ", "-")[:50] or "tep"
    return f"chua-xac-dinh-don-vi_{stem}_{target.file_sha256[:8]}.xlsx"


# --- the copy of what the unit sent ------------------------------------------------------------
TOO_LARGE_TO_COPY = "Tệp có biểu quá lớn nên không kèm bản sao."


def _too_large_to_copy(path: Path, limits: LimitsConfig) -> bool:
    """Whether openpyxl would build more than the limits allow: a sheet whose cells, merged
    ranges or hyperlinks reach past them, or a file that inflates past COPY_MAX_INFLATED_MB."""
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        if sum(e.file_size for e in entries) > COPY_MAX_INFLATED_MB * 1_000_000:
            return True
        for entry in entries:
            if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                with archive.open(entry) as stream:
                    rows, cols = sheet_extent(stream)
                if rows > limits.max_sheet_rows or cols > limits.max_sheet_cols:
                    return True
    return False


def _load_original(target: FeedbackTarget, limits: LimitsConfig) -> tuple[Workbook | None, str]:
    """The unit's workbook as sent, made inert, or None with the reason (Vietnamese) it is not attached."""
    if not target.can_open:
        return None, "Tệp không mở được như một bảng tính nên không kèm bản sao."
    path = Path(target.archive_path) if target.archive_path else None
    if path is None or not path.is_file():
        return None, "Không tìm thấy bản lưu của tệp nên không kèm bản sao."
    file_format = (target.file_format or path.suffix.lstrip(".")).lower()
    try:
        if file_format in OPENPYXL_FORMATS:
            if _too_large_to_copy(path, limits):
                return None, TOO_LARGE_TO_COPY
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unsupported extensions, data validation notes
                book = openpyxl.load_workbook(path, keep_vba=False, keep_links=False, rich_text=False)
            make_inert(book)
            return book, ""
        return _rebuild_from_values(path), (
            "Tệp gốc không phải .xlsx: bản sao chỉ gồm giá trị các ô của các biểu theo mẫu, không giữ định dạng."
        )
    except Exception as exc:  # a damaged file: the list is still useful
        log.warning("Could not copy %s into its feedback: %s", target.file_name, exc)
        return None, "Không sao chép được nội dung tệp (tệp bị hỏng) nên không kèm bản sao."


def is_plain_formula(formula: str) -> bool:
    """Whether a formula is arithmetic over cells of its workbook (PLAIN_FUNCTIONS, cell and
    range references, numbers, text, operators) and so stays a formula in the copy."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return False
    for token in tokens:
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            if token.value[:-1].upper() not in PLAIN_FUNCTIONS:
                return False
        elif token.type == Token.OPERAND and token.subtype == Token.RANGE:
            if not _PLAIN_REFERENCE.match(token.value):
                return False
        elif token.type == Token.OPERAND and token.subtype not in (Token.NUMBER, Token.TEXT, Token.LOGICAL):
            return False
        elif token.type == Token.LITERAL:
            return False
    return True


def make_inert(book: Workbook) -> None:
    """Drop from a unit's workbook what could act when it is opened (see the module docstring)."""
    book.defined_names.clear()
    for ws in book.worksheets:
        ws.defined_names.clear()
        ws.conditional_formatting = ConditionalFormattingList()
        ws.data_validations = DataValidationList()
        ws._pivots = []
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, MergedCell):
                    continue
                if cell.hyperlink is not None:
                    cell.hyperlink = None
                value = cell.value
                if cell.data_type == "f" and not (isinstance(value, str) and is_plain_formula(value)):
                    put(ws, cell.row, cell.column, str(getattr(value, "text", value)))


def _rebuild_from_values(path: Path) -> Workbook:
    """The template's sheets of a .xls, .xlsb or .ods, rebuilt from python-calamine's cell
    values (text stays text). Only those sheets: the reader has measured them (an extra sheet
    of millions of cells would be built in full)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    source = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        for name in source.sheet_names:
            if match_sheet_name(name) is None:
                continue
            sheet = source.get_sheet_by_name(name)
            target = book.create_sheet(_safe_sheet_title(name, book))
            for r, row in enumerate(sheet.to_python(skip_empty_area=False), start=1):
                for c, value in enumerate(row, start=1):
                    if value == "" or value is None:
                        continue
                    put(target, r, c, value)
            for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
                if (r0, c0) != (r1, c1):
                    target.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    finally:
        source.close()
    return book


def _safe_sheet_title(name: str, book: Workbook) -> str:
    title = re.sub(r"[\\/*?:\[\]]", "-", name)[:31] or "Sheet"
    base, n = title, 2
    while title in book.sheetnames:
        title = f"{base[:28]}({n})"
        n += 1
    return title


def put(sheet: Worksheet, row: int, col: int, value: Any) -> None:
    """Write a value; a string is always stored as text, never as a formula."""
    cell = sheet.cell(row=row, column=col)
    if isinstance(value, dt.timedelta):
        value = str(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _sheet_for(book: Workbook, sheet_name: str | None) -> Worksheet | None:
    if not sheet_name:
        return None
    if sheet_name in book.sheetnames:
        return book[sheet_name]
    contract = match_sheet_name(sheet_name) or sheet_name
    for ws in book.worksheets:
        if ws.title != LIST_SHEET and match_sheet_name(ws.title) == contract:
            return ws
    return None


def _anchor_cell(sheet: Worksheet, ref: str):
    """The cell to mark for a reference: the top-left cell of a merged range it falls in."""
    cell = sheet[ref]
    if isinstance(cell, MergedCell):
        for merged in sheet.merged_cells.ranges:
            if ref in merged:
                return sheet.cell(row=merged.min_row, column=merged.min_col)
    return cell


def mark_problems(book: Workbook, problems: list[Problem]) -> int:
    """Colour and comment each problem cell of the copy; returns how many cells were marked."""
    by_cell: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        match = CELL_REF.match(problem.cell or "")
        sheet = _sheet_for(book, problem.sheet)
        if match is None or sheet is None:
            continue
        by_cell.setdefault((sheet.title, f"{match.group(1)}{match.group(2)}"), []).append(problem)
    for (title, ref), cell_problems in by_cell.items():
        cell = _anchor_cell(book[title], ref)
        worst = "error" if any(p.severity == "error" for p in cell_problems) else "warning"
        cell.fill = FILL[worst]
        text = "\n".join(
            f"[{p.rule_id} - {SEVERITY_VI.get(p.severity, p.severity)}] {p.message}\n"
            f"Cách khắc phục: {WHAT_TO_DO.get(p.rule_id, '')}"
            for p in cell_problems
        )
        if cell.comment is not None and cell.comment.text:
            text = f"{cell.comment.text}\n---\n{text}"
        comment = Comment(text, AUTHOR)
        comment.width = 420
        comment.height = min(60 + 45 * len(cell_problems), 400)
        cell.comment = comment
    return len(by_cell)


# --- the list of problems ----------------------------------------------------------------------
def _outcome(target: FeedbackTarget, problems: list[Problem]) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warns = sum(p.severity == "warning" for p in problems)
    if target.status == "rejected":
        return "Tệp chưa được tiếp nhận. Đề nghị đơn vị sửa các lỗi dưới đây và gửi lại báo cáo."
    parts = []
    if errors:
        parts.append(f"{errors} lỗi (số liệu có lỗi không được tổng hợp)")
    if warns:
        parts.append(f"{warns} cảnh báo")
    action = "Đề nghị đơn vị sửa và gửi lại báo cáo." if errors else "Đề nghị đơn vị kiểm tra lại."
    return f"Báo cáo đã được tiếp nhận; có {' và '.join(parts)}. {action}"


LIST_COLUMNS = [
    ("STT", 6),
    ("Mức độ", 11),
    ("Mã quy tắc", 10),
    ("Sheet", 14),
    ("Ô", 8),
    ("Nội dung", 70),
    ("Cách khắc phục", 55),
]


def write_problem_list(
    book: Workbook, target: FeedbackTarget, problems: list[Problem], checked: str, copy_note: str
) -> Worksheet:
    """The first sheet: who, which file, the outcome, then one row per problem."""
    ws = book.create_sheet(LIST_SHEET, 0)
    font = Font(name="Times New Roman", size=11)
    bold = Font(name="Times New Roman", size=11, bold=True)
    side = Side(style="thin")
    border = Border(left=side, right=side, top=side, bottom=side)
    unit = f"{target.unit_name} (mã {target.unit_code})" if target.unit_code else "chưa xác định được đơn vị"
    received = f", nhận lúc {target.received_at:%H:%M ngày %d/%m/%Y}" if target.received_at else ""
    heading = [
        (
            "KẾT QUẢ KIỂM TRA BÁO CÁO TỔNG KẾT PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT 2017-2021",
            Font(name="Times New Roman", size=13, bold=True),
        ),
        (f"Đơn vị: {unit}", bold),
        (f"Tệp đã nhận: {target.file_name}{received}", font),
        (f"Kết quả: {_outcome(target, problems)}", bold),
        (checked, Font(name="Times New Roman", size=10, italic=True)),
        (
            "Cách đọc: các sheet sau là bản sao tệp đơn vị đã gửi; ô có lỗi tô đỏ, ô có cảnh báo tô vàng, "
            "di chuột vào ô để xem ghi chú. Sửa trên tệp gốc của đơn vị rồi gửi lại cả tệp."
            + (f" {copy_note}" if copy_note else ""),
            Font(name="Times New Roman", size=10, italic=True),
        ),
    ]
    for r, (text, text_font) in enumerate(heading, start=1):
        put(ws, r, 1, text)
        ws.cell(row=r, column=1).font = text_font
    header_row = len(heading) + 2
    for c, (name, width) in enumerate(LIST_COLUMNS, start=1):
        put(ws, header_row, c, name)
        cell = ws.cell(row=header_row, column=c)
        cell.font = bold
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
        ws.column_dimensions[get_column_letter(c)].width = width
    for n, p in enumerate(problems, start=1):
        r = header_row + n
        values = [
            n,
            SEVERITY_VI.get(p.severity, p.severity),
            p.rule_id,
            p.sheet,
            p.cell,
            p.message,
            WHAT_TO_DO.get(p.rule_id, ""),
        ]
        for c, value in enumerate(values, start=1):
            put(ws, r, c, value)
            cell = ws.cell(row=r, column=c)
            cell.font = font
            cell.border = border
            cell.alignment = Alignment(vertical="top", wrap_text=c >= 6, horizontal="center" if c <= 5 else None)
        ws.cell(row=r, column=2).fill = FILL.get(p.severity, PatternFill())
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws


def write_feedback_workbook(
    target: FeedbackTarget, problems: list[Problem], path: Path, checked: str, limits: LimitsConfig | None = None
) -> Path:
    """One feedback workbook: the list of problems, then the marked copy (when it can be made)."""
    book, copy_note = _load_original(target, limits or load_settings().limits)
    if book is None:
        book = openpyxl.Workbook()
        book.remove(book.active)
    else:
        mark_problems(book, problems)
    write_problem_list(book, target, problems, checked, copy_note)
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = False
    book.active = 0
    book.worksheets[0].sheet_view.tabSelected = True
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    partial.replace(path)
    return path


def write_feedback(
    warehouse: Path, run_dir: Path, limits: LimitsConfig | None = None, memory_limit: str = ""
) -> list[Path]:
    """Write the run's feedback workbooks into `<run_dir>/phan-hoi/`; returns the files written.
    `limits` (default: the configured ones) bounds the sheets a copy may hold; DuckDB works
    within `memory_limit`."""
    limits = limits or load_settings().limits
    out_dir = run_dir / FEEDBACK_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with connect_reading(warehouse, memory_limit) as con:
        run_id, built_at = con.execute("select run_id, built_at from ref_run_config").fetchone()
        checked = f"Kiểm tra lúc {built_at:%H:%M ngày %d/%m/%Y} (lần chạy {run_id})."
        targets = {t.file_sha256: t for t in feedback_targets(con)}
        if not targets:
            return written
        previous_dir = run_dir.parent / LATEST_DIR / FEEDBACK_DIR
        previous = _read_manifest(previous_dir)
        manifest: dict[str, str] = {}
        cursor = con.execute(PROBLEMS_SQL, [list(targets)])
        rows = iter(lambda: cursor.fetchmany(10_000), [])
        for sha, group in itertools.groupby(itertools.chain.from_iterable(rows), key=lambda r: r[0]):
            target = targets[sha]
            problems = [Problem(*row[1:]) for row in group]
            path = out_dir / feedback_file_name(target)
            key = _content_key(target, problems)
            try:
                if previous.get(path.name) == key and (previous_dir / path.name).is_file():
                    shutil.copy2(previous_dir / path.name, path)  # the same file, the same problems
                else:
                    write_feedback_workbook(target, problems, path, checked, limits)
                written.append(path)
                manifest[path.name] = key
            except Exception:  # one unit's feedback never stops the others'
                log.exception("Could not write the feedback for %s", target.file_name)
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=0, sort_keys=True), encoding="utf-8"
    )
    return written


MANIFEST = ".manifest.json"  # feedback file -> what it was made from, to reuse it on the next run
# Raised whenever the feedback workbook's layout changes, so a workbook of older code is rewritten.
FEEDBACK_FORMAT = 2


def _content_key(target: FeedbackTarget, problems: list[Problem]) -> str:
    """What a feedback workbook is made from: the file as sent and its problems (a later run
    with the same key writes the very same workbook, but for the time it was checked)."""
    payload = json.dumps(
        [
            FEEDBACK_FORMAT,
            target.file_sha256,
            target.unit_code,
            target.unit_name,
            target.status,
            [vars(p) for p in problems],
        ],
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
