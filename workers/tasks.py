"""Thin Celery tasks: they take ids, call a service, commit, and keep their state in the database.

Every task is idempotent (``acks_late`` gives at-least-once delivery) and retries with exponential
backoff when the database is unreachable; after the last retry the failure is recorded in the
database where staff see it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from scoring.extensions import db

log = logging.getLogger(__name__)

RETRY = dict(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)


def _backoff(retries: int) -> int:
    """1, 2, 4 … seconds, capped at 10 minutes."""
    return min(600, 2**retries)


@shared_task(**RETRY)
def rank_competition(self, run_id: int) -> None:
    """Compute ranking run ``run_id`` from the committed data; safe to run twice."""
    from scoring.services import ranking

    try:
        ranking.execute_run(run_id)
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        if self.request.retries >= self.max_retries:
            ranking.mark_failed(run_id, f"database unavailable after {self.max_retries} retries")
            db.session.commit()
            return
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(**RETRY)
def send_mail(self, message_id: int) -> None:
    """Send one outbox message; a message already sent is not sent again."""
    from scoring.services import mail

    try:
        mail.deliver(message_id)
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(**RETRY)
def assign_extra_reviewer(self, application_id: int, target: int, actor_id: int | None = None) -> None:
    """Bring an application up to ``target`` active reviewers by the automatic rules; idempotent."""
    from scoring.services.reviews import assignment

    try:
        message_ids = assignment.add_extra_reviewer(application_id, target, actor_id)
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    for message_id in message_ids:
        send_mail.delay(message_id)
