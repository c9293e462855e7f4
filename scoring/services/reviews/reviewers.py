"""The reviewer roster: invitations (a one-time, expiring link to choose a password, redeemed on
the accounts pages), deactivation, and the districts a reviewer may not review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from scoring.errors import MESSAGES, Conflict, InputError, NotFound
from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    District,
    OutboxMessage,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    Role,
    TokenPurpose,
    User,
)
from scoring.runtime import app_config, render_text
from scoring.services import audit, mail
from scoring.services.accounts import accounts, users
from scoring.services.reviews.reviews import review_of


@dataclass
class RosterRow:
    """A reviewer on the roster with their active assignments and submitted reviews."""

    reviewer: User
    assigned: int
    submitted: int


def roster() -> list[RosterRow]:
    """Every reviewer, active first, with active assignments and submitted reviews (all
    competitions)."""
    people = db.session.scalars(
        select(User)
        .where(User.role == Role.REVIEWER)
        .order_by(User.active.desc(), User.name, User.id)
    ).all()
    assigned = dict(
        db.session.execute(
            select(ReviewerAssignment.reviewer_id, func.count())
            .where(ReviewerAssignment.status == AssignmentStatus.ASSIGNED)
            .group_by(ReviewerAssignment.reviewer_id)
        ).all()
    )
    rows = []
    for person in people:
        done = sum(
            1 for a in _active(person) if (r := review_of(a)) and r.status == ReviewStatus.SUBMITTED
        )
        rows.append(RosterRow(person, assigned.get(person.id, 0), done))
    return rows


def _active(person: User) -> list[ReviewerAssignment]:
    return list(
        db.session.scalars(
            select(ReviewerAssignment).where(
                ReviewerAssignment.reviewer_id == person.id,
                ReviewerAssignment.status == AssignmentStatus.ASSIGNED,
            )
        )
    )


def get_reviewer(user_id: int) -> User:
    """The reviewer with this id; NotFound for anyone else."""
    person = db.session.get(User, user_id)
    if person is None or person.role != Role.REVIEWER:
        raise NotFound(MESSAGES[404])
    return person


def invite(
    email: str, name: str, district_id: int | None, *, actor: User, link: Callable[[str], str]
) -> OutboxMessage:
    """Create a reviewer account without a password and mail a one-time link to set one.

    ``link(token)`` builds the URL. Raise ``InputError`` if the email already has an account.
    """
    if users.find_by_email(email) is not None:
        raise InputError("already has an account", "email")
    if district_id is not None and db.session.get(District, district_id) is None:
        raise InputError("is not a known district", "district")
    person = users.create_user(email, name.strip(), Role.REVIEWER, district_id=district_id)
    audit.record(
        "reviewer.invite",
        "user",
        person.id,
        actor=actor,
        after={"email": person.email, "name": person.name, "district_id": district_id},
    )
    return _send_invitation(person, link)


def resend(person: User, *, actor: User, link: Callable[[str], str]) -> OutboxMessage:
    """A new invitation link (earlier unused links stop working); only before a password is set."""
    if person.password_hash is not None:
        raise Conflict(f"{person.name} has already set a password.")
    audit.record("reviewer.invite_resend", "user", person.id, actor=actor)
    return _send_invitation(person, link)


def _send_invitation(person: User, link: Callable[[str], str]) -> OutboxMessage:
    """Mail a one-time link to choose a password (tokens:
    :mod:`scoring.services.accounts.accounts`)."""
    raw = accounts.issue_token(person, TokenPurpose.INVITE)
    hours = int(app_config().get("INVITE_TOKEN_HOURS", accounts.INVITE_HOURS))
    body = render_text(
        "emails/review_invite.txt", person=person, link=link(raw), days=max(1, hours // 24)
    )
    return mail.queue(person.email, "You are invited to review grant applications", body)


def deactivate(person: User, *, actor: User) -> int:
    """End every session, block sign-in, and release unfinished assignments (drafts withdrawn).

    Submitted reviews keep counting. Returns how many assignments were released.
    """
    released = 0
    for a in _active(person):
        review = review_of(a)
        if review is not None and review.status == ReviewStatus.SUBMITTED:
            continue
        a.status = AssignmentStatus.REMOVED
        if review is not None:
            review.status = ReviewStatus.WITHDRAWN
        released += 1
    users.deactivate(person, actor=actor, details={"released_assignments": released})
    db.session.flush()
    return released


def reactivate(person: User, *, actor: User) -> None:
    """Reactivate a reviewer and record it in the audit trail (their old sessions stay ended)."""
    person.active = True
    audit.record(
        "user.reactivate",
        "user",
        person.id,
        actor=actor,
        before={"active": False},
        after={"active": True},
    )
    db.session.flush()


def add_conflict(
    person: User, district_id: int, reason: str | None, *, actor: User
) -> ReviewerConflict:
    """Record a district the reviewer must never review; raise ``InputError`` on a duplicate."""
    district = db.session.get(District, district_id) if district_id is not None else None
    if district is None:
        raise InputError("choose a district from the list", "district")
    if any(c.district_id == district_id for c in person.conflicts):
        raise InputError(f"{district.name} is already listed", "district")
    row = ReviewerConflict(user=person, district=district, reason=(reason or "").strip() or None)
    db.session.add(row)
    db.session.flush()
    audit.record(
        "reviewer.conflict_add",
        "user",
        person.id,
        actor=actor,
        after={"district": district.code, "reason": row.reason},
    )
    return row


def remove_conflict(person: User, conflict_id: int, *, actor: User) -> None:
    """Remove one of the reviewer's district conflicts (NotFound if not theirs); audited."""
    row = db.session.get(ReviewerConflict, conflict_id)
    if row is None or row.user_id != person.id:
        raise NotFound(MESSAGES[404])
    audit.record(
        "reviewer.conflict_remove",
        "user",
        person.id,
        actor=actor,
        before={"district": row.district.code, "reason": row.reason},
    )
    db.session.delete(row)
    db.session.flush()
