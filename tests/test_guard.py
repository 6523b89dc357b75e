"""Files that must be rejected before a workbook library opens them (R16), and the proof that
the zip-bomb guard never inflates past the sizes a file declares."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tasks.guard import guard_file, ole_stream_names
from tests.workbooks import AGENCY, book_for, expected_figures, figures, issues, messages, stage
from tongket.sample.book_model import write_book
from tongket.sample.messy import MINIMAL_PDF, write_encrypted, write_oversized, write_zip_bomb
from tongket.settings import load_settings

LIMITS = load_settings().limits
R16 = "Tệp không đọc được hoặc không đúng mẫu: "


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    """A clean agency workbook, written once."""
    return write_book(book_for(AGENCY)[1], tmp_path_factory.mktemp("guard") / "clean.xlsx")


def _problem(path: Path, **limits) -> str | None:
    return guard_file(path, LIMITS.model_copy(update=limits)).problem


def test_a_clean_workbook_passes_and_its_format_is_recognised(workbook, tmp_path):
    result = guard_file(workbook, LIMITS)
    assert (result.file_format, result.problem) == ("xlsx", None)
    with zipfile.ZipFile(workbook) as archive:
        assert result.inflated_bytes == sum(i.file_size for i in archive.infolist())
    _, book = book_for(AGENCY)
    assert guard_file(write_book(book, tmp_path / "a.xlsm"), LIMITS).file_format == "xlsm"
    assert guard_file(write_book(book, tmp_path / "a.ods"), LIMITS).file_format == "ods"
    assert guard_file(write_book(book, tmp_path / "a.xls"), LIMITS).file_format == "xls"


def test_an_empty_file(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"")
    assert _problem(tmp_path / "a.xlsx") == "tệp rỗng (0 byte)"


def test_a_pdf_renamed_xlsx(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(MINIMAL_PDF)
    assert _problem(tmp_path / "a.xlsx") == "tệp PDF, không phải bảng tính Excel; đề nghị gửi tệp Excel theo mẫu"


def test_text_with_a_workbook_suffix_and_a_word_document(tmp_path):
    (tmp_path / "a.xlsx").write_text("Mã đơn vị;Tên đơn vị\n05287;Xã Tân Lập\n", encoding="utf-8")
    assert _problem(tmp_path / "a.xlsx") == "tệp có đuôi bảng tính nhưng nội dung không phải bảng tính"
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert _problem(tmp_path / "b.xlsx") == "tệp Word (.docx), không phải bảng tính Excel"


def test_an_encrypted_workbook(workbook, tmp_path):
    locked = write_encrypted(workbook, tmp_path / "locked.xlsx")
    assert "EncryptedPackage" in ole_stream_names(locked)
    assert _problem(locked) == "tệp được đặt mật khẩu (mã hóa), không mở được; đề nghị gửi lại tệp không đặt mật khẩu"


def test_a_legacy_xls_whose_directory_lies_beyond_the_first_megabyte(tmp_path):
    """xlwt writes the OLE directory at the end of the file: a guard that only looked at the
    first bytes would take a large .xls for something else."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    for r in range(20_000):
        for c in range(6):
            sheet.write(r, c, r * c + 0.5)
    book.save(str(tmp_path / "big.xls"))
    data = (tmp_path / "big.xls").read_bytes()
    assert len(data) > 1_200_000 and data.find("Workbook".encode("utf-16-le")) > 1_200_000
    assert guard_file(tmp_path / "big.xls", LIMITS).file_format == "xls"


