"""Test helpers for the apply and accounts areas: a small world, a real SMTP server on loopback,
a full valid application form, and a row-count snapshot to prove that nothing was half-saved."""

from __future__ import annotations

import email
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email import policy

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationNarrative,
    ApplicationPriority,
    Attachment,
    AuditEvent,
    BudgetLine,
    Competition,
    Criterion,
    District,
    OutboxMessage,
    Priority,
    Program,
    Role,
    RubricSection,
    School,
    UserToken,
)
from scoring.models._types import utcnow
from tests import factories
from tests.conftest import csrf_token_from

PASSWORD = factories.PASSWORD


# --- SMTP on loopback --------------------------------------------------------------------------


class _Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 collecting every message it receives."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.handler = _Collect()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, addr: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == addr]

    @staticmethod
    def body(message) -> str:
        return message.get_content()


def url_in(text: str) -> str:
    """The whole set-password link in a mail, as a browser would follow it."""
    match = re.search(r"https?://\S+/accounts/password/\S+", text)
    assert match, f"no password link in:\n{text}"
    return match.group(0)


def link_in(text: str) -> str:
    """The path of the set-password link in a mail (the link itself starts with PUBLIC_URL)."""
    match = re.search(r"https?://[^/\s]+(/\S*accounts/password/\S+)", text)
    assert match, f"no password link in:\n{text}"
    return match.group(1)


def _pending(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )


def run_outbox_with_worker(app) -> None:
    """Let a real in-thread Celery worker (in-memory broker) run the queued send_mail tasks.

    The views dispatched ``send_mail.delay(id)`` after their commits; the worker consumes those
    messages. Returns once no outbox message is pending (bounded, so a broken task fails the test).
    """
    from celery.contrib.testing.worker import start_worker

    done = threading.Event()
    with start_worker(
        app.extensions["celery"], pool="solo", perform_ping_check=False, shutdown_timeout=30
    ):
        for _ in range(600):
            if _pending(app) == 0:
                done.set()
                break
            done.wait(0.05)
    assert _pending(app) == 0, "the worker left outbox messages pending"


# --- A small world -------------------------------------------------------------------------------


@dataclass
class World:
    competition_id: int
    district_id: int
    other_district_id: int
    school_id: int
    school2_id: int
    ineligible_school_id: int
    other_school_id: int
    required_section_id: int
    optional_section_id: int
    priority_id: int
    emails: dict[str, str] = field(default_factory=dict)


def make_competition(
    slug: str = "time-4",
    *,
    opens_in: timedelta = timedelta(days=-1),
    closes_in: timedelta = timedelta(days=10),
    **kw,
) -> Competition:
    now = utcnow()
    c = Competition(
        slug=slug,
        program=kw.pop("program", Program.TIME),
        title=kw.pop("title", "TIME Collaborative, Cohort 4"),
        total_funds=kw.pop("total_funds", Decimal("1200000.00")),
        min_award=kw.pop("min_award", Decimal("100000.00")),
        max_award=kw.pop("max_award", Decimal("400000.00")),
        opens_at=now + opens_in,
        closes_at=now + closes_in,
        budget_years=kw.pop("budget_years", 2),
        eligibility=kw.pop("eligibility", "Alliance District schools adding 300 hours [I]."),
        eligible_classifications=kw.pop("eligible_classifications", ["Focus", "Turnaround"]),
        alliance_only=kw.pop("alliance_only", True),
        rubric_illustrative=kw.pop("rubric_illustrative", True),
        **kw,
    )
    db.session.add(c)
    need = RubricSection(
        competition=c,
        key="need",
        title="Need and plan",
        position=0,
        narrative_limit=500,
        guidance="Describe the need.",
    )
    extra = RubricSection(
        competition=c,
        key="extra",
        title="Sustainability",
        position=1,
        narrative_limit=300,
        narrative_required=False,
    )
    db.session.add_all([need, extra])
    need.criteria.append(
        Criterion(competition=c, key="need.data", title="Use of data", max_points=Decimal(15))
    )
    need.criteria.append(
        Criterion(
            competition=c,
            key="need.plan",
            title="Coherent plan",
            max_points=Decimal(10),
            position=1,
        )
    )
    extra.criteria.append(
        Criterion(
            competition=c, key="extra.funds", title="Funding after the grant", max_points=Decimal(5)
        )
    )
    db.session.add(
        Priority(competition=c, key="turnaround", title="School is Turnaround", points=Decimal(5))
    )
    db.session.flush()
    return c


_HASH: list[str] = []


def person(role: Role, email: str, district: District | None = None, **kw):
    """A user whose password is ``PASSWORD`` (hashed once per test run: argon2id is slow on
    purpose)."""
    from scoring.services.accounts import users

    if not _HASH:
        _HASH.append(users.hash_password(PASSWORD))
    user = users.create_user(
        email,
        f"Test {role.value} {email.split('@')[0]}",
        role,
        district_id=district.id if district else None,
        **kw,
    )
    user.password_hash = _HASH[0]
    return user


