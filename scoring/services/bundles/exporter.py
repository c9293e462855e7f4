"""Bundle export: a competition as a bundle (docs/bundle.md format 1); importing it gives it back.

Writes the submitted applications (import order) and their reviews (import order); districts,
schools and reviewers sorted by code/email; defaults filled in; money as strings with two
decimals; timestamps in the app's time zone with their offset; ``weight`` only for a section
that has one. A review that is not counted (docs/ranking.md §1, ``queries.counted_reviews``: a
draft, a withdrawn review, a conflicted assignment or a district conflict) is exported with
``submitted: false`` so it never counts after a re-import.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, select

from scoring.extensions import db
from scoring.formatting import LOCAL_TZ
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    Competition,
    Criterion,
    CriterionScore,
    District,
    Priority,
    Review,
    ReviewerConflict,
    RubricSection,
    School,
    User,
)
from scoring.services import audit
from scoring.services.bundles.checks import FORMAT
from scoring.services.db import in_chunks
from scoring.services.queries import review_is_counted

__all__ = ["export_bundle"]


def _num(value: Decimal | float) -> int | float:
    """A stored number as a JSON number: an int when integral, else a float."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return int(value) if value == value.to_integral_value() else float(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(Decimal('0.01'))}"


def _local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LOCAL_TZ).isoformat()


def export_bundle(competition: Competition, *, actor: User | None = None) -> dict:
    """The competition as a bundle (docs/bundle.md format 1); importing it gives the same data.

    Records a ``bundle.export`` audit event (the bundle holds reviewers' names and scores), so
    the caller commits.
    """
    rubric = _export_rubric(competition)
    apps = _export_applications(competition)
    reviews, reviewer_ids = _export_reviews(competition)
    reviewers, conflict_districts = _export_reviewers(reviewer_ids)
    schools = sorted(
        in_chunks(
            select(School.code, School.name, District.code).join(District),
            School.code,
            sorted({a["school"] for a in apps}),
            scalars=False,
        )
    )
    district_codes = sorted({s[2] for s in schools} | conflict_districts)
    districts = sorted(
        in_chunks(
            select(District.code, District.name, District.alliance),
            District.code,
            district_codes,
            scalars=False,
        )
    )
    audit.record(
        "bundle.export",
        "competition",
        competition.id,
        actor=actor,
        competition_id=competition.id,
        after={"applications": len(apps), "reviews": len(reviews)},
    )
    return {
        "format": FORMAT,
        "competition": _export_competition(competition),
        "rubric": rubric,
        "priorities": [
            {"key": p.key, "title": p.title, "points": _num(p.points)}
            for p in db.session.scalars(
                select(Priority)
                .where(Priority.competition_id == competition.id)
                .order_by(Priority.id)
            )
        ],
        "districts": [{"code": c, "name": n, "alliance": a} for c, n, a in districts],
        "schools": [{"code": c, "name": n, "district": d} for c, n, d in schools],
        "reviewers": reviewers,
        "applications": apps,
        "reviews": reviews,
    }


def _export_competition(c: Competition) -> dict:
    return {
        "slug": c.slug,
        "program": c.program.value,
        "title": c.title,
        "fiscal_year": c.fiscal_year,
        "opens_at": _local(c.opens_at),
        "closes_at": _local(c.closes_at),
        "reviewers_per_application": c.reviewers_per_application,
        "total_funds": _money(c.total_funds),
        "min_award": _money(c.min_award),
        "max_award": _money(c.max_award),
        "policy": {
            "aggregation": c.aggregation.value,
            "normalization": c.normalization.value,
            "min_reviews": c.min_reviews,
            "discrepancy_threshold": _num(c.discrepancy_threshold),
            "min_score": _num(c.min_score),
            "tie_breakers": list(c.tie_breakers or []),
            "fund_down": c.fund_down.value,
            "partial_funding": c.partial_funding,
            "partial_min": _money(c.partial_min),
            "district_max_awards": c.district_max_awards,
            "district_max_amount": _money(c.district_max_amount),
        },
    }


