"""Fuzzing the reader: hypothesis mutates valid unit workbooks and stages them for real.

The mutations: random cell values and types anywhere (numbers, negative and huge ones, text,
formula-looking text, dates, booleans, control characters), rows deleted and duplicated,
columns deleted and inserted, sheets deleted, duplicated and renamed, then, on the written
file, bytes of one XML part changed (the zip stays valid, its XML does not) or bytes of the
zip itself flipped, zeroed or cut off.

Whatever the file, staging (guard, read in the time-limited, memory-capped child process,
extract, validate) must return either figures that satisfy the schemas or a classified
rejection, and never raise, hang or load a figure that is not in the file:
- every issue has a rule id of reference/rules.csv, that rule's severity (R14's tolerated
  reading excepted) and a message that starts with the rule's Vietnamese message;
- a rejected file has at least one error issue;
- the figures loaded (not rejected, in scope, of a readable file) pass the pandera models
  again with no error;
- every figure's raw value is what the cell it names holds in the mutated file (read again
  here with python-calamine and the sheet XML), and its value is that cell's number, a
  reading of its text, or a sum of cells for a formula without a cached value.

`TONGKET_FUZZ_EXAMPLES` sets the number of examples (CI: 150, about 30 s); the long session is
`python -m tests.fuzz_long --examples 5000` (see RELIABILITY.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import python_calamine
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from schemas.rules import TOLERATED_READING_SEVERITY
from schemas.workbook import SHEETS
from tasks.ingest import FIGURE_COLUMNS, StagedWorkbook, WorkbookToRead, stage_batch
from tasks.parse import REPORTED
from tasks.read import match_sheet_name
from tasks.reader_process import IsolatedReader, timed_out_message
from tasks.validate import validate_figures
from tests.hostile_files import rewrite_zip
from tests.workbooks import DISTRICT, UNITS, ingest_context
from tongket.reference import rules
from tongket.sample.book_model import BookModel, Cell, SheetModel, book_from_report, write_book
from tongket.sample.content import generate_unit_report
from tongket.text import clean_text

EXAMPLES = int(os.environ.get("TONGKET_FUZZ_EXAMPLES", "150"))
TIMEOUT_SECONDS = 30  # a hang: a small workbook takes well under a second
MEMORY_MB = 1024


# --- mutations of the workbook model ---------------------------------------------------------------
cell_values = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from(["-", "x", "X", "1.300", "1 234", "12,5", "12 cuộc", "1.234,5", "0", "#REF!", "N/A", " 45 "]),
    st.sampled_from(["=SUM(E6:I6)", '=HYPERLINK("http://x","y")', "+84 912", "@A1", "-Không"]),
    st.text(max_size=40),
    st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)),
    st.booleans(),
)


def _sheet(book: BookModel, index: int) -> SheetModel:
    return book.sheets[index % len(book.sheets)]


def set_cell(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    row = data.draw(st.integers(0, sheet.height + 2))
    col = data.draw(st.integers(0, sheet.width + 2))
    old = sheet.get(row, col)
    value = data.draw(cell_values)
    sheet.put(row, col, Cell(value=value, tag=old.tag if old else None))
    return f"set {sheet.name}!{_address(row + 1, col + 1)}={value!r}"


def delete_row(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    if sheet.height == 0:
        return "noop"
    row = data.draw(st.integers(0, sheet.height - 1))
    sheet.merges = [m for m in sheet.merges if not m[0] <= row <= m[2]]
    sheet.delete_row(row)
    return f"delete row {sheet.name}!{row + 1}"


def duplicate_row(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    if sheet.height == 0:
        return "noop"
    row = data.draw(st.integers(0, sheet.height - 1))
    line = [None if c is None else Cell(value=c.value, formula=c.formula, style=c.style) for c in sheet.rows[row]]
    sheet.insert_rows(row + 1)
    sheet.rows[row + 1] = line
    return f"duplicate row {sheet.name}!{row + 1}"


def delete_column(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    if sheet.width == 0:
        return "noop"
    col = data.draw(st.integers(0, sheet.width - 1))
    for line in sheet.rows:
        if len(line) > col:
            del line[col]
    sheet.merges = [
        (r1, c1 - (c1 > col), r2, c2 - (c2 >= col)) for r1, c1, r2, c2 in sheet.merges if not c1 == c2 == col
    ]
    sheet.merges = [m for m in sheet.merges if m[1] <= m[3]]
    sheet.hidden_cols = {c - (c > col) for c in sheet.hidden_cols if c != col}
    return f"delete column {sheet.name}!{_address(1, col + 1)[:-1]}"


def insert_column(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    col = data.draw(st.integers(0, max(sheet.width, 1)))
    sheet.insert_cols(col)
    return f"insert column {sheet.name}!{_address(1, col + 1)[:-1]}"


def delete_sheet(book: BookModel, data) -> str:
    if len(book.sheets) < 2:
        return "noop"
    gone = book.sheets.pop(data.draw(st.integers(0, len(book.sheets) - 1)))
    book.active = 0
    return f"delete sheet {gone.name}"


def duplicate_sheet(book: BookModel, data) -> str:
    sheet = copy.deepcopy(_sheet(book, data.draw(st.integers(0, 50))))
    sheet.name = data.draw(st.sampled_from([f"{sheet.name} (2)", sheet.name.replace("_", " "), sheet.name.lower()]))
    if sheet.name.lower() in {s.name.lower() for s in book.sheets}:  # Excel ignores case
        return "noop"
    book.sheets.insert(data.draw(st.integers(0, len(book.sheets))), sheet)
    return f"duplicate sheet as {sheet.name}"


def rename_sheet(book: BookModel, data) -> str:
    sheet = _sheet(book, data.draw(st.integers(0, 50)))
    name = data.draw(st.sampled_from([*SHEETS, "Sheet1", sheet.name.replace("_", " "), sheet.name + "x"]))
    if name.lower() in {s.name.lower() for s in book.sheets}:
        return "noop"
    old, sheet.name = sheet.name, name
    return f"rename sheet {old} -> {name}"


MODEL_MUTATIONS = [
    set_cell,
    set_cell,
    set_cell,
    delete_row,
    duplicate_row,
    delete_column,
    insert_column,
    delete_sheet,
    duplicate_sheet,
    rename_sheet,
]


# --- mutations of the written bytes ----------------------------------------------------------------
POSITION = st.integers(0, 1 << 24)


def mutate_xml_part(path: Path, data) -> str:
    """Change a few bytes of one XML part and zip it again: a valid zip, broken or odd XML."""
    with zipfile.ZipFile(path) as archive:
        parts = sorted(n for n in archive.namelist() if n.endswith((".xml", ".rels")))
    part = data.draw(st.sampled_from(parts))

    def edit(xml: bytes) -> bytes:
        xml = bytearray(xml)
        for _ in range(data.draw(st.integers(1, 4))):
            if not xml:
                break
            # positions are drawn independently of the part's length (it varies: the writer
            # stamps the time), so that hypothesis replays an example exactly
            at = data.draw(POSITION) % len(xml)
            kind = data.draw(st.sampled_from(["replace", "delete", "duplicate", "digit"]))
            span = data.draw(st.integers(1, 24))
            if kind == "replace":
                xml[at] = data.draw(st.sampled_from(b'<>/"=&;0123456789Az \x00\xff'))
            elif kind == "delete":
                del xml[at : at + span]
            elif kind == "duplicate":
                xml[at:at] = xml[at : at + span]
            else:  # a digit changed: row numbers, cell addresses, string indexes, values
                digits = [m.start() for m in re.finditer(rb"\d", bytes(xml))]
                replacement = data.draw(st.sampled_from(b"0123456789"))
                if digits:
                    xml[digits[at % len(digits)]] = replacement
        return bytes(xml)

    mutated = path.with_name("mutated" + path.suffix)
    rewrite_zip(path, mutated, {part: edit})
    os.replace(mutated, path)
    return f"xml bytes of {part}"


def mutate_bytes(path: Path, data) -> str:
    raw = bytearray(path.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "zero", "truncate", "insert"]))
    at = data.draw(POSITION) % len(raw)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            spot = data.draw(POSITION) % len(raw)
            raw[spot] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "zero":
        end = min(len(raw), at + data.draw(st.integers(1, 512)))
        raw[at:end] = bytes(end - at)
    elif kind == "truncate":
        del raw[at:]
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    path.write_bytes(bytes(raw))
    return f"zip bytes: {kind} at {at}"


class Case:
    """A mutated workbook: its model, file suffix, what was done to it (shown on failure)."""

    def __init__(self, book: BookModel, suffix: str, done: list[str], data: object) -> None:
        self.book, self.suffix, self.done = book, suffix, done
        self.data = data  # draws the byte mutations, once the file is written

    def __repr__(self) -> str:
        return f"Case({self.suffix}, {self.done})"


@st.composite
def mutated_workbooks(draw) -> Case:
    unit = draw(st.sampled_from(UNITS))
    seed = draw(st.integers(0, 10_000))
    book = book_from_report(generate_unit_report(unit, seed, DISTRICT))
    done = [f"unit {unit['unit_code']} seed {seed}"]
    data = draw(st.data())
    for mutation in draw(st.lists(st.sampled_from(MODEL_MUTATIONS), max_size=6)):
        done.append(mutation(book, data))
    _break_dangling_formulas(book)
    suffix = draw(st.sampled_from([".xlsx"] * 6 + [".xls", ".ods"]))
    return Case(book, suffix, done, data)


def _break_dangling_formulas(book: BookModel) -> None:
    """A formula whose cells were deleted shows #REF! (as in Excel, which keeps `=SUM(#REF!)`)."""
    for sheet in book.sheets:
        tags = {cell.tag for _, _, cell in sheet.cells() if cell.tag is not None}
        for r, c, cell in list(sheet.cells()):
            if cell.formula is not None and not set(cell.formula.tags) <= tags:
                sheet.put(r, c, Cell(value="#REF!", tag=cell.tag))


