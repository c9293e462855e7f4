"""Writers that stream rows into a file: CSV, XLSX (xlsxwriter's constant-memory mode).

Each writer takes an iterable of rows and writes them as they come, so a file of any size is
written in bounded memory. Text that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return; OWASP "CSV injection") is neutralised: in CSV it
gets a leading ``'``, in XLSX it is always a string cell (never a formula). Money is exact: two
decimals in CSV, numeric cells with a currency format in XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Data rows of one XLSX sheet (Excel's 1,048,576 rows less the header); more rows go on in a
#: continuation sheet "<title> (2)", ... (xlsxwriter would drop them silently).
XLSX_MAX_ROWS = 1_048_575

#: Column kinds: how a value is written and how wide its column is (characters).
WIDTHS = {"int": 7, "text": 12, "wide": 28, "reason": 40, "money": 15, "score": 9, "yes": 9}


@dataclass(frozen=True)
class Column:
    """A column: its heading, its kind (how values are written) and a width in characters."""

    name: str
    kind: str = "text"
    width: float | None = None

    @property
    def chars(self) -> float:
        """The column's width: the header wraps, so its longest word must fit."""
        return self.width or max(WIDTHS[self.kind], *(len(w) + 2 for w in self.name.split()))


@dataclass
class Sheet:
    """A sheet to stream: its title, columns and rows (lists of plain values), and whether its
    last row is a totals row (bold in XLSX)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    totals: bool = False
    landscape: bool = True

    @property
    def header(self) -> list[str]:
        """The column headings."""
        return [c.name for c in self.columns]


def neutralise(value: str) -> str:
    """Text that a spreadsheet would read as a formula, made inert with a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_START) else value


def cell_text(value: Any) -> str:
    """A value as CSV text: ``None`` empty, Decimal without exponent, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def write_csv(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UTF-8 CSV with a byte-order mark (so Excel reads accents right); returns the row count."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
        n += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return n


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A small CSV in memory."""
    buffer = io.BytesIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue()


def write_xlsx(out: IO[bytes] | str, sheets: Sequence[Sheet]) -> int:
    """An XLSX workbook, one sheet per :class:`Sheet`, written row by row in constant memory;
    column widths, number and currency formats, a frozen header repeated on every printed page,
    landscape and fit to the page width; a sheet longer than ``XLSX_MAX_ROWS`` goes on in
    continuation sheets. Returns the number of data rows written."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
    formats = {
        "money": wb.add_format({"num_format": '"$"#,##0.00'}),
        "score": wb.add_format({"num_format": "0.0000"}),
        "int": wb.add_format({"num_format": "0"}),
    }
    bold = {
        k: wb.add_format({"bold": True, "top": 1, "num_format": f.num_format})
        for k, f in formats.items()
    }
    bold_text = wb.add_format({"bold": True, "top": 1})
    total = 0
    for sheet in sheets:
        part, ws = 1, _xlsx_sheet(wb, sheet, sheet.title[:31], head, formats)
        kinds = [c.kind for c in sheet.columns]
        plain = [formats.get(k) for k in kinds]  # each column's format, chosen once
        put = _row_writer(ws, plain)
        rows = iter(sheet.rows)
        previous, r = next(rows, None), 1
        for row in rows:
            if r > XLSX_MAX_ROWS:  # the sheet is full: go on in the next one
                part += 1
                ws = _xlsx_sheet(wb, sheet, f"{sheet.title[:24]} ({part})", head, formats)
                put, r = _row_writer(ws, plain), 1
            put(r, previous)
            previous = row
            r += 1
            total += 1
        if previous is not None:
            if r > XLSX_MAX_ROWS:
                part += 1
                ws = _xlsx_sheet(wb, sheet, f"{sheet.title[:24]} ({part})", head, formats)
                r = 1
            if sheet.totals:  # the totals row: bold, blank cells formatted too
                _row_writer(ws, [bold.get(k, bold_text) for k in kinds], blank=True)(r, previous)
            else:
                _row_writer(ws, plain)(r, previous)
            total += 1
    wb.close()
    return total


def _xlsx_sheet(wb, sheet: Sheet, title: str, head, formats):
    """A new worksheet with the sheet's columns, header and page setup."""
    ws = wb.add_worksheet(title)
    for i, column in enumerate(sheet.columns):
        ws.set_column(i, i, column.chars, formats.get(column.kind))
    ws.freeze_panes(1, 0)
    ws.repeat_rows(0)
    ws.fit_to_pages(1, 0)
    ws.set_paper(1)  # US Letter
    if sheet.landscape:
        ws.set_landscape()
    ws.set_header("&L" + title.replace("&", "&&") + "&RPage &P of &N")
    for i, column in enumerate(sheet.columns):
        ws.write_string(0, i, column.name, head)
    return ws


def _row_writer(ws, fmts, blank: bool = False):
    """``put(r, row)``: writes a row's values with each column's prepared format: text a string
    cell (even when it starts with "="), ``True``/``False`` "Yes"/"No", a number a numeric cell;
    ``None`` nothing, or a formatted blank cell when ``blank`` (the totals row)."""
    string, number = ws.write_string, ws.write_number
    columns = tuple(enumerate(fmts))

    def put(r: int, row: Sequence[Any]) -> None:
        for (c, fmt), value in zip(columns, row, strict=True):
            kind = value.__class__
            if kind is str:
                string(r, c, value, fmt)
            elif kind is float:
                number(r, c, value, fmt)
            elif value is None:
                if blank:
                    ws.write_blank(r, c, None, fmt)
            elif kind is bool:
                string(r, c, "Yes" if value else "No", fmt)
            elif isinstance(value, str):
                string(r, c, value, fmt)
            else:
                number(r, c, float(value), fmt)

    return put
