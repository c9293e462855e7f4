"""The printable award list draws exactly what it drew before its rows were made faster: every
page's content stream (each text at its position, in the same font subset) equals the one the
previous row drawer (``_previous_row`` below, as at 2a9836b) makes of the same run, with long
names and reasons cut over two lines, a word too long for its column and a staff exception."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import select

from scoring.core.wording import dollars, status_words
from scoring.extensions import db
from scoring.models import Application, RankingRun, User
from scoring.services.decisions.decisions import set_override
from scoring.services.exports import awards, pdf
from tests.staff_world import PREPARER, build, bundle_data


def _previous_row(doc, a: awards.AwardLine, mark: str) -> None:
    """One application as the drawer before this change drew it (the reference)."""
    values = (
        "" if a.rank is None else str(a.rank),
        a.ref,
        a.school,
        f"{a.district} ({a.district_code})",
        str(a.tier),
        awards.plain_number(a.priority_points),
        "" if a.final is None else awards.plain_number(a.final),
        dollars(a.requested),
        status_words(a.status) + mark,
        dollars(a.award),
        a.reason,
    )
    width = doc.measure
    cells = [
        pdf._split(width, doc.say(v), pdf.COLUMNS[i][1] - 2 * pdf.PAD)
        if i in pdf.WRAPPED
        else [doc.say(v)]
        for i, v in enumerate(values)
    ]
    height = pdf.LINE * max(len(c) for c in cells)
    if doc.get_y() + height > doc.h - 12:
        doc.add_page()
    y, x = doc.get_y() + pdf.BASELINE, doc.l_margin
    for (_, col, align), text in zip(pdf.COLUMNS, cells, strict=True):
        for k, line in enumerate(text):
            if line:
                left = x + col - pdf.PAD - width(line) if align == "R" else x + pdf.PAD
                doc.text(left, y + k * pdf.LINE, line)
        x += col
    doc.set_xy(doc.l_margin, y - pdf.BASELINE + height + 0.4)


class _PreviousRows:
    def __init__(self, doc) -> None:
        self.doc = doc
        doc.measure = pdf._measure(doc)

    def draw(self, a, mark) -> None:
        _previous_row(self.doc, a, mark)


def _pages(body: bytes) -> list[bytes]:
    return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(body)).pages]


def _body(run) -> bytes:
    out = io.BytesIO()
    pdf.write_pdf(out, run)
    return out.getvalue()


def _both(run, monkeypatch) -> tuple[list[bytes], list[bytes]]:
    now = io.BytesIO()
    n = pdf.write_pdf(now, run)
    with monkeypatch.context() as m:
        m.setattr(pdf, "_Rows", _PreviousRows)
        before = io.BytesIO()
        assert pdf.write_pdf(before, run) == n > 0
    return _pages(before.getvalue()), _pages(now.getvalue())


def test_the_pdf_draws_what_the_previous_drawer_drew(any_app, monkeypatch):
    data = bundle_data()
    data["schools"][0]["name"] = "The Very Long Named Regional Magnet School of Science " * 3
    data["schools"][1]["name"] = "Supercalifragilisticexpialidocious" * 3  # one long word
    data["schools"][2]["name"] = "École Ünïcode – “quoted” & (parens)"
    world = build(any_app, data=data)
    with any_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        set_override(
            run,
            db.session.scalar(select(Application.id).where(Application.ref == "T-002")),
            status="partially_funded",
            amount=Decimal("150000"),
            justification="reduced: double-counted staff costs " * 4,
            actor=db.session.scalar(select(User).where(User.email == PREPARER)),
        )
        db.session.commit()
        before, now = _both(run, monkeypatch)
        assert now == before and len(now) >= 1
        text = b"".join(now)
        assert b" Tj" in text and b"BT " in text
        reader = PdfReader(io.BytesIO(_body(run)))
        words = " ".join(page.extract_text() for page in reader.pages)
        assert "Partly funded *1" in words and "Justification: reduced" in words
        # many pages, the heads on each, and the rows drawn with the Helvetica fallback too
        monkeypatch.setattr(pdf, "LINE", 60.0)
        before, now = _both(run, monkeypatch)
        assert now == before and len(now) > 3
        # without DejaVu (Helvetica, Latin-1), a cut name ends in "..." (it failed on "…")
        monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())
        reader = PdfReader(io.BytesIO(_body(run)))
        words = " ".join(page.extract_text() for page in reader.pages)
        assert "fragilisticexpialidociousSuper..." in words