# --- the oracle ---------------------------------------------------------------------------------------------
def _grid(book: python_calamine.CalamineWorkbook, sheet: str) -> list[list]:
    """A contract sheet of the mutated file as python-calamine reads it (the exact name wins)."""
    names = book.sheet_names
    name = sheet if sheet in names else next(n for n in names if match_sheet_name(n) == sheet)
    return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _cell(grid: list[list], address: str):
    row, col = _place(address)
    if row <= len(grid) and col <= len(grid[row - 1]):
        return grid[row - 1][col - 1]
    return ""


def _readings(text: str) -> set[float]:
    """Every number a text can mean with any of '.', ',' and ' ' as separators (a superset of
    the reader's rules, for tracing a figure back to its cell)."""
    match = re.search(r"([-+]?)\s*(\d[\d., ]*)", text)
    if match is None:
        return {0.0} if text.strip() in {"-", "–", "—", "--"} else set()
    sign, body = match.groups()
    body = body.strip()
    found = set()
    for decimal in ("", ",", "."):
        digits = "".join(ch if ch.isdigit() else ("." if ch == decimal else "") for ch in body)
        try:
            found.add(float(digits) * (-1 if sign == "-" else 1))
        except ValueError:
            pass
    return found


def _cell_value(grid: list[list], address: str) -> float | None:
    raw = _cell(grid, address)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw)


