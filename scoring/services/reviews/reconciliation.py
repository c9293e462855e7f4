"""Score discrepancies (docs/ranking.md §4 flag ``discrepancy``) and how staff reconcile them: an
extra reviewer (a task) or a reconciliation note kept with the result."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    AuditEvent,
    Competition,
    ExtraReviewerRequest,
    RankingResult,
    RankingRun,
    ReconciliationNote,
    RunStatus,
    User,
)
from scoring.services import audit
from scoring.services.reviews.assignment import active_count

NOTE_MAX = 5000


def latest_run(competition: Competition) -> RankingRun | None:
    """The newest finished ranking run of the competition that is not a what-if."""
    return db.session.scalar(
        select(RankingRun)
        .where(
            RankingRun.competition_id == competition.id,
            RankingRun.status == RunStatus.DONE,
            RankingRun.what_if.is_(False),
        )
        .order_by(RankingRun.finished_at.desc().nulls_last(), RankingRun.id.desc())
        .limit(1)
    )


@dataclass
class Flagged:
    """One flagged application: its result, reviewers now active, notes and extra-reviewer
    events."""

    result: RankingResult
    application: Application
    active: int
    notes: list[ReconciliationNote] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def spread(self) -> float | None:
        """Highest minus lowest review score, or None with fewer than two."""
        scores = [float(s) for s in self.result.review_scores or []]
        return max(scores) - min(scores) if len(scores) >= 2 else None


def discrepancies(competition: Competition) -> tuple[RankingRun | None, list[Flagged]]:
    """The latest run and its results flagged ``discrepancy``, in the run's order."""
    run = latest_run(competition)
    if run is None:
        return None, []
    results = db.session.scalars(
        select(RankingResult).where(RankingResult.run_id == run.id).order_by(RankingResult.position)
    ).all()
    flagged = [r for r in results if "discrepancy" in (r.flags or [])]
    return run, [
        Flagged(
            r,
            r.application,
            active_count(r.application),
            notes_for(r.application_id),
            extra_events(r.application_id),
        )
        for r in flagged
    ]


def notes_for(application_id: int) -> list[ReconciliationNote]:
    """Reconciliation notes of an application, oldest first (for the result's explanation too)."""
    return list(
        db.session.scalars(
            select(ReconciliationNote)
            .where(ReconciliationNote.application_id == application_id)
            .order_by(ReconciliationNote.id)
        )
    )


def extra_events(application_id: int) -> list[AuditEvent]:
    """Audit events of extra reviewers asked for and added for this application."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action.in_(
                    ["assignment.extra_requested", "assignment.extra_unavailable"]
                ),
                AuditEvent.entity == "application",
                AuditEvent.entity_id == application_id,
            )
            .order_by(AuditEvent.id)
        )
    )


def request_extra_reviewer(application: Application, *, actor: User, run: RankingRun | None) -> int:
    """Record the request for one more reviewer, with its dispatch row (the relay resends it
    until a worker has done it: ``assignment.add_extra_reviewer``); return the target count
    for the task."""
    target = active_count(application) + 1
    db.session.add(
        ExtraReviewerRequest(
            application_id=application.id,
            target=target,
            actor_id=actor.id if actor is not None else None,
        )
    )
    audit.record(
        "assignment.extra_requested",
        "application",
        application.id,
        actor=actor,
        competition_id=application.competition_id,
        after={"application": application.ref, "target": target, "run_id": run.id if run else None},
    )
    db.session.flush()
    return target


def add_note(
    application: Application, text: str, *, author: User, run: RankingRun | None
) -> ReconciliationNote:
    """Keep staff's account of how the discrepancy was handled, tied to the run it reconciles."""
    text = (text or "").strip()
    if not text:
        raise InputError("write what was decided and why", "note")
    if len(text) > NOTE_MAX:
        raise InputError(f"keep it under {NOTE_MAX} characters", "note")
    note = ReconciliationNote(
        application_id=application.id,
        author_id=author.id,
        note=text,
        run_id=run.id if run else None,
    )
    db.session.add(note)
    db.session.flush()
    audit.record(
        "reconciliation.note",
        "application",
        application.id,
        actor=author,
        competition_id=application.competition_id,
        after={"application": application.ref, "note_id": note.id, "run_id": note.run_id},
        note=text,
    )
    return note
