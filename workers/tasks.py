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
                _discard_session()
                if self.request.retries >= self.max_retries:
                    return self.on_final_failure(exc, *args, **kwargs)
                raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc

    def on_final_failure(self, exc: Exception, *args: object, **kwargs: object) -> None:
        """The last retry failed too (the session is rolled back; the app context is active).
        Record the failure where staff see it and return, or raise; by default: raise."""
        raise exc


def _discard_session() -> None:
    """Roll back after a database error; on a dead connection the rollback itself fails, and
    the session is dropped instead (the pool replaces the connection)."""
    try:
        db.session.rollback()
    except Exception as exc:  # the connection is gone: nothing to roll back
        log.warning("rollback failed after a database error: %s", exc)
    db.session.remove()


def _run_failed(task: DatabaseTask, exc: Exception, run_id: int) -> None:
    """The ranking run is marked failed, so staff see why it stopped (the task itself succeeds).
    With the database still away nothing can be written: the run's lease lapses and the relay
    requeues it, and after ``RUN_MAX_ATTEMPTS`` starts it is marked failed then."""
    from scoring.services import ranking

    try:
        ranking.mark_failed(run_id, f"database unavailable after {task.max_retries} retries")
        db.session.commit()
    except DATABASE_ERRORS as again:
        _discard_session()
        log.warning("ranking run %s left to its lease (database still away: %s)", run_id, again)


@shared_task(bind=True, base=DatabaseTask, on_final_failure=_run_failed)
def rank_competition(self: DatabaseTask, run_id: int) -> None:
    """Compute ranking run ``run_id`` from the committed data; safe to run twice.

    The lease (``running``, this worker, this task, the attempt) is committed first, in its
    own short transaction; a heartbeat renews it while the run computes."""
    from scoring.services import recovery
    from scoring.services.ranking import execute_run, lifecycle

    worker, task_id = self.request.hostname or "worker", self.request.id
    recovery.note_worker(worker)
    started = lifecycle.start_run(run_id, worker, task_id)
    db.session.commit()
    if not started:
        return
    with lifecycle.heartbeat(run_id, task_id):
        run = execute_run(run_id, leased=True)
        db.session.commit()
    done = run is not None and run.status.value == "done"
    del run
    _release_memory()
    if done and not _embedded():
        send_all(rank_stability, [run_id])  # its own task: the run is usable meanwhile


def _release_memory() -> None:
    """Give a big run's memory back to the system: a 100k run leaves ~0.5 GB resident in the
    worker otherwise (freed Python objects stay in malloc's heap until it is trimmed)."""
    import ctypes
    import gc

    db.session.expunge_all()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _embedded() -> bool:
    """Embedded mode (tasks run in the caller): the caller asks for the stability itself, so
    ``flask rank`` without ``--stability`` does not wait for the bootstrap."""
    from flask import current_app

    return bool(current_app.config.get("TASKS_EMBEDDED"))


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
    send_all(send_mail, message_ids)


def send_all(task: object, ids: list) -> int:
    """Send ``task(id)`` for each id (``task(*args)`` for a tuple); a broker error is logged and
    left to the relay (the work is committed as rows). Returns how many were sent."""
    sent = 0
    for item in ids:
        try:
            task.delay(*item) if isinstance(item, tuple) else task.delay(item)
            sent += 1
        except Exception as exc:  # the broker is away: the relay sends it later
            log.warning("could not queue %s(%s), the relay will: %s", task.name, item, exc)
    return sent


@shared_task(bind=True, base=DatabaseTask)
def relay(self: DatabaseTask) -> dict:
    """Periodic (Celery beat, ``RELAY_INTERVAL_SECONDS``): requeue runs whose lease lapsed and
    send the queued runs, due mail and extra reviewers the broker never got
    (``services.recovery``)."""
    from scoring.services import recovery

    recovery.note_worker(self.request.hostname or "worker")
    due = recovery.collect_due()
    db.session.commit()
    return {
        "runs": send_all(rank_competition, due.run_ids),
        "mails": send_all(send_mail, due.message_ids),
        "extra_reviewers": send_all(assign_extra_reviewer, due.extra_reviewers),
        "requeued": due.requeued_run_ids,
    }


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


def _stability_failed(task: DatabaseTask, exc: Exception, run_id: int) -> None:
    """The run's stability is marked failed, so staff see why the figures are missing."""
    from scoring.services.ranking import stability

    stability.mark_stability_failed(
        run_id, f"database unavailable after {task.max_retries} retries"
    )
    db.session.commit()


@shared_task(base=DatabaseTask, on_final_failure=_stability_failed)
def rank_stability(run_id: int) -> None:
    """Compute the rank stability of done ranking run ``run_id`` (docs/stability.md); idempotent."""
    from scoring.services.ranking import stability

    attempt = stability.claim_stability(run_id)
    db.session.commit()  # "running" is visible; no lock is held while it computes
    if attempt is not None:
        stability.compute_claimed(run_id, attempt)
        db.session.commit()
