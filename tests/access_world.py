"""One world for the route-wide tests (access rules, blind review, hostile inputs): a blind-review
competition with a submitted application of district 015 (the target), its attached PDF (with
metadata naming the school, as a file uploaded before the competition became blind would be),
reviewers in every relation to it, a done ranking run with a built export file, and signed-in
clients for every role; plus the values to put in each route's URL parameters."""

from __future__ import annotations

import io
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask import url_for
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    Attachment,
    AwardOverride,
    Competition,
    Priority,
    RankingRun,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    Role,
    User,
)
from scoring.models._types import utcnow
from scoring.services import mail
from scoring.services.applications.attachments import upload_dir
from tests import apply_helpers as h
from tests import review_support as rs
from tests.conftest import AuthActions, csrf_token_from

SCHOOL = "Bridgeport Test Academy"
DISTRICT = "Bridgeport"
TITLE = "Turnaround plan 1"
FILE_NAME = "Bridgeport-Test-Academy-plan.pdf"
AUTHOR = "Principal of Bridgeport Test Academy"

#: Every role the route walks sign in as: name -> (email, role). ``anonymous`` has no email.
ROLES = {
    "anonymous": None,
    "applicant": "applicant@example.org",  # district 015, the target's
    "applicant_other": "other@hartford.example.org",  # district 064
    "reviewer_assigned": "r3@example.org",  # assigned, declared no conflict
    "reviewer_undeclared": "r4@example.org",  # assigned, not yet declared
    "reviewer_unassigned": "r5@example.org",  # no assignment to the target
    "reviewer_conflict": "r2@example.org",  # declared a conflict on the target
    "reviewer_district": "r1@example.org",  # works in the target's district (blocked)
    "staff": "staff@example.org",
    "approver": "approver@example.org",  # admin who may approve
}


@dataclass
class World:
    """Ids of the target objects, and each reviewer's own assignment to the target."""

    competition: int
    application: int
    ref: str
    attachment: int
    review: int
    run: int
    job: int
    section: int
    criterion: int
    priority: int
    message: int
    conflict: int
    conflict_user: int
    district: int
    users: dict[str, int] = field(default_factory=dict)
    assignments: dict[str, int] = field(default_factory=dict)


