"""Test data and helpers for the reviewer area and the staff's reviewer panel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from scoring.extensions import db
from scoring.models import (
    ApplicationNarrative,
    ApplicationStatus,
    AssignmentStatus,
    Competition,
    Criterion,
    CriterionScore,
    Program,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    Role,
    RubricSection,
)
from scoring.models._types import utcnow
from scoring.services.accounts import users
from tests import factories
from tests.conftest import csrf_token_from

LEVELS = [
    {"points": 0, "label": "Insufficient", "text": "Little or no evidence."},
    {"points": 5, "label": "Proficient", "text": "Clear evidence with minor gaps."},
    {"points": 10, "label": "Exemplary", "text": "Compelling, specific evidence."},
]


_HASH: list[str] = []


def person(role: Role, email: str, district_id: int | None = None):
    """A user with ``factories.PASSWORD``; the argon2 hash is computed once per test run (speed)."""
    if not _HASH:
        _HASH.append(users.hash_password(factories.PASSWORD))
    user = users.create_user(email, f"Test {role.value}", role, district_id=district_id)
    user.password_hash = _HASH[0]
    return user


@dataclass
class World:
    """Ids of everything made (use them inside an app context)."""

    competition: int
    criteria: list[int]
    apps: dict[str, int]
    districts: dict[str, int]
    emails: dict[str, str]
    users: dict[str, int]


def build(app, *, blind: bool = False, per_app: int = 2, applications: int = 4) -> World:
    """Three districts, a competition with a two-section rubric (one half-point criterion),
    submitted applications across the districts, four reviewers, one staff member, one applicant.

    Reviewer ``r1`` works in district 015; ``r2`` declared a conflict with district 064.
    """
    with app.app_context():
        d = {
            code: factories.district(code, name)
            for code, name in [("015", "Bridgeport"), ("064", "Hartford"), ("093", "New Haven")]
        }
        schools = {
            code: factories.school(dist, name=f"{dist.name} Test Academy")
            for code, dist in d.items()
        }
        c = Competition(
            slug="sig-review",
            program=Program.SIG,
            title="SIG review test",
            total_funds=Decimal("1000000.00"),
            reviewers_per_application=per_app,
            blind_review=blind,
        )
        db.session.add(c)
        need = RubricSection(
            competition=c,
            key="need",
            title="Needs analysis",
            position=0,
            guidance="Use of data and root causes.",
        )
        plan = RubricSection(competition=c, key="plan", title="Implementation plan", position=1)
        need.criteria.append(
            Criterion(
                competition=c,
                key="need.data",
                title="Use of data",
                max_points=Decimal(10),
                step=Decimal(1),
                position=0,
                descriptors=LEVELS,
            )
        )
        need.criteria.append(
            Criterion(
                competition=c,
                key="need.root",
                title="Root causes",
                max_points=Decimal(5),
                step=Decimal("0.5"),
                position=1,
            )
        )
        plan.criteria.append(
            Criterion(
                competition=c,
                key="plan.main",
                title="Plan quality",
                max_points=Decimal(15),
                step=Decimal(1),
                position=0,
            )
        )
        db.session.add_all([need, plan])
        db.session.flush()
        codes = ["015", "064", "093", "015", "064", "093"]
        apps = {}
        for i in range(applications):
            code = codes[i % len(codes)]
            a = factories.application(
                c,
                schools[code],
                ref=f"SIG-{i + 1:03d}",
                status=ApplicationStatus.SUBMITTED,
                submitted_at=utcnow(),
                title=f"Turnaround plan {i + 1}",
            )
            db.session.add(
                ApplicationNarrative(application=a, section=need, text=f"NEED-NARRATIVE-{i + 1}")
            )
            db.session.add(
                ApplicationNarrative(application=a, section=plan, text=f"PLAN-NARRATIVE-{i + 1}")
            )
            apps[a.ref] = a.id
        people = {
            "r1": person(Role.REVIEWER, "r1@example.org", d["015"].id),
            "r2": person(Role.REVIEWER, "r2@example.org"),
            "r3": person(Role.REVIEWER, "r3@example.org"),
            "r4": person(Role.REVIEWER, "r4@example.org"),
            "staff": person(Role.STAFF, "staff@example.org"),
            "applicant": person(Role.APPLICANT, "applicant@example.org", d["015"].id),
        }
        for key, name in [
            ("r1", "Riley One"),
            ("r2", "Sam Two"),
            ("r3", "Jordan Three"),
            ("r4", "Casey Four"),
        ]:
            people[key].name = name
        db.session.add(
            ReviewerConflict(user=people["r2"], district=d["064"], reason="Former employer")
        )
        db.session.commit()
        criteria = [x.id for x in need.criteria + plan.criteria]
        return World(
            c.id,
            criteria,
            apps,
            {k: v.id for k, v in d.items()},
            {k: u.email for k, u in people.items()},
            {k: u.id for k, u in people.items()},
        )


def assign(app, application_id: int, reviewer_id: int, *, declared: bool = False) -> int:
    """An active assignment (optionally with no-conflict declared and an empty draft review)."""
    with app.app_context():
        a = ReviewerAssignment(
            application_id=application_id, reviewer_id=reviewer_id, status=AssignmentStatus.ASSIGNED
        )
        db.session.add(a)
        if declared:
            a.no_conflict_declared_at = utcnow()
            db.session.add(Review(application_id=application_id, reviewer_id=reviewer_id))
        db.session.commit()
        return a.id


def submitted_review(
    app, application_id: int, reviewer_id: int, points: list, comment: str | None = None
) -> int:
    """A submitted review with the given points in rubric order (assignment included)."""
    assign(app, application_id, reviewer_id, declared=True)
    with app.app_context():
        review = db.session.scalar(
            db.select(Review).filter_by(application_id=application_id, reviewer_id=reviewer_id)
        )
        criteria = db.session.scalars(
            db.select(Criterion)
            .join(RubricSection)
            .where(Criterion.competition_id == review.application.competition_id)
            .order_by(RubricSection.position, Criterion.position)
        ).all()
        for c, p in zip(criteria, points, strict=False):
            review.scores.append(
                CriterionScore(
                    criterion=c, points=Decimal(str(p)), max_points=c.max_points, comment=comment
                )
            )
        review.status = ReviewStatus.SUBMITTED
        review.submitted_at = utcnow()
        db.session.commit()
        return review.id


def login(client, email: str) -> None:
    from tests.conftest import AuthActions

    response = AuthActions(client).login(email, factories.PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def token(client, url: str = "/review/") -> str:
    return csrf_token_from(client.get(url, follow_redirects=True).get_data(as_text=True))


def post(client, url: str, data: dict | None = None, *, token_from: str | None = None, **kw):
    """POST with the session's CSRF token (scraped from ``token_from`` or ``url``)."""
    payload = dict(data or {})
    payload["csrf_token"] = token(client, token_from or url)
    return client.post(url, data=payload, **kw)


def form_values(html: str) -> dict[str, str]:
    """name → value of the text inputs of a page (for checking what a form shows)."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    }


def score_form(
    world: World,
    points: list,
    comments: list | None = None,
    *,
    version: int,
    action: str = "save",
    overall: str = "",
) -> dict:
    data = {"version": str(version), "overall_comment": overall, action: "x"}
    for i, cid in enumerate(world.criteria):
        data[f"points_{cid}"] = "" if points[i] is None else str(points[i])
        data[f"comment_{cid}"] = (comments or [""] * len(world.criteria))[i] or ""
    return data


class Smtp:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.received: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
                import email
                from email import policy

                outer.received.append(
                    email.message_from_bytes(envelope.content, policy=policy.default)
                )
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


def capture_delays(monkeypatch, task) -> list:
    """Record the arguments of ``task.delay`` instead of sending to the broker (Celery: prefer mocks
    for the view side); the test then runs the task itself, in-process, after the commit."""
    calls: list = []
    monkeypatch.setattr(task, "delay", lambda *args: calls.append(args))
    return calls
