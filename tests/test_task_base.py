"""The retrying task base (``workers.tasks.DatabaseTask``): database errors of SQLAlchemy and of
psycopg are retried with a capped backoff after a rollback; after the last retry the task's
``on_final_failure`` hook runs (the ranking run is marked failed; other tasks fail)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

import workers.tasks as tasks
from scoring.services import mail, ranking


class Retried(Exception):
    pass


@pytest.fixture
def retries(app, monkeypatch):
    """The countdowns the task asked for (``task.retry`` replaced by a recorder)."""
    import workers.tasks  # noqa: F401  (registers the tasks on this app's Celery)

    asked = []

    def retry(exc=None, countdown=None, **_):
        asked.append((type(exc), countdown))
        return Retried()

    for task in (tasks.send_mail, tasks.rank_competition):
        monkeypatch.setattr(task, "retry", retry)
    return asked


def _failing(monkeypatch, module, name, exc):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(module, name, fail)


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, Exception("gone")),
        psycopg.OperationalError("server closed the connection"),
    ],
)
def test_a_database_error_is_retried_with_backoff(retries, monkeypatch, exc):
    _failing(monkeypatch, mail, "deliver", exc)
    tasks.send_mail.push_request(retries=3)
    try:
        with pytest.raises(Retried):
            tasks.send_mail(1)
    finally:
        tasks.send_mail.pop_request()
    assert retries == [(type(exc), 8)]


def test_the_backoff_doubles_and_is_capped_at_ten_minutes():
    assert [tasks._backoff(n) for n in (0, 1, 2, 9, 10, 20)] == [1, 2, 4, 512, 600, 600]


def test_other_errors_are_not_retried(retries, monkeypatch):
    _failing(monkeypatch, mail, "deliver", ValueError("a bug"))
    with pytest.raises(ValueError):
        tasks.send_mail(1)
    assert retries == []


def test_after_the_last_retry_a_task_fails_with_the_error(retries, monkeypatch):
    _failing(monkeypatch, mail, "deliver", psycopg.OperationalError("down"))
    tasks.send_mail.push_request(retries=tasks.send_mail.max_retries)
    try:
        with pytest.raises(psycopg.OperationalError):
            tasks.send_mail(1)
    finally:
        tasks.send_mail.pop_request()
    assert retries == []


def test_after_the_last_retry_the_ranking_run_is_marked_failed(retries, monkeypatch):
    from scoring.services.ranking import lifecycle

    _failing(
        monkeypatch, lifecycle, "start_run", OperationalError("SELECT 1", {}, Exception("gone"))
    )
    failed = []
    monkeypatch.setattr(
        ranking, "mark_failed", lambda run_id, error: failed.append((run_id, error))
    )
    tasks.rank_competition.push_request(retries=5)
    try:
        assert tasks.rank_competition(7) is None
    finally:
        tasks.rank_competition.pop_request()
    assert failed == [(7, "database unavailable after 5 retries")] and retries == []


def test_every_task_acks_late_and_is_requeued_when_its_worker_dies():
    for task in (tasks.rank_competition, tasks.send_mail, tasks.assign_extra_reviewer):
        assert isinstance(task._get_current_object(), tasks.DatabaseTask)
        assert (task.acks_late, task.reject_on_worker_lost, task.max_retries) == (True, True, 5)
