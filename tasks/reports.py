"""Write the report-ready workbook of a run: the eight tables of the spec, charts, traceability.

Every figure is read from a mart of the published warehouse; Python only lays it out. Rows are
streamed from DuckDB into xlsxwriter in constant-memory mode (each row written once, in
order), so a national warehouse never sits in Python objects. Text that units typed is always
written as a string: no formula, no hyperlink can come out of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Format
from xlsxwriter.worksheet import Worksheet

from tongket.duck import connect_reading, identifier, sql_literal
from tongket.reference import award_component_labels
from tongket.rubric import COLLECTIVE_COMPONENTS

REPORT_FILE = "bao-cao-tong-ket-pbgdpl-2017-2021.xlsx"
EXCEL_MAX_ROWS = 1_048_576
FETCH_ROWS = 10_000
MAX_NAMES_IN_NOTE = 15

# Sheet names (at most 31 characters): the contract with report writers and the tests.
SHEET_PL1 = "Phụ lục 1"
SHEET_PL2 = "Phụ lục 2"
SHEET_PL3 = "Phụ lục 3"
SHEET_PL4 = "Phụ lục 4"
SHEET_PL5 = "Phụ lục 5"
SHEET_STATUS = "Tình hình gửi báo cáo"
SHEET_DETAIL = "Số liệu chi tiết theo đơn vị"
SHEET_NARRATIVE = "Tổng hợp đánh giá"
SHEET_TRACE = "Truy xuất nguồn số liệu"

TITLES = {
    SHEET_PL1: "Phụ lục 1. KẾT QUẢ PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT GIAI ĐOẠN 2017-2021",
    SHEET_PL2: "Phụ lục 2. KẾT QUẢ HÒA GIẢI Ở CƠ SỞ GIAI ĐOẠN 2017-2021",
    SHEET_PL3: "Phụ lục 3. XÂY DỰNG XÃ, THỊ TRẤN ĐẠT CHUẨN TIẾP CẬN PHÁP LUẬT",
    SHEET_PL4: "Phụ lục 4. MÔ HÌNH HAY, CÁCH LÀM HIỆU QUẢ TRONG CÔNG TÁC PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT",
    SHEET_PL5: "Phụ lục 5. ĐỀ XUẤT KHEN THƯỞNG TỔNG KẾT GIAI ĐOẠN 2017-2021",
    SHEET_STATUS: "TÌNH HÌNH GỬI BÁO CÁO TỔNG KẾT CỦA CÁC ĐƠN VỊ",
    SHEET_DETAIL: "SỐ LIỆU CHI TIẾT THEO ĐƠN VỊ",
    SHEET_NARRATIVE: "TỔNG HỢP ĐÁNH GIÁ CỦA CÁC ĐƠN VỊ (BIỂU 06_DANHGIA)",
    SHEET_TRACE: "TRUY XUẤT NGUỒN SỐ LIỆU CỦA PHỤ LỤC 1-3",
}

# The indicator sheet of the unit template each annex sums.
ANNEX_SOURCE_SHEET = {SHEET_PL1: "01_PBGDPL", SHEET_PL2: "02_HGCS", SHEET_PL3: "03_CTCPL"}

UNIT_TYPE_VI = {"commune": "Xã, thị trấn", "agency": "Cơ quan, ban, ngành, đoàn thể"}
# How a district row of an annex is labelled: the total carries the indicator's label.
ROW_LABEL_OF_TYPE = {"commune": "- Khối xã, thị trấn", "agency": "- Khối cơ quan, ban, ngành, đoàn thể huyện"}
TYPE_ORDER = ("all", "commune", "agency")

STATUS_VI = {"accepted": "Đã tiếp nhận", "rejected": "Không tiếp nhận được", "missing": "Chưa gửi"}
VALUE_STATUS_VI = {
    "blank": "bỏ trống",
    "not_applicable": "không áp dụng (x)",
    "rejected": "bị loại do lỗi",
    "unreadable": "không đọc được",
    "missing": "không có trong tệp",
}
KIND_NOTE_VI = {
    "flow": "Cộng các năm",
    "stock": "Số hiện có; cả giai đoạn = số cuối kỳ",
}
# A status indicator is counted per year: a flag as the units that meet it, a score as their mean.
STATUS_NOTE_VI = {
    "flag": ("đơn vị", "Số đơn vị đạt (ghi 1) trong năm; không cộng các năm"),
    "decimal": (None, "Bình quân của các đơn vị có số liệu trong năm"),
}


@dataclass(frozen=True)
class RateRow:
    """A derived row of an annex: one measure of `mart_district_rate`."""

    rate_code: str
    label_vi: str
    unit_vi: str
    kind: str  # number kind of its cells
    measure: str = "value"  # or "denominator"
    note_vi: str = ""


RATE_ROWS = {
    SHEET_PL1: [
        RateRow("attendances_per_session", "Số lượt người tham dự bình quân một cuộc", "lượt người/cuộc", "dec1"),
        RateRow(
            "attendances_per_1000_population_year",
            "Số lượt người tham dự trên 1.000 dân một năm (xã, thị trấn)",
            "lượt người/1.000 dân/năm",
            "dec1",
            note_vi="Năm 2017, 2021 quy đổi cả năm; dân số theo danh sách đơn vị",
        ),
        RateRow("ethnic_minority_share", "Tỷ lệ lượt người là đồng bào dân tộc thiểu số", "%", "pct"),
    ]
    + [
        RateRow(
            f"change_2018_2020_{code.lower()}",
            f"{label}: thay đổi năm 2020 so với năm 2018",
            "%",
            "pct",
            note_vi="Các đơn vị báo cáo đủ năm 2018 và 2020",
        )
        for code, label in (
            ("PB_CUOC", "Số cuộc phổ biến trực tiếp"),
            ("PB_LUOT", "Số lượt người tham dự"),
            ("THI_CUOC", "Số cuộc thi tìm hiểu pháp luật"),
            ("TL_BAN", "Số bản tài liệu phát hành"),
            ("TIN_BAI", "Số tin bài"),
            ("PT_LUOT", "Số lượt phát sóng"),
            ("NPL_HD", "Số hoạt động hưởng ứng Ngày Pháp luật"),
        )
    ],
    SHEET_PL2: [
        RateRow(
            "mediation_settlement_rate",
            "Tỷ lệ hòa giải thành",
            "%",
            "pct",
            note_vi="Vụ việc thành / (tiếp nhận - đang hòa giải), các xã báo cáo đủ",
        ),
        RateRow(
            "change_2018_2020_hg_vv_tiepnhan",
            "Số vụ việc tiếp nhận: thay đổi năm 2020 so với năm 2018",
            "%",
            "pct",
            note_vi="Các xã báo cáo đủ năm 2018 và 2020",
        ),
    ],
    SHEET_PL3: [
        RateRow(
            "legal_access_share",
            "Số xã, thị trấn có kết quả đánh giá",
            "xã",
            "int",
            measure="denominator",
        ),
        RateRow("legal_access_share", "Tỷ lệ xã, thị trấn đạt chuẩn tiếp cận pháp luật", "%", "pct"),
    ],
}

# --- number formats and widths --------------------------------------------------------------
NUMBER_FORMATS = {
    "int": "#,##0",
    "dec1": "#,##0.0",
    "dec2": "#,##0.00",
    "pct": "0.0%",
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm",
}
WIDTH_CAP = {"text": 45, "wrap": 70, "center": 30}
MIN_WIDTH = 6


def _display_width(value: Any, kind: str) -> int:
    """About how many characters a value takes on screen in its format."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    if kind == "date":
        return 10
    if kind == "datetime":
        return 16
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        if kind == "pct":
            return len(f"{value * 100:,.1f}%")
        digits = {"dec1": 1, "dec2": 2}.get(kind, 0)
        return len(f"{value:,.{digits}f}")
    return len(str(value))


