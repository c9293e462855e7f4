"""The mail outbox: messages are queued in the database and delivered by a Celery task.

Delivery is at least once: a message is marked sent only after the SMTP server accepted it, so
a worker that dies between the two sends it again. Each message carries a Message-ID made from
its outbox row, the same on every attempt, so a receiving server can drop the duplicate. An SMTP
failure leaves the message pending with ``next_attempt_at`` backed off (``MAIL_RETRY_SECONDS``
doubling, at most six hours); after ``MAIL_MAX_ATTEMPTS`` it is ``failed`` and staff see it with
"Send again" (``send_again``). The relay (``services.recovery``) sends what is due.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from scoring.extensions import db
from scoring.inputs import one_line
from scoring.models import MailStatus, OutboxMessage
from scoring.models._types import utcnow
from scoring.runtime import app_config
from scoring.services import audit

log = logging.getLogger(__name__)


def queue(to_addr: str, subject: str, body: str, *, dedupe_key: str | None = None) -> OutboxMessage:
    """Add a message to the outbox; with ``dedupe_key`` a second call returns the first message."""
    if dedupe_key is not None:
        existing = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    # A line break in a subject (say, from a competition's title) would make SMTP refuse the mail.
    message = OutboxMessage(
        to_addr=to_addr, subject=one_line(subject)[:300], body=body, dedupe_key=dedupe_key
    )
    db.session.add(message)
    db.session.flush()
    return message


def deliver(message_id: int) -> OutboxMessage | None:
    """Send a pending message over SMTP (or to the log when no MAIL_SERVER is set)."""
    message = db.session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.status == MailStatus.SENT:
        return message
    cfg = app_config()
    message.attempts += 1
    if not cfg.get("MAIL_SERVER"):
        log.info(
            "mail (log only) to=%s subject=%s\n%s", message.to_addr, message.subject, message.body
        )
    else:
        email = EmailMessage()
        email["From"] = cfg["MAIL_FROM"]
        email["To"] = message.to_addr
        email["Subject"] = message.subject
        email["Message-ID"] = message_id_header(message, cfg["MAIL_FROM"])
        email.set_content(message.body)
        try:
            with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
                if cfg.get("MAIL_USE_TLS"):
                    smtp.starttls()
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            _failed_attempt(message, str(exc))
            return message
    message.status = MailStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    message.next_attempt_at = None
    return message


def message_id_header(message: OutboxMessage, mail_from: str) -> str:
    """The Message-ID of an outbox row: the same on every attempt, unique per row."""
    domain = mail_from.rpartition("@")[2] or "scoring.local"
    return f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: ``MAIL_RETRY_SECONDS`` doubling, capped."""
    base = float(app_config().get("MAIL_RETRY_SECONDS", 60))
    return timedelta(seconds=min(6 * 3600, base * 2 ** max(0, attempts - 1)))


def _failed_attempt(message: OutboxMessage, error: str) -> None:
    message.last_error = error[:2000]
    if message.attempts >= int(app_config().get("MAIL_MAX_ATTEMPTS", 8)):
        message.status, message.next_attempt_at = MailStatus.FAILED, None
        log.error("mail %s to %s failed for good: %s", message.id, message.to_addr, error)
    else:
        message.next_attempt_at = utcnow() + retry_delay(message.attempts)
        log.warning(
            "mail %s to %s failed (attempt %s), retrying at %s: %s",
            message.id,
            message.to_addr,
            message.attempts,
            message.next_attempt_at,
            error,
        )


def failed_messages(limit: int = 200) -> list[OutboxMessage]:
    """Messages that gave up, newest first (staff send them again)."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == MailStatus.FAILED)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def send_again(message_id: int, actor=None) -> OutboxMessage | None:
    """Put a failed message back in the queue with fresh attempts; the caller commits and
    dispatches it. A message not failed is left as it is."""
    message = db.session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.status != MailStatus.FAILED:
        return None
    message.status, message.attempts, message.next_attempt_at = MailStatus.PENDING, 0, None
    audit.record(
        "mail.send_again",
        "outbox_message",
        message.id,
        actor=actor,
        after={"status": "pending", "to": message.to_addr, "last_error": message.last_error},
    )
    db.session.flush()
    return message
