"""The budget workbook: the template opens in openpyxl, a filled one fills the budget, every
problem names its sheet and cell, nothing half-saves, and no exported cell is ever a formula."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import AuditEvent, School
from tests import apply_helpers as h


@pytest.fixture
def world(app):
    return h.make_world(app)


@pytest.fixture
def applicant(client, world):
    return h.login(client, world.emails["applicant"])


def _load(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def _upload(client, app_id, token, data: bytes, name="budget.xlsx"):
    return client.post(
        f"/apply/applications/{app_id}/budget",
        content_type="multipart/form-data",
        data={"csrf_token": token, "workbook": (io.BytesIO(data), name)},
    )


def _xlsx(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row_of(ws, code: int) -> int:
    return next(c.row for c in ws["A"] if c.value == code)


def test_the_template_is_an_xlsx_with_every_object_code_and_year(client, world, applicant):
    response = client.get(f"/apply/competitions/{world.competition_id}/budget-template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    ws = _load(response.data)["Budget"]
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Object code")
    assert header[:5] == ("Object code", "Category", "Description", "Year 1", "Year 2")
    codes = [c.value for c in ws["A"] if isinstance(c.value, int)]
    assert codes == [100, 200, 300, 400, 500, 600, 700, 800, 900]
    assert ws.cell(row=_row_of(ws, 500), column=2).value == "Other Purchased Services"


def test_a_filled_workbook_fills_the_budget_and_is_audited(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    exported = client.get(f"/apply/applications/{app_id}/budget.xlsx")
    wb = _load(exported.data)
    ws = wb["Budget"]
    assert ws.cell(row=_row_of(ws, 100), column=4).value == 50000  # the current budget is in it
    assert ws.cell(row=_row_of(ws, 100), column=3).value == "Two extended-day teachers"
    ws.cell(row=_row_of(ws, 100), column=5).value = None
    ws.cell(row=_row_of(ws, 600), column=4).value = 1234.56
    ws.cell(row=_row_of(ws, 600), column=5).value = "2,000.10"
    ws.cell(row=_row_of(ws, 600), column=3).value = "Books"
    ws.cell(
        row=ws.max_row + 1, column=1
    ).value = "Total"  # a totals row the applicant added: ignored
    response = _upload(client, app_id, applicant, _xlsx(wb))
    assert response.status_code == 302
    assert "Budget filled from the workbook: 4 amounts, total $103,234.66." in h.text(
        client.get(response.headers["Location"])
    )
    assert h.application_state(app, app_id)["budget"] == [
        (100, 1, Decimal("50000.00"), "Two extended-day teachers"),
        (300, 1, Decimal("50000.00"), "Coaching partner"),
        (600, 1, Decimal("1234.56"), "Books"),
        (600, 2, Decimal("2000.10"), "Books"),
    ]
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "application.budget_replace")
        )
        assert (
            event.before["budget_total"] == "150000.00"
            and event.after["budget_total"] == "103234.66"
        )
        assert event.note == "workbook budget.xlsx"


def test_every_problem_names_its_sheet_and_cell_and_nothing_changes(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    state = h.application_state(app, app_id)
    wb = _load(client.get(f"/apply/applications/{app_id}/budget.xlsx").data)
    ws = wb["Budget"]
    r100, r200, r300, r400 = (_row_of(ws, c) for c in (100, 200, 300, 400))
    ws.cell(row=r100, column=4).value = "ten"
    ws.cell(row=r200, column=5).value = -5
    ws.cell(row=r300, column=4).value = 10.005
    ws.cell(row=r400, column=4).value = "=1+1"  # a formula with no saved result
    ws.cell(row=r400, column=6).value = 99  # a third year in a 2-year budget
    ws.cell(row=ws.max_row + 1, column=1).value = 150
    ws.cell(row=ws.max_row + 1, column=1).value = 300
    ws.cell(row=ws.max_row, column=4).value = 1
    response = _upload(client, app_id, applicant, _xlsx(wb))
    assert response.status_code == 400
    page = h.text(response)
    assert "The workbook was not used; nothing changed." in page
    for expected in (
        f"Budget!D{r100}: “ten” is not an amount",
        f"Budget!E{r200}: -5 is negative",
        f"Budget!D{r300}: 10.005 has more than 2 decimal places",
        f"Budget!D{r400}: holds a formula with no saved result",
        f"Budget!F{r400}: this budget has 2 year(s)",
        f"Budget!A{ws.max_row - 1}: “150” is not an object code",
        f"Budget!A{ws.max_row}: object code 300 appears twice (also in row {r300})",
    ):
        assert expected in page, expected
    assert h.application_state(app, app_id) == state


def _bomb() -> bytes:
    data = io.BytesIO(_xlsx(openpyxl.Workbook()))
    with zipfile.ZipFile(data, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (21 * 1024 * 1024))
    return data.getvalue()


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _with_part(name: str, xml: str) -> bytes:
    """A workbook with a Budget sheet whose part ``name`` is replaced by ``xml``."""
    wb = openpyxl.Workbook()
    wb.active.title = "Budget"
    src = zipfile.ZipFile(io.BytesIO(_xlsx(wb)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            if item.filename != name:
                zf.writestr(item, src.read(item.filename))
        zf.writestr(name, xml)
    return out.getvalue()


def _many_strings() -> bytes:
    """Issue 12: a small file of very many one-letter shared strings."""
    body = "<si><t>a</t></si>" * 10_001
    return _with_part("xl/sharedStrings.xml", f'<sst xmlns="{_NS}">{body}</sst>')


def _sheet(rows: int, cells_per_row: int) -> bytes:
    row = "<row>" + "<c><v>1</v></c>" * cells_per_row + "</row>"
    xml = f'<worksheet xmlns="{_NS}"><sheetData>{row * rows}</sheetData></worksheet>'
    return _with_part("xl/worksheets/sheet1.xml", xml)


def _no_budget_sheet() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    return _xlsx(wb)


def _no_header() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Budget"
    wb.active["A1"] = "hello"
    return _xlsx(wb)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: b"", "The file is empty."),
        (lambda: h.minimal_pdf(), "This file is not an Excel workbook (.xlsx)."),
        (lambda: b"PK\x03\x04 broken zip", "This file is not an Excel workbook (.xlsx)."),
        (_no_budget_sheet, "The workbook has no sheet named “Budget” (sheets found: “Sheet1”)."),
        (_no_header, "Budget!A1:A30: no “Object code” header row was found."),
        (_bomb, "too large once unpacked"),
        (_many_strings, "more than 10,000 text strings"),
        (lambda: _sheet(2_001, 1), "more than 2,000 rows"),
        (lambda: _sheet(1_990, 26), "more than 50,000 cells"),
        (lambda: b"PK" + b"x" * (2 * 1024 * 1024), "The workbook is larger than 2 MB."),
    ],
)
def test_files_that_are_not_a_usable_workbook_are_refused_with_a_reason(
    app, client, world, applicant, make, message
):
    app.config["WORKBOOK_PARSE_SECONDS"] = 600  # the limits answer, not a loaded machine's clock
    app_id = h.create_draft(client, world, applicant)
    state, counts = h.application_state(app, app_id), h.row_counts(app)
    assert "This draft is complete" in h.text(client.get(f"/apply/applications/{app_id}"))
    response = _upload(client, app_id, applicant, make())
    assert response.status_code == 400
    assert message in h.text(response)
    assert "This draft is complete" not in h.text(response)  # never green after a refusal
    assert h.application_state(app, app_id) == state and h.row_counts(app) == counts


def test_no_file_chosen_says_so(client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    response = client.post(f"/apply/applications/{app_id}/budget", data={"csrf_token": applicant})
    assert "Choose the filled budget workbook" in h.text(client.get(response.headers["Location"]))


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-3+4",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\t=1",
    "＝1+1",
]


def test_formula_like_text_is_never_a_formula_in_any_export(app, client, world, applicant):
    with app.app_context():
        db.session.get(School, world.school_id).name = FORMULAS[0]
        db.session.commit()
    app_id = h.create_draft(
        client,
        world,
        applicant,
        note_100=FORMULAS[1],
        note_300=FORMULAS[4],
        b_500_1="0",
        note_500=FORMULAS[3],
    )
    with app.app_context():
        from scoring.models import Competition

        db.session.get(Competition, world.competition_id).title = FORMULAS[2]
        db.session.commit()
    for url in (
        f"/apply/applications/{app_id}/budget.xlsx",
        f"/apply/competitions/{world.competition_id}/budget-template.xlsx",
    ):
        data = client.get(url).data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml
        ws = _load(data)["Budget"]
        texts = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
        assert all(c.data_type == "s" for c in texts.values())
        risky = [c for v, c in texts.items() if v.startswith(("=", "+", "-", "@", "\t", "＝"))]
        assert all(c.quotePrefix for c in risky)
    exported = _load(client.get(f"/apply/applications/{app_id}/budget.xlsx").data)["Budget"]
    values = [c.value for row in exported.iter_rows() for c in row]
    assert (
        f"TIME-{app_id:05d} · {FORMULAS[0]}" in values
        and FORMULAS[4] in values
        and f"Budget — {FORMULAS[2]}" in values
    )
    # Round trip: the text comes back as text, not as a formula.
    response = _upload(
        client, app_id, applicant, client.get(f"/apply/applications/{app_id}/budget.xlsx").data
    )
    assert response.status_code == 302
    notes = {b[0]: b[3] for b in h.application_state(app, app_id)["budget"]}
    assert notes[100] == FORMULAS[1] and notes[300] == FORMULAS[4] and notes[500] == FORMULAS[3]


def test_no_upload_after_submission(app, client, world, applicant):
    app_id = h.create_draft(client, world, applicant)
    client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=applicant, submit_app="1"),
    )
    state = h.application_state(app, app_id)
    wb = _load(client.get(f"/apply/applications/{app_id}/budget.xlsx").data)
    response = _upload(client, app_id, applicant, _xlsx(wb))
    assert response.status_code == 409
    assert h.application_state(app, app_id) == state
