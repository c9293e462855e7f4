"""What a district user sees of an application: its status, the published decision, comments.

Before an award list is published the applicant sees only its own workflow status (draft,
submitted, withdrawn, screened out). After publication it sees the decision and award for its own
application, taken from the published slate's run (with any staff override applied). Reviewer
comments are shown only when the competition allows it, only after publication, only from
submitted reviews, and labelled "Reviewer 1, 2, ..." — never a reviewer's name, email or scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AwardOverride,
    AwardSlate,
    RankingResult,
    Review,
    ReviewStatus,
    SlateStatus,
)

DECISION_LABELS = {
    "funded": "Awarded",
    "partially_funded": "Awarded in part",
    "waitlisted": "Not funded (waitlist)",
    "below_threshold": "Not funded (below the minimum score)",
    "incomplete": "Not funded (review incomplete)",
    "ineligible": "Ineligible",
}


@dataclass(frozen=True)
class Decision:
    """The published decision on an application, as the applicant sees it."""

    status: str
    label: str
    award: Decimal
    published_at: datetime | None
    #: Staff overrode the computed result (shown as an exception).
    exception: bool


@dataclass(frozen=True)
class ReviewerComments:
    """One reviewer's comments as shown to the applicant (overall and per criterion)."""

    label: str
    overall: str | None
    criteria: list[tuple[str, str]]


def published_decision(application: Application) -> Decision | None:
    """The decision of the most recently published award list, or None before publication."""
    slate = db.session.scalar(
        select(AwardSlate)
        .where(
            AwardSlate.competition_id == application.competition_id,
            AwardSlate.status == SlateStatus.PUBLISHED,
        )
        .order_by(AwardSlate.published_at.desc(), AwardSlate.id.desc())
        .limit(1)
    )
    if slate is None:
        return None
    result = db.session.scalar(
        select(RankingResult).where(
            RankingResult.run_id == slate.run_id, RankingResult.application_id == application.id
        )
    )
    if result is None:
        return None
    override = db.session.scalar(
        select(AwardOverride).where(
            AwardOverride.run_id == slate.run_id, AwardOverride.application_id == application.id
        )
    )
    status, award = (
        (override.status, override.amount) if override else (result.status, result.award)
    )
    label = DECISION_LABELS.get(status, status.replace("_", " ").capitalize())
    return Decision(status, label, award, slate.published_at, override is not None)


def status_label(application: Application, decision: Decision | None = None) -> str:
    """One line for lists: workflow status, screening, or the published decision."""
    if application.status == ApplicationStatus.DRAFT:
        return "Draft (not submitted)"
    if application.status == ApplicationStatus.WITHDRAWN:
        return "Withdrawn"
    if not application.eligible:
        return "Screened out: ineligible"
    if decision is not None:
        return decision.label
    return "Submitted — under review"


def _criterion_order(score) -> tuple[int, int, int]:
    return (score.criterion.section.position, score.criterion.position, score.criterion.id)


def reviewer_comments(
    application: Application, decision: Decision | None
) -> list[ReviewerComments]:
    """Comments the applicant may read; empty unless allowed and published."""
    if decision is None or not application.competition.comments_visible_to_applicants:
        return []
    reviews = db.session.scalars(
        select(Review)
        .where(Review.application_id == application.id, Review.status == ReviewStatus.SUBMITTED)
        .order_by(Review.id)
    ).all()
    out = []
    for number, review in enumerate(reviews, start=1):
        criteria = [
            (s.criterion.title, s.comment)
            for s in sorted(review.scores, key=_criterion_order)
            if s.comment and s.comment.strip()
        ]
        if criteria or (review.overall_comment or "").strip():
            out.append(ReviewerComments(f"Reviewer {number}", review.overall_comment, criteria))
    return out
