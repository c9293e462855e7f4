"""The printable award list with long names and reasons cut over two lines, a word too long for
its column and a staff exception; on a machine without DejaVu (Helvetica, Latin-1 only) a cut
name ends in "..." (the export failed on "…" there)."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, RankingRun, User
from scoring.services.decisions.decisions import set_override
from scoring.services.exports import pdf
from tests.staff_world import PREPARER, build, bundle_data


def _words(run) -> str:
    out = io.BytesIO()
    assert pdf.write_pdf(out, run) > 0
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages)


def test_long_names_are_cut_with_the_fonts_ellipsis(any_app, monkeypatch):
    data = bundle_data()
    data["schools"][0]["name"] = "The Very Long Named Regional Magnet School of Science " * 3
    data["schools"][1]["name"] = "Supercalifragilisticexpialidocious" * 3  # one long word
    world = build(any_app, data=data)
    with any_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        set_override(
            run,
            db.session.scalar(select(Application.id).where(Application.ref == "T-002")),
            status="partially_funded",
            amount=Decimal("150000"),
            justification="reduced: double-counted staff costs",
            actor=db.session.scalar(select(User).where(User.email == PREPARER)),
        )
        db.session.commit()
        words = _words(run)
        assert "Partly funded *1" in words and "Justification: reduced" in words
        assert "T-002 Supercalifragilisticexpialidocious" in words and "…" in words
        monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())
        words = _words(run)
        assert "T-002 Supercalifragilisticexpialidocious" in words
        assert "..." in words and "…" not in words
