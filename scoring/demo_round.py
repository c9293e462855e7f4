"""The demo's live parts: the round that is in review now and the applicants' drafts.

Without them a volunteer trying the demo has nothing to do: the three 2016-17 rounds are scored
and ranked, and the open round has no application. The dates here are relative to the server
clock (``scoring.clock``) at seeding time, so the round is "in review" on the day the demo is
loaded (closed a few days ago, screened, reviews due in about two weeks). Illustrative [I].
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationPriority,
    ApplicationStatus,
    AssignmentStatus,
    BudgetLine,
    Competition,
    Criterion,
    CriterionScore,
    Priority,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    School,
    User,
)
from scoring.models._types import utcnow
from scoring.services.applications import applications
from scoring.services.applications.content import ApplicationInput
from scoring.services.queries import blocked_districts


def add_application(
    competition: Competition, school: School, n: int, rng: random.Random, screened_at: datetime
) -> Application:
    """A submitted, screened application of ``school`` with its budget (and, half the time, the
    competition's priority claimed and confirmed)."""
    prefix = competition.slug.split("-")[0].upper()
    step = Decimal(10000)
    low = competition.min_award or Decimal(50000)
    high = competition.max_award or Decimal(500000)
    requested = low + step * rng.randint(0, int((high - low) / step))
    app = Application(
        competition=competition,
        ref=f"{prefix}-{n:03d}",
        school=school,
        status=ApplicationStatus.SUBMITTED,
        requested_amount=requested,
        tier=1,
        title=f"{school.name} improvement plan [I]",
        submitted_at=competition.closes_at - timedelta(hours=rng.randint(2, 400)),
        screened_at=screened_at,
        confirmation_number=f"{prefix}-{competition.id:02d}{n:04d}",
        contacts=[
            {
                "role": "principal",
                "name": f"Principal of {school.name}",
                "email": "principal@example.org",
            }
        ],
    )
    db.session.add(app)
    half = (requested / 2).quantize(Decimal("0.01"))
    app.budget_lines = [
        BudgetLine(object_code=100, year=1, amount=half, description="Staff salaries [I]"),
        BudgetLine(
            object_code=300,
            year=1,
            amount=requested - half,
            description="Professional development [I]",
        ),
    ]
    priority = db.session.scalar(select(Priority).where(Priority.competition_id == competition.id))
    if priority is not None and rng.random() < 0.5:
        app.priority_links.append(
            ApplicationPriority(priority=priority, claimed=True, confirmed=True)
        )
    return app


def seed_review_round(
    competition: Competition, spec: dict, rng: random.Random, reviewers: list[User]
) -> int:
    """The round in review now: ``spec["apps"]`` submitted, screened applications, each assigned
    to three reviewers (no conflicts, the load spread evenly: 2-3 each). Each reviewer's first
    assignment is declared with a partly scored draft; the others wait for the declaration."""
    schools = db.session.scalars(select(School).order_by(School.code)).all()
    criteria = db.session.scalars(
        select(Criterion).where(Criterion.competition_id == competition.id).order_by(Criterion.id)
    ).all()
    conflicts: dict[int, set[int]] = {u.id: set() for u in reviewers}
    for user_id, district_id in db.session.execute(blocked_districts([u.id for u in reviewers])):
        conflicts[user_id].add(district_id)
    screened = competition.closes_at + timedelta(days=1)
    load = {r.id: 0 for r in reviewers}
    for n, school in enumerate(rng.sample(schools, spec["apps"]), start=1):
        app = add_application(competition, school, n, rng, screened)
        free = [r for r in reviewers if school.district_id not in conflicts[r.id]]
        for reviewer in sorted(free, key=lambda r: (load[r.id], r.id))[:3]:
            first = load[reviewer.id] == 0
            load[reviewer.id] += 1
            db.session.add(
                ReviewerAssignment(
                    application=app,
                    reviewer=reviewer,
                    status=AssignmentStatus.ASSIGNED,
                    no_conflict_declared_at=screened if first else None,
                )
            )
            if first:  # a draft started: points for the first three criteria only
                review = Review(
                    application=app,
                    reviewer=reviewer,
                    status=ReviewStatus.DRAFT,
                    overall_comment="Started; to finish before the deadline [I].",
                )
                for criterion in criteria[:3]:
                    level = Decimal(rng.randint(1, 3)) / 3
                    review.scores.append(
                        CriterionScore(
                            criterion=criterion,
                            points=(level * criterion.max_points).quantize(Decimal(1)),
                            max_points=criterion.max_points,
                        )
                    )
                db.session.add(review)
    db.session.flush()
    return spec["apps"]


def seed_applicant_drafts(competition: Competition, applicants: list[User]) -> None:
    """One draft in the open round for each demo applicant account (its district's first
    school), made through the applicant's own service, so the demo applicant has work too."""
    for user in applicants:
        school = db.session.scalar(
            select(School).where(School.district_id == user.district_id).order_by(School.code)
        )
        applications.start_application(
            competition,
            user,
            ApplicationInput(school_id=school.id, title=f"{school.name}: more learning time [I]"),
            utcnow(),
        )