def _formula_values(grid: list[list], formula: str) -> set[float]:
    """What a `SUM(...)`/`+` formula of cells and numbers adds up to, blanks and text as 0."""
    total = 0.0
    for term in formula.split("+"):
        inner = re.fullmatch(r"SUM\((.*)\)", term)
        for arg in inner.group(1).split(",") if inner else [term]:
            if re.fullmatch(r"\d+(\.\d+)?", arg):
                total += float(arg)
                continue
            ends = arg.replace("$", "").split(":")
            first, last = ends[0], ends[-1]
            (r1, c1), (r2, c2) = (_place(first), _place(last))
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    value = _cell_value(grid, _address(r, c))
                    total += value or 0.0
    return {total}


def _place(address: str) -> tuple[int, int]:
    letters, digits = re.match(r"([A-Z]+)(\d+)$", address).groups()
    col = 0
    for letter in letters:
        col = col * 26 + ord(letter) - 64
    return int(digits), col


def _address(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def check_traced(figures: pd.DataFrame, path: Path) -> None:
    """Every figure's raw value and value come from the cell it names in the file."""
    if figures.empty:
        return
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        grids = {sheet: _grid(book, sheet) for sheet in figures["sheet"].unique()}
    finally:
        book.close()
    for figure in figures.itertuples():
        raw = _cell(grids[figure.sheet], figure.cell)
        value = None if pd.isna(figure.value) else float(figure.value)
        where = f"{figure.sheet}!{figure.cell} raw {raw!r} -> {figure.raw_value!r} / {value}"
        if raw == "" and figure.raw_value.startswith("="):  # a formula without a cached value
            try:
                expected = _formula_values(grids[figure.sheet], figure.raw_value[1:])
            except (AttributeError, ValueError):
                expected = set()
            assert value is None or any(math.isclose(value, e, rel_tol=1e-9, abs_tol=1e-9) for e in expected), where
        elif isinstance(raw, bool):
            assert value is None, where
        elif isinstance(raw, (int, float)):
            assert value is None or value == float(raw), where
            assert figure.raw_value == (str(int(raw)) if float(raw).is_integer() else str(raw)), where
        elif isinstance(raw, str):
            assert figure.raw_value == clean_text(raw), where
            assert value is None or value in _readings(raw), where
        else:  # a date or time
            assert value is None, where
        if raw == "" and not figure.raw_value.startswith("="):
            assert value is None and figure.value_status != REPORTED, where


def check_classified(batch) -> str:
    """Issues as the catalogue says; a rejected file has an error; no time-out. The outcome."""
    catalogue = rules()
    for issue in batch.issues.itertuples():
        rule = catalogue[issue.rule_id]
        tolerated = issue.rule_id == "R14" and issue.severity == TOLERATED_READING_SEVERITY
        assert issue.severity == rule.severity or tolerated, issue
        assert issue.message.startswith(rule.message_vi), issue
    file = batch.files.iloc[0]
    errors = batch.issues[batch.issues["severity"] == "error"]
    assert file["read_status"] in ("readable", "rejected")
    timed_out = batch.issues["message"].str.endswith(timed_out_message(TIMEOUT_SECONDS))
    assert not timed_out.any(), "a workbook took longer than the time-out: a hang"
    if file["read_status"] == "rejected":
        assert len(errors) > 0
        return "rejected " + ",".join(sorted(set(errors["rule_id"])))
    return "readable"


def check_schemas(batch) -> None:
    """The figures that would be loaded pass the models again without an error."""
    file = batch.files.iloc[0]
    if file["read_status"] != "readable":
        return
    loaded = batch.figures[~batch.figures["is_rejected"] & batch.figures["is_in_scope"]]
    loaded = loaded[loaded["value_status"] == REPORTED].reset_index(drop=True)
    assert loaded["value"].map(math.isfinite).all()
    issues, rejected = validate_figures(
        loaded[list(FIGURE_COLUMNS)], {file["file_sha256"]: "f"}, {file["file_sha256"]: file["unit_type"]}, {}
    )
    errors = [i for i in issues if i.severity == "error"]
    assert errors == [] and not rejected.any(), errors[:3]


@pytest.fixture(scope="module")
def reader():
    with IsolatedReader(TIMEOUT_SECONDS, MEMORY_MB) as isolated:
        yield isolated


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # "explain" reruns too long
)
@given(case=mutated_workbooks(), byte_level=st.sampled_from(["none", "none", "xml", "bytes"]))
def test_a_mutated_workbook_is_read_right_or_rejected_with_a_rule(reader, case, byte_level):
    book, suffix, done, data = case.book, case.suffix, case.done, case.data
    ctx = ingest_context()
    with tempfile.TemporaryDirectory() as folder:
        path = write_book(book, Path(folder) / f"u{suffix}")
        if byte_level == "xml" and suffix != ".xls":
            done.append(mutate_xml_part(path, data))
        elif byte_level == "bytes":
            done.append(mutate_bytes(path, data))
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        raised: list[BaseException] = []

        def stage_one(item, ctx) -> StagedWorkbook:
            try:
                return reader.stage(item, ctx)
            except Exception as exc:
                raised.append(exc)
                raise

        batch = stage_batch([WorkbookToRead(sha, path.name, str(path))], ctx, stage_one=stage_one)
        assert raised == [], f"{done}: {raised!r}"
        outcome = check_classified(batch)
        event(outcome)
        check_schemas(batch)
        check_traced(batch.figures, path)


