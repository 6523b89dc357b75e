"""Finding the contract's content wherever a unit put it, and refusing to guess when it is
ambiguous (tasks.extract)."""

from __future__ import annotations

from tests.workbooks import COMMUNE, PB, book_for, expected_figures, figures, issues, messages, stage
from tongket.reference import PERIOD_YEARS
from tongket.sample.book_model import fig_tag

R14 = "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: "


def test_an_indicator_on_two_rows_is_not_guessed(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    sheet.put(*sheet.find(("code", PB, "TIN_BAI")), "PT_LUOT")  # a copied row, code not changed
    batch = stage(tmp_path, book)
    expected = {k: v for k, v in expected_figures(report).items() if k[1] not in ("PT_LUOT", "TIN_BAI")}
    assert figures(batch) == expected
    assert issues(batch) == [("R14", PB, "B15", "error"), ("R14", PB, "B16", "error"), ("R17", PB, None, "warning")]
    assert (
        messages(batch, "R14")
        == [R14 + "chỉ tiêu PT_LUOT xuất hiện ở nhiều dòng (15, 16); không xác định được dòng đúng"] * 2
    )
    staged = batch.figures[(batch.figures["indicator_code"] == "PT_LUOT") & (batch.figures["period"] != 0)]
    assert staged["value_status"].eq("unreadable").all() and staged["is_rejected"].all()


def test_a_row_with_figures_and_a_code_of_another_sheet_or_none(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    row = sheet.height + 1
    sheet.put(row, 1, "HG_TO")
    sheet.put(row, 5, 7)
    sheet.put(row + 1, 1, "PB_KHAC")
    sheet.put(row + 1, 6, 3)
    sheet.put(row + 2, 2, "Số người được trợ giúp pháp lý")
    sheet.put(row + 2, 7, 12)
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == [("R14", PB, f"B{r}", "error") for r in (row + 1, row + 2, row + 3)]
    assert messages(batch, "R14") == [
        R14 + f"dòng có số liệu nhưng không có mã số, tên chỉ tiêu không khớp danh mục; số liệu của dòng {row + 3} "
        "không được tiếp nhận",
        R14 + f"mã số 'HG_TO' thuộc biểu 02_HGCS; số liệu của dòng {row + 1} không được tiếp nhận",
        R14 + f"mã số 'PB_KHAC' không có trong danh mục chỉ tiêu; số liệu của dòng {row + 2} không được tiếp nhận",
    ]


def test_renamed_sheets_and_headers_typed_differently(tmp_path):
    report, book = book_for(COMMUNE)
    book.sheet(PB).name = "01 PBGDPL"
    book.sheet("02_HGCS").name = "02-hgcs"
    sheet = book.sheet("01 PBGDPL")
    header = sheet.row_of(("header", PB, "code"))
    sheet.put(*sheet.find(("header", PB, 2018)), 2018)  # a number, not text
    sheet.put(*sheet.find(("header", PB, 2019)), "Năm 2019")
    sheet.put(*sheet.find(("header", PB, "code")), "MÃ SỐ")
    sheet.put(*sheet.find(("header", PB, 0)), "Tổng cộng")
    assert sheet.row_of(("header", PB, 2018)) == header
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_a_sheet_without_the_total_column_is_read(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    col = sheet.col_of(("header", PB, 0))
    for line in sheet.rows:
        if len(line) > col:
            line[col] = None
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []
    assert not (batch.figures["sheet"].eq(PB) & batch.figures["period"].eq(0)).any()


def test_unit_code_typed_in_the_label_cell(tmp_path):
    report, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    r, c = info.find(("info_label", "unit_code"))
    info.put(r, c, "Mã đơn vị: 05287")
    info.put(*info.find(("info", "unit_code")), None)
    info.put(*info.find(("info", "unit_name")), "Tên gọi cũ không còn dùng")
    batch = stage(tmp_path, book)
    assert (batch.files.iloc[0]["unit_code"], batch.files.iloc[0]["matched_by"]) == (COMMUNE, "code")


def test_a_workbook_without_the_information_sheet(tmp_path):
    _, book = book_for(COMMUNE)
    book.remove_sheet("00_THONGTIN")
    batch = stage(tmp_path, book)
    assert issues(batch) == [("R16", None, None, "error")]
    assert messages(batch, "R16") == [
        "Tệp không đọc được hoặc không đúng mẫu: thiếu biểu 00_THONGTIN (thông tin đơn vị)"
    ]


def test_narrative_answers_found_by_question_text_when_codes_are_gone(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet("06_DANHGIA")
    for r in range(3, 8):
        sheet.put(r, 1, None)
    sheet.reorder_rows(3, [4, 3, 2, 1, 0])
    batch = stage(tmp_path, book)
    answers = dict(zip(batch.narratives["question_code"], batch.narratives["answer"]))
    assert answers == report.narratives


def test_figures_keep_their_cell_and_the_text_the_unit_typed(tmp_path):
    report, book = book_for(COMMUNE)
    book.sheet(PB).insert_rows(0, 2)
    sheet = book.sheet(PB)
    sheet.put(*sheet.find(fig_tag(PB, "PB_LUOT", 2019)), "1.654")
    batch = stage(tmp_path, book)
    row = batch.figures[(batch.figures["indicator_code"] == "PB_LUOT") & (batch.figures["period"] == 2019)].iloc[0]
    assert (row["cell"], row["raw_value"], row["value"], row["value_status"]) == ("G11", "1.654", 1654.0, "reported")
    assert report.figures[("PB_LUOT", 2019)] == 1654.0
    assert sorted(batch.figures.loc[batch.figures["indicator_code"] == "PB_LUOT", "period"]) == [0, *PERIOD_YEARS]


def test_figures_that_look_like_headers_in_the_first_rows_are_figures(tmp_path):
    """With the code cells left blank, the first indicator rows sit where a two-row header
    would: a 0 there is not the Tổng column and a 2021 is not the 2021 column."""
    report, book = book_for(COMMUNE)
    sheet = book.sheet("02_HGCS")
    for code in ("HG_TO", "HG_HGV"):
        sheet.put(*sheet.find(("code", "02_HGCS", code)), None)
    sheet.put(*sheet.find(fig_tag("02_HGCS", "HG_TO", 2017)), 0)
    sheet.put(*sheet.find(fig_tag("02_HGCS", "HG_HGV", 2018)), 2021)
    report.figures[("HG_TO", 2017)] = 0.0
    report.figures[("HG_HGV", 2018)] = 2021.0
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_two_sheets_that_could_both_be_one_contract_sheet(tmp_path):
    report, book = book_for(COMMUNE)
    draft = book_for(COMMUNE, seed=42)[1].sheet(PB)
    draft.name = "01 PBGDPL"
    book.sheets.append(draft)
    batch = stage(tmp_path, book)  # the exact name wins over a loose one
    assert figures(batch) == expected_figures(report)
    book.sheet(PB).name = "01-PBGDPL"
    batch = stage(tmp_path, ("again.xlsx", book))
    assert issues(batch) == [("R16", None, None, "error")]
    assert messages(batch, "R16") == [
        "Tệp không đọc được hoặc không đúng mẫu: có nhiều biểu có thể là biểu 01_PBGDPL ('01-PBGDPL', '01 PBGDPL'); "
        "không xác định được biểu đúng"
    ]