def pdf_with_metadata() -> bytes:
    """A one-page PDF whose document information names the school."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(h.minimal_pdf(text="Our plan"))))
    writer.add_metadata({"/Author": AUTHOR, "/Title": TITLE})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _assign(application_id: int, reviewer_id: int, *, declared: bool, status=None) -> int:
    row = ReviewerAssignment(
        application_id=application_id,
        reviewer_id=reviewer_id,
        status=status or AssignmentStatus.ASSIGNED,
    )
    db.session.add(row)
    if declared:
        row.no_conflict_declared_at = utcnow()
        db.session.add(Review(application_id=application_id, reviewer_id=reviewer_id))
    db.session.flush()
    return row.id


def build(app) -> World:
    """The world (see the module's docstring), committed."""
    base = rs.build(app, blind=True)
    target = base.apps["SIG-001"]
    with app.app_context():
        rs.person(Role.APPLICANT, ROLES["applicant_other"], base.districts["064"])
        rs.person(Role.REVIEWER, ROLES["reviewer_unassigned"])
        approver = rs.person(Role.ADMIN, ROLES["approver"])
        approver.can_approve = True
        users = {
            name: db.session.scalar(select(User.id).where(User.email == email))
            for name, email in ROLES.items()
            if email
        }
        now = utcnow()
        competition = db.session.get(Competition, base.competition)
        competition.opens_at, competition.closes_at = (
            now - timedelta(days=30),
            now - timedelta(days=1),
        )
        for row in db.session.scalars(select(Application)):
            row.screened_at, row.eligible, row.tier = now, True, 1
        application = db.session.get(Application, target)
        application.confirmation_number = "C-0001"
        application.principal_name = "Pat Principal"
        assignments = {
            "reviewer_assigned": _assign(target, users["reviewer_assigned"], declared=True),
            "reviewer_undeclared": _assign(target, users["reviewer_undeclared"], declared=False),
            "reviewer_district": _assign(target, users["reviewer_district"], declared=True),
            "reviewer_conflict": _assign(
                target, users["reviewer_conflict"], declared=False, status=AssignmentStatus.CONFLICT
            ),
        }
        stored = uuid.uuid4().hex
        data = pdf_with_metadata()
        (upload_dir() / stored).write_bytes(data)
        attachment = Attachment(
            application_id=target,
            stored_name=stored,
            filename=FILE_NAME,
            size=len(data),
            sha256="0" * 64,
        )
        db.session.add(attachment)
        message = mail.queue("someone@example.org", "A subject", "A body\n")
        conflict = db.session.scalar(select(ReviewerConflict))
        priority = Priority(competition_id=base.competition, key="p1", title="A priority", points=5)
        db.session.add(priority)
        db.session.commit()
        review_id = db.session.scalar(
            select(Review.id).where(
                Review.application_id == target, Review.reviewer_id == users["reviewer_assigned"]
            )
        )
        section = application.competition.sections[0]
        world = World(
            competition=base.competition,
            application=target,
            ref=application.ref,
            attachment=attachment.id,
            review=review_id,
            run=0,
            job=0,
            section=section.id,
            criterion=section.criteria[0].id,
            priority=priority.id,
            message=message.id,
            conflict=conflict.id,
            conflict_user=conflict.user_id,
            district=base.districts["015"],
            users=users,
            assignments=assignments,
        )
    world.run, world.job = _ranked(app, world)
    return world


def _ranked(app, world: World) -> tuple[int, int]:
    """A done ranking run of the competition and a built export file of it."""
    from scoring.services import ranking
    from scoring.services.exports import jobs
    from workers.tasks import make_export, rank_competition

    with app.app_context():
        staff = db.session.get(User, world.users["staff"])
        run = ranking.create_run(db.session.get(Competition, world.competition), actor=staff)
        db.session.commit()
        run_id = run.id
    rank_competition(run_id)
    with app.app_context():
        job = jobs.request(db.session.get(RankingRun, run_id), "awards", "csv", actor=staff)
        db.session.commit()
        job_id = job.id
    make_export(job_id)
    with app.app_context():  # an exception to the target's computed award, to clear
        db.session.add(
            AwardOverride(
                run_id=run_id,
                application_id=world.application,
                status="not_funded",
                amount=Decimal("0.00"),
                justification="A documented exception.",
                decided_by_id=world.users["staff"],
            )
        )
        db.session.commit()
    return run_id, job_id


# --------------------------------------------------------------------------- clients


def clients(app) -> dict[str, object]:
    """A test client per role, signed in through the real login form."""
    out = {}
    for name, email in ROLES.items():
        client = app.test_client()
        if email:
            response = AuthActions(client).login(email, h.PASSWORD)
            assert response.status_code == 302, (name, response.status_code)
        out[name] = client
    return out


def csrf_token(client) -> str:
    """A CSRF token of this client's session (any page carries it)."""
    html = client.get("/accounts/forgot").get_data(as_text=True)
    return csrf_token_from(html)


# --------------------------------------------------------------------------- URL values


def post_data(world: World, endpoint: str) -> dict[str, object]:
    """Form fields a POST needs to name its object at all (beyond the URL)."""
    return {"staff.override_set": {"application_id": world.application}}.get(endpoint, {})


def param_values(world: World, role: str) -> dict[str, object]:
    """The value of every URL parameter name the app uses, for ``role``: the target objects,
    and a reviewer's own assignment where they have one (else the assigned reviewer's)."""
    return {
        "app_id": world.application,
        "aid": world.application,
        "application_id": world.application,
        "attachment_id": world.attachment,
        "assignment_id": world.assignments.get(role, world.assignments["reviewer_assigned"]),
        "asid": world.assignments["reviewer_assigned"],
        "rid": world.review,
        "run_id": world.run,
        "job_id": world.job,
        "competition_id": world.competition,
        "cid": world.competition,
        "section_id": world.section,
        "criterion_id": world.criterion,
        "priority_id": world.priority,
        "message_id": world.message,
        "uid": world.conflict_user,
        "conflict_id": world.conflict,
        "district_id": world.district,
        "user_id": world.users["applicant"],
        "ref": world.ref,
        "kind": "csv",
        "slug": "sig-review",
        "token": "not-a-token",
    }


def url_for_rule(rule, values: dict[str, object]) -> str:
    """The URL of ``rule`` with its parameters taken from ``values`` (inside a request context);
    a parameter the table lacks gets 1 (numbers) or ``x``."""
    args = {}
    for name, converter in rule._converters.items():
        if name in values:
            args[name] = values[name]
        else:
            args[name] = 1 if isinstance(converter, NumberConverter) else "x"
    return url_for(rule.endpoint, **args)


# --------------------------------------------------------------------------- snapshots


class Snapshot:
    """The SQLite database in memory and the upload and export folders, saved and put back, so a
    POST that succeeds changes nothing for the next request."""

    def __init__(self, app) -> None:
        self.app = app
        self.copy = sqlite3.connect(":memory:")
        self.files: dict[Path, bytes] = {}

    def _raw(self):
        return db.engine.raw_connection().driver_connection

    def save(self) -> None:
        with self.app.app_context():
            db.session.remove()
            self._raw().backup(self.copy)
        self.files = {
            p: p.read_bytes()
            for folder in self._folders()
            for p in folder.rglob("*")
            if p.is_file()
        }

    def restore(self) -> None:
        with self.app.app_context():
            db.session.remove()
            self.copy.backup(self._raw())
        for folder in self._folders():
            for p in folder.rglob("*"):
                if p.is_file() and p not in self.files:
                    p.unlink()
        for p, data in self.files.items():
            if not p.is_file() or p.read_bytes() != data:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)

    def _folders(self) -> list[Path]:
        return [Path(self.app.config["UPLOAD_DIR"]), Path(self.app.config["EXPORT_DIR"])]
