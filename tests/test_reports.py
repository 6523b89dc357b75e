"""The report workbook of a real run, read back with python-calamine (not the library that wrote
it) and compared figure by figure with the marts; charts and layout read back with openpyxl."""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.main import get_command

from tasks import reports
from tasks.reports import (
    RATE_ROWS,
    REPORT_FILE,
    ROW_LABEL_OF_TYPE,
    SHEET_DETAIL,
    SHEET_NARRATIVE,
    SHEET_PL1,
    SHEET_PL2,
    SHEET_PL3,
    SHEET_PL4,
    SHEET_PL5,
    SHEET_STATUS,
    SHEET_TRACE,
    STATUS_VI,
    UNIT_TYPE_VI,
)
from tests.conftest import query
from tests.outputs_inbox import HYPERLINK, NARRATIVE_TEXTS
from tongket.cli import app
from tongket.reference import rules

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHEETS = [
    SHEET_PL1,
    SHEET_PL2,
    SHEET_PL3,
    SHEET_PL4,
    SHEET_PL5,
    SHEET_STATUS,
    SHEET_DETAIL,
    SHEET_NARRATIVE,
    SHEET_TRACE,
]
TYPE_OF_ROW_LABEL = {label: unit_type for unit_type, label in ROW_LABEL_OF_TYPE.items()}


@pytest.fixture(scope="module")
def run(outputs_run):
    work, planted, _, run_dir = outputs_run
    return work / "tongket.duckdb", planted, run_dir


@pytest.fixture(scope="module")
def grids(run) -> dict[str, list[list]]:
    """Every sheet of the report as python-calamine reads it (rows from A1)."""
    _, _, run_dir = run
    book = CalamineWorkbook.from_path(str(run_dir / REPORT_FILE))
    try:
        return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in book.sheet_names}
    finally:
        book.close()


def blank(value) -> bool:
    return value == "" or value is None


