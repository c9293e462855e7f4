"""The Turnaround Office calendar: every competition's window, review deadline and decision
date (public), and each reviewer's due dates (a private feed behind a secret, revocable token).

Dates are stored in UTC; the page shows them in Connecticut time and the ICS feeds carry UTC
instants (every calendar program shows them in its own zone). The feeds are built with the
``icalendar`` library. Only the SHA-256 of a reviewer's token is stored; a new token replaces
(revokes) the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Competition, User
from scoring.services import audit
from scoring.services.queries import reviewer_worklist

PRODID = "-//Connecticut State Department of Education//Turnaround Office calendar//EN"


@dataclass(frozen=True)
class Entry:
    """One dated entry of the calendar."""

    uid: str
    title: str
    starts: datetime
    ends: datetime | None
    competition: Competition
    kind: str


def public_entries() -> list[Entry]:
    """Every scheduled competition's window, review deadline and decision date, by date."""
    entries: list[Entry] = []
    competitions = db.session.scalars(
        select(Competition).where(
            Competition.opens_at.is_not(None), Competition.closes_at.is_not(None)
        )
    )
    for c in competitions:
        entries.append(
            Entry(
                f"window-{c.id}",
                f"{c.title}: application window",
                c.opens_at,
                c.closes_at,
                c,
                "window",
            )
        )
        entries.append(
            Entry(f"close-{c.id}", f"{c.title}: applications due", c.closes_at, None, c, "close")
        )
        if c.review_due_at:
            entries.append(
                Entry(
                    f"reviews-{c.id}",
                    f"{c.title}: reviews due",
                    c.review_due_at,
                    None,
                    c,
                    "reviews",
                )
            )
        if c.decision_at:
            entries.append(
                Entry(
                    f"decision-{c.id}",
                    f"{c.title}: decisions expected",
                    c.decision_at,
                    None,
                    c,
                    "decision",
                )
            )
    return sorted(entries, key=lambda e: (e.starts, e.uid))


def reviewer_entries(reviewer: User) -> list[Entry]:
    """The reviewer's due dates: one per competition they have active assignments in."""
    competitions: dict[int, tuple[Competition, int]] = {}
    for assignment in db.session.scalars(reviewer_worklist(reviewer.id)):
        c = assignment.application.competition
        competitions[c.id] = (c, competitions.get(c.id, (c, 0))[1] + 1)
    return [
        Entry(
            f"reviewer-{reviewer.id}-reviews-{c.id}",
            f"{c.title}: your {n} review(s) due",
            c.review_due_at,
            None,
            c,
            "reviews",
        )
        for c, n in competitions.values()
        if c.review_due_at is not None
    ]


def to_ics(entries: list[Entry], name: str, stamp: datetime, url_for_entry=None) -> bytes:
    """An iCalendar (RFC 5545) document of ``entries``; ``url_for_entry(entry)`` adds a link."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for e in entries:
        event = Event()
        event.add("uid", f"{e.uid}@turnaround-calendar")
        event.add("summary", e.title)
        event.add("dtstamp", stamp)
        event.add("dtstart", e.starts)
        event.add("dtend", e.ends or e.starts + timedelta(minutes=30))
        if url_for_entry is not None:
            event.add("url", url_for_entry(e))
        cal.add_component(event)
    return cal.to_ical()


# --------------------------------------------------------------------------- private feed


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_feed_token(reviewer: User) -> str:
    """A new secret for the reviewer's private feed; the old link stops working. Returns the
    raw token (shown once; only its hash is kept)."""
    raw = secrets.token_urlsafe(32)
    reviewer.calendar_token_hash = _digest(raw)
    db.session.flush()
    audit.record("calendar.token", "user", reviewer.id, actor=reviewer, note="new feed link")
    return raw


def revoke_feed_token(reviewer: User) -> None:
    """Turn the reviewer's private feed off."""
    reviewer.calendar_token_hash = None
    db.session.flush()
    audit.record("calendar.revoke", "user", reviewer.id, actor=reviewer, note="feed link revoked")


def reviewer_for_token(raw: str) -> User | None:
    """The active reviewer whose feed token is ``raw``, else None."""
    if not raw or len(raw) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_token_hash == _digest(raw)))
    return user if user is not None and user.active else None
