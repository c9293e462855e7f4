"""Thin Celery tasks: they take ids, call a service, commit, and keep their state in the database.

Every task is a :class:`DatabaseTask`: idempotent (``acks_late`` gives at-least-once delivery),
retried with exponential backoff when the database is unreachable, and after the last retry its
``on_final_failure`` hook records the failure in the database where staff see it.
"""

from __future__ import annotations

import logging

import psycopg
from celery import shared_task
from sqlalchemy.exc import OperationalError

from scoring.extensions import FlaskTask, db

log = logging.getLogger(__name__)

#: The database is unreachable or dropped the connection: worth another try later.
DATABASE_ERRORS = (OperationalError, psycopg.OperationalError)


def _backoff(retries: int) -> int:
    """1, 2, 4 … seconds, capped at 10 minutes."""
    return min(600, 2**retries)


class DatabaseTask(FlaskTask):
    """A task retried when the database fails: the session is rolled back, the task is queued
    again after :func:`_backoff` seconds, at most ``max_retries`` times; then
    :meth:`on_final_failure` runs (by default the task fails with the error)."""

    acks_late = True
    reject_on_worker_lost = True
    max_retries = 5

    def __call__(self, *args: object, **kwargs: object) -> object:
        """Run in the app's context; on a database error roll back and retry, at last give up."""
        with self.app.flask_app.app_context():
            try:
                return self.run(*args, **kwargs)
            except DATABASE_ERRORS as exc:
                db.session.rollback()
                if self.request.retries >= self.max_retries:
                    return self.on_final_failure(exc, *args, **kwargs)
                raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc

    def on_final_failure(self, exc: Exception, *args: object, **kwargs: object) -> None:
        """The last retry failed too (the session is rolled back; the app context is active).
        Record the failure where staff see it and return, or raise; by default: raise."""
        raise exc


def _run_failed(task: DatabaseTask, exc: Exception, run_id: int) -> None:
    """The ranking run is marked failed, so staff see why it stopped (the task itself succeeds)."""
    from scoring.services import ranking

    ranking.mark_failed(run_id, f"database unavailable after {task.max_retries} retries")
    db.session.commit()


@shared_task(base=DatabaseTask, on_final_failure=_run_failed)
def rank_competition(run_id: int) -> None:
    """Compute ranking run ``run_id`` from the committed data; safe to run twice."""
    from scoring.services import ranking

    ranking.execute_run(run_id)
    db.session.commit()


@shared_task(base=DatabaseTask)
def send_mail(message_id: int) -> None:
    """Send one outbox message; a message already sent is not sent again."""
    from scoring.services import mail

    mail.deliver(message_id)
    db.session.commit()


@shared_task(base=DatabaseTask)
def assign_extra_reviewer(application_id: int, target: int, actor_id: int | None = None) -> None:
    """Bring an application up to ``target`` active reviewers by the automatic rules; idempotent."""
    from scoring.services.reviews import assignment

    message_ids = assignment.add_extra_reviewer(application_id, target, actor_id)
    db.session.commit()
    for message_id in message_ids:
        send_mail.delay(message_id)


@shared_task(base=DatabaseTask)
def request_password_reset(email: str) -> None:
    """Mail a reset link if an active account has ``email`` (the page answered at once)."""
    from scoring.services.accounts import accounts
    from scoring.web import password_link

    message = accounts.request_reset(email, make_link=password_link)
    db.session.commit()
    if message is not None:
        send_mail.delay(message.id)


def _export_failed(task: DatabaseTask, exc: Exception, job_id: int) -> None:
    """The export is marked failed, so staff see why no file came."""
    from scoring.services.exports import jobs

    jobs.mark_failed(job_id, f"database unavailable after {task.max_retries} retries")
    db.session.commit()


def _export_progress(job_id: int):
    """Record how many rows are written, on a connection of its own (the export's reading
    transaction, with its server-side cursor, stays open); PostgreSQL only."""
    from sqlalchemy import update

    from scoring.models import ExportJob

    if db.engine.dialect.name != "postgresql":
        return None

    def progress(rows: int) -> None:
        try:
            with db.engine.begin() as conn:
                conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(rows_done=rows))
        except DATABASE_ERRORS:
            log.warning("export %s: progress not recorded", job_id)

    return progress


@shared_task(base=DatabaseTask, on_final_failure=_export_failed)
def make_export(job_id: int) -> None:
    """Build the file of export job ``job_id`` under EXPORT_DIR; a finished job is left as is."""
    from scoring.services.exports import jobs

    if jobs.start(job_id) is None:
        return
    db.session.commit()
    try:
        jobs.build(job_id, _export_progress(job_id))
    except DATABASE_ERRORS:
        raise
    except Exception as exc:
        db.session.rollback()
        log.exception("export %s failed", job_id)
        jobs.mark_failed(job_id, f"the file could not be written: {exc}")
    db.session.commit()
