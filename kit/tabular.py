"""Tables as downloads: CSV (UTF-8 with a BOM, so that Excel reads the Chinese right) and XLSX
(XlsxWriter in constant-memory mode, into a temporary file), each produced row by row from an
iterator so that a long table never sits in memory whole, and the header that makes either a
download with a Chinese file name (RFC 6266 / RFC 5987 ``filename*``).

Cells are written as text: a cell that begins like a formula (``=``, ``+``, ``-``, ``@``) is
kept from being run as one by a spreadsheet (CSV: a leading apostrophe; XLSX: written as a
string, never as a formula).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal

import xlsxwriter

Format = Literal["csv", "xlsx"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "xlsx")
CONTENT_TYPES: Final[dict[Format, str]] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM: Final = "\ufeff".encode()
CHUNK_BYTES = 64 * 1024
"""What a CSV answer gathers before it sends, and the size of each read of an XLSX file."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def safe_text(value: Cell) -> Cell:
    """A text cell a spreadsheet will not take for a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The table as CSV in UTF-8, the BOM first, in chunks of about ``CHUNK_BYTES``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    first = True
    for row in rows:
        writer.writerow([safe_text(cell) for cell in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield (BOM if first else b"") + buffer.getvalue().encode()
            first = False
            buffer.seek(0)
            buffer.truncate()
    yield (BOM if first else b"") + buffer.getvalue().encode()


def write_xlsx(
    path: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet: str = "Sheet1"
) -> int:
    """The table as an XLSX file at ``path``; the number of rows written. Constant-memory
    mode writes each row out as it comes (rows must come in order, as they do here)."""
    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "tmpdir": os.path.dirname(path) or None}
    )
    try:
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        for column, title in enumerate(header):
            worksheet.write_string(0, column, title, bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            for column, cell in enumerate(row):
                if isinstance(cell, int | float) and not isinstance(cell, bool):
                    worksheet.write_number(count, column, cell)
                elif cell is not None:
                    worksheet.write_string(count, column, str(cell))
        worksheet.freeze_panes(1, 0)
    finally:
        workbook.close()
    return count


def xlsx_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet: str = "Sheet1"
) -> Iterator[bytes]:
    """The table as XLSX: built in a temporary directory (a zip cannot be sent before it is
    whole), then read out in chunks; the files are gone once the last chunk is sent or the
    download is abandoned."""
    with tempfile.TemporaryDirectory(prefix="civicflow-export-") as folder:
        path = os.path.join(folder, "export.xlsx")
        write_xlsx(path, header, rows, sheet)
        with open(path, "rb") as built:
            while chunk := built.read(CHUNK_BYTES):
                yield chunk


def chunks(
    kind: Format, header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet: str = "Sheet1"
) -> Iterator[bytes]:
    return csv_chunks(header, rows) if kind == "csv" else xlsx_chunks(header, rows, sheet)


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename`` (Chinese included): an ASCII
    fallback for old clients, the real name as ``filename*``."""
    stem, dot, extension = filename.rpartition(".")
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in stem)
    quoted = urllib.parse.quote(filename, safe="")
    plain = f"{fallback or 'export'}{dot}{extension}"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quoted}"
