"""The relay: work committed as rows (ranking runs, outbox mail, extra reviewers) that the
broker never got, or a dead worker dropped, is found here and sent again. Nothing waits for a
person to notice.

``collect_due`` (called by the periodic ``workers.tasks.relay`` under Celery beat, and by
``flask --app scoring ops recover``) requeues runs whose lease lapsed, and returns the runs still
queued ``RELAY_AFTER_SECONDS`` after their last dispatch and the pending mail due for a (re)try;
and the extra reviewers asked for and not done yet; it stamps them so the next pass does not
send them twice; the caller commits, then sends.
Sending twice is harmless: the tasks are idempotent. Also here: the workers' last signs of life
and the numbers ``/api/health`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from scoring.extensions import db
from scoring.models import (
    ExtraReviewerRequest,
    MailStatus,
    OutboxMessage,
    RankingRun,
    RunStatus,
    WorkerBeat,
)
from scoring.models._types import utcnow
from scoring.runtime import app_config
from scoring.services.db import is_postgres
from scoring.services.ranking.lifecycle import requeue_lapsed

__all__ = ["Due", "collect_due", "last_worker_seen", "note_worker", "oldest_queued_run"]


@dataclass
class Due:
    """What to send to the broker after the commit."""

    run_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    requeued_run_ids: list[int] = field(default_factory=list)
    #: ``assign_extra_reviewer`` arguments (application id, target, actor id) not done yet.
    extra_reviewers: list[tuple[int, int, int | None]] = field(default_factory=list)


def relay_after() -> timedelta:
    """How long a queued run or a new mail may wait for the broker before the relay resends it."""
    return timedelta(seconds=float(app_config().get("RELAY_AFTER_SECONDS", 30)))


def collect_due(limit: int = 500) -> Due:
    """Requeue lapsed runs and pick the queued runs and pending mail that are due (see above)."""
    now, wait = utcnow(), relay_after()
    due = Due(requeued_run_ids=requeue_lapsed())
    runs = db.session.scalars(
        select(RankingRun)
        .where(
            RankingRun.status == RunStatus.QUEUED,
            func.coalesce(RankingRun.dispatched_at, RankingRun.queued_at) <= now - wait,
        )
        .order_by(RankingRun.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for run in runs:
        run.dispatched_at = now
    due.run_ids = sorted({*due.requeued_run_ids, *(r.id for r in runs)})
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == MailStatus.PENDING,
            or_(
                OutboxMessage.next_attempt_at <= now,
                (OutboxMessage.next_attempt_at.is_(None))
                & (OutboxMessage.created_at <= now - wait),
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in messages:
        # not again before the next relay period, whatever the broker does with it
        message.next_attempt_at = now + wait
    due.message_ids = [m.id for m in messages]
    due.extra_reviewers = _due_extra_reviewers(now, wait, limit)
    db.session.flush()
    return due


def _due_extra_reviewers(now: datetime, wait: timedelta, limit: int) -> list[tuple]:
    """Extra reviewers asked for and not done ``wait`` after their last dispatch, stamped."""
    requests = db.session.scalars(
        select(ExtraReviewerRequest)
        .where(
            ExtraReviewerRequest.done_at.is_(None),
            func.coalesce(ExtraReviewerRequest.dispatched_at, ExtraReviewerRequest.requested_at)
            <= now - wait,
        )
        .order_by(ExtraReviewerRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for request in requests:
        request.dispatched_at = now
    return [(r.application_id, r.target, r.actor_id) for r in requests]


def note_worker(worker: str) -> None:
    """Record that ``worker`` is alive now (an upsert: two pool processes of one worker may
    note it at the same moment)."""
    if is_postgres():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    statement = insert(WorkerBeat).values(worker=worker[:200], seen_at=now)
    db.session.execute(
        statement.on_conflict_do_update(index_elements=["worker"], set_={"seen_at": now})
    )


def last_worker_seen() -> datetime | None:
    """When any worker last showed a sign of life (``None``: never)."""
    return db.session.scalar(select(func.max(WorkerBeat.seen_at)))


def oldest_queued_run() -> datetime | None:
    """When the longest-waiting queued run was queued (``None``: nothing queued)."""
    return db.session.scalar(
        select(func.min(RankingRun.queued_at)).where(RankingRun.status == RunStatus.QUEUED)
    )
