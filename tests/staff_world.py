"""Test data for the staff tests: a ranked competition (tests/fixtures/small_bundle.json) and the
people who decide on it. Plain helpers, imported by tests/test_staff_*.py, test_exports.py,
test_public.py and the staff browser journey."""

from __future__ import annotations

import html as html_module
import json
import re
import socket
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, Competition, District, Role, User
from scoring.services import bundles, ranking
from scoring.services.accounts import users
from tests import factories
from tests.conftest import AuthActions, csrf_token_from

BUNDLE = Path(__file__).parent / "fixtures" / "small_bundle.json"

PREPARER = "preparer@example.org"  # staff, no approval rights
APPROVER = "approver@example.org"  # staff with approval rights
APPROVER2 = "approver2@example.org"  # admin with approval rights
APPLICANT = "district001@example.org"  # applicant of district 001
REVIEWER = "reviewer@example.org"


@dataclass
class World:
    competition_id: int
    slug: str
    run_id: int | None = None


def bundle_data() -> dict:
    return json.loads(BUNDLE.read_text())


_HASH: list[str] = []


def person(role: Role, email: str, **kw) -> User:
    """A user with the factories' password; the argon2 hash is computed once per test run
    (64 MiB and 3 passes each time would make every test slow)."""
    if not _HASH:
        _HASH.append(users.hash_password(factories.PASSWORD))
    user = users.create_user(email, f"Test {role.value} {email.split('@')[0]}", role, **kw)
    user.password_hash = _HASH[0]
    db.session.flush()
    return user


def make_people() -> None:
    """Staff (a preparer and two approvers), an applicant of district 001 and a reviewer."""
    person(Role.STAFF, PREPARER)
    person(Role.STAFF, APPROVER, can_approve=True)
    person(Role.ADMIN, APPROVER2, can_approve=True)
    district = db.session.scalar(select(District).where(District.code == "001"))
    person(Role.APPLICANT, APPLICANT, district_id=district.id)
    person(Role.REVIEWER, REVIEWER)


def build(app, *, rank: bool = True, data: dict | None = None) -> World:
    """Import the small bundle, add the people, give every application a contact, and rank."""
    with app.app_context():
        bundles.import_bundle(data or bundle_data())
        make_people()
        competition = db.session.scalar(select(Competition))
        for application in db.session.scalars(select(Application)):
            application.contacts = [
                {
                    "role": "principal",
                    "name": "Principal",
                    "email": f"principal-{application.ref.lower()}@example.org",
                }
            ]
        db.session.commit()
        world = World(competition.id, competition.slug)
    if rank:
        world.run_id = rank_now(app, world.competition_id)
    return world


def rank_now(app, competition_id: int, overrides: dict | None = None) -> int:
    """Queue and execute a ranking run in-process (as the task does); return its id."""
    with app.app_context():
        competition = db.session.get(Competition, competition_id)
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        run = ranking.create_run(competition, actor=actor, overrides=overrides)
        db.session.commit()
        run_id = run.id
    from workers.tasks import rank_competition

    rank_competition(run_id)  # the task body, in this process (its own app context)
    return run_id


def login(app, email: str):
    """A test client signed in as ``email`` through the real login form."""
    client = app.test_client()
    response = AuthActions(client).login(email, factories.PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def token(client, url: str = "/staff/") -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))


def post(client, url: str, data: dict | None = None, **kw):
    """POST with a valid CSRF token of this client's session."""
    page = client.get("/staff/") if not url.startswith("/public") else client.get("/login")
    body = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **(data or {})}
    return client.post(url, data=body, **kw)


def text_of(response) -> str:
    """The visible text of an HTML response (or string), tags stripped, spaces collapsed."""
    html = response if isinstance(response, str) else response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


# --------------------------------------------------------------------------- a real SMTP server


class SMTPSink:
    """aiosmtpd on loopback, collecting every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes

                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def populate(app, competition_id: int, quality: list[tuple[str, str, str, list[float]]]) -> None:
    """Submitted applications with submitted reviews for a competition made in the browser.

    ``quality`` rows: (ref, school code, requested amount, [share of max points per reviewer]).
    Points are ``round(share × max)`` on every criterion (steps of 1), so a review's score is
    close to ``100 × share``."""
    from scoring.models import (
        ApplicationStatus,
        Criterion,
        CriterionScore,
        Review,
        ReviewStatus,
        School,
    )
    from scoring.models._types import utcnow

    with app.app_context():
        competition = db.session.get(Competition, competition_id)
        criteria = db.session.scalars(
            select(Criterion).where(Criterion.competition_id == competition_id)
        ).all()
        reviewers = db.session.scalars(
            select(User).where(User.role == Role.REVIEWER).order_by(User.email)
        ).all()
        for ref, school_code, amount, shares in quality:
            school = db.session.scalar(select(School).where(School.code == school_code))
            application = Application(
                competition=competition,
                ref=ref,
                school=school,
                requested_amount=amount,
                status=ApplicationStatus.SUBMITTED,
                submitted_at=utcnow(),
                contacts=[
                    {
                        "role": "principal",
                        "name": "Principal",
                        "email": f"principal-{ref.lower()}@example.org",
                    }
                ],
            )
            db.session.add(application)
            for reviewer, share in zip(reviewers, shares, strict=False):
                review = Review(
                    application=application,
                    reviewer=reviewer,
                    status=ReviewStatus.SUBMITTED,
                    submitted_at=utcnow(),
                )
                review.scores = [
                    CriterionScore(
                        criterion=c,
                        max_points=c.max_points,
                        points=Decimal(round(share * float(c.max_points))),
                    )
                    for c in criteria
                ]
                db.session.add(review)
        competition.rubric_frozen_at = utcnow()
        db.session.commit()


def geography(app) -> None:
    """Three districts with two schools each, the people, and two reviewers."""
    from scoring.models import School

    with app.app_context():
        for code, name in (("001", "Alpha"), ("002", "Beta"), ("003", "Gamma")):
            district = District(code=code, name=name, alliance=True)
            db.session.add(district)
            for i in (1, 2):
                db.session.add(
                    School(code=f"{code}000{i}", name=f"{name} School {i}", district=district)
                )
        db.session.flush()
        make_people()
        person(Role.REVIEWER, "r1@example.org")
        person(Role.REVIEWER, "r2@example.org")
        db.session.commit()
