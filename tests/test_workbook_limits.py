"""Issue 12, item 5: a budget workbook upload is read once, by one streaming pass with limits and
a time budget, never by openpyxl; hostile workbooks (a shared-strings bomb, a huge claimed
dimension, very many cells, a flood of XML elements) are refused with a clear message, and a
read that runs out of time is refused too."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from scoring.services.applications import budget_workbook, xlsx_reader
from scoring.services.applications.budget_workbook import WorkbookError
from tests import apply_helpers as h
from tests.conftest import csrf_token_from

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


class _Competition:
    budget_years = 2


def _template() -> bytes:
    """A filled template: object code 100, $1,000.50 in year 1 and $2,000 in year 2."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(["Budget"])
    ws.append(["Object code", "Category", "Description", "Year 1", "Year 2"])
    ws.append([100, "Salaries", "Teachers", 1000.5, 2000])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _replace(data: bytes, parts: dict[str, str]) -> bytes:
    """``data`` with the named parts replaced (or added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            if item.filename not in parts:
                zf.writestr(item, src.read(item.filename))
        for name, xml in parts.items():
            zf.writestr(name, xml)
    return out.getvalue()


def _sheet_xml(rows: str, head: str = "") -> str:
    return f'<worksheet xmlns="{NS}">{head}<sheetData>{rows}</sheetData></worksheet>'


def _parse(data: bytes, **kw):
    return budget_workbook.parse(io.BytesIO(data), _Competition(), 2 * 1024 * 1024, **kw)


def _refusal(data: bytes, seconds: float = 600.0) -> str:
    """Why ``data`` is refused (with time to spare by default, so a loaded machine cannot turn
    a limit's message into the time budget's)."""
    with pytest.raises(WorkbookError) as caught:
        _parse(data, seconds=seconds)
    return " ".join(caught.value.problems)


def test_a_filled_template_is_read_exactly():
    parsed = _parse(_template())
    assert parsed.lines == {(100, 1): Decimal("1000.50"), (100, 2): Decimal("2000.00")}
    assert parsed.notes == {100: "Teachers"}


def test_a_million_shared_strings_in_a_small_file_is_refused():
    """The issue's file: ~40 KB on the wire, a million one-letter strings (17 MB unpacked)."""
    strings = f'<sst xmlns="{NS}">' + "<si><t>a</t></si>" * 1_000_000 + "</sst>"
    data = _replace(_template(), {"xl/sharedStrings.xml": strings})
    assert len(data) < 100_000
    assert "more than 10,000 text strings" in _refusal(data)


def test_a_huge_claimed_dimension_and_a_far_cell_are_harmless():
    """openpyxl sizes its reading by ``<dimension>``; the reader ignores it and keeps only the
    cells of the budget's rows and columns."""
    rows = (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Object code</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>Year 1</t></is></c>'
        '<c r="E2" t="inlineStr"><is><t>Year 2</t></is></c></row>'
        '<row r="3"><c r="A3"><v>200</v></c><c r="D3"><v>5</v></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    head = '<dimension ref="A1:XFD1048576"/>'
    data = _replace(_template(), {"xl/worksheets/sheet1.xml": _sheet_xml(rows, head)})
    assert _parse(data).lines == {(200, 1): Decimal("5.00")}


@pytest.mark.parametrize(
    "xml, message",
    [
        (_sheet_xml("<row>" + "<c><v>1</v></c>" * 50_001 + "</row>"), "more than 50,000 cells"),
        (_sheet_xml("<row/>" * 2_001), "more than 2,000 rows"),
        (_sheet_xml('<row><c t="s"><v>99999999999999999999</v></c></row>'), "damaged"),
        ("<worksheet><sheetData>", "damaged"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet>&a;</worksheet>', "damaged"),
    ],
)
def test_hostile_sheets_are_refused_with_what_is_wrong(xml, message):
    data = _replace(_template(), {"xl/worksheets/sheet1.xml": xml})
    assert message in _refusal(data)


def test_a_flood_of_xml_elements_is_refused_before_it_fills_memory():
    data = _replace(_template(), {"xl/worksheets/sheet1.xml": _sheet_xml("", "<x/>" * 2_001)})
    limits = xlsx_reader.Limits(max_elements=2_000, seconds=600)
    with pytest.raises(xlsx_reader.XlsxRefused, match="more than 2,000 XML elements"):
        xlsx_reader.read_sheet(data, "Budget", limits)
    assert xlsx_reader.Limits().max_elements == 250_000  # the default an upload gets


def test_a_read_that_runs_out_of_time_is_refused():
    data = _replace(_template(), {"xl/worksheets/sheet1.xml": _sheet_xml("<row/>" * 1_500)})
    assert "took too long to read" in _refusal(data, seconds=0.0)
    # The same file given time is read through (and then lacks its header).
    assert "no “Object code” header row" in _refusal(data, seconds=600.0)


def test_the_upload_is_opened_once_and_never_by_openpyxl(monkeypatch):
    opened: list[str] = []
    archives: list[int] = []

    class Counting(zipfile.ZipFile):
        def __init__(self, *args, **kw):
            archives.append(1)
            super().__init__(*args, **kw)

        def open(self, name, *args, **kw):
            opened.append(name if isinstance(name, str) else name.filename)
            return super().open(name, *args, **kw)

    def refuse(*args, **kw):
        raise AssertionError("openpyxl must not read an upload")

    data = _template()
    monkeypatch.setattr(xlsx_reader.zipfile, "ZipFile", Counting)
    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    assert _parse(data).lines
    assert len(archives) == 1
    assert len(opened) == len(set(opened)), opened  # each part streamed once
    assert "xl/worksheets/sheet1.xml" in opened


def test_the_applicant_is_told_why_the_bomb_was_refused_and_nothing_changes(app, client):
    world = h.make_world(app)
    token = h.login(client, world.emails["applicant"])
    app_id = h.create_draft(client, world, token)
    state = h.application_state(app, app_id)
    strings = f'<sst xmlns="{NS}">' + "<si><t>a</t></si>" * 1_000_000 + "</sst>"
    bomb = _replace(_template(), {"xl/sharedStrings.xml": strings})
    page = client.get(f"/apply/applications/{app_id}")
    response = client.post(
        f"/apply/applications/{app_id}/budget",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "workbook": (io.BytesIO(bomb), "budget.xlsx"),
        },
    )
    assert response.status_code == 400
    text = h.text(response)
    assert "The workbook was not used; nothing changed." in text
    # Refused at the 10,001st string; on a machine too loaded to get there within the time
    # budget, refused by the budget: either way with what to do.
    assert "more than 10,000 text strings" in text or "took too long to read" in text
    assert h.application_state(app, app_id) == state
