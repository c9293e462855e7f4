"""Caps and reasons in plain words (issue 10): a capped application's reason reaches its
applicant (status page and decision mail), the public list (which says why a rank is missing)
and the PDF; the staff home shows the official run, never a what-if run as the result.

Numbers are those of tests/fixtures/small_bundle.json (tests/test_staff_board.py): T-004 (tier 2)
is waitlisted because district 001 already has 2 awards (T-001, T-002); T-002 is partly funded
with the 350,000 that remained."""

from __future__ import annotations

import io
from csv import reader

from pypdf import PdfReader
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, OutboxMessage
from tests.staff_world import APPLICANT, APPROVER, PREPARER, build, login, post, rank_now, text_of

CAP = "district limit of 2 awards reached"


def test_a_capped_application_is_told_why_everywhere(app):
    world = build(app)
    staff = login(app, PREPARER)
    assert post(staff, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    assert post(login(app, APPROVER), f"/staff/runs/{world.run_id}/approve").status_code == 302
    assert post(staff, f"/staff/runs/{world.run_id}/publish").status_code == 302

    public = text_of(app.test_client().get(f"/public/awards/{world.slug}"))
    assert "Ranked but not funded" in public
    assert f"Rank 3: {CAP}" in public
    assert "at most 2 awards per district" in public
    assert "funded in part with the funds left" in public

    with app.app_context():
        t4 = db.session.scalar(select(Application).where(Application.ref == "T-004"))
        mail = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_addr == "principal-t-004@example.org")
        )
        assert f"Reason: {CAP}." in mail.body
        t4_id = t4.id
    applicant = login(app, APPLICANT)
    page = text_of(applicant.get(f"/apply/applications/{t4_id}"))
    assert "Why" in page and "District limit of 2 awards reached." in page

    pdf = staff.get(f"/staff/runs/{world.run_id}/export/awards.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    compact = " ".join(text.split())
    assert CAP in compact.split("T-004", 1)[1]  # the PDF's line of T-004 carries the reason
    csv = staff.get(f"/staff/runs/{world.run_id}/export/awards.csv").data.decode("utf-8-sig")
    header, *rows = list(reader(io.StringIO(csv)))
    t004 = dict(zip(header, next(r for r in rows if "T-004" in r), strict=True))
    assert t004["Reason"] == CAP


def test_the_staff_home_shows_the_official_run_not_a_what_if(app):
    world = build(app)  # official run: $900,000 awarded
    what_if = rank_now(app, world.competition_id, {"total_funds": "2500000"})
    staff = login(app, PREPARER)
    home = text_of(staff.get("/staff/"))
    assert f"run {world.run_id} · official" in home and f"run {what_if}" not in home
    assert "1 what-if run(s), not a result" in home
    board = text_of(staff.get(f"/staff/competitions/{world.competition_id}/board"))
    assert f"Run {world.run_id} official" in board


def test_confirmation_pages_say_what_will_happen_and_change_nothing(app):
    """Approve, publish, delete a section or a priority: a page first (GET changes nothing),
    saying exactly what will happen; only its form's POST acts. Staff only."""
    from scoring.models import AwardSlate, Priority, RubricSection, SlateStatus

    world = build(app)
    staff = login(app, PREPARER)
    assert post(staff, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    approver = login(app, APPROVER)
    page = text_of(approver.get(f"/staff/runs/{world.run_id}/approve"))
    assert "Approve this award list?" in page
    assert "3 award(s) totalling $900,000.00 of $900,000.00, 0 staff exception(s)" in page
    with app.app_context():
        assert db.session.scalar(select(AwardSlate.status)) == SlateStatus.PREPARED
    assert post(approver, f"/staff/runs/{world.run_id}/approve").status_code == 302
    page = text_of(staff.get(f"/staff/runs/{world.run_id}/publish"))
    assert "8 decision mail(s) go out, one per application of the run." in page
    assert f"/public/awards/{world.slug}" in page and "cannot be undone" in page
    with app.app_context():
        assert db.session.scalar(select(AwardSlate.status)) == SlateStatus.APPROVED
        assert db.session.scalar(select(OutboxMessage.id)) is None
        section_id = db.session.scalar(select(RubricSection.id))
        priority_id = db.session.scalar(select(Priority.id))
    assert "Delete the section" in text_of(staff.get(f"/staff/sections/{section_id}/delete"))
    assert "Delete the priority" in text_of(staff.get(f"/staff/priorities/{priority_id}/delete"))
    applicant = login(app, APPLICANT)
    for url in (
        f"/staff/runs/{world.run_id}/approve",
        f"/staff/runs/{world.run_id}/publish",
        f"/staff/sections/{section_id}/delete",
        f"/staff/priorities/{priority_id}/delete",
    ):
        assert applicant.get(url).status_code == 403
    assert staff.get("/staff/runs/999999/publish").status_code == 404
    assert staff.get("/staff/sections/999999/delete").status_code == 404
