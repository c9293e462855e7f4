"""Staff decisions on a ranking run: exceptions and four-eyes approval (publication.py publishes).

Rules decided here:

* **Official run.** Decisions are made on an official run (done, not what-if). What-if runs
  can be viewed and compared, never approved or published.
* **Overrides.** Staff may set an application's status and award in an official run with a
  justification (``AwardOverride``). Allowed only while the run has no award slate (before it is
  submitted for approval). ``funded``/``partially_funded`` need an amount > 0 and at most the
  request; ``waitlisted`` means 0. The effective awards may not exceed the run's total funds.
  An override is an exception: shown as one on the board, in exports, mails and the public page.
* **Four eyes.** The slate is prepared (submitted for approval) by one staff member and approved
  by another who has ``can_approve``; nobody who prepared the list or created, changed or
  removed any exception in the run may approve it (read from the audit trail, so a colleague
  re-saving an exception does not hide its first author).
* **Publication** needs an approved slate; it pins the public award list to that run and queues
  one decision mail per application with ``dedupe_key = "award:<slate>:<application>"``, so a
  retried or repeated publish queues nothing twice. The caller sends the returned message ids
  after committing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from scoring import clock
from scoring.errors import Conflict, Forbidden, InputError, NotFound
from scoring.extensions import db
from scoring.formatting import money
from scoring.models import (
    Application,
    AuditEvent,
    AwardOverride,
    AwardSlate,
    RankingResult,
    RankingRun,
    RunStatus,
    SlateStatus,
    User,
)
from scoring.models._types import utcnow
from scoring.services import audit
from scoring.services.competitions.phases import require_official
from scoring.services.decisions.permissions import may_approve
from scoring.services.ranking.board import (
    OVERRIDE_STATUSES,
    ZERO,
    effective,
    overrides_of,
    slate_of,
)

AWARDED = ("funded", "partially_funded")
CENT = Decimal("0.01")


# --------------------------------------------------------------------------- overrides


def _lock(run: RankingRun) -> None:
    """Serialise decisions on one run (two staff clicking at once): lock its row until the
    transaction ends (PostgreSQL ``FOR UPDATE``; SQLite has a single writer anyway) and re-read
    its slate."""
    db.session.execute(select(RankingRun.id).where(RankingRun.id == run.id).with_for_update())
    slate = slate_of(run)
    if slate is not None:
        db.session.refresh(slate)


def _ensure_decidable(run: RankingRun) -> None:
    if run.status != RunStatus.DONE:
        raise Conflict(
            f"Ranking run {run.id} is {run.status.value}, not done: there is nothing to decide yet."
        )
    if run.what_if:
        raise Conflict(
            f"Run {run.id} is a what-if run: decisions are made on official runs. "
            "Change the competition's policy and start a ranking to make it official."
        )


def _ensure_open(run: RankingRun) -> None:
    slate = slate_of(run)
    if slate is not None:
        raise Conflict(
            f"The award list of run {run.id} is {slate.status.value}: its decisions "
            "are locked."
            + (
                " Withdraw it from approval to change them."
                if slate.status == SlateStatus.PREPARED
                else ""
            )
        )


def set_override(
    run: RankingRun,
    application_id: int,
    *,
    status: str,
    amount: Decimal,
    justification: str,
    actor: User,
) -> AwardOverride:
    """Set (or change) staff's exception to one application's computed award."""
    _lock(run)
    _ensure_decidable(run)
    _ensure_open(run)
    result = db.session.scalar(
        select(RankingResult).where(
            RankingResult.run_id == run.id, RankingResult.application_id == application_id
        )
    )
    if result is None:
        raise NotFound("That application is not in this ranking run.")
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise InputError("give dollars and whole cents", "amount")
    amount = amount.quantize(CENT)
    _check_override(run, result, status, amount)
    justification = (justification or "").strip()
    if len(justification) < 10:
        raise InputError("write at least 10 characters: why is this an exception?", "justification")
    override = overrides_of(run).get(application_id)
    before = _decision(result, override)
    if override is None:
        override = AwardOverride(run_id=run.id, application_id=application_id)
        db.session.add(override)
    override.status, override.amount = status, amount
    override.justification, override.decided_by_id, override.decided_at = (
        justification,
        actor.id,
        utcnow(),
    )
    db.session.flush()
    audit.record(
        "award.override",
        "award_override",
        override.id,
        actor=actor,
        competition_id=run.competition_id,
        before=before,
        after={"ref": result.ref, "status": status, "award": str(amount), "run": run.id},
        note=justification,
    )
    return override


def _decision(result: RankingResult, override: AwardOverride | None) -> dict[str, Any]:
    status, award = effective(result, override)
    return {
        "ref": result.ref,
        "status": status,
        "award": str(award),
        "run": result.run_id,
        "override": override is not None,
    }


def _check_override(run: RankingRun, result: RankingResult, status: str, amount: Decimal) -> None:
    if status not in OVERRIDE_STATUSES:
        raise InputError(f"choose one of {', '.join(OVERRIDE_STATUSES)}", "status")
    if result.rank is None:
        raise InputError(
            f"{result.ref} is {result.status} and not ranked; it cannot be awarded by an override",
            "status",
        )
    if status == "waitlisted" and amount != 0:
        raise InputError("a waitlisted application gets $0.00", "amount")
    if status in AWARDED and amount <= 0:
        raise InputError("an award must be more than $0.00", "amount")
    requested = db.session.get(Application, result.application_id).requested_amount
    if amount > requested:
        raise InputError(f"must not exceed the request of {money(requested)}", "amount")
    others = sum(
        (
            effective(r, o)[1]
            for r, o in _results_with_overrides(run)
            if r.application_id != result.application_id
        ),
        ZERO,
    )
    funds = run.total_funds or ZERO
    if others + amount > funds:
        raise InputError(
            f"the awards would add up to {money(others + amount)}, more than the "
            f"{money(funds)} available; lower another award first",
            "amount",
        )


def _results_with_overrides(run: RankingRun) -> list[tuple[RankingResult, AwardOverride | None]]:
    overrides = overrides_of(run)
    results = db.session.scalars(select(RankingResult).where(RankingResult.run_id == run.id))
    return [(r, overrides.get(r.application_id)) for r in results]


def clear_override(run: RankingRun, application_id: int, *, actor: User) -> None:
    """Remove an override: the computed decision counts again."""
    _lock(run)
    _ensure_decidable(run)
    _ensure_open(run)
    override = overrides_of(run).get(application_id)
    if override is None:
        raise NotFound("There is no exception to remove for that application.")
    result = db.session.scalar(
        select(RankingResult).where(
            RankingResult.run_id == run.id, RankingResult.application_id == application_id
        )
    )
    before = _decision(result, override)
    db.session.delete(override)
    db.session.flush()
    audit.record(
        "award.override_remove",
        "award_override",
        override.id,
        actor=actor,
        competition_id=run.competition_id,
        before=before,
        after=_decision(result, None),
    )


# --------------------------------------------------------------------------- slate


def _slate_state(slate: AwardSlate) -> dict[str, Any]:
    return {
        "run": slate.run_id,
        "status": slate.status.value,
        "prepared_by": slate.prepared_by_id,
        "approved_by": slate.approved_by_id,
    }


def prepare_slate(run: RankingRun, *, actor: User) -> AwardSlate:
    """Submit the run's award list (with its overrides) for approval."""
    _lock(run)
    _ensure_decidable(run)
    require_official(run.competition, clock.now(), "submitting the award list for approval")
    _ensure_open(run)
    pending = db.session.scalar(
        select(AwardSlate).where(
            AwardSlate.competition_id == run.competition_id,
            AwardSlate.status.in_([SlateStatus.PREPARED, SlateStatus.APPROVED]),
        )
    )
    if pending is not None:
        raise Conflict(
            f"The award list of run {pending.run_id} is already "
            f"{pending.status.value}; publish or withdraw it first."
        )
    slate = AwardSlate(
        competition_id=run.competition_id,
        run_id=run.id,
        prepared_by_id=actor.id,
        status=SlateStatus.PREPARED,
        prepared_at=utcnow(),
    )
    db.session.add(slate)
    db.session.flush()
    totals = _totals(run)
    audit.record(
        "slate.prepare",
        "award_slate",
        slate.id,
        actor=actor,
        competition_id=run.competition_id,
        after=_slate_state(slate) | totals,
    )
    return slate