def _export_rubric(c: Competition) -> dict:
    sections = db.session.scalars(
        select(RubricSection)
        .where(RubricSection.competition_id == c.id)
        .order_by(RubricSection.position, RubricSection.id)
    )
    out = []
    for s in sections:
        d: dict[str, Any] = {"key": s.key, "title": s.title}
        if s.weight is not None:
            d["weight"] = _num(s.weight)
        d["criteria"] = [
            {"key": x.key, "title": x.title, "max_points": _num(x.max_points), "step": _num(x.step)}
            for x in s.criteria
        ]
        out.append(d)
    return {"sections": out}


def _export_applications(c: Competition) -> list[dict]:
    prios: dict[int, list[str]] = {}
    for app_id, key in db.session.execute(
        select(ApplicationPriority.application_id, Priority.key)
        .join(Priority)
        .join(Application, Application.id == ApplicationPriority.application_id)
        .where(Application.competition_id == c.id, ApplicationPriority.confirmed.is_(True))
        .order_by(ApplicationPriority.application_id, Priority.id)
    ):
        prios.setdefault(app_id, []).append(key)
    rows = db.session.execute(
        select(
            Application.id,
            Application.ref,
            School.code,
            Application.requested_amount,
            Application.tier,
            Application.eligible,
            Application.ineligible_reason,
            Application.submitted_at,
        )
        .join(School)
        .where(
            Application.competition_id == c.id, Application.status == ApplicationStatus.SUBMITTED
        )
        .order_by(Application.id)
    )
    return [
        {
            "ref": ref,
            "school": school,
            "requested_amount": _money(amount),
            "tier": tier,
            "priorities": prios.get(app_id, []),
            "eligible": eligible,
            "ineligible_reason": reason,
            "submitted_at": _local(submitted),
        }
        for app_id, ref, school, amount, tier, eligible, reason, submitted in rows
    ]


def _export_reviews(c: Competition) -> tuple[list[dict], set[int]]:
    """Reviews of the submitted applications, in import order, with their scores."""
    counted_apps = select(Application.id).where(
        Application.competition_id == c.id, Application.status == ApplicationStatus.SUBMITTED
    )
    reviews = db.session.execute(
        select(
            Review.id,
            Application.ref,
            User.email,
            Review.reviewer_id,
            review_is_counted(Review, School.district_id),
        )
        .join(Application, Application.id == Review.application_id)
        .join(School, School.id == Application.school_id)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.application_id.in_(counted_apps))
        .order_by(Review.id)
    ).all()
    scores: dict[int, dict] = {}
    comments: dict[int, dict] = {}
    stream = db.session.execute(
        select(
            CriterionScore.review_id,
            Criterion.key,
            cast(CriterionScore.points, Float),
            CriterionScore.comment,
        )
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        .join(RubricSection, RubricSection.id == Criterion.section_id)
        .where(Criterion.competition_id == c.id)
        .order_by(CriterionScore.review_id, RubricSection.position, Criterion.position),
        execution_options={"yield_per": 50_000},
    )
    for review_id, key, points, comment in stream:
        if points is not None:  # a draft may hold a comment before its points
            scores.setdefault(review_id, {})[key] = _num(points)
        if comment is not None:
            comments.setdefault(review_id, {})[key] = comment
    out = [
        {
            "application": ref,
            "reviewer": email,
            "submitted": bool(counted),
            "scores": scores.get(rid, {}),
            "comments": comments.get(rid, {}),
        }
        for rid, ref, email, _, counted in reviews
    ]
    return out, {r[3] for r in reviews}


def _export_reviewers(user_ids: set[int]) -> tuple[list[dict], set[str]]:
    users = in_chunks(
        select(User.id, User.email, User.name), User.id, sorted(user_ids), scalars=False
    )
    conflicts: dict[int, list[str]] = {}
    for user_id, code in in_chunks(
        select(ReviewerConflict.user_id, District.code).join(District),
        ReviewerConflict.user_id,
        sorted(user_ids),
        scalars=False,
    ):
        conflicts.setdefault(user_id, []).append(code)
    out = [
        {"email": email, "name": name, "conflicts": sorted(conflicts.get(uid, []))}
        for uid, email, name in sorted(users, key=lambda u: u[1])
    ]
    return out, {code for codes in conflicts.values() for code in codes}
