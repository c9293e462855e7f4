"""Publication of an approved award list: the public list is pinned and one decision mail per
application is queued (``dedupe_key = "award:<slate>:<application>"``, so a retried or
repeated publish queues nothing twice). The caller sends the returned ids after committing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from scoring import clock
from scoring.errors import Conflict, Forbidden
from scoring.extensions import db
from scoring.formatting import money
from scoring.models import (
    Application,
    AwardOverride,
    AwardSlate,
    Competition,
    MailStatus,
    RankingResult,
    RankingRun,
    SlateStatus,
    User,
)
from scoring.models._types import utcnow
from scoring.services import audit, mail
from scoring.services.competitions.phases import require_official
from scoring.services.decisions.decisions import (
    _ensure_decidable,
    _lock,
    _results_with_overrides,
    _slate_state,
    _totals,
)
from scoring.services.decisions.permissions import may_publish
from scoring.services.ranking.board import (
    effective,
    slate_of,
)
from scoring.services.ranking.reasons import why_not_funded


@dataclass(frozen=True)
class Publication:
    """What publishing queued: outbox ids still to send, and applications without an address."""

    message_ids: list[int]
    unreachable: list[str]


def publish_run(run: RankingRun, *, actor: User, public_url: str) -> Publication:
    """Publish the run's approved award list and queue the decision mails.

    Returns the ids of the outbox messages still to send (send them after the commit). A second
    call for a published list queues nothing new (the dedupe keys already exist) and returns the
    same messages. Raise ``Conflict`` (409) if the run is not ranked or its list not approved.
    """
    if not may_publish(actor):
        raise Forbidden("Only staff may publish an award list.")
    _lock(run)
    _ensure_decidable(run)
    slate = slate_of(run)
    if slate is None:
        raise Conflict(
            "This ranking has no award list submitted for approval; it cannot be published."
        )
    if slate.status == SlateStatus.PREPARED:
        raise Conflict("The award list has not been approved yet; it cannot be published.")
    if slate.status == SlateStatus.APPROVED:
        require_official(run.competition, clock.now(), "publication")
    first = slate.status == SlateStatus.APPROVED
    if first:
        before = _slate_state(slate)
        slate.status, slate.published_by_id, slate.published_at = (
            SlateStatus.PUBLISHED,
            actor.id,
            utcnow(),
        )
        db.session.flush()
    messages, unreachable = _queue_decision_mails(slate, public_url)
    if first:
        audit.record(
            "slate.publish",
            "award_slate",
            slate.id,
            actor=actor,
            competition_id=slate.competition_id,
            before=before,
            after=_slate_state(slate)
            | _totals(run)
            | {"public_url": public_url, "mails": len(messages), "no_mail_address": unreachable},
        )
    return Publication([m.id for m in messages if m.status != MailStatus.SENT], unreachable)


def _queue_decision_mails(slate: AwardSlate, public_url: str) -> tuple[list, list[str]]:
    """One decision mail per application of the run (deduplicated); also the refs of the
    applications that have no address to write to."""
    competition = slate.run.competition
    messages, unreachable = [], []
    for result, override in _results_with_overrides(slate.run):
        application = db.session.get(Application, result.application_id)
        to_addr = recipient(application)
        if to_addr is None:
            unreachable.append(result.ref)
            continue
        status, award = effective(result, override)
        messages.append(
            mail.queue(
                to_addr,
                f"{competition.title}: decision on application {result.ref}",
                decision_text(
                    competition, application, result, status, award, override, public_url
                ),
                dedupe_key=f"award:{slate.id}:{application.id}",
            )
        )
    return messages, sorted(unreachable)


def recipient(application: Application) -> str | None:
    """Who hears about the decision: the district user who made the application, else its first
    contact with an email address."""
    if application.created_by is not None and application.created_by.email:
        return application.created_by.email
    for contact in application.contacts or []:
        if isinstance(contact, Mapping) and contact.get("email"):
            return str(contact["email"])
    return None


STATUS_TEXT = {
    "funded": "is funded",
    "partially_funded": "is partly funded",
    "waitlisted": "is on the waiting list; it is not funded at this time",
    "below_threshold": "scored below the lowest fundable score and is not funded",
    "incomplete": "did not receive enough completed reviews to be ranked and is not funded",
    "ineligible": "was found ineligible and is not funded",
}


def decision_text(
    competition: Competition,
    application: Application,
    result: RankingResult,
    status: str,
    award: Decimal,
    override: AwardOverride | None,
    public_url: str,
) -> str:
    """The body of the decision mail."""
    lines = [
        "Hello,",
        "",
        f"The Turnaround Office has published the award list of {competition.title}.",
        "",
        f"Application {result.ref} ({application.school.name}) {STATUS_TEXT.get(status, status)}.",
    ]
    if award > 0:
        lines.append(f"Award: {money(award)} (requested {money(application.requested_amount)}).")
    if result.final is not None:
        lines.append(
            f"Final score: {result.final.normalize():f}"
            + (f"; rank {result.rank}." if result.rank else ".")
        )
    if override is None and result.status == "ineligible":
        if result.reason:  # the status line says ineligible: the reason is staff's own words
            lines.append(f"Reason: {result.reason}")
    elif override is None and (why := why_not_funded(result.run, result)):
        lines.append(f"Reason: {why}.")
    if override is not None:
        lines += [
            "",
            "This decision is an exception made by staff to the computed result: "
            f"{override.justification}",
        ]
    lines += ["", f"The published award list: {public_url}", "", "CSDE Turnaround Office"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- public


def published_slate(competition: Competition) -> AwardSlate | None:
    """The latest published award list of the competition."""
    return db.session.scalar(
        select(AwardSlate)
        .where(
            AwardSlate.competition_id == competition.id, AwardSlate.status == SlateStatus.PUBLISHED
        )
        .order_by(AwardSlate.published_at.desc(), AwardSlate.id.desc())
        .limit(1)
    )


def published_competitions() -> list[tuple[Competition, AwardSlate]]:
    """Competitions with a published award list and their latest published slate, by title."""
    slates = db.session.scalars(
        select(AwardSlate)
        .where(AwardSlate.status == SlateStatus.PUBLISHED)
        .order_by(AwardSlate.published_at)
    ).all()
    latest = {s.competition_id: s for s in slates}
    return sorted(((s.run.competition, s) for s in latest.values()), key=lambda pair: pair[0].title)