def same(cell, expected) -> bool:
    """A cell read back equals a warehouse value (NULL = empty cell)."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return blank(cell)
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(cell, int | float) and cell == pytest.approx(expected, rel=1e-12, abs=1e-9)
    return cell == expected


def header_index(rows: list[list], first: str, second: str | None = None) -> int:
    return next(
        i for i, r in enumerate(rows) if r and r[0] == first and (second is None or (len(r) > 1 and r[1] == second))
    )


def period_columns(header: list, warehouse: Path) -> dict[int, int]:
    """Column index -> period (0 = the window) from the header labels of dim_period."""
    labels = dict(query(warehouse, "select label_vi, period from dim_period").itertuples(index=False))
    out = {}
    for c, text in enumerate(header):
        if text in labels:
            out[c] = int(labels[text])
        elif isinstance(text, str) and text.startswith("Cả giai đoạn"):
            out[c] = 0
    return out


def test_the_workbook_has_the_eight_tables_and_the_traceability_sheet(grids, run):
    _, _, run_dir = run
    assert list(grids) == SHEETS
    latest = run_dir.parent / "latest" / REPORT_FILE
    assert latest.read_bytes() == (run_dir / REPORT_FILE).read_bytes()


def test_every_sheet_says_its_period_units_and_source(grids, run):
    warehouse, planted, _ = run
    run_id = query(warehouse, "select run_id from ref_run_config").iloc[0, 0]
    for name, rows in grids.items():
        assert rows[0][0].startswith(reports.TITLES[name]), name
        assert rows[1][0] == "Huyện Lạc Sơn, Tỉnh Hoà Bình. Thời kỳ số liệu: 01/6/2017 - 01/6/2021.", name
        assert rows[2][0].startswith("Đơn vị tính: "), name
        assert f"lần chạy {run_id}" in rows[3][0] and "44/45 đơn vị" in rows[3][0], name
        assert rows[4][0] == f"Chưa có báo cáo được tiếp nhận (1 đơn vị): {planted.missing_name}.", name


def annex_rows(rows: list[list], warehouse: Path):
    """(code or None, label, unit type, {period: cell}) of each data row of an annex."""
    h = header_index(rows, "STT", "Mã số")
    columns = period_columns(rows[h], warehouse)
    current_total = None
    for row in rows[h + 1 :]:
        if all(blank(v) for v in row):
            break
        if blank(row[2]):  # the section row
            continue
        label = row[2]
        unit_type = TYPE_OF_ROW_LABEL.get(label, "all")
        if unit_type == "all":
            current_total = label
        yield (
            (row[1] or None),
            (label if unit_type == "all" else current_total),
            unit_type,
            {p: row[c] for c, p in columns.items()},
        )


@pytest.mark.parametrize("name", [SHEET_PL1, SHEET_PL2, SHEET_PL3])
def test_annex_figures_equal_the_district_marts(grids, run, name):
    warehouse, _, _ = run
    source_sheet = reports.ANNEX_SOURCE_SHEET[name]
    mart = query(
        warehouse,
        """
        select m.indicator_code, m.unit_type, m.period, m.value, i.reported_by
        from mart_district_indicator m join dim_indicator i using (indicator_code)
        where i.sheet = ?
        """,
        [source_sheet],
    )
    # an indicator only one type of unit reports has one row: its type's figures are the total's
    for r in mart[(mart["unit_type"] != "all") & (mart["reported_by"] != "all")].itertuples():
        total = mart[
            (mart["indicator_code"] == r.indicator_code) & (mart["unit_type"] == "all") & (mart["period"] == r.period)
        ]
        assert total["value"].iloc[0] == pytest.approx(r.value)
    mart = mart[(mart["unit_type"] == "all") | (mart["reported_by"] == "all")]
    expected = {(r.indicator_code, r.unit_type, r.period): r.value for r in mart.itertuples()}
    rates = query(warehouse, "select rate_code, unit_type, period, value, denominator from mart_district_rate")
    rate_values = {(r.rate_code, r.unit_type, r.period, "value"): r.value for r in rates.itertuples()}
    rate_values |= {(r.rate_code, r.unit_type, r.period, "denominator"): r.denominator for r in rates.itertuples()}
    rate_by_label = {r.label_vi: r for r in RATE_ROWS[name]}
    seen_figures, seen_rates = set(), 0
    for code, label, unit_type, cells in annex_rows(grids[name], warehouse):
        if code:
            for period, cell in cells.items():
                key = (code, unit_type, period)
                assert same(cell, expected.get(key)), (name, key, cell, expected.get(key))
                if not blank(cell):
                    seen_figures.add(key)
        else:
            rate = rate_by_label[label]
            for period, cell in cells.items():
                value = rate_values.get((rate.rate_code, unit_type, period, rate.measure))
                assert same(cell, value), (name, rate.rate_code, unit_type, period, cell, value)
                seen_rates += not blank(cell)
    # every district figure of the mart is in the annex (none left out)
    assert seen_figures == {k for k, v in expected.items() if v is not None and not math.isnan(v)}
    assert seen_rates > 0


def test_annex_1_shows_the_figures_by_kind_of_unit(grids, run):
    warehouse, _, _ = run
    rows = list(annex_rows(grids[SHEET_PL1], warehouse))
    pb_cuoc = {unit_type: cells for code, _, unit_type, cells in rows if code == "PB_CUOC"}
    assert set(pb_cuoc) == {"all", "commune", "agency"}
    assert pb_cuoc["all"][2019] == pb_cuoc["commune"][2019] + pb_cuoc["agency"][2019]
    # a stock's window figure is its last period's, not a sum
    tspl = next(cells for code, _, unit_type, cells in rows if code == "TSPL" and unit_type == "all")
    assert tspl[0] == tspl[2021]


def test_status_sheet_equals_mart_submission_status(grids, run):
    warehouse, planted, _ = run
    rows = grids[SHEET_STATUS]
    h = header_index(rows, "Khối")
    counts = query(
        warehouse,
        """
        select count(*) as expected, count(*) filter (where status <> 'missing') as received,
               count(*) filter (where status = 'accepted') as accepted,
               count(*) filter (where status = 'accepted' and not has_errors) as valid,
               count(*) filter (where status = 'accepted' and not on_time) as late,
               count(*) filter (where status = 'rejected') as rejected,
               count(*) filter (where status = 'missing') as missing
        from mart_submission_status
        """,
    ).iloc[0]
    assert rows[h + 1][0] == "Toàn huyện"
    assert [int(v) for v in rows[h + 1][1:8]] == [int(v) for v in counts]
    assert int(counts["missing"]) == 1 and int(counts["valid"]) == 42  # two units sent errors
    d = header_index(rows, "STT", "Mã đơn vị")
    mart = query(warehouse, "select * from mart_submission_status order by unit_type desc, unit_code")
    table = rows[d + 1 : d + 1 + len(mart)]
    assert len(table) == len(mart) == 45
    for row, unit in zip(table, mart.itertuples()):
        assert row[1] == unit.unit_code and row[2] == unit.unit_name
        assert row[3] == UNIT_TYPE_VI[unit.unit_type]
        assert row[4] == STATUS_VI[unit.status]
        if unit.status == "missing":
            assert all(blank(v) for v in row[5:10])
            continue
        assert row[5] == unit.file_name
        assert row[6] == unit.reported_on.date()
        assert row[7] == unit.received_at.to_pydatetime()
        assert row[8] == ("Đúng hạn" if unit.on_time else "Muộn")
        assert same(row[9], unit.completeness)
        assert [row[10], row[11], row[12]] == [unit.error_count, unit.warning_count, unit.files_received]
    names = {row[1]: row[2] for row in table}
    assert names[planted.hyperlink_unit] == HYPERLINK
    assert names[planted.missing_unit] == planted.missing_name


def test_detail_sheet_has_every_unit_figure(grids, run):
    warehouse, _, _ = run
    rows = grids[SHEET_DETAIL]
    h = header_index(rows, "Mã đơn vị", "Tên đơn vị")
    columns = period_columns(rows[h], warehouse)
    mart = query(warehouse, "select unit_code, indicator_code, period, value from mart_unit_indicator")
    expected = {(r.unit_code, r.indicator_code, r.period): r.value for r in mart.itertuples()}
    got = {}
    for row in rows[h + 1 :]:
        for c, period in columns.items():
            got[(row[0], row[3], period)] = row[c]
    for key, value in expected.items():
        assert same(got[key], value), (key, got[key], value)
    # the only cells with no mart row are the window of status indicators, left empty
    extra = {key for key in got.keys() - expected.keys()}
    assert extra and all(key[1] in ("CT_DAT", "CT_DIEM") and key[2] == 0 and blank(got[key]) for key in extra)


def test_rejected_figures_are_blank_and_explained_in_the_detail(grids, run):
    _, planted, _ = run
    rows = grids[SHEET_DETAIL]
    pb_cuoc = next(r for r in rows if r[0] == planted.text_unit and r[3] == "PB_CUOC")
    assert blank(pb_cuoc[8])  # 2019: 'abc' was rejected (R14)
    assert pb_cuoc[-1] == "2019: bị loại do lỗi"


def test_models_awards_and_narratives_equal_their_tables(grids, run):
    warehouse, planted, _ = run
    rows = grids[SHEET_PL4]
    h = header_index(rows, "STT", "Mã đơn vị")
    models = query(
        warehouse,
        """
        select m.unit_code, u.unit_name, m.model_name, m.field, m.target_group, m.start_year, m.result, m.is_replicated
        from fact_model m join dim_unit u using (unit_code) order by u.unit_type desc, m.unit_code, m.row_number
        """,
    )
    table = rows[h + 1 : h + 1 + len(models)]
    for row, model in zip(table, models.itertuples(index=False)):
        expected = [*model[:-1], "Có" if model[-1] else "Không"]
        assert all(same(a, b) for a, b in zip(row[1:], expected)), (row, expected)
    assert HYPERLINK in [row[3] for row in table if row[1] == planted.text_unit]

    rows = grids[SHEET_PL5]
    h = header_index(rows, "Xếp hạng", "Mã đơn vị")
    collective = query(warehouse, "select * from mart_award_collective order by rank")
    for row, unit in zip(rows[h + 1 :], collective.itertuples()):
        assert row[0] == unit.rank and row[1] == unit.unit_code and row[2] == unit.unit_name
        values = [unit.score, unit.reporting, unit.reach, unit.breadth, unit.mediation, unit.legal_access]
        assert all(same(a, b) for a, b in zip(row[4:10], values)), (row, values)
        assert row[11] == ("Đề xuất" if unit.proposed else "")
        assert same(row[12], unit.stability) and row[13] == unit.reason_vi
    h = header_index(rows, "Xếp hạng", "Họ và tên")
    individual = query(warehouse, "select * from mart_award_individual order by rank")
    for row, person in zip(rows[h + 1 :], individual.itertuples()):
        assert row[1] == person.full_name and row[4] == person.unit_name
        assert same(row[5], person.score) and same(row[10], person.unit_score)
        assert row[11] == ("Đề xuất" if person.proposed else "")
    proposed = [r[1] for r in rows[h + 1 : h + 1 + len(individual)] if r[11] == "Đề xuất"]
    assert proposed == list(individual[individual["proposed"]]["full_name"])

    rows = grids[SHEET_NARRATIVE]
    answers = query(
        warehouse,
        """
        select q.question_vi, n.unit_code, n.answer from fact_narrative n join dim_question q using (question_code)
        join dim_unit u using (unit_code) order by q.sort_order, u.unit_type desc, n.unit_code
        """,
    )
    sections = [r[0] for r in rows if isinstance(r[0], str) and re.match(r"^\d\. ", r[0])]
    assert sections == [f"{i}. {q}" for i, q in enumerate(answers["question_vi"].unique(), start=1)]
    data = [r for r in rows[header_index(rows, "STT", "Mã đơn vị") + 1 :] if isinstance(r[0], float)]
    assert [(r[1], r[4] if r[4] != "" else None) for r in data] == list(zip(answers["unit_code"], answers["answer"]))
    typed = [r[4] for r in data if r[1] == planted.text_unit]
    assert set(NARRATIVE_TEXTS.values()) <= set(typed)


def test_traceability_lists_the_cells_each_annex_figure_sums(grids, run):
    warehouse, _, _ = run
    rows = grids[SHEET_TRACE]
    h = header_index(rows, "Ô của năm trong phụ lục")
    trace = [r for r in rows[h + 1 :] if not blank(r[0])]
    facts = query(
        warehouse,
        """
        select f.unit_code, f.indicator_code, p.label_vi as period_label, f.value, f.sheet, f.cell, s.file_name
        from fact_indicator f join dim_period p using (period) join submission s using (file_sha256)
        where f.value is not null
        """,
    )
    expected = {(r.unit_code, r.indicator_code, r.period_label): r for r in facts.itertuples()}
    assert len(trace) == len(expected)
    for r in trace:
        fact = expected[(r[5], r[2], r[4])]
        assert same(r[8], fact.value) and (r[9], r[10], r[11]) == (fact.file_name, fact.sheet, fact.cell)
    # every annex figure is the sum (count of 1s, mean) of the trace rows that name its cell
    annex_cells = {name: grids[name] for name in (SHEET_PL1, SHEET_PL2, SHEET_PL3)}
    contributions: dict[str, list[float]] = {}
    for r in trace:
        for column in (0, 1):
            for ref in filter(None, r[column].split("; ")):
                contributions.setdefault(ref, []).append(r[8])
    checked = 0
    for ref, values in contributions.items():
        sheet, cell = ref.split("!")
        row, col = openpyxl.utils.cell.coordinate_to_tuple(cell)
        figure = annex_cells[sheet][row - 1][col - 1]
        code = annex_cells[sheet][row - 1][1]
        if code == "CT_DAT":
            assert figure == sum(v == 1 for v in values), ref
        elif code == "CT_DIEM":
            assert figure == pytest.approx(sum(values) / len(values)), ref
        else:
            assert figure == pytest.approx(sum(values)), ref
        checked += 1
    mart_figures = query(
        warehouse,
        """
        select count(*) from mart_district_indicator m join dim_indicator i using (indicator_code)
        where i.sheet in ('01_PBGDPL', '02_HGCS', '03_CTCPL') and m.value is not null
            and (m.unit_type = 'all' or i.reported_by = 'all')
        """,
    ).iloc[0, 0]
    assert checked == mart_figures


def test_charts_read_the_annex_rows(grids, run):
    warehouse, _, run_dir = run
    book = openpyxl.load_workbook(run_dir / REPORT_FILE)

    def row_of(sheet, code=None, label=None):
        """1-based row of an indicator's district total, or of a labelled row."""
        for i, r in enumerate(grids[sheet], start=1):
            if code and r[1] == code and r[2] not in TYPE_OF_ROW_LABEL:
                return i
            if label and r[2] == label:
                return i
        raise AssertionError((sheet, code, label))

    def refs(chart):
        charts = getattr(chart, "_charts", None) or [chart]
        return [(s.val.numRef.f, (s.cat.strRef or s.cat.numRef).f) for c in charts for s in c.series]

    def header_row(sheet):
        return header_index(grids[sheet], "STT", "Mã số") + 1

    (pl1,) = book[SHEET_PL1]._charts
    categories = f"'{SHEET_PL1}'!$E${header_row(SHEET_PL1)}:$I${header_row(SHEET_PL1)}"
    assert refs(pl1) == [
        (f"'{SHEET_PL1}'!$E${row_of(SHEET_PL1, 'PB_LUOT')}:$I${row_of(SHEET_PL1, 'PB_LUOT')}", categories),
        (f"'{SHEET_PL1}'!$E${row_of(SHEET_PL1, 'PB_CUOC')}:$I${row_of(SHEET_PL1, 'PB_CUOC')}", categories),
    ]
    (pl2,) = book[SHEET_PL2]._charts
    rate = row_of(SHEET_PL2, label="Tỷ lệ hòa giải thành")
    h2 = header_row(SHEET_PL2)
    assert refs(pl2) == [(f"'{SHEET_PL2}'!$E${rate}:$I${rate}", f"'{SHEET_PL2}'!$E${h2}:$I${h2}")]
    (pl3,) = book[SHEET_PL3]._charts
    met = row_of(SHEET_PL3, "CT_DAT")
    h3 = header_row(SHEET_PL3)
    assert refs(pl3) == [(f"'{SHEET_PL3}'!$E${met}:$I${met}", f"'{SHEET_PL3}'!$E${h3}:$I${h3}")]
    # the charted cells hold the mart's figures
    settled = query(
        warehouse,
        "select value from mart_district_rate where rate_code = 'mediation_settlement_rate' and unit_type = 'all' "
        "and period > 0 order by period",
    )["value"]
    assert grids[SHEET_PL2][rate - 1][4:9] == pytest.approx(list(settled))
    assert grids[SHEET_PL2][header_row(SHEET_PL2) - 1][4:9] == [
        "2017 (từ 01/6)",
        "2018",
        "2019",
        "2020",
        "2021 (đến 01/6)",
    ]


