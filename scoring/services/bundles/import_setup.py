"""Bundle import, the competition side: competition, rubric, priorities, districts, schools
and reviewers, each written in bulk (called by :mod:`scoring.services.bundles.importer`).
"""

from __future__ import annotations

from typing import Any

from scoring.extensions import db
from scoring.models import (
    Aggregation,
    Competition,
    Criterion,
    District,
    FundDown,
    Normalization,
    Priority,
    Program,
    ReviewerConflict,
    Role,
    RubricSection,
    School,
    User,
)
from scoring.models._types import utcnow
from scoring.services.bundles.validation import _Plan
from scoring.services.db import (
    allocate_ids,
    bulk_insert,
)


def _write_competition(plan: _Plan, actor: User | None) -> Competition:
    c, policy = plan.competition, plan.competition["policy"]
    competition = Competition(
        slug=c["slug"],
        program=Program(c["program"]),
        title=c["title"],
        fiscal_year=c["fiscal_year"],
        opens_at=c["opens_at"],
        closes_at=c["closes_at"],
        reviewers_per_application=c["reviewers_per_application"],
        total_funds=c["total_funds"],
        min_award=c["min_award"],
        max_award=c["max_award"],
        rubric_frozen_at=utcnow() if any(r[2] for r in plan.reviews) else None,
        **_policy_columns(policy),
    )
    db.session.add(competition)
    db.session.flush()  # on SQLite this takes the write lock before any id is allocated
    return competition


def _policy_columns(policy: dict[str, Any]) -> dict[str, Any]:
    """Validated policy knobs as Competition column values (enums as enum members)."""
    enums = {"aggregation": Aggregation, "normalization": Normalization, "fund_down": FundDown}
    out = {}
    for key, value in policy.items():
        if key in enums:
            value = enums[key](value)
        elif key == "tie_breakers":
            value = list(value)
        out[key] = value
    return out


def _write_rubric(plan: _Plan, competition: Competition) -> list[int]:
    """Sections and criteria in order; return criterion ids in rubric column order."""
    criteria = []
    for i, s in enumerate(plan.rubric.sections):
        section = RubricSection(
            competition=competition, key=s.key, title=s.title, weight=s.weight, position=i
        )
        for j, c in enumerate(s.criteria):
            criterion = Criterion(
                competition_id=competition.id,
                section=section,
                key=c.key,
                title=c.title,
                max_points=c.max_points,
                step=c.step,
                position=j,
            )
            criteria.append(criterion)
        db.session.add(section)
    db.session.flush()
    return [c.id for c in criteria]


def _write_priorities(plan: _Plan, competition: Competition) -> dict[str, int]:
    rows = [
        Priority(competition_id=competition.id, key=p["key"], title=p["title"], points=p["points"])
        for p in plan.priorities
    ]
    db.session.add_all(rows)
    db.session.flush()
    return {p.key: p.id for p in rows}


def _write_districts(plan: _Plan) -> tuple[dict[str, int], int]:
    new = [
        District(code=d["code"], name=d["name"], alliance=d["alliance"])
        for d in plan.districts
        if d["code"] not in plan.existing_districts
    ]
    db.session.add_all(new)
    db.session.flush()
    ids = {code: d.id for code, d in plan.existing_districts.items()}
    ids.update({d.code: d.id for d in new})
    return ids, len(new)


def _write_schools(plan: _Plan, district_ids: dict[str, int]) -> tuple[dict[str, int], int]:
    new = [s for s in plan.schools if s["code"] not in plan.existing_schools]
    ids = dict(zip((s["code"] for s in new), allocate_ids(School.__table__, len(new)), strict=True))
    bulk_insert(
        School.__table__,
        ("id", "code", "name", "district_id"),
        ((ids[s["code"]], s["code"], s["name"], district_ids[s["district"]]) for s in new),
    )
    ids.update({code: s.id for code, s in plan.existing_schools.items()})
    return ids, len(new)


def _write_reviewers(plan: _Plan, district_ids: dict[str, int]) -> tuple[dict[str, int], int, int]:
    new = [
        User(
            email=r["email"],
            name=r["name"],
            role=Role.REVIEWER,
            active=True,
            password_hash=None,
        )
        for r in plan.reviewers
        if r["email"] not in plan.existing_users
    ]
    db.session.add_all(new)
    db.session.flush()
    ids = {email: u.id for email, u in plan.existing_users.items()}
    ids.update({u.email: u.id for u in new})
    conflicts = [
        (ids[r["email"]], district_ids[code])
        for r in plan.reviewers
        for code in r["conflicts"]
        if code not in plan.existing_conflicts.get(r["email"], ())
    ]
    bulk_insert(ReviewerConflict.__table__, ("user_id", "district_id"), conflicts)
    return ids, len(new), len(conflicts)
