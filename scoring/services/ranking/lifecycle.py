"""The life of a ranking run around its computation: join or queue, lease, heartbeat, requeue.

* ``start_or_join``: a second "Start ranking" while an official run of the competition is
  queued or running returns that run instead of queueing another.
* ``start_run``: the worker takes the run's lease (``running``, worker, task id, attempt,
  ``started_at``/``heartbeat_at``) in a short transaction the caller commits at once, so a busy
  worker and a lost run never look the same.
* ``heartbeat``: while the run computes, a thread renews ``heartbeat_at`` on its own connection.
* ``requeue_lapsed``: a running run whose heartbeat is older than ``RUN_LEASE_SECONDS`` (its worker
  died) goes back to ``queued``; ``start_run`` marks it failed, with the reason, once it has been
  started ``RUN_MAX_ATTEMPTS`` times.

Services flush, never commit; the task, relay or view commits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update

from scoring.extensions import db
from scoring.models import Competition, RankingRun, RunStatus, User
from scoring.models._types import utcnow
from scoring.runtime import app_config
from scoring.services import audit
from scoring.services.db import is_postgres
from scoring.services.ranking.runs import RUN_LOCK_CLASS, _fail, create_run

__all__ = [
    "heartbeat",
    "lease_seconds",
    "queue_position",
    "requeue_lapsed",
    "start_or_join",
    "start_run",
]

log = logging.getLogger(__name__)

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def lease_seconds() -> float:
    """How long a running run's lease lasts without a heartbeat."""
    return float(app_config().get("RUN_LEASE_SECONDS", 60))


def max_attempts() -> int:
    return int(app_config().get("RUN_MAX_ATTEMPTS", 3))


def start_or_join(
    competition: Competition, *, actor: User | None = None
) -> tuple[RankingRun, bool]:
    """The official run of ``competition`` already queued or running (joined, ``True``), else a
    new queued run (``False``). Two concurrent calls make one run: the competition row is
    locked first (SQLite: a no-op write takes the database lock)."""
    if is_postgres():
        db.session.execute(
            select(Competition.id).where(Competition.id == competition.id).with_for_update()
        )
    else:
        db.session.execute(
            update(Competition)
            .where(Competition.id == competition.id)
            .values(slug=Competition.slug)
        )
    active = db.session.scalars(
        select(RankingRun)
        .where(
            RankingRun.competition_id == competition.id,
            RankingRun.what_if.is_(False),
            RankingRun.status.in_(ACTIVE),
        )
        .order_by(RankingRun.id)
        .limit(1)
    ).first()
    if active is not None:
        return active, True
    return create_run(competition, actor=actor), False


def _lapsed(run: RankingRun, now: datetime) -> bool:
    beat = run.heartbeat_at or run.started_at
    return beat is None or beat < now - timedelta(seconds=lease_seconds())


def start_run(run_id: int, worker: str, task_id: str | None) -> bool:
    """Take the lease of run ``run_id`` for ``task_id`` on ``worker``; the caller commits at once.

    Returns False when there is nothing to do: the run is gone, done or failed, or another
    task holds a lease that has not lapsed. A retry of the same task within its lease keeps its
    attempt number; a new task, or the same one after its lease lapsed, counts one more attempt,
    and past ``RUN_MAX_ATTEMPTS`` the run is marked failed.
    """
    run = db.session.scalars(
        select(RankingRun)
        .where(RankingRun.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
        return False
    now = utcnow()
    same_task, lapsed = task_id is not None and run.task_id == task_id, _lapsed(run, now)
    if run.status == RunStatus.RUNNING and not same_task and not lapsed:
        return False
    # A retry of this task (a database error) is the same attempt; the same task redelivered
    # after its lease lapsed (its worker died) counts, so a run that kills its worker stops.
    if not same_task or lapsed:
        if (run.attempts or 0) >= max_attempts():
            reason = run.error or "its worker stopped"
            _fail(run, f"gave up after {run.attempts} attempts; the last: {reason}")
            return False
        run.attempts = (run.attempts or 0) + 1
    run.status, run.worker, run.task_id = RunStatus.RUNNING, worker[:200], task_id
    run.started_at = run.heartbeat_at = now
    audit.record(
        "ranking.start",
        "ranking_run",
        run.id,
        competition_id=run.competition_id,
        after={"status": "running", "worker": run.worker, "attempt": run.attempts},
    )
    db.session.flush()
    return True


def _renew(engine: Any, run_id: int, task_id: str | None) -> None:
    """One heartbeat; a row another transaction holds is skipped, never waited for."""
    alive = (
        select(RankingRun.id)
        .where(
            RankingRun.id == run_id,
            RankingRun.status == RunStatus.RUNNING,
            RankingRun.task_id == task_id,
        )
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as conn:
        conn.execute(
            update(RankingRun).where(RankingRun.id.in_(alive)).values(heartbeat_at=utcnow())
        )


@contextlib.contextmanager
def heartbeat(run_id: int, task_id: str | None) -> Iterator[None]:
    """Renew the lease every quarter lease while the block runs (PostgreSQL; SQLite's single
    writer lock is held by the computation itself, and the embedded mode has no lease)."""
    if not is_postgres():
        yield
        return
    engine, every, stop = db.engine, lease_seconds() / 4, threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                _renew(engine, run_id, task_id)
            except Exception as exc:  # the database away: the lease may lapse, that is its job
                log.warning("heartbeat of ranking run %s failed: %s", run_id, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-run-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def requeue_lapsed() -> list[int]:
    """Put running runs whose lease lapsed back in the queue; return their ids (to dispatch
    after the commit). On PostgreSQL a run whose computation still holds its lock is alive."""
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_seconds())
    candidates = db.session.scalars(
        select(RankingRun)
        .where(
            RankingRun.status == RunStatus.RUNNING,
            func.coalesce(RankingRun.heartbeat_at, RankingRun.started_at) < cutoff,
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    requeued = []
    for run in candidates:
        if is_postgres() and not db.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k, :id)"), {"k": RUN_LOCK_CLASS, "id": run.id}
        ):
            continue  # still computing (its transaction holds the run's lock)
        lost, beat = run.worker or "a worker", run.heartbeat_at or run.started_at
        run.status, run.task_id, run.dispatched_at = RunStatus.QUEUED, None, now
        run.error = f"the lease of {lost} lapsed (no heartbeat since {beat:%H:%M:%S} UTC)"
        audit.record(
            "ranking.requeue",
            "ranking_run",
            run.id,
            competition_id=run.competition_id,
            after={"status": "queued", "reason": run.error, "attempts": run.attempts},
        )
        requeued.append(run.id)
    db.session.flush()
    return requeued


def queue_position(run: RankingRun) -> int:
    """1 for the next run a worker takes, 2 for the one after, ..."""
    return 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(RankingRun)
            .where(RankingRun.status == RunStatus.QUEUED, RankingRun.id < run.id)
        )
        or 0
    )