def _clean(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    return value


class Styles:
    """The workbook's formats, made once: Times New Roman, bordered cells, Vietnamese layout."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self.base = {"font_name": "Times New Roman", "font_size": 11, "valign": "top"}
        self.title = book.add_format(
            self.base | {"bold": True, "font_size": 13, "align": "center", "valign": "vcenter"}
        )
        self.line = book.add_format(self.base | {"italic": True, "align": "left", "valign": "vcenter"})
        self.note = book.add_format(self.base | {"italic": True, "font_size": 10, "valign": "vcenter"})
        self.header = book.add_format(
            self.base
            | {
                "bold": True,
                "align": "center",
                "valign": "vcenter",
                "border": 1,
                "text_wrap": True,
                "bg_color": "#D9E1F2",
            }
        )
        self.section = book.add_format(self.base | {"bold": True, "border": 1, "bg_color": "#F2F2F2"})
        self.caption = book.add_format(self.base | {"bold": True, "valign": "vcenter"})
        self._cells: dict[tuple[str, bool], Format] = {}

    def cell(self, kind: str, bold: bool = False) -> Format:
        """A bordered data cell of a kind (text, wrap, center, int, dec1, dec2, pct, date, datetime)."""
        key = (kind, bold)
        if key not in self._cells:
            props = self.base | {"border": 1}
            if kind in NUMBER_FORMATS:
                props["num_format"] = NUMBER_FORMATS[kind]
            if kind == "wrap":
                props["text_wrap"] = True
            if kind in ("center", "date", "datetime"):
                props["align"] = "center"
            if bold:
                props["bold"] = True
            self._cells[key] = self.book.add_format(props)
        return self._cells[key]


@dataclass(frozen=True)
class Column:
    """One column of a table: its header and the kind of its cells."""

    header: str
    kind: str = "text"


@dataclass(frozen=True)
class RunFacts:
    """What every sheet's heading and source note says about the run."""

    run_id: str
    built_at: dt.datetime
    district: str
    period_text: str
    periods: tuple[tuple[int, str], ...]
    expected: int
    accepted: int
    not_accepted: tuple[str, ...]
    not_accepted_count: int


def vi_int(n: int) -> str:
    """1234 -> '1.234' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def _vi_day(day: dt.date) -> str:
    """01/6/2017: day with two digits, month without, as Vietnamese documents write it."""
    return f"{day.day:02d}/{day.month}/{day.year}"


def read_run_facts(con: duckdb.DuckDBPyConnection) -> RunFacts:
    """The run's identity, period and who is in the figures, from the warehouse."""
    run_id, built_at, district, province = con.execute(
        "select run_id, built_at, district_name, province_name from ref_run_config"
    ).fetchone()
    first_day, last_day = con.execute("select min(starts_on), max(ends_on) from dim_period").fetchone()
    periods = tuple(con.execute("select period, label_vi from dim_period order by period").fetchall())
    expected, accepted, not_accepted_count = con.execute(
        """
        select count(*), count(*) filter (where status = 'accepted'), count(*) filter (where status <> 'accepted')
        from mart_submission_status
        """
    ).fetchone()
    names = tuple(
        r[0]
        for r in con.execute(
            """
            select unit_name from mart_submission_status where status <> 'accepted'
            order by unit_type desc, unit_code limit ?
            """,
            [MAX_NAMES_IN_NOTE],
        ).fetchall()
    )
    return RunFacts(
        run_id=run_id,
        built_at=built_at,
        district=", ".join(part for part in (district, province) if part),
        period_text=f"{_vi_day(first_day)} - {_vi_day(last_day + dt.timedelta(days=1))}",
        periods=periods,
        expected=expected,
        accepted=accepted,
        not_accepted=names,
        not_accepted_count=not_accepted_count,
    )


def source_note(facts: RunFacts) -> list[str]:
    """The source lines under a table's title: run, time, units counted, units missing."""
    lines = [
        f"Nguồn: kho dữ liệu tổng kết, lần chạy {facts.run_id}, lập lúc {facts.built_at:%H:%M} ngày "
        f"{facts.built_at:%d/%m/%Y}; số liệu tổng hợp từ {vi_int(facts.accepted)}/{vi_int(facts.expected)} "
        "đơn vị có báo cáo được tiếp nhận."
    ]
    if facts.not_accepted_count:
        more = facts.not_accepted_count - len(facts.not_accepted)
        tail = f" và {vi_int(more)} đơn vị khác (xem sheet {SHEET_STATUS})" if more > 0 else ""
        lines.append(
            f"Chưa có báo cáo được tiếp nhận ({vi_int(facts.not_accepted_count)} đơn vị): "
            + "; ".join(facts.not_accepted)
            + tail
            + "."
        )
    else:
        lines.append("Tất cả đơn vị phải báo cáo đã có báo cáo được tiếp nhận.")
    return lines


class SheetWriter:
    """Writes one table sheet top to bottom (constant-memory mode): heading, header, rows.

    Tracks the widest value of each column so the widths fit, and continues in a new sheet
    (name suffixed " (2)", ...) when a table outgrows Excel's row limit.
    """

    def __init__(
        self,
        book: xlsxwriter.Workbook,
        styles: Styles,
        name: str,
        facts: RunFacts,
        unit_line: str,
        columns: Sequence[Column],
        max_rows: int = EXCEL_MAX_ROWS,
    ):
        self.book = book
        self.styles = styles
        self.name = name
        self.facts = facts
        self.unit_line = unit_line
        self.columns = list(columns)
        self.max_rows = max_rows
        self.part = 1
        self.widths: dict[int, int] = {}
        self.sheet: Worksheet = self._new_sheet(name)
        self.row = 0
        self.header_row: int | None = None
        self.frozen = False
        self._heading()

    # -- layout --------------------------------------------------------------------------
    def _new_sheet(self, name: str) -> Worksheet:
        sheet = self.book.add_worksheet(name)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
        sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
        sheet.center_horizontally()
        sheet.set_footer('&C&"Times New Roman"Trang &P/&N')
        return sheet

    def _heading(self) -> None:
        title = TITLES.get(self.name, self.name) + (f" (tiếp theo, phần {self.part})" if self.part > 1 else "")
        last_col = max(len(self.columns) - 1, 1)
        self.sheet.set_row(0, 24)
        self.sheet.merge_range(0, 0, 0, last_col, title, self.styles.title)
        self.sheet.write_string(
            1, 0, f"{self.facts.district}. Thời kỳ số liệu: {self.facts.period_text}.", self.styles.line
        )
        self.sheet.write_string(2, 0, f"Đơn vị tính: {self.unit_line}", self.styles.line)
        for i, line in enumerate(source_note(self.facts)):
            self.sheet.write_string(3 + i, 0, line, self.styles.note)
        self.row = 6

    def header(self, columns: Sequence[Column] | None = None, freeze: bool = True) -> int:
        """Write a header row (the table's columns by default); returns its row index."""
        columns = list(columns or self.columns)
        for c, column in enumerate(columns):
            self.sheet.write_string(self.row, c, column.header, self.styles.header)
            longest_word = max((len(w) for w in column.header.split()), default=0)
            self.widths[c] = max(self.widths.get(c, 0), longest_word, MIN_WIDTH)
        header_row = self.row
        if freeze and not self.frozen:
            self.sheet.freeze_panes(header_row + 1, 0)
            self.sheet.repeat_rows(header_row)
            self.header_row = header_row
            self.frozen = True
        self.row += 1
        return header_row

    def section(self, text: str, width: int | None = None) -> None:
        """A bold row across the table that opens a group (a question, a list)."""
        last_col = (width or len(self.columns)) - 1
        if last_col > 0:
            self.sheet.merge_range(self.row, 0, self.row, last_col, text, self.styles.section)
        else:
            self.sheet.write_string(self.row, 0, text, self.styles.section)
        self.row += 1

    def blank(self, n: int = 1) -> None:
        self.row += n

    def label(self, text: str) -> None:
        """A bold caption without borders above a table of the sheet."""
        self.sheet.write_string(self.row, 0, text, self.styles.caption)
        self.row += 1

    # -- cells -------------------------------------------------------------------------------
    def write(self, values: Sequence[Any], kinds: Sequence[str] | None = None, bold: bool = False) -> int:
        """Write one row of values (kinds default to the table's columns); returns its index."""
        if self.row >= self.max_rows:
            self._continue_in_new_sheet()
        kinds = kinds or [c.kind for c in self.columns]
        for c, (value, kind) in enumerate(zip(values, kinds)):
            self._cell(self.row, c, _clean(value), kind, bold)
        written = self.row
        self.row += 1
        return written

    def _cell(self, r: int, c: int, value: Any, kind: str, bold: bool) -> None:
        fmt = self.styles.cell(kind, bold)
        if value is None:
            self.sheet.write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            # Never write_formula or write_url: what a unit typed stays text.
            self.sheet.write_string(r, c, value, fmt)
        elif isinstance(value, bool):
            self.sheet.write_string(r, c, "Có" if value else "Không", fmt)
        elif isinstance(value, dt.datetime):
            self.sheet.write_datetime(r, c, value, fmt)
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), fmt)
        elif isinstance(value, int | float):
            self.sheet.write_number(r, c, value, fmt)
        else:
            self.sheet.write_string(r, c, str(value), fmt)
        self.widths[c] = max(self.widths.get(c, 0), _display_width(value, kind))

    def _continue_in_new_sheet(self) -> None:
        self.finish()
        self.part += 1
        self.sheet = self._new_sheet(f"{self.name[:25]} ({self.part})")
        self.widths = {}
        self.frozen = False
        self._heading()
        self.header()

    def cell_ref(self, row: int, col: int) -> str:
        """`Phụ lục 1!F9`: a cell of this sheet as a report writer reads it."""
        return f"{self.sheet.name}!{xl_rowcol_to_cell(row, col)}"

    def finish(self) -> None:
        """Fit the column widths to what was written."""
        for c, width in self.widths.items():
            kind = self.columns[c].kind if c < len(self.columns) else "text"
            cap = WIDTH_CAP.get(kind, 40)
            self.sheet.set_column(c, c, max(MIN_WIDTH, min(width, cap)) + 2)


