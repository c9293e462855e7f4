"""The mail outbox: messages are queued in the database and delivered by a Celery task."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy import select

from scoring.extensions import db
from scoring.inputs import one_line
from scoring.models import MailStatus, OutboxMessage
from scoring.models._types import utcnow
from scoring.runtime import app_config

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
        email.set_content(message.body)
        try:
            with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
                if cfg.get("MAIL_USE_TLS"):
                    smtp.starttls()
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            message.status = MailStatus.FAILED
            message.last_error = str(exc)[:2000]
            log.warning("mail to %s failed: %s", message.to_addr, exc)
            return message
    message.status = MailStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    return message
