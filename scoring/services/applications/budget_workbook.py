"""The budget workbook: an XLSX template to download, and the parser for a filled one.

Layout of the ``Budget`` sheet: a few title rows, then a header row (``Object code``,
``Category``, ``Description``, ``Year 1`` … ``Year N``) and one row per object code 100-900.
The parser finds the header row, reads every object-code row and reports every problem with the
sheet and cell at fault (``Budget!D7: …``), so the applicant can fix the file in one go.

Safety: openpyxl parses the XML through defusedxml (installed, and checked below); the archive's
entry count and unpacked size are checked before openpyxl opens it (zip bombs). Every text cell we
write is forced to the string type, and text that a spreadsheet would read as a formula also gets
Excel's quote prefix, so no exported cell is ever a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

import openpyxl
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml import DEFUSEDXML

from scoring.errors import InputError
from scoring.models import OBJECT_CODES, Application, Competition

SHEET = "Budget"
HEADER = "Object code"
FIRST_YEAR_COL = 4  # D
MAX_ROWS = 200
MAX_UNPACKED = 20 * 1024 * 1024
MAX_ENTRIES = 200
MAX_PROBLEMS = 25
#: Counted in the XML before openpyxl opens the workbook (openpyxl reads every shared string):
#: a 42 KB file of a million one-letter strings held a web worker for 30 s (issue 12).
MAX_SHARED_STRINGS = 10_000
MAX_SHEET_ROWS = 2_000
MAX_CELLS = 50_000
TOO_BIG = (
    "This workbook holds too much ({what}); the budget template needs far less. "
    "Download the template again and copy only the budget into it."
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
NOT_XLSX = "This file is not an Excel workbook (.xlsx). Download the template and fill that in."
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

assert DEFUSEDXML, "defusedxml must be installed so openpyxl parses uploads safely"


class WorkbookError(InputError):
    """The uploaded workbook has problems; ``problems`` lists each one with its sheet and cell."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems), "workbook")
        self.problems = problems


@dataclass(frozen=True)
class ParsedBudget:
    """A workbook's budget: amounts by (object code, year) and a note per object code."""

    lines: dict[tuple[int, int], Decimal]
    notes: dict[int, str]


# --- Export ----------------------------------------------------------------------------------


def safe_text(cell: Any, value: str) -> None:
    """Write ``value`` as text that no spreadsheet will evaluate."""
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True


HEADER_ROW = 5


def template(competition: Competition, application: Application | None = None) -> bytes:
    """The workbook for ``competition``, filled with ``application``'s budget when given."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    _write_titles(ws, competition, application)
    _write_lines(ws, competition, application)
    _layout(ws, competition.budget_years)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_titles(ws, competition: Competition, application: Application | None) -> None:
    years = competition.budget_years
    safe_text(ws["A1"], f"Budget — {competition.title}")
    ws["A1"].font = Font(bold=True, size=13)
    safe_text(
        ws["A2"],
        f"{application.ref} · {application.school.name}" if application else "New application",
    )
    safe_text(
        ws["A3"],
        f"Type amounts in dollars in the Year columns (years 1 to {years}). Keep column A "
        "and the header row as they are. Upload the file on the application page.",
    )
    headers = [HEADER, "Category", "Description"] + [f"Year {y}" for y in range(1, years + 1)]
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col)
        safe_text(cell, text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF2F6")


def _write_lines(ws, competition: Competition, application: Application | None) -> None:
    lines = {(b.object_code, b.year): b for b in application.budget_lines} if application else {}
    for offset, (code, category) in enumerate(OBJECT_CODES.items(), start=1):
        row = HEADER_ROW + offset
        ws.cell(row=row, column=1, value=code)
        safe_text(ws.cell(row=row, column=2), category)
        note = next(
            (b.description for (c, _), b in sorted(lines.items()) if c == code and b.description),
            "",
        )
        safe_text(ws.cell(row=row, column=3), note)
        for year in range(1, competition.budget_years + 1):
            cell = ws.cell(row=row, column=FIRST_YEAR_COL + year - 1)
            line = lines.get((code, year))
            cell.value = line.amount if line else None
            cell.number_format = "#,##0.00"


def _layout(ws, years: int) -> None:
    """Widths, frozen headers, and Excel's own check that amounts are numbers of 0 or more."""
    last = openpyxl.utils.get_column_letter(FIRST_YEAR_COL + years - 1)
    rule = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        error="Enter an amount of 0 or more dollars.",
        showErrorMessage=True,
    )
    rule.add(f"D{HEADER_ROW + 1}:{last}{HEADER_ROW + len(OBJECT_CODES)}")
    ws.add_data_validation(rule)
    for column, width in (("A", 12), ("B", 44), ("C", 48)):
        ws.column_dimensions[column].width = width
    for year in range(1, years + 1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(FIRST_YEAR_COL + year - 1)].width = 15
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=FIRST_YEAR_COL)


