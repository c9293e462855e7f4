"""Reading the audit trail (written by :mod:`scoring.services.audit`): filtered, newest first,
for the staff page and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from scoring.extensions import db
from scoring.formatting import LOCAL_TZ
from scoring.models import AuditEvent, Competition, User

PAGE_SIZE = 100
#: Actions the trail is mostly read for, grouped for the filter's labels.
ACTION_GROUPS = {
    "application": "Submissions",
    "assignment": "Assignments",
    "review": "Reviews",
    "ranking": "Ranking runs",
    "award": "Overrides",
    "slate": "Approval and publication",
    "competition": "Competition set-up",
    "rubric": "Rubric",
    "priority": "Priorities",
}


@dataclass
class AuditFilter:
    """What the trail is filtered by; every part optional. Dates are Connecticut dates."""

    action: str | None = None
    competition_id: int | None = None
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def query(f: AuditFilter) -> Select:
    """Events matching the filter, newest first. ``action`` may be a prefix ending in a dot
    (``"slate."``) to match a whole group."""
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor))
    if f.action:
        stmt = stmt.where(
            AuditEvent.action.startswith(f.action, autoescape=True)
            if f.action.endswith(".")
            else AuditEvent.action == f.action
        )
    if f.competition_id is not None:
        stmt = stmt.where(AuditEvent.competition_id == f.competition_id)
    if f.actor_id is not None:
        stmt = stmt.where(
            AuditEvent.actor_id == f.actor_id if f.actor_id else AuditEvent.actor_id.is_(None)
        )
    if f.date_from is not None:
        stmt = stmt.where(AuditEvent.at >= _local_midnight_utc(f.date_from))
    if f.date_to is not None:
        stmt = stmt.where(AuditEvent.at < _local_midnight_utc(f.date_to + timedelta(days=1)))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def page(f: AuditFilter, number: int = 1) -> tuple[list[AuditEvent], int]:
    """One page of events and the total count."""
    total = db.session.scalar(select(func.count()).select_from(query(f).order_by(None).subquery()))
    events = db.session.scalars(
        query(f).limit(PAGE_SIZE).offset((max(number, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(events), total or 0


def all_events(f: AuditFilter) -> list[AuditEvent]:
    """Every audit event matching the filter, unpaged, in ``query``'s order."""
    return list(db.session.scalars(query(f)))


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """Choices for the filter form: actions present (and their groups), competitions, actors."""
    actions = sorted(db.session.scalars(select(AuditEvent.action).distinct()))
    groups = sorted({a.split(".", 1)[0] for a in actions})
    action_choices = (
        [("", "any action")]
        + [(f"{g}.", f"{ACTION_GROUPS.get(g, g.title())} (all {g}.*)") for g in groups]
        + [(a, a) for a in actions]
    )
    competitions = [("", "any competition")] + [
        (str(i), t)
        for i, t in db.session.execute(
            select(Competition.id, Competition.title).order_by(Competition.title)
        )
    ]
    actor_ids = select(AuditEvent.actor_id).distinct().where(AuditEvent.actor_id.is_not(None))
    actors = [("", "anyone"), ("0", "the system (no user)")] + [
        (str(i), f"{n} <{e}>")
        for i, n, e in db.session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(actor_ids)).order_by(User.name)
        )
    ]
    return {"action": action_choices, "competition": competitions, "actor": actors}


def changes(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """(key, before, after) for every key that differs or only exists on one side."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        (k, before.get(k), after.get(k))
        for k in keys
        if before.get(k) != after.get(k) or k not in before or k not in after
    ]
