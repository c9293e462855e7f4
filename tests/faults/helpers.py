"""What the fault tests share: staff sign-in, queueing a run as the view does, waiting for the
final state, and the reference document of a clean in-process run."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from scoring.core.ranking import dumps_document
from scoring.extensions import db
from scoring.models import Competition, RankingResult, RankingRun, Role, RunStatus
from scoring.services import ranking


def staff_user(app, email: str = "staff@example.org") -> str:
    from tests.apply_helpers import person

    with app.app_context():
        person(Role.STAFF, email)
        db.session.commit()
    return email


def competition_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Competition.id))


def run_status(app, run_id: int) -> RunStatus | None:
    with app.app_context():
        status = db.session.scalar(select(RankingRun.status).where(RankingRun.id == run_id))
        db.session.rollback()
        return status


def wait_status(app, run_id: int, wanted: set[RunStatus], timeout: float = 90) -> RunStatus:
    deadline, status = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            status = run_status(app, run_id)
        except Exception:  # the database may be away on purpose
            status = None
        if status in wanted:
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {status} after {timeout} s")


def document_without_run(app, run_id: int) -> str:
    with app.app_context():
        document = ranking.result_document_for_run(db.session.get(RankingRun, run_id))
    document.pop("run")
    return dumps_document(document)


def reference_document(app) -> str:
    """A clean run computed in this process, after the faults are over."""
    with app.app_context():
        run = ranking.create_run(db.session.scalar(select(Competition)), label="reference")
        db.session.commit()
        ranking.execute_run(run.id)
        db.session.commit()
        run_id = run.id
    return document_without_run(app, run_id)


def result_rows(app, run_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(RankingResult).where(RankingResult.run_id == run_id)
        )


def nothing_queued(app) -> bool:
    with app.app_context():
        return not db.session.scalar(
            select(func.count())
            .select_from(RankingRun)
            .where(RankingRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
        )