def _totals(run: RankingRun) -> dict[str, Any]:
    pairs = _results_with_overrides(run)
    awarded = sum((effective(r, o)[1] for r, o in pairs), ZERO)
    return {"total_awarded": str(awarded), "overrides": sum(1 for _, o in pairs if o)}


def withdraw_slate(slate: AwardSlate, *, actor: User) -> None:
    """Take a prepared or approved (not yet published) award list back for changes."""
    _lock(slate.run)
    if slate.status == SlateStatus.PUBLISHED:
        raise Conflict(
            "This award list is published; it cannot be withdrawn. Rank again and "
            "publish a corrected list instead."
        )
    before = _slate_state(slate)
    slate_id, competition_id = slate.id, slate.competition_id
    db.session.delete(slate)
    db.session.flush()
    audit.record(
        "slate.withdraw",
        "award_slate",
        slate_id,
        actor=actor,
        competition_id=competition_id,
        before=before,
    )


#: Audit actions that make someone a party to a run's decisions (four eyes, issue 12).
_PARTY_ACTIONS = ("award.override", "award.override_remove", "slate.prepare")


def decision_parties(run: RankingRun) -> dict[int, str]:
    """Everyone who prepared the run's award list or created, changed or removed any exception
    in it, ever (from the audit trail, so a later re-save by someone else hides nobody):
    user id -> what they did."""
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.competition_id == run.competition_id,
            AuditEvent.action.in_(_PARTY_ACTIONS),
            AuditEvent.actor_id.is_not(None),
        )
    )
    parties: dict[int, str] = {}
    for event in events:
        runs = {(event.before or {}).get("run"), (event.after or {}).get("run")}
        if run.id in runs:
            parties.setdefault(event.actor_id, event.action)
    for override in overrides_of(run).values():
        parties.setdefault(override.decided_by_id, "award.override")
    return parties


