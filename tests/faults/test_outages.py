"""Stop one of PostgreSQL, Redis, the worker or SMTP for a while, bring it back, and check the
final state: the run done exactly once with the undisturbed document, the mail delivered,
nothing left queued (issue 11)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import AuditEvent, Competition, MailStatus, OutboxMessage, RankingRun, RunStatus
from scoring.services import mail, ranking
from scoring.web import rank_after_commit, send_after_commit
from tests.apply_helpers import SmtpSink, login
from tests.faults.helpers import (
    competition_id,
    document_without_run,
    nothing_queued,
    reference_document,
    result_rows,
    staff_user,
    wait_status,
)

pytestmark = pytest.mark.worker

DONE = {RunStatus.DONE, RunStatus.FAILED}


def _queue(app) -> int:
    """What the "Start ranking" view does: commit the run, then try the broker."""
    with app.app_context():
        run = ranking.create_run(db.session.get(Competition, competition_id(app)))
        db.session.commit()
        run_id = run.id
        rank_after_commit(run_id)
    return run_id


def _done_once(app, run_id: int) -> None:
    assert wait_status(app, run_id, DONE) == RunStatus.DONE
    assert result_rows(app, run_id) == 8
    assert nothing_queued(app)
    assert document_without_run(app, run_id) == reference_document(app)


def test_redis_down_when_staff_start_a_ranking(fault_app, private_redis, workers):
    workers.start()
    email = staff_user(fault_app)
    private_redis.stop()
    client = fault_app.test_client()
    token = login(client, email)  # the rate limiter falls back to memory
    response = client.post(
        f"/staff/competitions/{competition_id(fault_app)}/rank", data={"csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/staff/runs/{run_id}").get_data(as_text=True)
    assert "queued" in page and "Waiting for a worker" in page
    private_redis.start()
    _done_once(fault_app, run_id)  # the relay sent it once Redis was back
    with fault_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RankingRun)) == 2  # + reference


def test_two_concurrent_start_ranking_make_one_run(fault_app, workers):
    emails = [staff_user(fault_app, f"staff{i}@example.org") for i in range(2)]
    clients = [fault_app.test_client() for _ in range(2)]
    tokens = [login(c, e) for c, e in zip(clients, emails, strict=True)]
    barrier, answers = threading.Barrier(2), []
    url = f"/staff/competitions/{competition_id(fault_app)}/rank"

    def press(client, token) -> None:
        barrier.wait()
        answers.append(client.post(url, data={"csrf_token": token}).headers["Location"])

    threads = [
        threading.Thread(target=press, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 2 and answers[0] == answers[1]  # the second joined the first
    run_id = int(answers[0].rsplit("/", 1)[1])
    workers.start()
    _done_once(fault_app, run_id)


def test_worker_killed_whole_the_run_is_requeued_and_done_by_another(fault_app, workers):
    # a long visibility_timeout: the broker does not hand the killed task back during the
    # test, so it is the lease and the relay that recover the run
    first, log = workers.start(SCORING_TEST_RANK_DELAY="60", CELERY_VISIBILITY_TIMEOUT="600")
    run_id = _queue(fault_app)
    assert wait_status(fault_app, run_id, {RunStatus.RUNNING}) == RunStatus.RUNNING
    os.killpg(first.pid, signal.SIGKILL)  # the whole worker: main process and pool child
    first.wait(10)
    workers.start(CELERY_VISIBILITY_TIMEOUT="600")
    _done_once(fault_app, run_id)
    with fault_app.app_context():
        run = db.session.get(RankingRun, run_id)
        assert run.attempts == 2 and run.worker
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == run_id)
        ).all()
        assert "ranking.requeue" in actions


def test_smtp_down_then_up_every_mail_delivered_once(fault_app, workers):
    sink = SmtpSink()  # its port is chosen, nothing listens yet
    fault_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
    workers.start(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port))
    with fault_app.app_context():
        ids = [mail.queue(f"r{i}@example.org", f"Notice {i}", "Hello").id for i in range(3)]
        db.session.commit()
        send_after_commit(ids)
    deadline = time.monotonic() + 60
    while True:  # every first attempt failed and was scheduled again
        with fault_app.app_context():
            tried = db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.attempts >= 1, OutboxMessage.status == MailStatus.PENDING)
            )
            db.session.rollback()
        if tried == 3:
            break
        assert time.monotonic() < deadline, "the first attempts did not happen"
        time.sleep(0.2)
    sink.start()
    try:
        deadline = time.monotonic() + 60
        while len(sink.messages) < 3:
            assert time.monotonic() < deadline, f"delivered {len(sink.messages)} of 3"
            time.sleep(0.2)
        time.sleep(1)  # a duplicate would arrive now
        received = sink.messages
    finally:
        sink.stop()
    with fault_app.app_context():
        messages = [db.session.get(OutboxMessage, i) for i in ids]
        assert {m.status for m in messages} == {MailStatus.SENT}
        expected = {mail.message_id_header(m, fault_app.config["MAIL_FROM"]) for m in messages}
    assert sorted(m["Message-ID"] for m in received) == sorted(expected)