def test_layout_times_new_roman_formats_frozen_headers_a4_landscape(grids, run):
    _, _, run_dir = run
    book = openpyxl.load_workbook(run_dir / REPORT_FILE)
    sheet = book[SHEET_PL1]
    h = header_index(grids[SHEET_PL1], "STT", "Mã số") + 1
    header = sheet.cell(h, 3)
    assert header.font.name == "Times New Roman" and header.font.b
    assert header.alignment.horizontal == "center" and header.border.top.style == "thin"
    pb_luot = next(i for i, r in enumerate(grids[SHEET_PL1], start=1) if r[1] == "PB_LUOT")
    assert sheet.cell(pb_luot, 5).number_format == "#,##0"
    share = next(i for i, r in enumerate(grids[SHEET_PL1], start=1) if r[3] == "%")
    assert sheet.cell(share, 5).number_format == "0.0%"
    for name in SHEETS:
        ws = book[name]
        assert ws.freeze_panes is not None, name
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (1, None), name
        assert int(ws.page_setup.fitToHeight) == 0, name
        assert ws.column_dimensions["B"].width > 8, name
    assert book[SHEET_PL1].freeze_panes == f"A{h + 1}"
    # widths fit the content: the label column is wide, the STT column narrow
    assert book[SHEET_PL1].column_dimensions["C"].width > 3 * book[SHEET_PL1].column_dimensions["A"].width


