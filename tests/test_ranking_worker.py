"""Ranking through real Celery workers on Redis, with PostgreSQL (docs/architecture.md R1, R6)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from scoring.core.ranking import dumps_document
from scoring.extensions import db
from scoring.models import Competition, RankingResult, RankingRun, RunStatus
from scoring.services import bundles, ranking
from tests.conftest import start_worker_process, stop_worker_process, worker_env

pytestmark = pytest.mark.worker

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"


def queue_run(app) -> int:
    """Import the fixture (once), queue a run, commit, and only then dispatch the task."""
    from workers.tasks import rank_competition

    with app.app_context():
        competition = db.session.scalar(select(Competition))
        if competition is None:
            bundles.import_bundle(json.loads(FIXTURE.read_text()))
            competition = db.session.scalar(select(Competition))
        run_id = ranking.create_run(competition).id
        db.session.commit()
    rank_competition.delay(run_id)
    return run_id


def wait_finished(app, run_id: int, timeout: float = 60.0) -> RunStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            status = db.session.scalar(select(RankingRun.status).where(RankingRun.id == run_id))
        if status in (RunStatus.DONE, RunStatus.FAILED):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s (status {status})")


def in_process_document(app) -> str:
    """A clean run computed in this process, as the reference."""
    with app.app_context():
        run = ranking.create_run(db.session.scalar(select(Competition)))
        db.session.commit()
        ranking.execute_run(run.id)
        db.session.commit()
        return document_without_run(app, run.id)


def document_without_run(app, run_id: int) -> str:
    with app.app_context():
        document = ranking.result_document_for_run(db.session.get(RankingRun, run_id))
    document.pop("run")
    return dumps_document(document)


def result_rows(app, run_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(RankingResult).where(RankingResult.run_id == run_id)
        )


def test_a_worker_process_computes_the_same_bytes(worker_app, celery_worker_process):
    run_id = queue_run(worker_app)
    assert wait_finished(worker_app, run_id) == RunStatus.DONE
    assert document_without_run(worker_app, run_id) == in_process_document(worker_app)
    assert result_rows(worker_app, run_id) == 8


def _pool_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _holding_run_lock(app) -> bool:
    """Some session sits inside execute_run holding the run's advisory lock (then sleeps)."""
    with app.app_context():
        held = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :k"
            ),
            {"k": ranking.RUN_LOCK_CLASS},
        )
        db.session.rollback()
        return bool(held)


def test_killing_the_pool_child_mid_task_reruns_it_identically(worker_app, tmp_path):
    """R1: SIGKILL the pool child while it holds the run; acks_late + reject_on_worker_lost
    redeliver the task, and the output equals a clean run, with exactly one result set."""
    proc, log = start_worker_process(
        tmp_path, env=worker_env({"SCORING_TEST_RANK_DELAY": "2"})
    )  # test-only slow-down
    try:
        run_id = queue_run(worker_app)
        deadline = time.monotonic() + 30
        while not _holding_run_lock(worker_app):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        children = _pool_children(proc.pid)
        assert len(children) == 1, children
        os.kill(children[0], signal.SIGKILL)
        assert wait_finished(worker_app, run_id) == RunStatus.DONE
    finally:
        stop_worker_process(proc)
    output = log.read_text()
    assert "WorkerLostError" in output or "signal 9" in output, output[-3000:]
    assert result_rows(worker_app, run_id) == 8
    with worker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RankingResult)) == 8
        # the killed attempt's transaction died with its connection: nothing of it remains
        assert db.session.get(RankingRun, run_id).attempts == 1
    assert document_without_run(worker_app, run_id) == in_process_document(worker_app)


@pytest.fixture
def thread_worker(worker_app, monkeypatch):
    """A real worker in a thread of this process (so monkeypatches apply), on Redis."""
    import workers.tasks

    monkeypatch.setattr(workers.tasks, "_backoff", lambda retries: 0)
    celery = worker_app.extensions["celery"]
    task = celery.tasks["workers.tasks.rank_competition"]
    monkeypatch.setattr(task, "max_retries", 2)
    with start_worker(celery, pool="solo", perform_ping_check=False):
        yield


def _flaky(monkeypatch, failures: int | None) -> list[int]:
    """Make execute_run raise OperationalError ``failures`` times (None: always)."""
    real, calls = ranking.execute_run, []

    def execute_run(run_id: int, **kwargs):
        calls.append(run_id)
        if failures is None or len(calls) <= failures:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(run_id, **kwargs)

    monkeypatch.setattr(ranking, "execute_run", execute_run)
    return calls


def test_operational_errors_are_retried_then_succeed(worker_app, thread_worker, monkeypatch):
    """R6: two OperationalErrors, then success on the third delivery."""
    calls = _flaky(monkeypatch, failures=2)
    run_id = queue_run(worker_app)
    assert wait_finished(worker_app, run_id) == RunStatus.DONE
    assert calls == [run_id] * 3
    assert result_rows(worker_app, run_id) == 8


def test_retries_exhausted_mark_the_run_failed(worker_app, thread_worker, monkeypatch):
    """R6: after max_retries the failure is recorded in the database, where staff see it."""
    calls = _flaky(monkeypatch, failures=None)
    run_id = queue_run(worker_app)
    assert wait_finished(worker_app, run_id) == RunStatus.FAILED
    assert calls == [run_id] * 3  # the first try and 2 retries
    with worker_app.app_context():
        run = db.session.get(RankingRun, run_id)
        assert run.error == "database unavailable after 2 retries"