# --- what fuzzing found, kept as plain regression tests ------------------------------------------
def _with_member_bytes(source: Path, target: Path, member: str, change) -> Path:
    """A copy of a zip whose member's stored bytes (local header onwards) are changed in place."""
    raw = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    change(raw, start, info)
    target.write_bytes(bytes(raw))
    return target


def test_corrupt_compressed_data_is_a_broken_zip_not_a_crash(tmp_path):
    """Found by fuzzing: zlib raised `invalid stored block lengths` out of the guard (an
    unclassified "lỗi khi đọc tệp (error)" and a traceback)."""
    from tasks.guard import guard_file
    from tongket.settings import load_settings

    good = write_book(book_from_report(generate_unit_report(UNITS[0], 1, DISTRICT)), tmp_path / "good.xlsx")

    def garble(raw: bytearray, start: int, info) -> None:
        raw[start] = 0x00  # a stored block header whose lengths do not match
        raw[start + 1 : start + 5] = b"\x12\x34\x56\x78"

    bad = _with_member_bytes(good, tmp_path / "bad.xlsx", "xl/worksheets/sheet2.xml", garble)
    assert guard_file(bad, load_settings().limits).problem == "tệp nén bị hỏng hoặc không phải bảng tính"


def test_a_member_whose_crc_does_not_match_is_a_broken_zip_not_a_crash(tmp_path):
    """Found by fuzzing: the guard inflated members without checking their CRC, then
    zipfile raised `Bad CRC-32` reading [Content_Types].xml, out of the guard."""
    import struct

    from tasks.guard import guard_file
    from tongket.settings import load_settings

    good = write_book(book_from_report(generate_unit_report(UNITS[0], 1, DISTRICT)), tmp_path / "good.xlsx")
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("[Content_Types].xml")
    struct.pack_into("<I", raw, info.header_offset + 14, info.CRC ^ 1)  # local header
    for offset in [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(raw))]:
        name_length = struct.unpack_from("<H", raw, offset + 28)[0]
        if raw[offset + 46 : offset + 46 + name_length] == b"[Content_Types].xml":
            struct.pack_into("<I", raw, offset + 16, info.CRC ^ 1)  # central directory
    (tmp_path / "crc.xlsx").write_bytes(bytes(raw))
    assert (
        guard_file(tmp_path / "crc.xlsx", load_settings().limits).problem == "tệp nén bị hỏng hoặc không phải bảng tính"
    )


def test_a_member_named_differently_in_its_header_is_a_broken_zip_not_a_crash(tmp_path):
    """Found by the long fuzzing session: a zeroed byte in a member's own header made its name
    differ from the directory's; zipfile raised out of the guard. Readers that trust one name
    or the other would not read the same part: the guard now rejects it."""
    from tasks.guard import guard_file
    from tongket.settings import load_settings

    good = write_book(book_from_report(generate_unit_report(UNITS[0], 0, DISTRICT)), tmp_path / "good.xlsx")
    raw = bytearray(good.read_bytes())
    assert raw[30:49] == b"[Content_Types].xml"
    raw[30] = 0
    (tmp_path / "bad.xlsx").write_bytes(bytes(raw))
    assert (
        guard_file(tmp_path / "bad.xlsx", load_settings().limits).problem == "tệp nén bị hỏng hoặc không phải bảng tính"
    )