def _xml_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith((".xml", ".rels"))}


def test_unit_typed_text_never_becomes_a_formula_or_a_link(grids, run):
    _, planted, run_dir = run
    files = [run_dir / REPORT_FILE, *sorted((run_dir / "phan-hoi").glob("*.xlsx"))]
    for path in files:
        parts = _xml_parts(path)
        for name, xml in parts.items():
            assert "<hyperlink" not in xml and "relationships/hyperlink" not in xml, (path.name, name)
            if name.startswith("xl/worksheets/sheet"):
                formulas = re.findall(r"<f[ >][^<]*</f>", xml)
                # the only formulas are those the unit wrote itself, in the copy of its workbook
                assert all("HYPERLINK" not in f and "SUM(A1:A2)" not in f for f in formulas), (path.name, formulas)
                if path.name == REPORT_FILE:
                    assert formulas == [], name
    book = openpyxl.load_workbook(run_dir / REPORT_FILE)
    found = 0
    for ws in book.worksheets:
        assert not ws._hyperlinks
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == HYPERLINK or cell.value in NARRATIVE_TEXTS.values():
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found += 1
    # the registry name (status, detail, narratives, traceability ...), a model and four answers
    assert found >= 8
    status = grids[SHEET_STATUS]
    assert [r[2] for r in status if r[1] == planted.hyperlink_unit] == [HYPERLINK]


