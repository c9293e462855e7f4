"""The audit trail and the mail outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import UTCDateTime, str_enum, utcnow
from scoring.models.user import User


class AuditEvent(db.Model):
    """Who did what, when, with the state before and after. Rows are only ever added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Dotted verb, e.g. "application.submit", "review.reopen", "ranking.run", "slate.approve".
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column()
    competition_id: Mapped[int | None] = mapped_column(ForeignKey("competition.id"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(40))

    actor: Mapped[User | None] = relationship()


class MailStatus(enum.StrEnum):
    """Delivery state of an outbox mail."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """A mail to send; the ``dedupe_key`` makes a retried notification send nothing twice."""

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        str_enum(MailStatus, "mail_status"), default=MailStatus.PENDING
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the relay may send a pending message again (after a failure: the backoff).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkerBeat(db.Model):
    """The last sign of life of each Celery worker (host name): the run page and /api/health
    show when no worker has been seen for a while."""

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