BOM = b"\xef\xbb\xbf"  # so Excel reads the CSV's Vietnamese as UTF-8


def _sql_text(expr: str) -> str:
    """A text column for a CSV Excel will open: text that would run as a formula (`=`, `+`,
    `-`, `@` first) is written after a `'`."""
    return f"case when left({expr}, 1) in ('=', '+', '-', '@') then '''' || {expr} else {expr} end"


def _sql_unit_type(expr: str) -> str:
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in UNIT_TYPE_VI.items())
    return f"case {expr} {cases} else {expr} end"


def _csv_expression(name: str, kind: str) -> str:
    """The SELECT expression of a query column in a CSV file, by its Column kind."""
    expr = f"q.{identifier(name)}"
    if kind == "unit_type":
        return _sql_unit_type(expr)
    if kind in ("text", "wrap", "center"):
        return _sql_text(f"cast({expr} as varchar)")
    return expr


def copy_csv(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list | None,
    columns: Sequence[tuple[str, Column]],
    path: Path,
) -> None:
    """Write a query's rows as a CSV file with the table's Vietnamese headers (DuckDB's COPY:
    seconds for millions of rows); `columns` pairs each query column with its Column, whose
    kind says how it is written (`unit_type` in words, text made formula-safe)."""
    select = ", ".join(_csv_expression(name, column.kind) for name, column in columns)
    raw = path.with_name(path.name + ".part")
    con.execute(f"copy (select {select} from ({sql}) as q) to {sql_literal(str(raw))} (header false)", params or [])
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(column.header for _, column in columns)
    with path.open("wb") as out, raw.open("rb") as source:
        out.write(BOM + header.getvalue().encode("utf-8"))
        shutil.copyfileobj(source, out, 1 << 20)
    raw.unlink()


