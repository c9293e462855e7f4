"""Per-device sessions: each sign-in is a ``user_session`` row; the browser holds its id and a
secret (only the secret's SHA-256 is stored).

Signing in on another device never ends a session. A session ends when its owner signs out
(this one), signs out everywhere (all), changes their password (all others), is deactivated or
has their two-factor sign-in reset (all); and by itself after ``SESSION_IDLE_MINUTES`` (30)
without a request or ``SESSION_ABSOLUTE_HOURS`` (12) after sign-in, checked on the server from
the row. ``last_seen_at`` is written at most once a minute. Every end is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from scoring import clock
from scoring.extensions import db
from scoring.models import User, UserSession
from scoring.runtime import app_config
from scoring.services import audit

IDLE_MINUTES = 30
ABSOLUTE_HOURS = 12
#: ``last_seen_at`` is written again only when it is older than this.
TOUCH_SECONDS = 60


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def idle_limit() -> timedelta:
    """How long a session lasts without a request (``SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=float(app_config().get("SESSION_IDLE_MINUTES", IDLE_MINUTES)))


def absolute_limit() -> timedelta:
    """How long a session lasts after sign-in, used or not (``SESSION_ABSOLUTE_HOURS``)."""
    return timedelta(hours=float(app_config().get("SESSION_ABSOLUTE_HOURS", ABSOLUTE_HOURS)))


def start(user: User, *, device: str | None, address: str | None) -> str:
    """Open a session for ``user``; return the key the browser keeps (``id:secret``)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    row = UserSession(
        user_id=user.id,
        secret_hash=_hash(secret),
        created_at=now,
        last_seen_at=now,
        device=(device or "")[:200] or None,
        address=(address or "")[:45] or None,
    )
    db.session.add(row)
    db.session.flush()
    return f"{row.id}:{secret}"


@dataclass(frozen=True)
class Resolved:
    """What a browser's session key stands for: the user and session, or why it ended."""

    user: User | None
    session: UserSession | None
    ended: str | None = None  # "idle" or "expired" when it ended just now
    changed: bool = False  # a row was written (the caller commits)


def _timed_out(row: UserSession, now: datetime) -> str | None:
    if now - row.created_at > absolute_limit():
        return "expired"
    if now - row.last_seen_at > idle_limit():
        return "idle"
    return None


def resolve(key: str) -> Resolved:
    """The open session and active user of ``key``; ends a timed-out session (audited)."""
    sid, _, secret = (key or "").partition(":")
    if not sid.isdigit() or len(sid) > 18 or not secret:
        return Resolved(None, None)
    found = db.session.execute(  # the session row and its user in one statement (every request)
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == int(sid))
    ).first()
    if found is None:
        return Resolved(None, None)
    row, user = found
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return Resolved(None, None)
    if row.ended_at is not None or not user.active:
        return Resolved(None, None)
    now = clock.now()
    reason = _timed_out(row, now)
    if reason is not None:
        end(row, reason)
        return Resolved(None, None, ended=reason, changed=True)
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
        return Resolved(user, row, changed=True)
    return Resolved(user, row)


def end(row: UserSession, reason: str, *, actor: User | None = None) -> None:
    """End one session (``logout``, ``ended``, ``idle``, ``expired``); audited."""
    if row.ended_at is not None:
        return
    row.ended_at, row.end_reason = clock.now(), reason
    audit.record(
        "session.end",
        "user",
        row.user_id,
        actor=actor,
        after={"session": row.id, "reason": reason, "device": row.device},
    )
    db.session.flush()


def end_all(user: User, reason: str, *, keep: int | None = None, actor: User | None = None) -> int:
    """End every open session of ``user`` except ``keep``; audited; return how many ended."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    count = db.session.execute(
        query.values(ended_at=clock.now(), end_reason=reason).execution_options(
            synchronize_session="fetch"
        )
    ).rowcount
    if count:
        audit.record(
            "session.end_all",
            "user",
            user.id,
            actor=actor,
            after={"reason": reason, "ended": count, "kept": keep},
        )
    db.session.flush()
    return count


def open_sessions(user: User) -> list[UserSession]:
    """``user``'s sessions that are still open (not ended, not timed out), latest first."""
    now = clock.now()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    return [r for r in rows if _timed_out(r, now) is None]


def owned(user: User, session_id: int) -> UserSession | None:
    """``user``'s session with this id, or None (another user's is not theirs to see)."""
    row = db.session.get(UserSession, session_id)
    return row if row is not None and row.user_id == user.id else None
