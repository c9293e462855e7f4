"""The budget workbook: an XLSX template to download, and the parser for a filled one.

Layout of the ``Budget`` sheet: a few title rows, then a header row (``Object code``,
``Category``, ``Description``, ``Year 1`` … ``Year N``) and one row per object code 100-900.
The parser finds the header row, reads every object-code row and reports every problem with the
sheet and cell at fault (``Budget!D7: …``), so the applicant can fix the file in one go.

Safety: an upload is read once, by :mod:`xlsx_reader` (a single streaming pass through defusedxml
with limits on the archive, the shared strings, rows, cells and XML elements, and a time budget,
:data:`PARSE_SECONDS`), never by openpyxl, which reads every shared string before it answers
(issue 12: a 42 KB file of a million one-letter strings held a web worker for 30 s). The template
is written with openpyxl. Every text cell we write is forced to the string type, and text that a
spreadsheet would read as a formula also gets Excel's quote prefix, so no exported cell is ever a
formula (OWASP "CSV injection").
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

import openpyxl
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from scoring.errors import InputError
from scoring.models import OBJECT_CODES, Application, Competition
from scoring.services.applications import xlsx_reader

SHEET = "Budget"
HEADER = "Object code"
FIRST_YEAR_COL = 4  # D
MAX_ROWS = 200
MAX_UNPACKED = 20 * 1024 * 1024
MAX_ENTRIES = 200
MAX_PROBLEMS = 25
#: Limits of an upload (``xlsx_reader.Limits``).
MAX_SHARED_STRINGS = 10_000
MAX_SHEET_ROWS = 2_000
MAX_CELLS = 50_000
#: The longest an upload may be read for (a web worker is never held longer).
PARSE_SECONDS = 5.0
TOO_BIG = (
    "This workbook holds too much ({what}); the budget template needs far less. "
    "Download the template again and copy only the budget into it."
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
NOT_XLSX = "This file is not an Excel workbook (.xlsx). Download the template and fill that in."
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def _configured_seconds() -> float:
    from scoring.runtime import app_config

    try:
        return float(app_config().get("WORKBOOK_PARSE_SECONDS", PARSE_SECONDS))
    except RuntimeError:  # outside the app (a script)
        return PARSE_SECONDS


#: What a refusal of the reader means for the applicant.
_REASONS = {
    "not xlsx": NOT_XLSX,
    "damaged": "This workbook cannot be read; it may be damaged. Save it again as .xlsx.",
    "too large once unpacked": (
        "This workbook is too large once unpacked; use the template with only the budget in it."
    ),
    "took too long to read": (
        "This workbook took too long to read, so it was not used. Download the template again "
        "and copy only the budget into it."
    ),
}


def parse(
    stream: BinaryIO, competition: Competition, max_bytes: int, *, seconds: float | None = None
) -> ParsedBudget:
    """Read a filled template, opening it once, within the limits and ``seconds`` (default: the
    ``WORKBOOK_PARSE_SECONDS`` setting, else :data:`PARSE_SECONDS`).

    :raise WorkbookError: listing every problem by sheet and cell (or why the file was refused).
    """
    data = stream.read(max_bytes + 1)
    if not data:
        raise WorkbookError(["The file is empty. Choose the filled workbook again."])
    if len(data) > max_bytes:
        raise WorkbookError([f"The workbook is larger than {max_bytes // (1024 * 1024)} MB."])
    limits = xlsx_reader.Limits(
        max_entries=MAX_ENTRIES,
        max_unpacked=MAX_UNPACKED,
        max_strings=MAX_SHARED_STRINGS,
        max_rows=MAX_SHEET_ROWS,
        max_cells=MAX_CELLS,
        keep_rows=MAX_ROWS,
        keep_cols=FIRST_YEAR_COL + 5 + 2,
        seconds=seconds if seconds is not None else _configured_seconds(),
    )
    try:
        sheet = xlsx_reader.read_sheet(data, SHEET, limits)
    except xlsx_reader.XlsxRefused as exc:
        reason = _REASONS.get(exc.reason) or TOO_BIG.format(what=exc.reason)
        raise WorkbookError([reason]) from None
    if SHEET not in sheet.sheetnames:
        found = ", ".join(f"“{n}”" for n in sheet.sheetnames) or "none"
        raise WorkbookError(
            [
                f"The workbook has no sheet named “{SHEET}” (sheets found: {found}). "
                "Start from the template."
            ]
        )
    return _read_rows(sheet, competition.budget_years)


def _cell(row: int, col: int) -> str:
    return f"{SHEET}!{openpyxl.utils.get_column_letter(col)}{row}"


def _get(sheet: xlsx_reader.Sheet, row: int, col: int) -> Any:
    return sheet.values.get((row, col))


def _read_rows(sheet: xlsx_reader.Sheet, years: int) -> ParsedBudget:
    values = sheet
    last_row = max((row for row, _ in sheet.values), default=0)
    header = next(
        (
            r
            for r in range(1, min(last_row, 30) + 1)
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
    for row in range(header + 1, last_row + 1):
        code = _object_code(values, row, years, problems)
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
            amount = _amount(values, row, FIRST_YEAR_COL + year - 1, problems)
            if amount is not None:
                lines[(code, year)] = amount
    if problems:
        raise WorkbookError(problems[:MAX_PROBLEMS])
    return ParsedBudget(lines, notes)


def _object_code(values, row: int, years: int, problems: list[str]) -> int | None:
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


def _amount(values, row: int, col: int, problems: list[str]) -> Decimal | None:
    value, formula = _get(values, row, col), (row, col) in values.formulas
    where = _cell(row, col)
    if formula and value is None:
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
