"""Rank stability of a ranking run (docs/stability.md): compute it after the run, read it back.

``workers.tasks.rank_stability(run_id)`` calls ``compute_stability`` once the run is done (the
run is usable meanwhile). It reads the committed data again, checks that it still hashes to the
run's ``inputs_sha256`` (otherwise the stability is marked failed: it would describe other data),
runs the bootstrap of the pure core (``scoring.core.ranking.stability``) with the seed derived
from that hash, and stores one ``StabilityResult`` per application. Idempotent: a done
stability is left as it is; a rerun replaces the rows. Services flush, never commit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import delete, func, select, update

from scoring.core.ranking import Policy, PolicyError, rank_columns
from scoring.core.ranking.stability import (
    DEFAULT_RESAMPLES,
    TOSS_UP,
    figures_record,
    one_more_review,
    seed_from_sha,
    stability,
)
from scoring.core.rubric import RubricError
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    AuditEvent,
    RankingResult,
    RankingRun,
    RunStatus,
    StabilityResult,
    StabilityRun,
    User,
)
from scoring.models._types import utcnow
from scoring.runtime import app_config
from scoring.services import audit
from scoring.services.db import bulk_insert, is_postgres
from scoring.services.ranking.inputs import InputsError, read_inputs
from scoring.services.ranking.results import explanation_for
from scoring.services.reviews import reconciliation

__all__ = [
    "application_figures",
    "claim_stability",
    "compute_claimed",
    "request_toss_up_reviewers",
    "stability_records_for",
    "compute_stability",
    "configured_resamples",
    "mark_stability_failed",
    "queue_stability",
    "stability_of",
    "stability_records",
    "toss_up_refs",
]

log = logging.getLogger(__name__)

_COLUMNS = ("stability_id", "ref", "funded_in", "crosses_line", "rank_lo", "rank_hi")


def configured_resamples() -> int:
    """``STABILITY_RESAMPLES`` from the configuration (default 1,000)."""
    return int(app_config().get("STABILITY_RESAMPLES", DEFAULT_RESAMPLES))


def stability_of(run: RankingRun) -> StabilityRun | None:
    """The stability row of ``run`` (any status), or ``None`` when none was queued."""
    return db.session.scalar(select(StabilityRun).where(StabilityRun.run_id == run.id))


def queue_stability(run: RankingRun) -> StabilityRun:
    """The stability row of ``run``, created ``queued`` if missing (``execute_run`` creates it
    with the done run, so the task only ever locks an existing row)."""
    row = stability_of(run)
    if row is None:
        row = StabilityRun(run_id=run.id, resamples=configured_resamples(), status=RunStatus.QUEUED)
        db.session.add(row)
        db.session.flush()
    return row


def _lock(run: RankingRun) -> StabilityRun:
    """The stability row of ``run``, locked until the transaction ends (one executor at a time)."""
    row = queue_stability(run)
    if not is_postgres():  # SQLite: a write takes the database lock, so a second executor waits
        db.session.execute(
            update(StabilityRun)
            .where(StabilityRun.id == row.id)
            .values(attempts=StabilityRun.attempts)
        )
    return db.session.scalars(
        select(StabilityRun)
        .where(StabilityRun.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _fail(row: StabilityRun, run: RankingRun | None, message: str) -> None:
    row.status, row.error, row.finished_at = RunStatus.FAILED, message, utcnow()
    audit.record(
        "ranking.stability_fail",
        "ranking_run",
        row.run_id,
        competition_id=run.competition_id if run else None,
        after={"status": "failed", "error": message},
    )
    db.session.flush()
    log.warning("stability of ranking run %s failed: %s", row.run_id, message)


def mark_stability_failed(run_id: int, message: str) -> None:
    """Record that the stability of run ``run_id`` failed (a done one is left as it is)."""
    run = db.session.get(RankingRun, run_id)
    if run is None:
        return
    row = _lock(run)
    if row.status != RunStatus.DONE:
        _fail(row, run, message)


def claim_stability(run_id: int, resamples: int | None = None) -> int | None:
    """Mark the stability of run ``run_id`` running and return this attempt's number (the
    caller commits, then calls ``compute_claimed``); ``None`` when there is nothing to do
    (no such run, already done, or the run is not done: then it is marked failed).

    The long computation then runs without holding a lock (on SQLite a held write lock would
    stop every other write for its whole duration); only its final write locks the row, and
    it is dropped if a later attempt claimed the row meanwhile."""
    run = db.session.get(RankingRun, run_id)
    if run is None:
        log.warning("ranking run %s does not exist", run_id)
        return None
    row = _lock(run)
    if row.status == RunStatus.DONE:
        return None
    if resamples is not None:
        row.resamples = int(resamples)
    row.status, row.error = RunStatus.RUNNING, None
    row.attempts = (row.attempts or 0) + 1
    if run.status != RunStatus.DONE:
        _fail(row, run, f"ranking run {run_id} is {run.status.value}, not done")
        return None
    db.session.flush()
    return row.attempts


def compute_stability(run_id: int, resamples: int | None = None) -> StabilityRun | None:
    """Claim and compute in one transaction (in-process callers); ``None`` when the run is
    missing. The task uses ``claim_stability`` and ``compute_claimed`` with a commit between."""
    attempt = claim_stability(run_id, resamples)
    run = db.session.get(RankingRun, run_id)
    if run is None:
        return None
    if attempt is not None:
        compute_claimed(run_id, attempt)
    return stability_of(run)


def _claimed(run: RankingRun, attempt: int) -> StabilityRun | None:
    """The row, locked, if this attempt still owns it (else ``None``: a later one took over)."""
    row = _lock(run)
    return row if row.status == RunStatus.RUNNING and row.attempts == attempt else None


def compute_claimed(run_id: int, attempt: int) -> None:
    """Bootstrap run ``run_id`` and store the figures, if ``attempt`` still owns the row.

    Data that changed since the run (another inputs hash) or cannot be ranked gives a failed
    stability with the reason (no exception: retrying would not help).
    """
    run = db.session.get(RankingRun, run_id)
    start = time.perf_counter()
    try:
        policy = Policy.from_dict(run.policy)
        inputs = read_inputs(run.competition, tie_breakers=policy.tie_breakers)
        result = rank_columns(
            inputs.rubric,
            policy,
            inputs.applications,
            inputs.review_app,
            inputs.review_reviewer,
            inputs.points,
            inputs.priorities,
        )
        problem = (
            None
            if result.inputs_sha256 == run.inputs_sha256
            else "the reviews or applications changed since this run; rank again"
        )
    except (PolicyError, RubricError, InputsError, ValueError) as exc:
        problem = f"the data cannot be ranked as it is: {exc}"
    if problem is not None:
        row = _claimed(run, attempt)
        if row is not None:
            _fail(row, run, problem)
        return
    resamples = stability_of(run).resamples
    seed = seed_from_sha(run.inputs_sha256)
    figures = stability(result, resamples, seed)
    row = _claimed(run, attempt)
    if row is None:
        log.info("stability of ranking run %s: attempt %s superseded", run_id, attempt)
        return
    db.session.execute(delete(StabilityResult).where(StabilityResult.stability_id == row.id))
    lo, hi = figures.rank_lo.tolist(), figures.rank_hi.tolist()
    ranked, funded, flips = figures.ranked.tolist(), figures.funded.tolist(), figures.flips.tolist()
    bulk_insert(
        StabilityResult.__table__,
        _COLUMNS,
        (
            (
                row.id,
                ref,
                funded[i],
                flips[i],
                lo[i] if ranked[i] else None,
                hi[i] if ranked[i] else None,
            )
            for i, ref in enumerate(figures.refs)
        ),
    )
    row.seed, row.seconds = str(seed), round(time.perf_counter() - start, 3)
    row.status, row.finished_at = RunStatus.DONE, utcnow()
    p = figures.funded / max(row.resamples, 1)
    toss = int((figures.ranked & (p >= TOSS_UP[0]) & (p <= TOSS_UP[1])).sum())
    audit.record(
        "ranking.stability",
        "ranking_run",
        run.id,
        competition_id=run.competition_id,
        after={
            "status": "done",
            "resamples": row.resamples,
            "seed": row.seed,
            "inputs_sha256": run.inputs_sha256,
            "toss_ups": toss,
            "seconds": row.seconds,
        },
    )
    db.session.flush()


def record(result: StabilityResult, resamples: int) -> dict[str, Any]:
    """One application's stored figures as the JSON the exports and the CLI print."""
    return figures_record(
        result.funded_in, result.crosses_line, result.rank_lo, result.rank_hi, resamples
    )