def test_a_broken_ole_file(tmp_path):
    (tmp_path / "a.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert _problem(tmp_path / "a.xls") == "tệp Office cũ (OLE) bị hỏng, không đọc được"


def test_a_zip_bomb_is_rejected_from_its_directory_without_inflating(tmp_path):
    bomb = write_zip_bomb(tmp_path / "bomb.xlsx", 200)
    assert bomb.stat().st_size < 300_000
    result = guard_file(bomb, LIMITS)
    assert result.problem.startswith("tệp có tỷ lệ nén bất thường (")
    assert result.inflated_bytes == 0
    assert _problem(bomb, max_compression_ratio=10_000) == "tệp giải nén ra 210 MB, vượt giới hạn 150 MB"


def test_a_zip_bomb_that_lies_about_its_sizes_is_caught_after_one_chunk(tmp_path):
    """Its directory declares 4 KB; it inflates to 64 MB. The guard inflates each member only
    up to its declared size plus one chunk, so it stops after ~64 KB of output."""
    bomb = write_zip_bomb(tmp_path / "liar.xlsx", 64, declared_bytes=4096)
    with zipfile.ZipFile(bomb) as archive:
        assert sum(i.file_size for i in archive.infolist()) < 5000  # the directory looks harmless
    result = guard_file(bomb, LIMITS)
    assert result.problem == "tệp nén khai báo sai kích thước (giải nén ra nhiều hơn khai báo), có thể là tệp độc hại"
    assert result.inflated_bytes < 4096 + 2 * 65536  # not the 64 MB it holds


def test_limits_on_entries_and_total_size(workbook):
    assert _problem(workbook, max_zip_entries=3).startswith("tệp có ") and "vượt giới hạn 3" in _problem(
        workbook, max_zip_entries=3
    )
    assert _problem(workbook, max_uncompressed_mb=0.01).startswith("tệp giải nén ra 0 MB, vượt giới hạn 0.01 MB")


def test_a_file_far_larger_than_any_report(tmp_path):
    big = write_oversized(tmp_path / "scan.xlsx", 60)
    assert _problem(big) == "tệp lớn 60.0 MB, vượt giới hạn 20 MB"


def test_corrupt_and_strange_zips(workbook, tmp_path):
    data = workbook.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    assert _problem(tmp_path / "cut.xlsx") == "tệp nén bị hỏng hoặc không phải bảng tính"
    with zipfile.ZipFile(tmp_path / "bz.xlsx", "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert _problem(tmp_path / "bz.xlsx") == "tệp nén bị hỏng hoặc không phải bảng tính"
    with zipfile.ZipFile(tmp_path / "evil.xlsx", "w") as archive:
        archive.writestr("../../etc/cron.d/x", "boom")
    assert _problem(tmp_path / "evil.xlsx") == "tệp chứa đường dẫn không hợp lệ '../../etc/cron.d/x'"
    with zipfile.ZipFile(tmp_path / "enc.xlsx", "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    flagged = bytearray((tmp_path / "enc.xlsx").read_bytes())  # set the "encrypted" flag bit
    flagged[6] |= 0x1  # local header
    flagged[flagged.rindex(b"PK\x01\x02") + 8] |= 0x1  # central directory
    (tmp_path / "enc.xlsx").write_bytes(bytes(flagged))
    assert _problem(tmp_path / "enc.xlsx") == "tệp nén có thành phần được mã hóa"


def test_a_symlink_is_not_followed(workbook, tmp_path):
    (tmp_path / "link.xlsx").symlink_to(workbook)
    assert _problem(tmp_path / "link.xlsx") == "tệp là liên kết (symlink), không phải tệp thật"


def test_one_bad_file_never_stops_the_others(workbook, tmp_path):
    """Every kind of bad file in one batch with a good one: each bad file gets its R16, the
    good one loads every figure."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.xlsx").write_bytes(b"")
    (bad / "pdf.xlsx").write_bytes(MINIMAL_PDF)
    write_encrypted(workbook, bad / "locked.xlsx")
    write_zip_bomb(bad / "bomb.xlsx", 200)
    write_zip_bomb(bad / "liar.xlsx", 64, declared_bytes=4096)
    (bad / "cut.xlsx").write_bytes(workbook.read_bytes()[:3000])
    paths = sorted(bad.iterdir())
    report, book = book_for(AGENCY)
    batch = stage(tmp_path, *paths, book)
    assert list(batch.files["read_status"]) == ["rejected"] * len(paths) + ["readable"]
    assert issues(batch) == [("R16", None, None, "error")] * len(paths)
    assert figures(batch) == expected_figures(report)
    assert messages(batch, "R16")[0] == R16 + "tệp PDF, không phải bảng tính Excel; đề nghị gửi tệp Excel theo mẫu"
