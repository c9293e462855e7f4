"""Ranking runs: queue one (``create_run``), execute it idempotently (``execute_run``), fail it.

Idempotency: ``execute_run`` locks the run first (on PostgreSQL a transaction-scoped advisory
lock keyed by ``RUN_LOCK_CLASS`` and the run id, so the lease's heartbeat can still update the
row; on SQLite a first no-op UPDATE takes the database write lock), returns at once when the run is
already ``done``, and otherwise deletes any results of the run before inserting the new ones,
so running it twice, or twice at the same time, leaves exactly one result set.

A bad policy or rubric (``PolicyError``/``RubricError`` from the core) marks the run ``failed``
with the message; it does not raise, so a worker does not retry a user's mistake.

Test-only hook: when the environment variable ``SCORING_TEST_RANK_DELAY`` holds a number of
seconds, ``execute_run`` sleeps that long after locking the run (the worker-kill test uses it to
kill a worker mid-task). Never set it in production.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, text, update

from scoring import clock
from scoring.core.ranking import (
    Policy,
    PolicyError,
    explanation_context,
    rank_columns,
    result_document,
)
from scoring.core.rubric import RubricError
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import Competition, RankingRun, RunStatus, User
from scoring.models._types import utcnow
from scoring.services import audit
from scoring.services.competitions.phases import require_official
from scoring.services.db import is_postgres
from scoring.services.ranking.inputs import Inputs, InputsError, read_inputs
from scoring.services.ranking.results import write_results
from scoring.services.ranking.stability import queue_stability

__all__ = [
    "RUN_LOCK_CLASS",
    "TEST_DELAY_ENV",
    "create_run",
    "execute_run",
    "keep_documents",
    "mark_failed",
    "policy_for",
    "take_document",
]

log = logging.getLogger(__name__)

TEST_DELAY_ENV = "SCORING_TEST_RANK_DELAY"

#: First key of the PostgreSQL advisory lock a run's computation holds (the second: the run id).
RUN_LOCK_CLASS = 7101


def policy_for(competition: Competition, overrides: dict[str, Any] | None = None) -> Policy:
    """The competition's ranking policy (docs/ranking.md §2), with what-if ``overrides`` applied.

    Raise ``PolicyError`` for an unknown knob or a bad value. Section tie-breakers are checked
    against the rubric only when the run executes.
    """
    values: dict[str, Any] = {
        "aggregation": competition.aggregation.value,
        "normalization": competition.normalization.value,
        "min_reviews": competition.min_reviews,
        "discrepancy_threshold": competition.discrepancy_threshold,
        "min_score": competition.min_score,
        "tie_breakers": list(competition.tie_breakers or []),
        "total_funds": competition.total_funds,
        "min_award": competition.min_award,
        "max_award": competition.max_award,
        "fund_down": competition.fund_down.value,
        "partial_funding": competition.partial_funding,
        "partial_min": competition.partial_min,
        "district_max_awards": competition.district_max_awards,
        "district_max_amount": competition.district_max_amount,
    }
    values.update(overrides or {})
    return Policy.from_dict(values)


def _jsonable(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as stored JSON: Decimals become strings (the policy reads them exactly)."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in overrides.items()}


def create_run(
    competition: Competition,
    *,
    actor: User | None = None,
    overrides: dict[str, Any] | None = None,
    label: str | None = None,
) -> RankingRun:
    """Queue a ranking run of ``competition`` (status ``queued``); the caller commits, then
    dispatches ``rank_competition.delay(run.id)``.

    ``overrides`` (what-if) are policy knobs replacing the competition's; an unknown knob or a
    bad value raises ``InputError`` and nothing is queued.
    """
    overrides = _jsonable(dict(overrides or {}))
    try:
        policy_for(competition, overrides)
    except PolicyError as exc:
        raise InputError(str(exc), "policy") from None
    if not overrides:  # an official run: only after the close and the screening
        require_official(competition, clock.now(), "an official ranking")
    run = RankingRun(
        competition_id=competition.id,
        status=RunStatus.QUEUED,
        what_if=bool(overrides),
        label=label,
        policy_overrides=overrides,
        created_by_id=actor.id if actor else None,
        attempts=0,
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        "ranking.queue",
        "ranking_run",
        run.id,
        actor=actor,
        competition_id=competition.id,
        after={"status": "queued", "what_if": run.what_if, "overrides": overrides},
    )
    return run


def _lock_run(run_id: int) -> RankingRun | None:
    """The run row, locked until the transaction ends (one executor at a time)."""
    if is_postgres():
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:k, :id)"), {"k": RUN_LOCK_CLASS, "id": run_id}
        )
    else:
        # SQLite: a write first takes the database lock, so a second executor waits here.
        db.session.execute(
            update(RankingRun).where(RankingRun.id == run_id).values(attempts=RankingRun.attempts)
        )
    return db.session.scalars(
        select(RankingRun).where(RankingRun.id == run_id).execution_options(populate_existing=True)
    ).one_or_none()


def mark_failed(run_id: int, message: str) -> None:
    """Record that run ``run_id`` failed with ``message`` (a done run is left as it is)."""
    run = _lock_run(run_id)
    if run is None or run.status == RunStatus.DONE:
        return
    _fail(run, message)


def _fail(run: RankingRun, message: str) -> None:
    run.status = RunStatus.FAILED
    run.error = message
    run.finished_at = utcnow()
    audit.record(
        "ranking.fail",
        "ranking_run",
        run.id,
        competition_id=run.competition_id,
        after={"status": "failed", "error": message, "attempts": run.attempts},
    )
    db.session.flush()
    log.warning("ranking run %s failed: %s", run.id, message)


# --------------------------------------------------------------------------- execution

#: Result documents of the runs computed in this process while ``keep_documents`` is active
#: (run id → document); ``None`` when not active (a worker keeps nothing after a run).
_kept: dict[int, dict] | None = None


@contextlib.contextmanager
def keep_documents() -> Iterator[None]:
    """Keep the result document of each run computed in this process until ``take_document``.

    ``flask rank`` in the embedded mode runs the task in its own process: the document the
    core built is handed over instead of being rebuilt from 100,000 stored rows. A run
    computed by a separate worker is read back from the database as before.
    """
    global _kept
    previous, _kept = _kept, {}
    try:
        yield
    finally:
        _kept = previous


def take_document(run_id: int) -> dict | None:
    """The document kept for run ``run_id`` (once; ``None`` if this process did not compute
    it under ``keep_documents``). It is the document the run stored (same bytes)."""
    return None if _kept is None else _kept.pop(run_id, None)


def execute_run(run_id: int, *, leased: bool = False) -> RankingRun | None:
    """Compute run ``run_id`` and store its results; safe to call twice (or concurrently).

    ``leased``: the caller took the run's lease first (``lifecycle.start_run``, committed), which
    already set ``running`` and counted the attempt; otherwise this does it, in this transaction.

    Returns the run, or ``None`` if it does not exist. A run already ``done`` is returned
    unchanged. Bad policy/rubric/data marks the run ``failed`` (no exception). Database
    errors propagate (the task retries them). ``run.timings`` holds seconds for ``read`` (all
    queries), ``compute`` (the core's ranking and result document) and ``write`` (the compact
    explanation records of all applications, streamed into the bulk insert of the results;
    the run-level explanation context goes into ``run.stats["explain"]``).
    """
    run = _lock_run(run_id)
    if run is None:
        log.warning("ranking run %s does not exist", run_id)
        return None
    if run.status == RunStatus.DONE:
        return run
    if not leased:
        run.status, run.started_at = RunStatus.RUNNING, utcnow()
        run.attempts = (run.attempts or 0) + 1
    run.error = None
    _test_delay()
    with _no_gc():
        return _execute(run)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a 100k run allocates millions of containers
    (rows, lists, dicts) and none of them form cycles, yet each collection walks them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _execute(run: RankingRun) -> RankingRun:
    start = time.perf_counter()
    competition = db.session.get(Competition, run.competition_id)
    try:
        policy = policy_for(competition, run.policy_overrides)
        with _snapshot() as conn:
            inputs = read_inputs(competition, conn, policy.tie_breakers)
        t_read = time.perf_counter()
        result = rank_columns(
            inputs.rubric,
            policy,
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
        document = result_document(result, competition.slug, run.id)
    except (PolicyError, RubricError, InputsError, ValueError) as exc:
        _fail(run, str(exc))
        return run
    t_compute = time.perf_counter()
    write_results(run, result, document, inputs)
    t_write = time.perf_counter()
    if _kept is not None:
        _kept[run.id] = document
    _finish(
        run,
        result,
        inputs,
        {
            "read": round(t_read - start, 3),
            "compute": round(t_compute - t_read, 3),
            "write": round(t_write - t_compute, 3),
        },
    )
    return run


@contextlib.contextmanager
def _snapshot() -> Iterator[Connection]:
    """A connection whose reads all see one committed state of the database.

    PostgreSQL: a separate REPEATABLE READ, read-only transaction, begun after the run row is
    locked (READ COMMITTED would give each query its own snapshot, so a review edited during the
    run could be half seen), with timestamps in UTC. SQLite: the session's own connection, which
    already holds the database write lock, so nothing can change underneath.
    """
    if not is_postgres():
        yield db.session.connection()
        return
    with db.engine.connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    ) as conn:
        with conn.begin():
            # timestamps arrive in UTC, so 100,000 submission times need no conversion
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            yield conn


def _test_delay() -> None:
    """Test-only: sleep ``SCORING_TEST_RANK_DELAY`` seconds (see the module docstring)."""
    delay = os.environ.get(TEST_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def _finish(run: RankingRun, result: Any, inputs: Inputs, timings: dict[str, float]) -> None:
    run.policy = result.policy.to_dict()
    run.inputs_sha256 = result.inputs_sha256
    run.total_funds, run.total_awarded = result.total_funds, result.total_awarded
    run.remaining = result.remaining
    run.stats = {
        "applications": len(inputs.applications),
        "counted_reviews": len(inputs.review_app),
        "mean": result.mu,
        "std": result.sigma,
        "reviewers": {
            k: {"n": s.n, "mean": s.mean, "std": s.std, "applied": s.applied}
            for k, s in result.reviewer_stats.items()
        },
        "explain": explanation_context(result),
    }
    run.timings = timings | {"total": round(sum(timings.values()), 3)}
    run.status, run.finished_at = RunStatus.DONE, utcnow()
    queue_stability(run)  # computed by its own task (docs/stability.md)
    audit.record(
        "ranking.run",
        "ranking_run",
        run.id,
        competition_id=run.competition_id,
        actor=run.created_by,
        after={
            "status": "done",
            "inputs_sha256": run.inputs_sha256,
            "total_funds": str(run.total_funds),
            "total_awarded": str(run.total_awarded),
            "remaining": str(run.remaining),
            "what_if": run.what_if,
            "applications": len(inputs.applications),
            "counted_reviews": len(inputs.review_app),
            "attempts": run.attempts,
            "timings": run.timings,
        },
    )
    db.session.flush()