def _pointer_sheet(book, styles: Styles, name: str, facts: RunFacts, unit_line: str, csv_path: Path, rows: int) -> None:
    """The sheet of a table written as CSV: where it is and why."""
    pointer = SheetWriter(book, styles, name, facts, unit_line, [Column("", "text")])
    pointer.label(
        f"Bảng này có {vi_int(rows)} dòng, quá dài cho một sheet: số liệu ở tệp {csv_path.name} "
        "(cùng thư mục với tệp này; mở bằng Excel)."
    )
    pointer.finish()


def _stream(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Iterator[tuple]:
    """Rows of a query, fetched in chunks (never the whole result in Python at once)."""
    cursor = con.execute(sql, params or [])
    while chunk := cursor.fetchmany(FETCH_ROWS):
        yield from chunk


def _period_columns(facts: RunFacts, alias: str = "m", measure: str = "value") -> str:
    """`any_value(m.value) filter (where m.period = 2017) as p2017, ...` for each period."""
    return ",\n".join(
        f"any_value({alias}.{measure}) filter (where {alias}.period = {int(p)}) as p{int(p)}" for p, _ in facts.periods
    )


# --- Phụ lục 1-3 ------------------------------------------------------------------------------
@dataclass
class AnnexLayout:
    """Where an annex put its figures: row of each (indicator or rate, unit type), and columns."""

    writer: SheetWriter
    period_cols: dict[int, int]
    header_row: int
    indicator_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    rate_rows: dict[tuple[str, str, str], int] = field(default_factory=dict)


def write_annex(
    con: duckdb.DuckDBPyConnection, book: xlsxwriter.Workbook, styles: Styles, facts: RunFacts, name: str
) -> AnnexLayout:
    """Phụ lục 1-3: district figures of one template sheet by year and unit type, then the rates."""
    sheet = ANNEX_SOURCE_SHEET[name]
    with_window = name != SHEET_PL3
    columns = [
        Column("STT", "center"),
        Column("Mã số", "center"),
        Column("Chỉ tiêu", "wrap"),
        Column("Đơn vị tính", "center"),
    ]
    columns += [Column(label, "int") for _, label in facts.periods]
    if with_window:
        columns.append(Column(f"Cả giai đoạn ({facts.period_text})", "int"))
    columns.append(Column("Ghi chú", "wrap"))
    writer = SheetWriter(
        book, styles, name, facts, "theo cột Đơn vị tính của từng chỉ tiêu; tỷ lệ tính bằng %.", columns
    )
    header_row = writer.header()
    first_period_col = 4
    period_cols = {p: first_period_col + i for i, (p, _) in enumerate(facts.periods)}
    if with_window:
        period_cols[0] = first_period_col + len(facts.periods)
    layout = AnnexLayout(writer, period_cols, header_row)
    n_cols = len(columns)
    value_columns = _period_columns(facts) + (
        ",\nany_value(m.value) filter (where m.period = 0) as p0" if with_window else ""
    )
    rows = con.execute(
        f"""
        with row_types as (
            select * from (values ('all', 0), ('commune', 1), ('agency', 2)) t(unit_type, type_order)
        ),
        annex_rows as (
            select i.indicator_code, i.label_vi, i.unit_vi, i.kind, i.value_type, i.sort_order,
                   row_types.unit_type, row_types.type_order
            from dim_indicator i cross join row_types
            where i.sheet = ? and (row_types.unit_type = 'all' or i.reported_by = 'all')
        )
        select r.indicator_code, any_value(r.label_vi), any_value(r.unit_vi), any_value(r.kind),
               any_value(r.value_type), r.unit_type,
               {value_columns}
        from annex_rows r
        left join mart_district_indicator m
            on m.indicator_code = r.indicator_code and m.unit_type = r.unit_type
        group by r.indicator_code, r.unit_type
        order by any_value(r.sort_order), any_value(r.type_order)
        """,
        [sheet],
    ).fetchall()
    number = 0
    for code, label, unit_vi, kind, value_type, unit_type, *values in rows:
        is_total = unit_type == "all"
        if is_total:
            number += 1
        if kind == "status":
            count_unit, note = STATUS_NOTE_VI.get(value_type, (None, ""))
            unit_vi = count_unit or unit_vi
            value_kind = "int" if value_type == "flag" else "dec1"
        else:
            note = KIND_NOTE_VI.get(kind, "") if is_total else ""
            value_kind = "dec1" if value_type == "decimal" else "int"
        cells = [number if is_total else None, code, label if is_total else ROW_LABEL_OF_TYPE[unit_type], unit_vi]
        kinds = ["center", "center", "wrap", "center"]
        cells += values
        kinds += [value_kind] * len(values)
        cells.append(note)
        kinds.append("wrap")
        layout.indicator_rows[(code, unit_type)] = writer.write(cells, kinds, bold=is_total)
    rate_rows = RATE_ROWS.get(name, [])
    if rate_rows:
        writer.section("Các chỉ số tính toán từ số liệu trên", n_cols)
        codes = sorted({r.rate_code for r in rate_rows})
        measures = {r.measure for r in rate_rows}
        available = {
            (rate_code, unit_type, measure): values
            for measure in measures
            for rate_code, unit_type, *values in con.execute(
                f"""
                select m.rate_code, m.unit_type,
                       {_period_columns(facts, measure=measure)}
                       {f", any_value(m.{measure}) filter (where m.period = 0) as p0" if with_window else ""}
                from mart_district_rate m
                where m.rate_code in (select unnest(?::varchar[]))
                group by m.rate_code, m.unit_type
                """,
                [codes],
            ).fetchall()
        }
        for rate in rate_rows:
            for unit_type in TYPE_ORDER if name == SHEET_PL1 else ("all",):
                values = available.get((rate.rate_code, unit_type, rate.measure))
                if values is None:
                    continue
                is_total = unit_type == "all"
                cells = [None, None, rate.label_vi if is_total else ROW_LABEL_OF_TYPE[unit_type], rate.unit_vi]
                cells += values
                cells.append(rate.note_vi if is_total else "")
                kinds = ["center", "center", "wrap", "center"] + [rate.kind] * len(values) + ["wrap"]
                layout.rate_rows[(rate.rate_code, rate.measure, unit_type)] = writer.write(cells, kinds, bold=is_total)
    return layout


def _chart_series(layout: AnnexLayout, row: int, name: str) -> dict:
    sheet = layout.writer.sheet.name
    first = layout.period_cols[min(p for p in layout.period_cols if p)]
    last = layout.period_cols[max(layout.period_cols)]
    return {
        "name": name,
        "categories": [sheet, layout.header_row, first, layout.header_row, last],
        "values": [sheet, row, first, row, last],
        "data_labels": {"value": True, "font": {"name": "Times New Roman", "size": 9}},
    }


def _style_chart(chart, title: str, y_title: str, y_format: str = "#,##0") -> None:
    font = {"name": "Times New Roman"}
    chart.set_title({"name": title, "name_font": font | {"size": 12, "bold": True}})
    chart.set_x_axis({"num_font": font, "name_font": font})
    chart.set_y_axis({"name": y_title, "num_format": y_format, "num_font": font, "name_font": font | {"bold": False}})
    chart.set_legend({"position": "bottom", "font": font})
    chart.set_size({"width": 760, "height": 360})


def add_annex_charts(book: xlsxwriter.Workbook, layouts: dict[str, AnnexLayout]) -> None:
    """Native charts that read the annex rows: attendances and sessions, settlement rate, legal access."""
    note = " (2017 từ 01/6; 2021 đến 01/6)"
    pl1 = layouts.get(SHEET_PL1)
    if pl1 and ("PB_LUOT", "all") in pl1.indicator_rows and ("PB_CUOC", "all") in pl1.indicator_rows:
        columns = book.add_chart({"type": "column"})
        columns.add_series(
            _chart_series(pl1, pl1.indicator_rows[("PB_LUOT", "all")], "Lượt người tham dự (trục trái)")
            | {"fill": {"color": "#4472C4"}}
        )
        line = book.add_chart({"type": "line"})
        line.add_series(
            _chart_series(pl1, pl1.indicator_rows[("PB_CUOC", "all")], "Số cuộc phổ biến (trục phải)")
            | {"y2_axis": True, "marker": {"type": "circle"}, "line": {"color": "#C00000"}}
        )
        columns.combine(line)
        _style_chart(columns, "Phổ biến pháp luật trực tiếp theo năm" + note, "Lượt người")
        line.set_y2_axis({"name": "Số cuộc", "num_format": "#,##0"})
        pl1.writer.sheet.insert_chart(pl1.writer.row + 1, 2, columns)
    pl2 = layouts.get(SHEET_PL2)
    if pl2 and ("mediation_settlement_rate", "value", "all") in pl2.rate_rows:
        chart = book.add_chart({"type": "line"})
        chart.add_series(
            _chart_series(pl2, pl2.rate_rows[("mediation_settlement_rate", "value", "all")], "Tỷ lệ hòa giải thành")
            | {"marker": {"type": "circle"}, "data_labels": {"value": True, "num_format": "0.0%"}}
        )
        _style_chart(chart, "Tỷ lệ hòa giải thành theo năm" + note, "Tỷ lệ", "0%")
        pl2.writer.sheet.insert_chart(pl2.writer.row + 1, 2, chart)
    pl3 = layouts.get(SHEET_PL3)
    if pl3 and ("CT_DAT", "all") in pl3.indicator_rows:
        chart = book.add_chart({"type": "column"})
        chart.add_series(
            _chart_series(pl3, pl3.indicator_rows[("CT_DAT", "all")], "Số xã, thị trấn đạt chuẩn")
            | {"fill": {"color": "#70AD47"}}
        )
        _style_chart(chart, "Xã, thị trấn đạt chuẩn tiếp cận pháp luật theo năm", "Số xã, thị trấn")
        pl3.writer.sheet.insert_chart(pl3.writer.row + 1, 2, chart)


# --- Phụ lục 4, 5 -----------------------------------------------------------------------------
def write_models(con: duckdb.DuckDBPyConnection, book, styles: Styles, facts: RunFacts) -> SheetWriter:
    """Phụ lục 4: every good model of every current report, by unit."""
    columns = [
        Column("STT", "center"),
        Column("Mã đơn vị", "center"),
        Column("Tên đơn vị", "text"),
        Column("Tên mô hình, cách làm", "wrap"),
        Column("Lĩnh vực", "text"),
        Column("Đối tượng", "text"),
        Column("Năm bắt đầu", "center"),
        Column("Kết quả", "wrap"),
        Column("Được nhân rộng", "center"),
    ]
    writer = SheetWriter(book, styles, SHEET_PL4, facts, "mô hình (mỗi dòng một mô hình).", columns)
    writer.header()
    rows = _stream(
        con,
        """
        select u.unit_code, u.unit_name, m.model_name, m.field, m.target_group, m.start_year, m.result, m.is_replicated
        from fact_model m join dim_unit u using (unit_code)
        order by u.unit_type desc, u.unit_code, m.row_number
        """,
    )
    for n, row in enumerate(rows, start=1):
        writer.write([n, *row])
    writer.finish()
    return writer


def write_awards(con: duckdb.DuckDBPyConnection, book, styles: Styles, facts: RunFacts) -> SheetWriter:
    """Phụ lục 5: the ranked collectives and individuals (proposals marked), then who is not eligible."""
    labels = award_component_labels()
    collective_columns = [
        Column("Xếp hạng", "center"),
        Column("Mã đơn vị", "center"),
        Column("Tên đơn vị", "text"),
        Column("Loại đơn vị", "text"),
        Column("Tổng điểm", "dec2"),
        *[Column(labels[("collective", c)], "dec1") for c in COLLECTIVE_COMPONENTS],
        Column("Đề xuất", "center"),
        Column("Tỷ lệ được đề xuất khi trọng số thay đổi", "pct"),
        Column("Lý do", "wrap"),
    ]
    writer = SheetWriter(
        book,
        styles,
        SHEET_PL5,
        facts,
        "điểm (thang 100); tỷ lệ tính bằng %. Đây là đề xuất để Chủ tịch UBND huyện xem xét, quyết định.",
        collective_columns,
    )
    writer.label("I. TẬP THỂ (xếp hạng các đơn vị đủ điều kiện)")
    writer.header()
    component_sql = ", ".join(COLLECTIVE_COMPONENTS)
    for row in _stream(
        con,
        f"""
        select rank, unit_code, unit_name, unit_type, score, {component_sql}, proposed, stability, reason_vi
        from mart_award_collective order by rank
        """,
    ):
        rank, code, name, unit_type, score, *rest = row
        components, (proposed, stability, reason) = (
            rest[: len(COLLECTIVE_COMPONENTS)],
            rest[len(COLLECTIVE_COMPONENTS) :],
        )
        writer.write(
            [
                rank,
                code,
                name,
                UNIT_TYPE_VI.get(unit_type, unit_type),
                score,
                *components,
                "Đề xuất" if proposed else None,
                stability,
                reason,
            ],
            bold=bool(proposed),
        )
    writer.blank()
    individual_columns = [
        Column("Xếp hạng", "center"),
        Column("Họ và tên", "text"),
        Column("Giới tính", "center"),
        Column("Chức vụ", "text"),
        Column("Đơn vị", "text"),
        Column("Tổng điểm", "dec2"),
        *[
            Column(labels[("individual", c)], "dec1")
            for c in ("sessions", "materials", "mediation", "years", "unit_score")
        ],
        Column("Đề xuất", "center"),
        Column("Tỷ lệ được đề xuất khi trọng số thay đổi", "pct"),
        Column("Lý do", "wrap"),
    ]
    writer.label("II. CÁ NHÂN (xếp hạng các cá nhân được đề nghị, đủ điều kiện)")
    writer.header(individual_columns, freeze=False)
    kinds = [c.kind for c in individual_columns]
    for row in _stream(
        con,
        """
        select rank, full_name, gender, position, unit_name, score, sessions_score, materials_score,
               mediation_score, years_score, unit_score, proposed, stability, reason_vi
        from mart_award_individual order by rank
        """,
    ):
        *head, proposed, stability, reason = row
        writer.write([*head, "Đề xuất" if proposed else None, stability, reason], kinds, bold=bool(proposed))
    writer.blank()
    ineligible_columns = [
        Column("STT", "center"),
        Column("Tập thể/Cá nhân", "center"),
        Column("Mã đơn vị", "center"),
        Column("Tên đơn vị", "text"),
        Column("Họ và tên", "text"),
        Column("Lý do không xét", "wrap"),
    ]
    writer.label("III. ĐƠN VỊ, CÁ NHÂN KHÔNG ĐỦ ĐIỀU KIỆN XÉT")
    writer.header(ineligible_columns, freeze=False)
    kinds = [c.kind for c in ineligible_columns]
    rows = _stream(
        con,
        """
        select candidate_kind, unit_code, unit_name, full_name, reason_vi from mart_award_ineligible
        order by candidate_kind desc, unit_code, full_name
        """,
    )
    for n, row in enumerate(rows, start=1):
        writer.write([n, *row], kinds)
    writer.finish()
    return writer


# --- submission status, detail, narratives ----------------------------------------------------
STATUS_SUMMARY_COLUMNS = [
    ("expected", "Phải báo cáo", "true"),
    ("received", "Đã gửi", "status <> 'missing'"),
    ("accepted", "Được tiếp nhận", "status = 'accepted'"),
    ("valid", "Hợp lệ (không có lỗi)", "status = 'accepted' and not has_errors"),
    ("late", "Nộp muộn", "status = 'accepted' and not on_time"),
    ("rejected", "Không tiếp nhận được", "status = 'rejected'"),
    ("missing", "Chưa gửi", "status = 'missing'"),
]


def status_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(group, expected, received, accepted, valid, late, rejected, missing) for all and each type."""
    counts = ", ".join(f"count(*) filter (where {cond}) as {key}" for key, _, cond in STATUS_SUMMARY_COLUMNS)
    return con.execute(
        f"""
        select coalesce(unit_type, 'all') as grp, {counts}
        from mart_submission_status
        group by grouping sets ((), (unit_type))
        order by grp = 'all' desc, grp = 'commune' desc, grp
        """
    ).fetchall()


def write_status(con: duckdb.DuckDBPyConnection, book, styles: Styles, facts: RunFacts) -> SheetWriter:
    """Tình hình gửi báo cáo: the counts by unit type, then one row per unit of the registry."""
    columns = [
        Column("STT", "center"),
        Column("Mã đơn vị", "center"),
        Column("Tên đơn vị", "text"),
        Column("Loại đơn vị", "text"),
        Column("Tình trạng", "text"),
        Column("Tệp báo cáo", "text"),
        Column("Ngày lập báo cáo", "date"),
        Column("Ngày nhận", "datetime"),
        Column("Đúng hạn", "center"),
        Column("Mức đầy đủ số liệu", "pct"),
        Column("Số lỗi", "int"),
        Column("Số cảnh báo", "int"),
        Column("Số tệp đã gửi", "int"),
    ]
    writer = SheetWriter(book, styles, SHEET_STATUS, facts, "đơn vị; ngày giờ nhận theo giờ Việt Nam.", columns)
    writer.label("Tổng hợp")
    summary_columns = [Column("Khối", "text")] + [Column(label, "int") for _, label, _ in STATUS_SUMMARY_COLUMNS]
    writer.header(summary_columns, freeze=False)
    kinds = [c.kind for c in summary_columns]
    for group, *counts in status_summary(con):
        writer.write([UNIT_TYPE_VI.get(group, "Toàn huyện"), *counts], kinds, bold=group == "all")
    writer.blank()
    writer.label("Chi tiết theo đơn vị")
    writer.header()
    rows = _stream(
        con,
        """
        select unit_code, unit_name, unit_type, status, file_name, reported_on, received_at, on_time,
               completeness, error_count, warning_count, files_received
        from mart_submission_status
        order by unit_type desc, unit_code
        """,
    )
    for n, (code, name, unit_type, status, file_name, reported_on, received_at, on_time, *rest) in enumerate(
        rows, start=1
    ):
        on_time_vi = None if on_time is None else ("Đúng hạn" if on_time else "Muộn")
        writer.write(
            [
                n,
                code,
                name,
                UNIT_TYPE_VI.get(unit_type, unit_type),
                STATUS_VI.get(status, status),
                file_name,
                reported_on,
                received_at,
                on_time_vi,
                *rest,
            ]
        )
    writer.finish()
    return writer


DETAIL_UNIT_LINE = "theo cột Đơn vị tính; ô trống là đơn vị không báo cáo số liệu."


def detail_columns(facts: RunFacts) -> list[tuple[str, Column]]:
    """The detail table's query columns and how each is shown."""
    return [
        ("unit_code", Column("Mã đơn vị", "center")),
        ("unit_name", Column("Tên đơn vị", "text")),
        ("unit_type", Column("Loại đơn vị", "unit_type")),
        ("indicator_code", Column("Mã số", "center")),
        ("label_vi", Column("Chỉ tiêu", "text")),
        ("unit_vi", Column("Đơn vị tính", "center")),
        *[(f"p{int(p)}", Column(label, "dec2")) for p, label in facts.periods],
        ("p0", Column("Cả giai đoạn", "dec2")),
        ("note", Column("Ghi chú (ô không có số liệu)", "text")),
    ]


def detail_sql(facts: RunFacts) -> str:
    status_case = (
        "case m.value_status " + " ".join(f"when '{k}' then '{v}'" for k, v in VALUE_STATUS_VI.items()) + " end"
    )
    return f"""
        select m.unit_code, any_value(m.unit_name) as unit_name, any_value(m.unit_type) as unit_type,
               m.indicator_code, any_value(i.label_vi) as label_vi, any_value(i.unit_vi) as unit_vi,
               any_value(i.value_type) as value_type,
               {_period_columns(facts)},
               any_value(m.value) filter (where m.period = 0) as p0,
               string_agg(p.label_vi || ': ' || {status_case}, '; ' order by m.period)
                   filter (where m.period <> 0 and m.value is null) as note
        from mart_unit_indicator m
        join dim_indicator i using (indicator_code)
        left join dim_period p on p.period = m.period
        group by m.unit_code, m.indicator_code
        order by any_value(m.unit_type) desc, m.unit_code, any_value(i.sort_order)
        """


def write_detail(
    con: duckdb.DuckDBPyConnection, book, styles: Styles, facts: RunFacts, csv_path: Path | None = None, rows: int = 0
) -> None:
    """Số liệu chi tiết: every unit's figures, one row per unit and indicator, years across
    (as a CSV file beside the workbook when `csv_path` is given)."""
    columns = detail_columns(facts)
    if csv_path is not None:
        copy_csv(con, detail_sql(facts), None, columns, csv_path)
        _pointer_sheet(book, styles, SHEET_DETAIL, facts, DETAIL_UNIT_LINE, csv_path, rows)
        return
    shown = [c if c.kind != "unit_type" else Column(c.header, "text") for _, c in columns]
    writer = SheetWriter(book, styles, SHEET_DETAIL, facts, DETAIL_UNIT_LINE, shown)
    writer.header()
    n_periods = len(facts.periods)
    for code, name, unit_type, indicator, label, unit_vi, value_type, *rest in _stream(con, detail_sql(facts)):
        values, note = rest[: n_periods + 1], rest[n_periods + 1]
        number_kind = "dec2" if value_type == "decimal" else "int"
        writer.write(
            [code, name, UNIT_TYPE_VI.get(unit_type, unit_type), indicator, label, unit_vi, *values, note],
            ["center", "text", "text", "center", "text", "center"] + [number_kind] * len(values) + ["text"],
        )
    writer.finish()


NARRATIVE_UNIT_LINE = "nội dung do đơn vị ghi (nguyên văn)."
NARRATIVE_SQL = """
    select dense_rank() over (order by q.sort_order) as question_no, q.question_vi, u.unit_code, u.unit_name,
           u.unit_type, n.answer
    from fact_narrative n
    join dim_question q using (question_code)
    join dim_unit u using (unit_code)
    order by q.sort_order, u.unit_type desc, u.unit_code
    """


def write_narratives(
    con: duckdb.DuckDBPyConnection, book, styles: Styles, facts: RunFacts, csv_path: Path | None = None, rows: int = 0
) -> None:
    """Tổng hợp đánh giá: every unit's answer to each question of 06_DANHGIA, grouped by
    question (as a CSV file with a question column when `csv_path` is given)."""
    columns = [
        Column("STT", "center"),
        Column("Mã đơn vị", "center"),
        Column("Tên đơn vị", "text"),
        Column("Loại đơn vị", "text"),
        Column("Nội dung đơn vị báo cáo", "wrap"),
    ]
    if csv_path is not None:
        copy_csv(
            con,
            NARRATIVE_SQL,
            None,
            [
                ("question_vi", Column("Nội dung đánh giá", "text")),
                ("unit_code", columns[1]),
                ("unit_name", columns[2]),
                ("unit_type", Column("Loại đơn vị", "unit_type")),
                ("answer", columns[4]),
            ],
            csv_path,
        )
        _pointer_sheet(book, styles, SHEET_NARRATIVE, facts, NARRATIVE_UNIT_LINE, csv_path, rows)
        return
    writer = SheetWriter(book, styles, SHEET_NARRATIVE, facts, NARRATIVE_UNIT_LINE, columns)
    writer.header()
    current: str | None = None
    number = 0
    for order, question, code, name, unit_type, answer in _stream(con, NARRATIVE_SQL):
        if question != current:
            writer.section(f"{order}. {question}")
            current, number = question, 0
        number += 1
        writer.write([number, code, name, UNIT_TYPE_VI.get(unit_type, unit_type), answer])
    writer.finish()


# --- traceability -----------------------------------------------------------------------------
def trace_refs(layouts: dict[str, AnnexLayout]) -> pd.DataFrame:
    """(indicator, unit type of a unit, period) -> the annex cells its figure is summed into."""
    rows = []
    for layout in layouts.values():
        for (code, row_type), row in layout.indicator_rows.items():
            for period, col in layout.period_cols.items():
                for unit_type in ("commune", "agency"):
                    if row_type in ("all", unit_type):
                        rows.append((code, unit_type, period, layout.writer.cell_ref(row, col), row_type != "all"))
    frame = pd.DataFrame(rows, columns=["indicator_code", "unit_type", "period", "ref", "is_type_row"])
    return (
        frame.sort_values(["is_type_row", "ref"])
        .groupby(["indicator_code", "unit_type", "period"], as_index=False)
        .agg(refs=("ref", "; ".join))
    )


TRACE_UNIT_LINE = (
    "theo chỉ tiêu. Lọc cột A (hoặc B) theo một ô của phụ lục để xem các số đã cộng vào ô đó; "
    "các tỷ lệ tính từ chính các số này."
)
TRACE_SQL = """
    with figures as (
        select f.*, u.unit_name, u.unit_type, i.label_vi, i.kind, i.value_type, i.sort_order,
               max(f.period) over (partition by f.unit_code, f.indicator_code) as last_period
        from fact_indicator f
        join dim_unit u using (unit_code)
        join dim_indicator i using (indicator_code)
        where f.value is not null and i.sheet in (select unnest(?::varchar[]))
    )
    select y.refs as year_refs, w.refs as window_refs, f.indicator_code, f.label_vi, p.label_vi as period_label,
           f.unit_code, f.unit_name, f.unit_type, f.value, s.file_name, f.sheet, f.cell, s.received_at,
           f.value_type
    from figures f
    join dim_period p using (period)
    join submission s using (file_sha256)
    join trace_refs_frame y
        on y.indicator_code = f.indicator_code and y.unit_type = f.unit_type and y.period = f.period
    left join trace_refs_frame w
        on w.indicator_code = f.indicator_code and w.unit_type = f.unit_type and w.period = 0
        and (f.kind = 'flow' or (f.kind = 'stock' and f.period = f.last_period))
    order by f.sort_order, f.period, f.unit_type desc, f.unit_code
    """


def trace_columns() -> list[tuple[str, Column]]:
    return [
        ("year_refs", Column("Ô của năm trong phụ lục", "text")),
        ("window_refs", Column("Ô cả giai đoạn trong phụ lục", "text")),
        ("indicator_code", Column("Mã số", "center")),
        ("label_vi", Column("Chỉ tiêu", "text")),
        ("period_label", Column("Năm", "center")),
        ("unit_code", Column("Mã đơn vị", "center")),
        ("unit_name", Column("Tên đơn vị", "text")),
        ("unit_type", Column("Loại đơn vị", "unit_type")),
        ("value", Column("Giá trị", "dec2")),
        ("file_name", Column("Tệp đơn vị gửi", "text")),
        ("sheet", Column("Sheet", "center")),
        ("cell", Column("Ô", "center")),
        ("received_at", Column("Ngày nhận tệp", "datetime")),
    ]


def write_trace(
    con: duckdb.DuckDBPyConnection,
    book,
    styles: Styles,
    facts: RunFacts,
    layouts: dict[str, AnnexLayout],
    max_rows: int = EXCEL_MAX_ROWS,
    csv_path: Path | None = None,
    rows: int = 0,
) -> None:
    """For every figure of Phụ lục 1-3: each unit cell summed into it, with its file, sheet and
    cell (as a CSV file beside the workbook when `csv_path` is given)."""
    columns = trace_columns()
    params = [list(ANNEX_SOURCE_SHEET.values())]
    con.register("trace_refs_frame", trace_refs(layouts))
    try:
        if csv_path is not None:
            copy_csv(con, TRACE_SQL, params, columns, csv_path)
            _pointer_sheet(book, styles, SHEET_TRACE, facts, TRACE_UNIT_LINE, csv_path, rows)
            return
        shown = [c if c.kind != "unit_type" else Column(c.header, "text") for _, c in columns]
        writer = SheetWriter(book, styles, SHEET_TRACE, facts, TRACE_UNIT_LINE, shown, max_rows=max_rows)
        writer.header()
        kinds = [c.kind for c in shown]
        for *row, value_type in _stream(con, TRACE_SQL, params):
            row[7] = UNIT_TYPE_VI.get(row[7], row[7])
            kinds[8] = "dec2" if value_type == "decimal" else "int"
            writer.write(row, kinds)
        writer.finish()
    finally:
        con.unregister("trace_refs_frame")


# --- the workbook -----------------------------------------------------------------------------
# Tables longer than this go to a CSV file beside the workbook (config outputs.max_rows_in_workbook):
# a district's tables are a few thousand rows; a national run's traceability is millions.
MAX_ROWS_IN_WORKBOOK = 50_000
CSV_FILES = {
    SHEET_DETAIL: "so-lieu-chi-tiet.csv",
    SHEET_NARRATIVE: "tong-hop-danh-gia.csv",
    SHEET_TRACE: "truy-xuat-nguon.csv",
}


def table_sizes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of the long tables, to decide where each goes."""
    sheets = list(ANNEX_SOURCE_SHEET.values())
    return {
        SHEET_DETAIL: con.execute(
            "select count(*) from (select distinct unit_code, indicator_code from mart_unit_indicator)"
        ).fetchall()[0][0],
        SHEET_NARRATIVE: con.execute("select count(*) from fact_narrative").fetchall()[0][0],
        SHEET_TRACE: con.execute(
            "select count(*) from fact_indicator f join dim_indicator i using (indicator_code) "
            "where f.value is not null and i.sheet in (select unnest(?::varchar[]))",
            [sheets],
        ).fetchall()[0][0],
    }


def write_report_workbook(
    warehouse: Path,
    path: Path,
    trace_max_rows: int = EXCEL_MAX_ROWS,
    max_rows_in_workbook: int = MAX_ROWS_IN_WORKBOOK,
    memory_limit: str = "",
) -> Path:
    """Write the report workbook at `path` from a warehouse file; returns the path. Tables
    longer than `max_rows_in_workbook` rows are written as CSV files beside it; DuckDB works
    within `memory_limit` (the run's `duckdb_memory_limit`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_reading(warehouse, memory_limit) as con:
        facts = read_run_facts(con)
        book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_date_format": NUMBER_FORMATS["date"],
            },
        )
        book.set_properties(
            {
                "title": "Báo cáo tổng kết PBGDPL 2017-2021: các phụ lục số liệu",
                "subject": facts.district,
                "author": "Phòng Tư pháp",
                "comments": f"tongket, lần chạy {facts.run_id}",
            }
        )
        styles = Styles(book)
        sizes = table_sizes(con)
        csv_path = {
            name: (path.parent / CSV_FILES[name] if rows > max_rows_in_workbook else None)
            for name, rows in sizes.items()
        }
        try:
            layouts = {name: write_annex(con, book, styles, facts, name) for name in ANNEX_SOURCE_SHEET}
            add_annex_charts(book, layouts)
            for layout in layouts.values():
                layout.writer.finish()
            write_models(con, book, styles, facts)
            write_awards(con, book, styles, facts)
            write_status(con, book, styles, facts)
            write_detail(con, book, styles, facts, csv_path[SHEET_DETAIL], sizes[SHEET_DETAIL])
            write_narratives(con, book, styles, facts, csv_path[SHEET_NARRATIVE], sizes[SHEET_NARRATIVE])
            write_trace(con, book, styles, facts, layouts, trace_max_rows, csv_path[SHEET_TRACE], sizes[SHEET_TRACE])
        finally:
            book.close()
    return path