def test_the_trace_continues_in_a_new_sheet_past_the_row_limit(run, tmp_path):
    warehouse, _, _ = run
    path = reports.write_report_workbook(warehouse, tmp_path / "r.xlsx", trace_max_rows=1500)
    book = CalamineWorkbook.from_path(str(path))
    names = [n for n in book.sheet_names if n.startswith(SHEET_TRACE[:20])]
    rows = 0
    for name in names:
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        h = header_index(grid, "Ô của năm trong phụ lục")
        assert len(grid) <= 1500
        rows += sum(1 for r in grid[h + 1 :] if not blank(r[0]))
    book.close()
    figures = query(warehouse, "select count(*) from fact_indicator where value is not null").iloc[0, 0]
    assert names[:2] == [SHEET_TRACE, f"{SHEET_TRACE} (2)"] and len(names) >= 3
    assert rows == figures


def test_tables_too_long_for_a_sheet_go_to_csv_files_beside_the_workbook(run, tmp_path):
    import csv

    warehouse, _, _ = run
    path = reports.write_report_workbook(warehouse, tmp_path / "r.xlsx", max_rows_in_workbook=100)
    sizes = query(
        warehouse,
        "select (select count(*) from (select distinct unit_code, indicator_code from mart_unit_indicator)) as detail, "
        "(select count(*) from fact_narrative) as narratives",
    ).iloc[0]
    with (tmp_path / "so-lieu-chi-tiet.csv").open(encoding="utf-8-sig", newline="") as handle:
        detail = list(csv.reader(handle))
    assert detail[0][:3] == ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị"]
    assert len(detail) - 1 == sizes["detail"]
    with (tmp_path / "tong-hop-danh-gia.csv").open(encoding="utf-8-sig", newline="") as handle:
        narratives = [row for row in csv.reader(handle)]
    answers = [row[4] for row in narratives if len(row) == 5][1:]
    assert len(answers) == sizes["narratives"]
    # a unit's answer typed as a formula is text in the CSV too (Excel would run `=...`)
    assert not [a for a in answers if a[:1] in ("=", "+", "-", "@")]
    assert {"'" + text for text in NARRATIVE_TEXTS.values()} <= set(answers)
    assert (tmp_path / "truy-xuat-nguon.csv").is_file()
    book = CalamineWorkbook.from_path(str(path))
    pointer = book.get_sheet_by_name(SHEET_DETAIL).to_python(skip_empty_area=False)
    book.close()
    notes = [r[0] for r in pointer if isinstance(r[0], str) and "so-lieu-chi-tiet.csv" in r[0]]
    assert notes == [
        f"Bảng này có {reports.vi_int(int(sizes['detail']))} dòng, quá dài cho một sheet: số liệu ở tệp "
        "so-lieu-chi-tiet.csv (cùng thư mục với tệp này; mở bằng Excel)."
    ]


