"""The progress board (who has done what) and reminder mails for reviewers who are behind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    Competition,
    OutboxMessage,
    RankingResult,
    ReconciliationNote,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    User,
)
from scoring.models._types import utcnow
from scoring.runtime import render_text
from scoring.services import audit, mail
from scoring.services.reviews.assignment import (
    active_reviewers,
    reviewable_applications,
    why_not,
)
from scoring.services.reviews.reconciliation import latest_run, notes_for
from scoring.services.reviews.reviews import review_of, review_score


@dataclass
class ReviewerRow:
    """One reviewer's work in a competition."""

    reviewer: User
    assigned: int = 0
    to_declare: int = 0
    drafts: int = 0
    submitted: int = 0
    conflicts: int = 0
    last_activity: datetime | None = None

    @property
    def outstanding(self) -> int:
        """Assigned applications not yet submitted."""
        return self.assigned - self.submitted

    @property
    def percent_done(self) -> int:
        """Share of assigned reviews submitted, in whole percent (0 when nothing is assigned)."""
        return round(100 * self.submitted / self.assigned) if self.assigned else 0


@dataclass
class ApplicationRow:
    """One application's reviewers: each active assignment with its review, and conflicts."""

    application: Application
    needed: int
    active: list[tuple[ReviewerAssignment, Review | None]] = field(default_factory=list)
    conflicts: list[ReviewerAssignment] = field(default_factory=list)

    @property
    def submitted(self) -> int:
        """How many of the active assignments have a submitted review."""
        return sum(
            1 for _, r in self.active if r is not None and r.status == ReviewStatus.SUBMITTED
        )

    @property
    def needs_reassign(self) -> bool:
        """Whether the application has fewer active reviewers than it needs."""
        return len(self.active) < self.needed


@dataclass
class Board:
    """A competition's review progress: per reviewer and per application."""

    competition: Competition
    reviewers: list[ReviewerRow]
    applications: list[ApplicationRow]

    @property
    def to_reassign(self) -> list[ApplicationRow]:
        """Applications short of reviewers after a declared conflict (staff must reassign)."""
        return [a for a in self.applications if a.needs_reassign and a.conflicts]

    @property
    def totals(self) -> dict[str, int]:
        """Reviews needed, assigned and submitted across the applications."""
        return {
            "needed": sum(a.needed for a in self.applications),
            "assigned": sum(len(a.active) for a in self.applications),
            "submitted": sum(a.submitted for a in self.applications),
        }


def board(competition: Competition) -> Board:
    """Progress per reviewer and per application (reviewable applications only)."""
    per_app = competition.reviewers_per_application
    apps = {a.id: ApplicationRow(a, per_app) for a in reviewable_applications(competition)}
    reviews = {
        (r.application_id, r.reviewer_id): r
        for r in db.session.scalars(
            select(Review).join(Application).where(Application.competition_id == competition.id)
        )
    }
    people: dict[int, ReviewerRow] = {}
    rows = db.session.scalars(
        select(ReviewerAssignment)
        .join(Application)
        .where(Application.competition_id == competition.id)
        .order_by(ReviewerAssignment.id)
    )
    for a in rows:
        if a.application_id not in apps:
            continue
        person = people.setdefault(a.reviewer_id, ReviewerRow(a.reviewer))
        review = reviews.get((a.application_id, a.reviewer_id))
        if a.status == AssignmentStatus.CONFLICT:
            apps[a.application_id].conflicts.append(a)
            person.conflicts += 1
        elif a.status == AssignmentStatus.ASSIGNED:
            apps[a.application_id].active.append((a, review))
            _count(person, a, review)
    ordered = sorted(
        people.values(), key=lambda p: (-p.outstanding, p.reviewer.name, p.reviewer.id)
    )
    return Board(competition, ordered, list(apps.values()))


def _count(person: ReviewerRow, a: ReviewerAssignment, review: Review | None) -> None:
    person.assigned += 1
    if a.no_conflict_declared_at is None:
        person.to_declare += 1
    elif review is not None and review.status == ReviewStatus.SUBMITTED:
        person.submitted += 1
    else:
        person.drafts += 1
    stamps = [
        t for t in (a.assigned_at, a.no_conflict_declared_at, review and review.updated_at) if t
    ]
    if stamps and (person.last_activity is None or max(stamps) > person.last_activity):
        person.last_activity = max(stamps)


def queue_reminders(competition: Competition, *, actor: User) -> list[OutboxMessage]:
    """One reminder per active reviewer with unfinished work, at most one a day each.

    Returns the messages to send after the commit (a reminder already queued today is returned
    again and is not sent twice: the send task skips sent messages).
    """
    today = utcnow().date().isoformat()
    messages = []
    for row in board(competition).reviewers:
        if row.outstanding == 0 or not row.reviewer.active:
            continue
        body = render_text("emails/review_reminder.txt", row=row, competition=competition)
        messages.append(
            mail.queue(
                row.reviewer.email,
                f"Reminder: {row.outstanding} review(s) to finish for {competition.title}",
                body,
                dedupe_key=f"review-reminder:{competition.id}:{row.reviewer.id}:{today}",
            )
        )
    audit.record(
        "reviews.remind",
        "competition",
        competition.id,
        actor=actor,
        competition_id=competition.id,
        after={"reminded": sorted(m.to_addr for m in messages)},
    )
    db.session.flush()
    return messages


@dataclass
class Detail:
    """Everything staff see about one application's reviewing."""

    application: Application
    needed: int
    rows: list[tuple[ReviewerAssignment, Review | None, float | None]]
    candidates: list[tuple[User, str | None, int]]
    result: RankingResult | None
    notes: list[ReconciliationNote]

    @property
    def active(self) -> int:
        """How many assignments are active (status assigned)."""
        return sum(1 for a, _, _ in self.rows if a.status == AssignmentStatus.ASSIGNED)


def application_detail(application: Application) -> Detail:
    """Assignments (every status) with reviews and scores, who could be added, result and notes."""
    competition = application.competition
    rows = []
    for a in db.session.scalars(
        select(ReviewerAssignment)
        .where(ReviewerAssignment.application_id == application.id)
        .order_by(ReviewerAssignment.id)
    ):
        review = review_of(a)
        score = (
            review_score(competition, review)
            if review and review.status == ReviewStatus.SUBMITTED
            else None
        )
        rows.append((a, review, score))
    loads = Counter(
        a.reviewer_id
        for a in db.session.scalars(
            select(ReviewerAssignment)
            .join(Application)
            .where(
                Application.competition_id == competition.id,
                ReviewerAssignment.status == AssignmentStatus.ASSIGNED,
            )
        )
    )
    candidates = [(u, why_not(application, u), loads[u.id]) for u in active_reviewers()]
    run = latest_run(competition)
    result = (
        None
        if run is None
        else db.session.scalar(
            select(RankingResult).where(
                RankingResult.run_id == run.id, RankingResult.application_id == application.id
            )
        )
    )
    return Detail(
        application,
        competition.reviewers_per_application,
        rows,
        candidates,
        result,
        notes_for(application.id),
    )
