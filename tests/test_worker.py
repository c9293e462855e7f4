"""A real `celery worker` process on Redis does the work, with its state kept in PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import MailStatus, OutboxMessage
from scoring.services import mail

pytestmark = pytest.mark.worker


def _wait_for(app, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            value = predicate()
            if value:
                return value
        time.sleep(0.2)
    raise AssertionError("the worker did not finish in time")


def test_real_worker_sends_a_queued_message(worker_app, celery_worker_process):
    from workers.tasks import send_mail

    with worker_app.app_context():
        message = mail.queue("principal@example.org", "Receipt", "Your application was received.")
        db.session.commit()
        message_id = message.id
    send_mail.delay(message_id)  # after the commit, so the worker sees the row

    sent = _wait_for(
        worker_app,
        lambda: db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.status == MailStatus.SENT
            )
        ),
    )
    assert sent.attempts == 1 and sent.sent_at is not None


def test_a_message_sent_twice_is_delivered_once(worker_app, celery_worker_process):
    from workers.tasks import send_mail

    with worker_app.app_context():
        message = mail.queue(
            "principal@example.org", "Decision", "Published.", dedupe_key="decision:1"
        )
        again = mail.queue(
            "principal@example.org", "Decision", "Published.", dedupe_key="decision:1"
        )
        assert again.id == message.id
        db.session.commit()
        message_id = message.id
    send_mail.delay(message_id)
    send_mail.delay(message_id)
    _wait_for(
        worker_app, lambda: db.session.get(OutboxMessage, message_id).status == MailStatus.SENT
    )
    time.sleep(1.0)  # let the second delivery run too
    with worker_app.app_context():
        assert db.session.get(OutboxMessage, message_id).attempts == 1
