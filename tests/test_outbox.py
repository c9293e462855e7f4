"""Undelivered mail: after MAIL_MAX_ATTEMPTS a message is failed, staff see it and send it again
(audited); the Message-ID is the same on every attempt (issue 11)."""

from __future__ import annotations

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import AuditEvent, MailStatus, OutboxMessage, Role
from scoring.services import mail
from tests.apply_helpers import login, person


def test_a_failed_message_is_shown_to_staff_and_sent_again(app, client):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_MAX_ATTEMPTS=1)
    with app.app_context():
        person(Role.STAFF, "staff@example.org")
        message_id = mail.queue("nobody@example.org", "Your result", "Hello").id
        db.session.commit()
        mail.deliver(message_id)
        db.session.commit()
        assert db.session.get(OutboxMessage, message_id).status == MailStatus.FAILED
    token = login(client, "staff@example.org")
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert "nobody@example.org" in page and "Send again" in page
    answer = client.post(f"/staff/outbox/{message_id}/send-again", data={"csrf_token": token})
    assert answer.status_code == 302
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == (MailStatus.PENDING, 0)
        assert (
            db.session.scalar(
                select(AuditEvent.action).where(AuditEvent.entity == "outbox_message")
            )
            == "mail.send_again"
        )
    assert "Every message has been delivered" in client.get("/staff/outbox").get_data(as_text=True)


def test_the_message_id_is_stable_and_names_the_outbox_row(app):
    with app.app_context():
        message = mail.queue("a@example.org", "S", "B")
        db.session.commit()
        first = mail.message_id_header(message, "grants@ct.example.gov")
        db.session.expire_all()
        again = mail.message_id_header(
            db.session.get(OutboxMessage, message.id), "grants@ct.example.gov"
        )
        assert first == again
        assert first.startswith(f"<outbox-{message.id}.") and first.endswith("@ct.example.gov>")
