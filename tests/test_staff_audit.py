"""The audit trail page: who did what and when, before and after; filters; CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, AuditEvent, User
from scoring.services import audit
from tests.staff_world import APPROVER, PREPARER, build, login, post, text_of


@pytest.fixture
def world(app):
    world = build(app)
    preparer = login(app, PREPARER)
    with app.app_context():
        app_id = db.session.scalar(select(Application.id).where(Application.ref == "T-002"))
        reviewer = db.session.scalar(select(User).where(User.email == "r1@example.org"))
        # what the reviewing side records (issue 5) shows here as any other event
        audit.record(
            "review.reopen",
            "review",
            7,
            actor=None,
            competition_id=world.competition_id,
            before={"status": "submitted"},
            after={"status": "draft"},
            note=f"Reopened for {reviewer.email}: score sheet mixed up",
        )
        db.session.commit()
    post(
        preparer,
        f"/staff/runs/{world.run_id}/overrides",
        {
            "application_id": str(app_id),
            "status": "partially_funded",
            "amount": "150000",
            "justification": "Reduced: the budget double-counts staff costs.",
        },
    )
    post(preparer, f"/staff/runs/{world.run_id}/prepare")
    post(login(app, APPROVER), f"/staff/runs/{world.run_id}/approve")
    world.staff = preparer
    return world


def _ids(app, **where) -> list[int]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.id).filter_by(**where)).all()


def test_the_trail_shows_who_when_before_and_after(app, world):
    text = text_of(world.staff.get("/staff/audit"))
    for action in (
        "ranking.queue",
        "ranking.run",
        "award.override",
        "slate.prepare",
        "slate.approve",
        "review.reopen",
        "bundle.import",
    ):
        assert action in text, action
    assert "status submitted → draft" in text and "score sheet mixed up" in text
    assert "status prepared → approved" in text
    assert "Test staff approver" in text and "approver@example.org" in text
    assert " EST" in text or " EDT" in text  # Connecticut time


@pytest.mark.parametrize(
    "query, expected, absent",
    [
        ("action=slate.", ["slate.prepare", "slate.approve"], ["award.override", "ranking.run"]),
        ("action=award.override", ["award.override"], ["slate.prepare"]),
        ("actor=APPROVER", ["slate.approve"], ["slate.prepare", "award.override"]),
    ],
)
def test_filters(app, world, query, expected, absent):
    if "APPROVER" in query:
        with app.app_context():
            query = query.replace(
                "APPROVER", str(db.session.scalar(select(User.id).where(User.email == APPROVER)))
            )
    text = text_of(world.staff.get(f"/staff/audit?{query}")).split("Before → after", 1)[1]
    for action in expected:
        assert action in text
    for action in absent:
        assert action not in text


def test_filter_by_competition_and_date(app, world):
    today = date.today()
    other = text_of(world.staff.get(f"/staff/audit?competition={world.competition_id}"))
    assert "slate.approve" in other and "user.login" not in other.split("Before → after", 1)[1]
    future = text_of(world.staff.get(f"/staff/audit?date_from={today + timedelta(days=2)}"))
    assert "Nothing matches these filters." in future
    span = text_of(
        world.staff.get(
            f"/staff/audit?date_from={today - timedelta(days=2)}"
            f"&date_to={today + timedelta(days=2)}"
        )
    )
    assert "slate.approve" in span


def test_bad_filters_are_ignored_not_500(world):
    # a NUL in the query string is refused before any view (400 naming the parameter)
    assert world.staff.get("/staff/audit?action=%00").status_code == 400
    for query in (
        "competition=abc",
        "actor=-1",
        "date_from=31/31/2020",
        "page=0",
        "page=999999999999",
    ):
        response = world.staff.get(f"/staff/audit?{query}")
        assert response.status_code == 200, query


def test_csv_export_follows_the_filters(app, world):
    response = world.staff.get("/staff/audit.csv?action=slate.")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == ["slate.approve", "slate.prepare"]
    assert rows[0]["actor"] == APPROVER and '"status": "approved"' in rows[0]["after"]
    assert rows[1]["actor"] == PREPARER
    everything = list(
        csv.DictReader(io.StringIO(world.staff.get("/staff/audit.csv").data.decode("utf-8-sig")))
    )
    assert len(everything) == len(_ids(app))
    reopen = next(r for r in everything if r["action"] == "review.reopen")
    assert reopen["actor"] == "system" and reopen["note"].startswith("Reopened for r1@")
