"""The unit workbook, template version 1: sheet names, header texts and columns.

The template writer, the demo generator and the reader all take the layout from here, so a
header text is typed once. The reader finds things by these texts, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass

from tongket.reference import PERIOD_YEARS, periods

TEMPLATE_VERSION = "1"

SHEET_INFO = "00_THONGTIN"
SHEET_PBGDPL = "01_PBGDPL"
SHEET_HGCS = "02_HGCS"
SHEET_CTCPL = "03_CTCPL"
SHEET_MODELS = "04_MOHINH"
SHEET_NOMINATIONS = "05_DEXUAT_KT"
SHEET_NARRATIVE = "06_DANHGIA"
SHEETS = (
    SHEET_INFO,
    SHEET_PBGDPL,
    SHEET_HGCS,
    SHEET_CTCPL,
    SHEET_MODELS,
    SHEET_NOMINATIONS,
    SHEET_NARRATIVE,
)
INDICATOR_SHEETS = (SHEET_PBGDPL, SHEET_HGCS, SHEET_CTCPL)

SHEET_TITLES = {
    SHEET_INFO: "THÔNG TIN ĐƠN VỊ BÁO CÁO",
    SHEET_PBGDPL: "KẾT QUẢ PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT GIAI ĐOẠN 2017-2021",
    SHEET_HGCS: "KẾT QUẢ HÒA GIẢI Ở CƠ SỞ GIAI ĐOẠN 2017-2021",
    SHEET_CTCPL: "KẾT QUẢ XÂY DỰNG XÃ, THỊ TRẤN ĐẠT CHUẨN TIẾP CẬN PHÁP LUẬT",
    SHEET_MODELS: "MÔ HÌNH HAY, CÁCH LÀM HIỆU QUẢ",
    SHEET_NOMINATIONS: "ĐỀ XUẤT KHEN THƯỞNG TẬP THỂ, CÁ NHÂN",
    SHEET_NARRATIVE: "ĐÁNH GIÁ CHUNG",
}
PERIOD_NOTE = "Số liệu tính từ ngày 01/6/2017 đến ngày 01/6/2021"


def required_sheets(unit_type: str) -> tuple[str, ...]:
    """Sheets a unit of this type must send (R16 when one is missing)."""
    if unit_type == "commune":
        return (SHEET_INFO, SHEET_PBGDPL, SHEET_HGCS, SHEET_CTCPL)
    return (SHEET_INFO, SHEET_PBGDPL)


# --- 00_THONGTIN: label / value pairs -------------------------------------------------
@dataclass(frozen=True)
class InfoField:
    key: str
    label: str


INFO_FIELDS = (
    InfoField("unit_code", "Mã đơn vị"),
    InfoField("unit_name", "Tên đơn vị"),
    InfoField("unit_type", "Loại đơn vị"),
    InfoField("preparer", "Người lập biểu"),
    InfoField("phone", "Điện thoại"),
    InfoField("email", "Email"),
    InfoField("reported_on", "Ngày lập báo cáo"),
    InfoField("template_version", "Phiên bản mẫu"),
)
UNIT_TYPE_LABELS = {"commune": "UBND xã, thị trấn", "agency": "Cơ quan, ban, ngành, đoàn thể huyện"}
DATE_FORMAT_VI = "dd/mm/yyyy"

# --- indicator sheets -----------------------------------------------------------------
HEADER_STT = "STT"
HEADER_CODE = "Mã số"
HEADER_LABEL = "Chỉ tiêu"
HEADER_UNIT = "Đơn vị tính"
HEADER_TOTAL = "Tổng"
HEADER_NOTE = "Ghi chú"
# Folded header texts the reader accepts for the code, label and total columns.
CODE_HEADER_KEYS = ("ma so", "ma chi tieu", "ma")
LABEL_HEADER_KEYS = ("chi tieu", "noi dung", "ten chi tieu")
TOTAL_HEADER_KEYS = ("tong", "tong cong", "cong", "tong so", "tong giai doan")
TOTAL_PERIOD = 0  # the period number of the unit's own total (column Tổng) in staged figures


def period_headers(sheet: str) -> dict[int, str]:
    """Column header text of each period: 03_CTCPL counts calendar years."""
    if sheet == SHEET_CTCPL:
        return {year: str(year) for year in PERIOD_YEARS}
    return {p.period: p.label_vi for p in periods()}


def has_total_column(sheet: str) -> bool:
    return sheet != SHEET_CTCPL


def indicator_sheet_headers(sheet: str) -> list[str]:
    """The template's header row, left to right."""
    headers = [HEADER_STT, HEADER_CODE, HEADER_LABEL, HEADER_UNIT, *period_headers(sheet).values()]
    if has_total_column(sheet):
        headers.append(HEADER_TOTAL)
    headers.append(HEADER_NOTE)
    return headers


# --- list sheets: one record a row ----------------------------------------------------
@dataclass(frozen=True)
class ListColumn:
    key: str
    header: str
    kind: str  # text | int | year | yes_no | choice
    choices: tuple[str, ...] = ()

    @property
    def header_key(self) -> str:
        """The part of the header before any parenthesis, which the reader matches on."""
        return self.header.split("(")[0].strip()


YES, NO = "Có", "Không"
MODEL_COLUMNS = (
    ListColumn("model_name", "Tên mô hình", "text"),
    ListColumn("field", "Lĩnh vực", "text"),
    ListColumn("target_group", "Đối tượng", "text"),
    ListColumn("start_year", "Năm bắt đầu", "year"),
    ListColumn("result", "Kết quả", "text"),
    ListColumn("is_replicated", "Được nhân rộng (Có/Không)", "yes_no", (YES, NO)),
)
KIND_COLLECTIVE, KIND_INDIVIDUAL = "Tập thể", "Cá nhân"
FEMALE, MALE = "Nữ", "Nam"
NOMINATION_COLUMNS = (
    ListColumn("kind", "Loại (Tập thể/Cá nhân)", "choice", (KIND_COLLECTIVE, KIND_INDIVIDUAL)),
    ListColumn("full_name", "Họ tên hoặc tên tập thể", "text"),
    ListColumn("gender", "Giới tính (Nam/Nữ)", "choice", (MALE, FEMALE)),
    ListColumn("position", "Chức vụ", "text"),
    ListColumn("sessions", "Số cuộc đã trực tiếp phổ biến", "int"),
    ListColumn("materials", "Số tin bài, tài liệu đã biên soạn", "int"),
    ListColumn("cases_settled", "Số vụ việc hòa giải thành đã tham gia", "int"),
    ListColumn("years", "Số năm làm công tác PBGDPL", "int"),
    ListColumn("prior_awards", "Hình thức khen thưởng đã nhận", "text"),
    ListColumn("is_disciplined", "Bị kỷ luật trong giai đoạn (Có/Không)", "yes_no", (YES, NO)),
    ListColumn("summary", "Thành tích tóm tắt", "text"),
)
LIST_COLUMNS = {SHEET_MODELS: MODEL_COLUMNS, SHEET_NOMINATIONS: NOMINATION_COLUMNS}

# --- 06_DANHGIA: one question a row -----------------------------------------------------
NARRATIVE_HEADERS = ("STT", "Mã", "Nội dung đánh giá", "Ý kiến của đơn vị")
NARRATIVE_CODE_HEADER_KEYS = ("ma",)
NARRATIVE_ANSWER_HEADER_KEYS = ("y kien cua don vi", "y kien", "noi dung tra loi", "tra loi")
