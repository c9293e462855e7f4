"""PostgreSQL stopped mid-read and mid-write of a ranking run; Redis down when an applicant
submits, when staff publish and when staff ask for an extra reviewer; a statement cancelled by
``statement_timeout`` in a web request (issue 11). Each waits for the final state: the run done
exactly once with the undisturbed document, every mail delivered once, the reviewer assigned
once, nothing left queued or pending.

The database is stopped at a known point of the run without a hook in the code: the test takes
a table lock that the worker's next statement needs (``application``: read through the raw
cursor inside the run's REPEATABLE READ snapshot; ``ranking_result``: the write), waits until
``pg_stat_activity`` shows the worker's statement waiting on it, then stops the server.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    AuditEvent,
    Competition,
    ExtraReviewerRequest,
    MailStatus,
    OutboxMessage,
    RankingRun,
    ReviewerAssignment,
    Role,
    RunStatus,
    User,
)
from scoring.services import ranking
from scoring.web import rank_after_commit
from tests import apply_helpers as h
from tests.faults.conftest import PG_PORT
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
DSN = f"host=127.0.0.1 port={PG_PORT} user=postgres dbname=postgres connect_timeout=3"


def _queue(app) -> int:
    """What the "Start ranking" view does: commit the run, then try the broker."""
    with app.app_context():
        run = ranking.create_run(db.session.get(Competition, competition_id(app)))
        db.session.commit()
        run_id = run.id
        rank_after_commit(run_id)
    return run_id


def _lock(table: str, mode: str) -> psycopg.Connection:
    """A connection holding ``mode`` on ``table`` until it ends (the server's stop ends it)."""
    holder = psycopg.connect(DSN)
    holder.execute(f"LOCK TABLE {table} IN {mode} MODE")
    return holder


def _wait_blocked(fragment: str, timeout: float = 60) -> str:
    """Wait until another session's statement mentioning ``fragment`` waits on a lock."""
    deadline, seen = time.monotonic() + timeout, set()
    with psycopg.connect(DSN, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            rows = watcher.execute(
                "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
            for (query,) in rows:
                if fragment in query:
                    return query
                seen.add(query[:300])
            time.sleep(0.1)
    raise AssertionError(f"no statement on {fragment!r} waited for the lock; seen: {seen}")


def _outage(app, private_pg, seconds: float = 2) -> None:
    with app.app_context():
        db.engine.dispose()
    private_pg.stop()  # fast shutdown: every session, the lock holder's too, is ended
    time.sleep(seconds)
    private_pg.start()


def _done_exactly_once(app, run_id: int) -> None:
    assert wait_status(app, run_id, DONE) == RunStatus.DONE
    assert result_rows(app, run_id) == 8
    assert nothing_queued(app)
    with app.app_context():
        finished = db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "ranking.run", AuditEvent.entity_id == run_id
            )
        )
        attempts = db.session.get(RankingRun, run_id).attempts
    assert finished == 1  # computed and stored once
    assert attempts <= app.config["RUN_MAX_ATTEMPTS"]
    assert document_without_run(app, run_id) == reference_document(app)


def test_postgres_stopped_mid_read_of_a_ranking(fault_app, private_pg, workers):
    # the run waits 3 s after taking its lock, before its first read: time to take ours
    workers.start(SCORING_TEST_RANK_DELAY="3")
    run_id = _queue(fault_app)
    assert wait_status(fault_app, run_id, {RunStatus.RUNNING}) == RunStatus.RUNNING
    holder = _lock("application", "ACCESS EXCLUSIVE")
    query = _wait_blocked("FROM application a JOIN school")  # the raw cursor, mid-snapshot
    assert "ORDER BY a.id" in query
    _outage(fault_app, private_pg)
    holder.close()  # ended by the stop already
    _done_exactly_once(fault_app, run_id)


def test_postgres_stopped_mid_write_of_a_ranking(fault_app, private_pg, workers):
    workers.start()
    holder = _lock("ranking_result", "EXCLUSIVE")  # reads go on; the run's write waits
    run_id = _queue(fault_app)
    _wait_blocked("ranking_result")
    assert result_rows(fault_app, run_id) == 0
    _outage(fault_app, private_pg)
    holder.close()  # ended by the stop already
    _done_exactly_once(fault_app, run_id)


def _pending_mail(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).where(OutboxMessage.status != MailStatus.SENT))
        db.session.rollback()
        return n


def _delivered_once(app, sink, since_id: int) -> None:
    """Every mail after ``since_id`` is sent and arrived once (by its stable Message-ID)."""
    deadline = time.monotonic() + 60
    while _pending_mail(app):
        assert time.monotonic() < deadline, "mail still pending after Redis came back"
        time.sleep(0.2)
    time.sleep(1.5)  # a duplicate would arrive now
    from scoring.services import mail

    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id > since_id))
        expected = sorted(mail.message_id_header(m, app.config["MAIL_FROM"]) for m in messages)
    assert expected, "nothing was queued"
    assert sorted(m["Message-ID"] for m in sink.messages) == expected


