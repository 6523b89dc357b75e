"""A pathological workbook for the time-out tests, made in code."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl.utils import get_column_letter


def slow_workbook(path: Path, rows: int = 2000, cols: int = 200) -> Path:
    """A real, tiny (1 MB) .xlsx that passes every size check but keeps the reader busy for
    seconds: a 00_THONGTIN sheet of 400,000 cells sharing one formula with no cached value (as
    a script writes it), each expanded in turn."""
    last = get_column_letter(cols)
    letters = [get_column_letter(c) for c in range(1, cols + 1)]
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for r in range(1, rows + 1):
        parts.append(f'<row r="{r}">')
        for i, letter in enumerate(letters):
            if r == 1 and i == 0:
                parts.append(f'<c r="A1"><f t="shared" ref="A1:{last}{rows}" si="0">1+1</f></c>')
            else:
                parts.append(f'<c r="{letter}{r}"><f t="shared" si="0"/></c>')
        parts.append("</row>")
    parts.append("</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/></Types>',
        )
        book.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="00_THONGTIN" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        book.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return path