def test_marts_dims_and_facts_are_exported_as_parquet(run):
    warehouse, _, run_dir = run
    folder = run_dir / "parquet"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        marts = [t for t in tables if t.startswith("mart_")]
        assert len(marts) >= 9
        for table in [*marts, "dim_unit", "fact_indicator", "submission", "validation_issue"]:
            path = folder / f"{table}.parquet"
            assert path.is_file(), table
            difference = con.execute(
                f"""
                select count(*) from (
                    (select * from {table} except all select * from read_parquet('{path}'))
                    union all
                    (select * from read_parquet('{path}') except all select * from {table})
                )
                """
            ).fetchone()[0]
            assert difference == 0, table
    assert not any(p.name.startswith(("stg_", "raw_", "ref_", "meta_")) for p in folder.iterdir())
    assert (run_dir.parent / "latest" / "parquet" / "mart_district_indicator.parquet").is_file()


def test_the_vietnamese_guide_names_the_real_commands():
    guide = (ROOT / "docs" / "huong-dan.md").read_text(encoding="utf-8")
    commands = set(get_command(app).commands)
    named = set(re.findall(r"\btongket ([a-z-]+)", guide))
    assert {"templates", "run"} <= named <= commands
    for option in ("--only-unit", "--rebuild-marts-only", "--registry", "--out"):
        assert option in guide
    for words in ("phan-hoi", "outputs/latest", REPORT_FILE, "Truy xuất nguồn số liệu", "Tình hình gửi báo cáo"):
        assert words in guide
    for rule in rules().values():  # every rule, with the message units read
        assert f"| {rule.id} | {'lỗi' if rule.severity == 'error' else 'cảnh báo'} | {rule.message_vi} |" in guide
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Outputs" in readme and "docs/huong-dan.md" in readme


