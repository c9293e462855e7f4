"""The XLSX files are the same as before they were made faster: every part of the workbook
(sheets, styles, page setup; the creation time in docProps/core.xml aside) equals, byte for
byte, what the previous writer made of the same rows (``_previous_xlsx`` below: one
``isinstance`` chain and one format look-up per cell, as the writer was at 2a9836b), for the
award list, the board and the score detail, totals rows and continuation sheets included; and on
PostgreSQL the score detail read as the fast CSV reads it (``score_xlsx``) gives the sheet that
``scores.rows`` gives."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import delete, select, update

from scoring.extensions import db
from scoring.models import CriterionScore, RankingRun, Review, ReviewStatus
from scoring.services.exports import awards, jobs, scores, writers
from scoring.services.ranking import stability
from tests.staff_world import build, bundle_data


def _previous_xlsx(out, sheets) -> int:
    """The XLSX writer before it prepared each column's format (2a9836b), kept as the
    reference."""
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
        part, ws = 1, writers._xlsx_sheet(wb, sheet, sheet.title[:31], head, formats)
        kinds = [c.kind for c in sheet.columns]
        previous, r = None, 0
        for row in sheet.rows:
            if previous is not None:
                _previous_row(ws, r, previous, kinds, formats, None)
            if r == writers.XLSX_MAX_ROWS:
                part += 1
                title = f"{sheet.title[:24]} ({part})"
                ws = writers._xlsx_sheet(wb, sheet, title, head, formats)
                r = 0
            previous = row
            r += 1
            total += 1
        if previous is not None:
            last = (bold, bold_text) if sheet.totals else None
            _previous_row(ws, r, previous, kinds, formats, last)
    wb.close()
    return total


def _previous_row(ws, r, row, kinds, formats, last) -> None:
    for c, value in enumerate(row):
        kind = kinds[c]
        fmt = last[0].get(kind, last[1]) if last is not None else formats.get(kind)
        if value is None:
            if last is not None:
                ws.write_blank(r, c, None, fmt)
            continue
        if isinstance(value, str):
            ws.write_string(r, c, value, fmt)
        elif isinstance(value, bool):
            ws.write_string(r, c, "Yes" if value else "No", fmt)
        else:
            ws.write_number(r, c, float(value), fmt)


def parts(body: bytes) -> dict[str, bytes]:
    """Every part of a workbook but its creation time."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _sheets(run, kind: str, comments: bool = False) -> list[writers.Sheet]:
    if kind == "scores":
        rows = scores.rows(run, comments=comments)
        return [writers.Sheet("Score detail", scores.columns(comments), rows, landscape=True)]
    if kind == "board":
        return [writers.Sheet("Board", awards.BOARD_COLUMNS, awards.board_rows(run), totals=True)]
    return [writers.Sheet("Award list", awards.AWARD_COLUMNS, awards.award_rows(run), totals=True)]


def _same(run, kind: str, comments: bool = False) -> bytes:
    before, now = io.BytesIO(), io.BytesIO()
    n = _previous_xlsx(before, _sheets(run, kind, comments))
    assert writers.write_xlsx(now, _sheets(run, kind, comments)) == n > 0
    assert parts(now.getvalue()) == parts(before.getvalue()), kind
    return before.getvalue()


def _world(app):
    data = bundle_data()
    data["schools"][1]["name"] = '=HYPERLINK("http://evil.example/","click")'
    data["schools"][2]["name"] = " Spaced  school "
    data["schools"][3]["name"] = 'Beta, "Ünïcode"\nschool\x07'
    data["reviews"][0]["comments"] = {
        "need.data": '+1 strong, "quoted"\r\nuse of data; café',
        "need.gap": "-",
        "plan.goals": "line one\nline two",
    }
    return build(app, data=data)


def test_every_xlsx_is_the_previous_writers_file(any_app, monkeypatch):
    world = _world(any_app)
    with any_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        for kind in ("awards", "board", "scores"):
            _same(run, kind)
        _same(run, "scores", comments=True)
        monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 4)  # continuation sheets, totals last
        body = _same(run, "awards")
        assert "xl/worksheets/sheet2.xml" in parts(body)
        _same(run, "scores", comments=True)
        monkeypatch.setattr(writers, "XLSX_MAX_ROWS", awards.count(run))  # exactly full
        body = _same(run, "awards")
        assert "xl/worksheets/sheet2.xml" in parts(body)  # the totals row goes on
        monkeypatch.setattr(writers, "XLSX_MAX_ROWS", awards.count(run) + 1)
        assert "xl/worksheets/sheet2.xml" not in parts(_same(run, "awards"))


def _score_sheets(run_id: int, comments: bool) -> tuple[dict, dict]:
    run = db.session.get(RankingRun, run_id)
    slow, fast = io.BytesIO(), io.BytesIO()
    n = _previous_xlsx(slow, _sheets(run, "scores", comments))
    assert jobs.write(fast, run, "scores", "xlsx", comments=comments) == n > 0
    return parts(slow.getvalue()), parts(fast.getvalue())


def test_the_fast_score_detail_xlsx_is_the_row_writers(pg_app):
    world = _world(pg_app)
    with pg_app.app_context():
        for comments in (False, True):  # no stability yet: empty columns
            slow, fast = _score_sheets(world.run_id, comments)
            assert fast == slow, comments
        stability.compute_stability(world.run_id, resamples=50)
        submitted = db.session.scalars(
            select(Review.id).where(Review.status == ReviewStatus.SUBMITTED).order_by(Review.id)
        ).all()
        first = db.session.scalars(
            select(CriterionScore.id).where(CriterionScore.review_id == submitted[1])
        ).first()
        db.session.execute(delete(CriterionScore).where(CriterionScore.id == first))
        db.session.execute(
            update(CriterionScore)
            .where(CriterionScore.review_id == submitted[2])
            .values(points=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        for comments in (False, True):
            slow, fast = _score_sheets(world.run_id, comments)
            assert fast == slow, comments
        sheet = fast["xl/worksheets/sheet1.xml"].decode()
        assert ">yes</t>" in sheet or ">no</t>" in sheet  # the stability columns are filled
        assert '<t>+1 strong, "quoted"_x000D_\nuse of data; café</t>' in sheet  # text