def _last_mail_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


@pytest.fixture
def smtp(fault_app):
    sink = h.SmtpSink().start()
    fault_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
    yield sink
    sink.stop()


def _ranked_and_approved(app) -> int:
    """The bundle's applications with a contact, ranked, the award list approved; the run."""
    from scoring.services.decisions import decisions
    from tests.staff_world import APPROVER, PREPARER, person, rank_now

    with app.app_context():
        person(Role.STAFF, PREPARER)
        person(Role.STAFF, APPROVER, can_approve=True)
        for application in db.session.scalars(select(Application)):
            contact = f"principal-{application.ref.lower()}@example.org"
            application.contacts = [{"role": "principal", "name": "P", "email": contact}]
        db.session.commit()
    run_id = rank_now(app, competition_id(app))
    with app.app_context():
        run = db.session.get(RankingRun, run_id)
        people = {u.email: u for u in db.session.scalars(select(User))}
        slate = decisions.prepare_slate(run, actor=people[PREPARER])
        db.session.commit()
        decisions.approve_slate(slate, actor=people[APPROVER])
        db.session.commit()
    return run_id


def _reviewers(app, application_id: int) -> list[int]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(ReviewerAssignment.reviewer_id).where(
                    ReviewerAssignment.application_id == application_id
                )
            )
        )


def _wait_extra_done(app) -> None:
    deadline = time.monotonic() + 60
    while True:
        with app.app_context():
            done = db.session.scalar(select(ExtraReviewerRequest.done_at))
        if done is not None:
            return
        assert time.monotonic() < deadline, "the extra reviewer was never assigned"
        time.sleep(0.2)


def test_redis_down_at_submit_publish_and_extra_reviewer(fault_app, private_redis, workers, smtp):
    """One outage, three requests (one worker start keeps the suite under 5 minutes): an
    applicant submits, staff publish, staff ask for an extra reviewer. Each request succeeds
    with its work committed; once Redis is back every mail arrives once and the reviewer is
    assigned once."""
    from tests.staff_world import PREPARER, login, post

    workers.start(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))
    world = h.make_world(fault_app)  # an open competition beside the bundle's
    applicant = fault_app.test_client()
    token = h.login(applicant, world.emails["applicant"])
    app_id = h.create_draft(applicant, world, token)
    run_id = _ranked_and_approved(fault_app)
    with fault_app.app_context():
        t001 = db.session.scalar(select(Application).where(Application.ref == "T-001"))
        aid, cid = t001.id, t001.competition_id
    before = _reviewers(fault_app, aid)
    staff = login(fault_app, PREPARER)
    since = _last_mail_id(fault_app)

    private_redis.stop()
    submitted = applicant.post(
        f"/apply/applications/{app_id}", data=h.valid_form(world, csrf_token=token, submit_app="1")
    )
    assert submitted.status_code == 302 and "/receipt" in submitted.headers["Location"]
    receipts = _pending_mail(fault_app)
    assert receipts >= 1  # committed with the submission, not lost
    published = post(staff, f"/staff/runs/{run_id}/publish")
    assert published.status_code == 302, published.get_data(as_text=True)[:300]
    assert _pending_mail(fault_app) >= receipts + 8  # one decision per application
    asked = post(staff, f"/staff/panel/c/{cid}/a/{aid}/extra", {"back": ""})
    assert asked.status_code == 302, asked.get_data(as_text=True)[:300]
    with fault_app.app_context():
        request = db.session.scalar(select(ExtraReviewerRequest))
        assert request.done_at is None and request.target == len(before) + 1
    time.sleep(2)  # relay periods pass with the broker away: nothing is lost or doubled
    assert _reviewers(fault_app, aid) == before

    private_redis.start()
    _wait_extra_done(fault_app)  # its notice is committed with it
    _delivered_once(fault_app, smtp, since)  # receipt(s), decisions, the new reviewer's notice
    after = _reviewers(fault_app, aid)
    assert len(after) == len(before) + 1 and set(before) < set(after)
    assert h.application_state(fault_app, app_id)["status"].value == "submitted"


def test_a_statement_cancelled_by_statement_timeout_is_the_error_page(fault_app):
    email = staff_user(fault_app)
    client = fault_app.test_client()
    h.login(client, email)
    fault_app.config.update(WEB_STATEMENT_TIMEOUT_MS=1000)
    holder = _lock("competition", "ACCESS EXCLUSIVE")  # the staff home reads competitions
    answer: dict = {}

    def request() -> None:
        answer["response"] = client.get("/staff/")

    thread = threading.Thread(target=request)
    try:
        thread.start()
        thread.join(30)  # with no timeout it would wait for the lock for ever
        assert not thread.is_alive(), "the request hung on the locked table"
    finally:
        holder.close()
        thread.join(30)
    response = answer["response"]
    text = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The database took too long to answer" in text and "Traceback" not in text
    assert f"Reference: {response.headers['X-Request-Id']}" in text
    assert client.get("/staff/").status_code == 200  # and the next request is served