@pytest.mark.parametrize("marked, replaced", [("20210820-010000-aaaaaa", True), ("20991231-235959-ffffff", False)])
def test_latest_is_swapped_whole_and_never_by_an_older_run(tmp_path, marked, replaced):
    outputs = tmp_path / "outputs"
    run_dir = outputs / "20210821-020000-bbbbbb"
    (run_dir / "phan-hoi").mkdir(parents=True)
    (run_dir / REPORT_FILE).write_text("new", encoding="utf-8")
    (run_dir / "phan-hoi" / "a.xlsx").write_text("fb", encoding="utf-8")
    latest = outputs / "latest"
    latest.mkdir()
    (latest / ".run_id").write_text(marked, encoding="utf-8")
    (latest / "stale.txt").write_text("old", encoding="utf-8")
    assert reports.refresh_latest(outputs, run_dir) == latest
    if replaced:
        assert sorted(p.name for p in latest.rglob("*")) == sorted([".run_id", REPORT_FILE, "a.xlsx", "phan-hoi"])
        assert (latest / ".run_id").read_text(encoding="utf-8") == run_dir.name
    else:
        assert (latest / "stale.txt").exists() and not (latest / REPORT_FILE).exists()
    assert sorted(p.name for p in outputs.iterdir()) == [run_dir.name, "latest"]