def write_report_tables(
    warehouse: Path, run_dir: Path, max_rows_in_workbook: int = MAX_ROWS_IN_WORKBOOK, memory_limit: str = ""
) -> Path:
    """Write the run's report workbook into its output folder; returns the file."""
    return write_report_workbook(
        warehouse, run_dir / REPORT_FILE, max_rows_in_workbook=max_rows_in_workbook, memory_limit=memory_limit
    )


LATEST_DIR = "latest"
LATEST_MARKER = ".run_id"


def latest_run_id(outputs: Path) -> str | None:
    """The run whose outputs are in outputs/latest/ (None: there are none)."""
    try:
        return (outputs / LATEST_DIR / LATEST_MARKER).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def refresh_latest(outputs: Path, run_dir: Path) -> Path:
    """Replace outputs/latest/ with a copy of a run's folder (unless a later run is already there).

    The copy is made beside it and swapped in by renames, so `latest` is never half-written.
    """
    latest = outputs / LATEST_DIR
    marker = latest / LATEST_MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() > run_dir.name:
        return latest  # run ids start with their time: a later run has already published
    staging = outputs / f".{LATEST_DIR}-{run_dir.name}"
    retired = outputs / f".{LATEST_DIR}-old-{run_dir.name}"
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(run_dir, staging)
    (staging / LATEST_MARKER).write_text(run_dir.name, encoding="utf-8")
    if latest.exists():
        latest.rename(retired)
    staging.rename(latest)
    if retired.exists():
        shutil.rmtree(retired)
    return latest
