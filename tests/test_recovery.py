"""The relay's rules without a broker (issue 11): a lapsed lease is requeued and, past
RUN_MAX_ATTEMPTS, failed with the reason; a queued run and a pending mail are resent once per
relay period; a second "Start ranking" joins the active run; worker beats are upserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import Competition, RankingRun, RunStatus
from scoring.services import bundles, mail, recovery
from scoring.services.ranking import lifecycle

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _competition() -> Competition:
    bundles.import_bundle(json.loads(FIXTURE.read_text()))
    return db.session.scalar(select(Competition))


def test_lapsed_lease_requeued_then_failed_after_max_attempts(any_app):
    any_app.config.update(RUN_LEASE_SECONDS=60, RUN_MAX_ATTEMPTS=2, RELAY_AFTER_SECONDS=30)
    with any_app.app_context(), clock.frozen(T0):
        run, joined = lifecycle.start_or_join(_competition())
        db.session.commit()
        assert not joined
        assert lifecycle.start_or_join(run.competition) == (run, True)
        assert lifecycle.start_run(run.id, "w1", "task-1")
        db.session.commit()
        assert not lifecycle.start_run(run.id, "w2", "task-2")  # the lease holds
        assert lifecycle.start_run(run.id, "w1", "task-1")  # its own retry: same attempt
        db.session.commit()
        assert (run.status, run.attempts, run.worker) == (RunStatus.RUNNING, 1, "w1")
        run_id = run.id
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=30)):
        assert recovery.collect_due().run_ids == []  # alive: nothing to do
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=61)):
        due = recovery.collect_due()
        db.session.commit()
        assert due.requeued_run_ids == [run_id] and due.run_ids == [run_id]
        assert db.session.get(RankingRun, run_id).status == RunStatus.QUEUED
        assert lifecycle.start_run(run_id, "w2", "task-2")  # attempt 2
        db.session.commit()
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=200)):
        recovery.collect_due()
        db.session.commit()
        assert not lifecycle.start_run(run_id, "w3", "task-3")  # past RUN_MAX_ATTEMPTS
        db.session.commit()
        failed = db.session.get(RankingRun, run_id)
        assert failed.status == RunStatus.FAILED
        assert failed.error.startswith("gave up after 2 attempts; the last: the lease of w2")


def test_queued_runs_and_pending_mail_are_resent_once_per_period(any_app):
    any_app.config.update(RELAY_AFTER_SECONDS=30)
    with any_app.app_context(), clock.frozen(T0):
        run, _ = lifecycle.start_or_join(_competition())
        message = mail.queue("a@example.org", "S", "B")
        db.session.commit()
        run_id, message_id = run.id, message.id
        assert (recovery.collect_due().run_ids, recovery.collect_due().message_ids) == ([], [])
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=31)):
        due = recovery.collect_due()
        db.session.commit()
        assert (due.run_ids, due.message_ids) == ([run_id], [message_id])
        again = recovery.collect_due()
        assert (again.run_ids, again.message_ids) == ([], [])  # stamped: not twice a period


def test_worker_beats_are_upserted(any_app):
    with any_app.app_context():
        with clock.frozen(T0):
            recovery.note_worker("celery@a")
            recovery.note_worker("celery@a")
            db.session.commit()
        with clock.frozen(T0 + timedelta(seconds=5)):
            recovery.note_worker("celery@a")
            db.session.commit()
        assert recovery.last_worker_seen() == T0 + timedelta(seconds=5)


def test_an_extra_reviewer_asked_for_is_a_row_the_relay_resends_until_done(any_app):
    """Issue 11 §1: the request is committed with its dispatch row; the relay sends it once per
    period until a worker did it; the task marks it done, and a redelivery adds nobody."""
    from scoring.models import Application, ExtraReviewerRequest, ReviewerAssignment, Role
    from scoring.services.reviews import reconciliation
    from tests.apply_helpers import person
    from workers.tasks import assign_extra_reviewer

    any_app.config.update(RELAY_AFTER_SECONDS=30)
    with any_app.app_context(), clock.frozen(T0):
        competition = _competition()
        staff = person(Role.STAFF, "staff@example.org")
        application = db.session.scalar(select(Application).where(Application.ref == "T-001"))
        before = reconciliation.active_count(application)
        target = reconciliation.request_extra_reviewer(application, actor=staff, run=None)
        db.session.commit()
        app_id, staff_id = application.id, staff.id
        assert target == before + 1 and competition.id
        assert recovery.collect_due().extra_reviewers == []  # the request's own attempt first
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=31)):
        due = recovery.collect_due()
        db.session.commit()
        assert due.extra_reviewers == [(app_id, target, staff_id)]
        assert recovery.collect_due().extra_reviewers == []  # stamped: not twice a period
        db.session.commit()
        assign_extra_reviewer(*due.extra_reviewers[0])
        assign_extra_reviewer(*due.extra_reviewers[0])  # a second delivery adds nobody
        request = db.session.scalar(select(ExtraReviewerRequest))
        assert request.done_at is not None
        assigned = db.session.scalars(
            select(ReviewerAssignment).where(ReviewerAssignment.application_id == app_id)
        ).all()
        assert reconciliation.active_count(db.session.get(Application, app_id)) == target
        assert len(assigned) == target
    with any_app.app_context(), clock.frozen(T0 + timedelta(seconds=100)):
        assert recovery.collect_due().extra_reviewers == []  # done: never sent again
