"""Staff screening of submitted applications, and the audited extension of one application.

Screening decides, per submitted application: eligible or not (with the reason the applicant
sees), the tier, and each priority: a claimed one confirmed or refused with a reason, one the
applicant missed added by staff. The ranking reads only these decisions (confirmed priorities,
the tier set here: ``services/ranking/inputs.py``). Each screening is audited and stamps
``screened_at``; the official ranking waits until every submitted application has one
(``competitions/phases.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.formatting import local_dt
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    OutboxMessage,
    User,
)
from scoring.runtime import render_text
from scoring.services import audit, mail
from scoring.services.applications.content import clean_text
from scoring.services.competitions.phases import EXTENSION_PHASES, phase_of, screening_refusal

DECISIONS = ("confirm", "refuse", "none")
MAX_TIER = 9


@dataclass(frozen=True)
class PriorityDecision:
    """Staff's decision on one of the competition's priorities for one application:
    ``confirm`` (claimed or added by staff), ``refuse`` (a claim, with a reason) or ``none``
    (not claimed, not added)."""

    priority_id: int
    decision: str
    reason: str = ""


def screening_state(application: Application) -> dict:
    """What the audit trail keeps of a screening."""
    return {
        "eligible": application.eligible,
        "ineligible_reason": application.ineligible_reason,
        "tier": application.tier,
        "priorities": {
            link.priority.key: {
                "claimed": link.claimed,
                "confirmed": link.confirmed,
                "refused_reason": link.refused_reason,
            }
            for link in sorted(application.priority_links, key=lambda x: x.priority.key)
        },
        "screened": application.screened_at is not None,
    }


def require_submitted(application: Application) -> None:
    """:raise Conflict: the application is not submitted (only those are screened)."""
    if application.status != ApplicationStatus.SUBMITTED:
        raise Conflict(
            f"Only submitted applications are screened; {application.ref} is "
            f"{application.status.value}."
        )


def require_screening_open(application: Application, now: datetime) -> None:
    """:raise Conflict: the competition has not closed yet (screening is after the close)."""
    refusal = screening_refusal(application.competition, now)
    if refusal:
        raise Conflict(refusal)


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "Someone screened this application at the same moment. Reload and try again."
        ) from exc


def screen(
    application: Application,
    staff: User,
    *,
    eligible: bool,
    reason: str,
    now: datetime,
    tier: int | None = None,
    priorities: Iterable[PriorityDecision] = (),
) -> OutboxMessage | None:
    """Record staff's screening of a submitted application; returns the mail to the applicant
    when the eligibility changed.

    :raise Conflict: the application is not submitted, or its competition has not closed yet.
    :raise InputError: ineligible without a reason, a tier out of range, a priority of another
        competition, a refusal without a reason.
    """
    require_submitted(application)
    require_screening_open(application, now)
    reason = clean_text((reason or "").strip(), 500, "reason", "The reason")
    if not eligible and not reason:
        raise InputError("Give the reason; the applicant will see it.", "reason")
    if tier is not None and not 1 <= tier <= MAX_TIER:
        raise InputError(f"The tier is a whole number from 1 to {MAX_TIER}.", "tier")
    before = screening_state(application)
    _apply_priorities(application, list(priorities), now)
    application.eligible = eligible
    application.ineligible_reason = None if eligible else reason
    if tier is not None:
        application.tier = tier
    application.screened_at = now
    _flush()
    after = screening_state(application)
    audit.record(
        "application.screen",
        "application",
        application.id,
        actor=staff,
        competition_id=application.competition_id,
        before=before,
        after=after,
    )
    if (
        before["eligible"] == after["eligible"]
        and before["ineligible_reason"] == after["ineligible_reason"]
    ):
        return None
    if application.created_by is None:
        return None
    body = render_text("emails/screened.txt", application=application)
    subject, _, text = body.strip().partition("\n")
    return mail.queue(application.created_by.email, subject.strip(), text.strip() + "\n")


def _apply_priorities(
    application: Application, decisions: list[PriorityDecision], now: datetime
) -> None:
    valid = {p.id: p for p in application.competition.priorities}
    links = {link.priority_id: link for link in application.priority_links}
    for d in decisions:
        field = f"priority_{d.priority_id}"
        if d.priority_id not in valid or d.decision not in DECISIONS:
            raise InputError(
                "Choose confirm, refuse or none for a priority of this competition.", field
            )
        link = links.get(d.priority_id)
        reason = clean_text((d.reason or "").strip(), 500, f"{field}_reason", "The reason")
        if d.decision == "refuse":
            if link is None or not link.claimed:
                raise InputError(
                    f"'{valid[d.priority_id].title}' was not claimed: there is nothing to refuse.",
                    field,
                )
            if not reason:
                raise InputError(
                    "Give the reason for refusing; the applicant sees it.", f"{field}_reason"
                )
            link.confirmed, link.refused_reason, link.decided_at = False, reason, now
        elif d.decision == "confirm":
            if link is None:  # staff add a priority the applicant missed
                link = ApplicationPriority(priority_id=d.priority_id, claimed=False)
                application.priority_links.append(link)
            link.confirmed, link.refused_reason, link.decided_at = True, None, now
        elif link is not None:
            if link.claimed:
                raise InputError(
                    f"'{valid[d.priority_id].title}' was claimed: confirm it, or refuse it "
                    "with a reason.",
                    field,
                )
            application.priority_links.remove(link)  # a staff addition taken back


def confirm_as_claimed(application_ids: Iterable[int], staff: User, now: datetime) -> list[str]:
    """Bulk screening: each listed submitted application is screened as it stands, every claimed
    priority confirmed (eligibility and tier unchanged). Returns the refs screened.

    :raise InputError: no application chosen, or one is not submitted (nothing is changed).
    :raise Conflict: a competition of one of them has not closed yet (nothing is changed).
    """
    ids = sorted(set(application_ids))
    if not ids:
        raise InputError("Tick at least one application to confirm.", "applications")
    rows = list(db.session.scalars(select(Application).where(Application.id.in_(ids))))
    if len(rows) != len(ids) or any(a.status != ApplicationStatus.SUBMITTED for a in rows):
        raise InputError("Only submitted applications can be confirmed as claimed.", "applications")
    for application in rows:
        require_screening_open(application, now)
    for application in rows:
        before = screening_state(application)
        for link in application.priority_links:
            if link.claimed and link.decided_at is None:
                link.confirmed, link.refused_reason, link.decided_at = True, None, now
        application.screened_at = now
        _flush()
        audit.record(
            "application.screen",
            "application",
            application.id,
            actor=staff,
            competition_id=application.competition_id,
            before=before,
            after=screening_state(application),
            note="confirmed as claimed (bulk)",
        )
    return [a.ref for a in sorted(rows, key=lambda a: a.ref)]


def extendable_drafts(competition_id: int | None, now: datetime) -> list[Application]:
    """Drafts that staff may still give an extension: those of competitions open, or closed and
    not ranked yet (``phases.EXTENSION_PHASES``), by competition then ref."""
    query = select(Application).where(Application.status == ApplicationStatus.DRAFT)
    if competition_id is not None:
        query = query.where(Application.competition_id == competition_id)
    drafts = db.session.scalars(query.order_by(Application.competition_id, Application.ref))
    phases: dict[int, bool] = {}
    out = []
    for draft in drafts:
        if draft.competition_id not in phases:
            phase = phase_of(draft.competition, now).key
            phases[draft.competition_id] = phase in EXTENSION_PHASES
        if phases[draft.competition_id]:
            out.append(draft)
    return out


def grant_extension(
    application: Application, staff: User, *, until: datetime, reason: str, now: datetime
) -> Application:
    """Give one draft application a documented, audited extension of its window.

    :raise Conflict: not a draft, or the decisions are published.
    :raise InputError: no reason, or ``until`` not after both now and the competition's close.
    """
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict(
            f"Only a draft can get an extension; {application.ref} is {application.status.value}."
        )
    if phase_of(application.competition, now).key == "published":
        raise Conflict("The decisions are published: nothing can be submitted any more.")
    reason = clean_text((reason or "").strip(), 500, "reason", "The reason")
    if len(reason) < 10:
        raise InputError("Document the extension: write at least 10 characters.", "reason")
    closes = application.competition.closes_at
    if until <= now or (closes is not None and until <= closes):
        raise InputError(
            f"The extension must end after now and after the close ({local_dt(closes)}).", "until"
        )
    before = {
        "extended_until": local_dt(application.extended_until)
        if application.extended_until
        else None
    }
    application.extended_until, application.extension_reason = until, reason
    _flush()
    audit.record(
        "application.extend",
        "application",
        application.id,
        actor=staff,
        competition_id=application.competition_id,
        before=before,
        after={"extended_until": until.isoformat(), "reason": reason},
    )
    return application