# --- Import ----------------------------------------------------------------------------------


def _open(data: bytes, data_only: bool):
    return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
            names = {e.filename for e in entries}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise WorkbookError([NOT_XLSX]) from exc
    if "xl/workbook.xml" not in names:
        raise WorkbookError([NOT_XLSX])
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise WorkbookError(
            [
                "This workbook is too large once unpacked; "
                "use the template with only the budget in it."
            ]
        )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in sorted(names):
            if name == "xl/sharedStrings.xml":
                _count(zf, name, {"si": (MAX_SHARED_STRINGS, "text strings")})
            elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                _count(zf, name, {"row": (MAX_SHEET_ROWS, "rows"), "c": (MAX_CELLS, "cells")})


def _count(zf: zipfile.ZipFile, name: str, limits: dict[str, tuple[int, str]]) -> None:
    """Stream ``name`` (defusedxml) and stop at the first element count over its limit."""
    from defusedxml.ElementTree import ParseError, iterparse

    counts = dict.fromkeys(limits, 0)
    try:
        with zf.open(name) as part:
            for _, element in iterparse(part, events=("end",)):
                tag = element.tag.rpartition("}")[2]
                if tag in counts:
                    counts[tag] += 1
                    limit, what = limits[tag]
                    if counts[tag] > limit:
                        raise WorkbookError([TOO_BIG.format(what=f"more than {limit:,} {what}")])
                    if tag != "c":
                        element.clear()
    except (ParseError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise WorkbookError(
            ["This workbook cannot be read; it may be damaged. Save it again as .xlsx."]
        ) from exc


def parse(stream: BinaryIO, competition: Competition, max_bytes: int) -> ParsedBudget:
    """Read a filled template. :raise WorkbookError: listing every problem by sheet and cell."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise WorkbookError(["The file is empty. Choose the filled workbook again."])
    if len(data) > max_bytes:
        raise WorkbookError([f"The workbook is larger than {max_bytes // (1024 * 1024)} MB."])
    _check_archive(data)
    try:
        values_wb, formulas_wb = _open(data, True), _open(data, False)
    except Exception as exc:  # openpyxl raises many types on damaged files; all mean "unreadable"
        raise WorkbookError(
            ["This workbook cannot be read; it may be damaged. Save it again as .xlsx."]
        ) from exc
    try:
        if SHEET not in values_wb.sheetnames:
            found = ", ".join(f"“{n}”" for n in values_wb.sheetnames) or "none"
            raise WorkbookError(
                [
                    f"The workbook has no sheet named “{SHEET}” (sheets found: {found}). "
                    "Start from the template."
                ]
            )
        width = FIRST_YEAR_COL + 5 + 2
        values = list(
            values_wb[SHEET].iter_rows(min_row=1, max_row=MAX_ROWS, max_col=width, values_only=True)
        )
        formulas = list(
            formulas_wb[SHEET].iter_rows(
                min_row=1, max_row=MAX_ROWS, max_col=width, values_only=True
            )
        )
    finally:
        values_wb.close()
        formulas_wb.close()
    return _read_rows(values, formulas, competition.budget_years)


def _cell(row: int, col: int) -> str:
    return f"{SHEET}!{openpyxl.utils.get_column_letter(col)}{row}"


def _get(rows: list[tuple], row: int, col: int) -> Any:
    if row - 1 >= len(rows) or col - 1 >= len(rows[row - 1]):
        return None
    return rows[row - 1][col - 1]


def _read_rows(values: list[tuple], formulas: list[tuple], years: int) -> ParsedBudget:
    header = next(
        (
            r
            for r in range(1, min(len(values), 30) + 1)
            if str(_get(values, r, 1) or "").strip().lower() == HEADER.lower()
        ),
        None,
    )
    if header is None:
        raise WorkbookError(
            [f"{SHEET}!A1:A30: no “{HEADER}” header row was found. Start from the template."]
        )
    problems: list[str] = []
    for year in range(1, years + 1):
        col = FIRST_YEAR_COL + year - 1
        if str(_get(values, header, col) or "").strip().lower() != f"year {year}":
            problems.append(f"{_cell(header, col)}: expected the header “Year {year}”.")
    lines: dict[tuple[int, int], Decimal] = {}
    notes: dict[int, str] = {}
    seen: dict[int, int] = {}
    for row in range(header + 1, len(values) + 1):
        code = _object_code(values, formulas, row, years, problems)
        if code is None:
            continue
        if code in seen:
            problems.append(
                f"{_cell(row, 1)}: object code {code} appears twice (also in row {seen[code]})."
            )
            continue
        seen[code] = row
        note = _get(values, row, 3)
        if note is not None and str(note).strip():
            notes[code] = str(note).strip()[:500]
        for year in range(1, years + 1):
            amount = _amount(values, formulas, row, FIRST_YEAR_COL + year - 1, problems)
            if amount is not None:
                lines[(code, year)] = amount
    if problems:
        raise WorkbookError(problems[:MAX_PROBLEMS])
    return ParsedBudget(lines, notes)


def _object_code(values, formulas, row: int, years: int, problems: list[str]) -> int | None:
    """The row's object code, or None for a blank row (problems are appended)."""
    raw = _get(values, row, 1)
    cells = [_get(values, row, c) for c in range(1, FIRST_YEAR_COL + years + 2)]
    if all(v is None or str(v).strip() == "" for v in cells):
        return None
    if isinstance(raw, str) and raw.strip().lower() in ("total", "totals", "grand total"):
        return None  # a totals row the applicant added; totals are computed here
    for col in range(FIRST_YEAR_COL + years, FIRST_YEAR_COL + years + 2):
        if _get(values, row, col) not in (None, ""):
            problems.append(
                f"{_cell(row, col)}: this budget has {years} year(s); leave columns after "
                f"“Year {years}” empty."
            )
    try:
        code = int(Decimal(str(raw).strip()))
        if Decimal(str(raw).strip()) != code:
            raise ValueError
    except (InvalidOperation, ValueError, TypeError, OverflowError):
        code = None
    if code not in OBJECT_CODES:
        shown = "" if raw is None else str(raw)[:40]
        problems.append(f"{_cell(row, 1)}: “{shown}” is not an object code; use 100, 200, … 900.")
        return None
    return code


def _amount(values, formulas, row: int, col: int, problems: list[str]) -> Decimal | None:
    value, formula = _get(values, row, col), _get(formulas, row, col)
    where = _cell(row, col)
    if isinstance(formula, str) and formula.startswith("=") and value is None:
        problems.append(f"{where}: holds a formula with no saved result; type the number instead.")
        return None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        problems.append(
            f"{where}: “{str(value)[:40]}” is not an amount; type dollars, like 12500.00."
        )
        return None
    text = str(value).strip().replace(",", "").replace("$", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        problems.append(
            f"{where}: “{str(value)[:40]}” is not an amount; type dollars, like 12500.00."
        )
        return None
    if amount < 0:
        problems.append(f"{where}: {value} is negative; amounts must be 0 or more.")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        problems.append(f"{where}: {value} has more than 2 decimal places; round it to the cent.")
        return None
    if amount > Decimal("999999999.99"):
        problems.append(f"{where}: {value} is too large.")
        return None
    return amount.quantize(Decimal("0.01"))