def approval_refusal(slate: AwardSlate, actor: User) -> str | None:
    """Why ``actor`` may not approve this slate, or ``None`` if they may."""
    parties = decision_parties(slate.run)
    if actor.id == slate.prepared_by_id or parties.get(actor.id) == "slate.prepare":
        return (
            "You prepared this award list, so you cannot approve it: a second staff member "
            "with approval rights must approve it."
        )
    if not may_approve(actor):
        return "You do not have approval rights. Ask a staff member who can approve."
    if actor.id in parties:
        return (
            "You made an exception (override) in this award list, so you cannot approve it: "
            "another staff member with approval rights must approve it."
        )
    return None


def approve_slate(slate: AwardSlate, *, actor: User) -> AwardSlate:
    """Four-eyes approval by a second staff member with approval rights."""
    _lock(slate.run)
    if slate.status != SlateStatus.PREPARED:
        raise Conflict(
            f"This award list is {slate.status.value}; only a list waiting for "
            "approval can be approved."
        )
    refusal = approval_refusal(slate, actor)
    if refusal:
        raise Forbidden(refusal)
    require_official(slate.run.competition, clock.now(), "approval")
    before = _slate_state(slate)
    slate.status, slate.approved_by_id, slate.approved_at = (
        SlateStatus.APPROVED,
        actor.id,
        utcnow(),
    )
    db.session.flush()
    audit.record(
        "slate.approve",
        "award_slate",
        slate.id,
        actor=actor,
        competition_id=slate.competition_id,
        before=before,
        after=_slate_state(slate) | _totals(slate.run),
    )
    return slate