def make_world(app, **competition_kw) -> World:
    with app.app_context():
        d = factories.district("015", "Bridgeport")
        other = factories.district("064", "Hartford")
        s1 = School(
            code="0150011", name="Bridgeport Elementary", district=d, classification="Focus"
        )
        s2 = School(
            code="0150012", name="Bridgeport Middle", district=d, classification="Turnaround"
        )
        s3 = School(code="0150013", name="Bridgeport High", district=d, classification="Category 1")
        s4 = School(
            code="0640011", name="Hartford Middle", district=other, classification="Turnaround"
        )
        db.session.add_all([s1, s2, s3, s4])
        c = make_competition(**competition_kw)
        people = {
            "applicant": person(Role.APPLICANT, "grants@bridgeport.example.org", d),
            "colleague": person(Role.APPLICANT, "colleague@bridgeport.example.org", d),
            "other": person(Role.APPLICANT, "grants@hartford.example.org", other),
            "staff": person(Role.STAFF, "staff@sde.example.org"),
            "reviewer": person(Role.REVIEWER, "reviewer@example.org"),
        }
        db.session.commit()
        world = World(
            competition_id=c.id,
            district_id=d.id,
            other_district_id=other.id,
            school_id=s1.id,
            school2_id=s2.id,
            ineligible_school_id=s3.id,
            other_school_id=s4.id,
            required_section_id=c.sections[0].id,
            optional_section_id=c.sections[1].id,
            priority_id=c.priorities[0].id,
            emails={k: v.email for k, v in people.items()},
        )
    return world


def valid_form(world: World, **over) -> dict[str, str]:
    """A complete application: request $150,000 = budget 100×2 years + 300×1 year."""
    data = {
        "school": str(world.school_id),
        "title": "Expanded learning time",
        "principal_name": "Pat Principal",
        "principal_email": "pat@school.example.org",
        "principal_phone": "203-555-0100",
        "grant_contact_name": "Gale Grants",
        "grant_contact_email": "gale@district.example.org",
        "grant_contact_phone": "",
        f"narrative_{world.required_section_id}": "We add 300 hours.\nEvery student, every day.",
        f"narrative_{world.optional_section_id}": "",
        "requested_amount": "150,000.00",
        "priorities": str(world.priority_id),
        "b_100_1": "50000",
        "b_100_2": "50000",
        "b_300_1": "$50,000.00",
        "note_100": "Two extended-day teachers",
        "note_300": "Coaching partner",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def login(client, email: str) -> str:
    """Sign in through the real form; return the session's CSRF token."""
    from tests.conftest import AuthActions

    response = AuthActions(client).login(email, PASSWORD)  # staff: the two-factor step too
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_token_from(client.get("/accounts/forgot").get_data(as_text=True))


TABLES = (
    Application,
    ApplicationNarrative,
    ApplicationPriority,
    BudgetLine,
    Attachment,
    AuditEvent,
    OutboxMessage,
    UserToken,
    District,
    School,
)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES
        }


def application_state(app, application_id: int) -> dict:
    """Everything an applicant can change, to compare before and after a refused request."""
    with app.app_context():
        a = db.session.get(Application, application_id)
        return {
            "status": a.status,
            "version": a.version,
            "title": a.title,
            "school": a.school_id,
            "requested": a.requested_amount,
            "contacts": a.contacts,
            "eligible": a.eligible,
            "narratives": sorted((n.section_id, n.text) for n in a.narratives),
            "priorities": sorted(p.priority_id for p in a.priority_links),
            "budget": sorted(
                (b.object_code, b.year, b.amount, b.description) for b in a.budget_lines
            ),
            "attachments": sorted(x.stored_name for x in a.attachments),
        }


def create_draft(client, world: World, token: str, **over) -> int:
    """Start an application through the form; return its id."""
    response = client.post(
        f"/apply/competitions/{world.competition_id}/apply",
        data=valid_form(world, csrf_token=token, save_draft="1", **over),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1].split("#")[0])


def minimal_pdf(pages: int = 1, text: str = "Budget narrative") -> bytes:
    """A small valid PDF made by fpdf2 (a real writer, not hand-rolled bytes)."""
    from fpdf import FPDF

    pdf = FPDF()
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=f"{text} {n + 1}")
    return bytes(pdf.output())


def text(response) -> str:
    """The page as a person reads it (HTML entities decoded)."""
    import html

    return html.unescape(response.get_data(as_text=True))


def submit_new(client, world: World, token: str, **over) -> int:
    """Create a draft and submit it (inside the window); its id."""
    app_id = create_draft(client, world, token, **over)
    response = client.post(
        f"/apply/applications/{app_id}",
        data=valid_form(world, csrf_token=token, submit_app="1", **over),
    )
    assert response.status_code == 302, text(response)[:1000]
    return app_id


def closes_at(app, world: World):
    """When the world's competition closes."""
    with app.app_context():
        return db.session.get(Competition, world.competition_id).closes_at