def stability_records(run: RankingRun) -> dict[str, dict[str, Any]] | None:
    """ref → figures of a done stability of ``run`` (``None`` while there is none)."""
    row = stability_of(run)
    if row is None or row.status != RunStatus.DONE:
        return None
    rows = db.session.scalars(select(StabilityResult).where(StabilityResult.stability_id == row.id))
    return {r.ref: record(r, row.resamples) for r in rows}


def toss_up_refs(run: RankingRun) -> list[str]:
    """Refs whose decision is a toss-up (funded in 20%-80% of resamples), by ref."""
    records = stability_records(run) or {}
    return sorted(ref for ref, r in records.items() if r["toss_up"])


def funding_line(run: RankingRun) -> Any:
    """The lowest final score the run funded (computed decisions), ``None`` when none was."""
    return db.session.scalar(
        select(func.min(RankingResult.final)).where(
            RankingResult.run_id == run.id, RankingResult.award > 0
        )
    )


def application_figures(run: RankingRun, ref: str) -> dict[str, Any] | None:
    """An application's stored figures and what one more review would do to its final score
    against the funding line (explanation page); ``None`` while there is no done stability."""
    cut_score = funding_line(run)
    records = stability_records_for(run, [ref])
    if not records or ref not in records:
        return None
    figures = dict(records[ref])
    result = db.session.scalar(
        select(RankingResult).where(RankingResult.run_id == run.id, RankingResult.ref == ref)
    )
    data = explanation_for(run, result.explanation) if result and result.explanation else None
    if data and data.get("reviews") and result.rank is not None:
        figures["one_more"] = one_more_review(
            [r["normalised"] for r in data["reviews"]],
            (run.policy or {}).get("aggregation", "mean"),
            float(result.priority_points),
            None if cut_score is None else float(cut_score),
        )
    return figures


