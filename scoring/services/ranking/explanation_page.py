"""The staff explanation page of one application: the stored explanation as tables in words.

The numbers come only from the stored explanation (``explanation_for``); this module adds the
facts the run keeps as codes (section titles, reviewer names, the applicant's claimed and
confirmed priorities, the application's reviews the run did not count) and hands both to the
pure ``scoring.core.explain_page.explanation_sheet``. The CLI keeps the plain text
(``explanation_text``).
"""

from __future__ import annotations

from sqlalchemy import select

from scoring.core.explain_page import Facts, Part, explanation_sheet
from scoring.core.numbers import json_number
from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    RankingResult,
    RankingRun,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    User,
)
from scoring.services.ranking.results import explanation_for

__all__ = ["explanation_parts"]


def explanation_parts(run: RankingRun, result: RankingResult) -> list[Part] | None:
    """The explanation page's parts for ``result`` of ``run`` (``None`` when none was stored)."""
    data = explanation_for(run, result.explanation) if result.explanation else None
    if not data:
        return None
    return explanation_sheet(data, _facts(run, result, data))


def _facts(run: RankingRun, result: RankingResult, data: dict) -> Facts:
    competition = run.competition
    application = result.application
    counted = [r["reviewer"] for r in data["reviews"]]
    names = {
        e: n
        for e, n in db.session.execute(select(User.email, User.name).where(User.email.in_(counted)))
    }
    links = {link.priority_id: link for link in application.priority_links}
    claims = []
    for priority in sorted(competition.priorities, key=lambda p: p.key):
        link = links.get(priority.id)
        claims.append(
            {
                "key": priority.key,
                "title": priority.title,
                "points": json_number(priority.points),
                "claimed": bool(link and link.claimed),
                "confirmed": bool(link and link.confirmed),
                "refused_reason": link.refused_reason if link else None,
            }
        )
    uncounted = _uncounted(application.id, application.school.district_id, set(counted), names)
    return Facts(
        section_titles={s.key: s.title for s in competition.sections},
        reviewer_names=names,
        claims=claims,
        uncounted=uncounted,
        min_reviews=(run.policy or {}).get("min_reviews"),
    )


def _uncounted(
    application_id: int, district_id: int, counted: set[str], names: dict[str, str]
) -> list[tuple[str, str]]:
    """(reviewer email, why) of the application's reviews that the run did not count."""
    rows = db.session.execute(
        select(Review.status, User.id, User.email, User.name)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.application_id == application_id)
        .order_by(User.email)
    ).all()
    conflicted = set(
        db.session.scalars(
            select(ReviewerAssignment.reviewer_id).where(
                ReviewerAssignment.application_id == application_id,
                ReviewerAssignment.status == AssignmentStatus.CONFLICT,
            )
        )
    )
    barred = set(
        db.session.scalars(
            select(ReviewerConflict.user_id).where(ReviewerConflict.district_id == district_id)
        )
    )
    out = []
    for status, user_id, email, name in rows:
        if email in counted:
            continue
        names.setdefault(email, name)
        if user_id in conflicted:
            why = "the reviewer declared a conflict of interest"
        elif user_id in barred:
            why = "the reviewer may not review this district"
        elif status == ReviewStatus.WITHDRAWN:
            why = "withdrawn"
        elif status != ReviewStatus.SUBMITTED:
            why = "not submitted (a draft)"
        else:
            why = "submitted after this ranking run"
        out.append((email, why))
    return out