def stability_records_for(run: RankingRun, refs: list[str]) -> dict[str, dict[str, Any]] | None:
    """``stability_records`` limited to ``refs``."""
    row = stability_of(run)
    if row is None or row.status != RunStatus.DONE:
        return None
    rows = db.session.scalars(
        select(StabilityResult).where(
            StabilityResult.stability_id == row.id, StabilityResult.ref.in_(refs)
        )
    )
    return {r.ref: record(r, row.resamples) for r in rows}


def request_toss_up_reviewers(run: RankingRun, *, actor: User) -> list[tuple[int, int]]:
    """Ask for one more reviewer for every toss-up of ``run`` (funded in 20%-80% of
    resamples); return (application id, target) pairs for the existing extra-reviewer task.

    Applications already sent for an extra reviewer on this run are skipped, so pressing the
    button twice asks once. Raise ``InputError`` when the stability is not done.
    """
    if run.what_if:
        raise InputError("a what-if run cannot send applications to reviewers")
    refs = toss_up_refs(run)
    if stability_records_for(run, []) is None:
        raise InputError("the stability of this run is not computed yet")
    apps = db.session.scalars(
        select(Application).where(
            Application.competition_id == run.competition_id, Application.ref.in_(refs)
        )
    ).all()
    asked = {
        e.entity_id
        for e in db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "assignment.extra_requested",
                AuditEvent.competition_id == run.competition_id,
            )
        )
        if (e.after or {}).get("run_id") == run.id
    }
    out = []
    for app in sorted(apps, key=lambda a: a.ref):
        if app.id in asked:
            continue
        out.append((app.id, reconciliation.request_extra_reviewer(app, actor=actor, run=run)))
    audit.record(
        "ranking.stability_extra_reviewers",
        "ranking_run",
        run.id,
        actor=actor,
        competition_id=run.competition_id,
        after={"toss_ups": len(refs), "requested": len(out)},
    )
    db.session.flush()
    return out
