"""The demo: districts, competitions, accounts, applications, reviews (``flask --app scoring
seed-demo``, in ``scoring/cli/seed.py``, loads it).

Every rubric number and every application is illustrative ([I] in docs/domain.md). The data is
deterministic (a fixed random seed), so two newcomers see the same demo.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from scoring import demo_data
from scoring.demo_round import add_application, seed_applicant_drafts, seed_review_round
from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    Competition,
    Criterion,
    CriterionScore,
    District,
    Priority,
    Program,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    Role,
    RubricSection,
    School,
)
from scoring.models._types import utcnow
from scoring.services import audit
from scoring.services.accounts import users
from scoring.services.queries import blocked_districts

DEMO_ACCOUNTS = [
    # (role, email, name, password, extra)
    # Staff sign in with two factors (they may publish; approvers approve): their demo
    # authenticator keys are fixed and published like the passwords (README "Try it").
    (
        "staff",
        "program.manager@demo.scoring",
        "Pat Program-Manager",
        "demo-staff-2016",
        {"totp": "C5BCATF4RMTJ3XFSICX53OW43LK5ENRL"},
    ),
    (
        "staff",
        "approver@demo.scoring",
        "Alex Approver",
        "demo-approve-2016",
        {"can_approve": True, "totp": "YN2KFKY23BKDSF3MZZLS4LUSTNO5RCJT"},
    ),
    (
        "admin",
        "admin@demo.scoring",
        "Ada Admin",
        "demo-admin-2016",
        {"can_approve": True, "totp": "TYUCUFZXXHZ5XP426AQDEGKWJFAQPMUH"},
    ),
    (
        "reviewer",
        "reviewer1@demo.scoring",
        "Riley Reviewer",
        "demo-review-2016",
        {"conflicts": ["015"]},
    ),
    (
        "reviewer",
        "reviewer2@demo.scoring",
        "Sam Scorer",
        "demo-review-2016",
        {"conflicts": ["064"]},
    ),
    (
        "reviewer",
        "reviewer3@demo.scoring",
        "Jordan Judge",
        "demo-review-2016",
        {"conflicts": ["093"]},
    ),
    ("reviewer", "reviewer4@demo.scoring", "Casey Critic", "demo-review-2016", {}),
    ("reviewer", "reviewer5@demo.scoring", "Morgan Marker", "demo-review-2016", {}),
    (
        "applicant",
        "bridgeport@demo.scoring",
        "Bridgeport grants office",
        "demo-apply-2016",
        {"district": "015"},
    ),
    (
        "applicant",
        "hartford@demo.scoring",
        "Hartford grants office",
        "demo-apply-2016",
        {"district": "064"},
    ),
]


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def seed_geography(rng: random.Random) -> dict[str, District]:
    """Add the demo districts with their schools; return the districts by code."""
    districts: dict[str, District] = {}
    for code, name in demo_data.ALLIANCE_DISTRICTS:
        district = District(code=code, name=name, alliance=True)
        db.session.add(district)
        districts[code] = district
        for i, (kind, span, classification) in enumerate(demo_data.SCHOOL_KINDS, start=1):
            db.session.add(
                School(
                    code=f"{code}{i:04d}",
                    name=f"{name} Demo {kind}",
                    district=district,
                    grade_span=span,
                    classification=classification,
                )
            )
    db.session.flush()
    return districts


def seed_accounts(districts: dict[str, District]) -> list[dict]:
    """Create the demo accounts (with reviewer conflicts); return their credentials."""
    accounts = []
    for role, email, name, password, extra in DEMO_ACCOUNTS:
        district = districts.get(extra.get("district", ""))
        user = users.create_user(
            email,
            name,
            Role(role),
            password=password,
            district_id=district.id if district else None,
            can_approve=extra.get("can_approve", False),
        )
        if extra.get("totp"):
            user.totp_secret, user.totp_enrolled_at = extra["totp"], utcnow()
        for code in extra.get("conflicts", []):
            db.session.add(
                ReviewerConflict(
                    user=user, district=districts[code], reason="Employed in district [I]"
                )
            )
        accounts.append(
            {"role": role, "email": email, "password": password, "name": name}
            | ({"totp_secret": extra["totp"]} if extra.get("totp") else {})
        )
    db.session.flush()
    return accounts


def seed_competition(spec: dict) -> Competition:
    """Add a demo competition with its rubric and priorities from ``spec``."""
    now = utcnow()
    # A window relative to "now" (days from now) for the live rounds; else the dates given.
    open_days, close_days = spec.get("window_days", (-7, 30))
    opens = _dt(spec["opens_at"]) or (now + timedelta(days=open_days))
    closes = _dt(spec["closes_at"]) or (now + timedelta(days=close_days))
    due_days = spec.get("review_due_days")
    competition = Competition(
        slug=spec["slug"],
        program=Program(spec["program"]),
        title=spec["title"],
        cohort=spec["cohort"],
        fiscal_year=spec["fiscal_year"],
        opens_at=opens,
        closes_at=closes,
        review_due_at=None if due_days is None else closes + timedelta(days=due_days),
        total_funds=spec["total_funds"],
        min_award=spec["min_award"],
        max_award=spec["max_award"],
        min_score=spec["min_score"],
        tie_breakers=spec["tie_breakers"],
        eligibility=spec["eligibility"],
        rubric_illustrative=True,
        reviewers_per_application=3,
        description="Demo competition. Rubric points, funds and applications are illustrative [I].",
    )
    db.session.add(competition)
    for position, (key, title, criterion_title, max_points) in enumerate(
        demo_data.RUBRICS[spec["rubric"]]
    ):
        section = RubricSection(
            competition=competition,
            key=key,
            title=title,
            position=position,
            # Weight = max ÷ 100 [I]: the same order as plain points, shown as an explicit weight.
            weight=Decimal(max_points) / 100,
            guidance=f"Describe: {criterion_title.lower()}.",
        )
        db.session.add(section)
        section.criteria.append(
            Criterion(
                competition=competition,
                key=f"{key}.main",
                title=criterion_title,
                max_points=Decimal(max_points),
                step=Decimal(1),
                position=0,
                descriptors=[
                    {
                        "rating": rating,
                        "label": label,
                        "points": str((Decimal(rating) * max_points / 3).quantize(Decimal("0.1"))),
                    }
                    for rating, label in demo_data.RATING_LEVELS
                ],
            )
        )
    if "priority" in spec:
        key, title, points = spec["priority"]
        db.session.add(Priority(competition=competition, key=key, title=title, points=points))
    db.session.flush()
    return competition


def seed_applications(
    competition: Competition, spec: dict, rng: random.Random, reviewers: list
) -> int:
    """Submitted applications with three submitted reviews each, avoiding reviewer conflicts."""
    schools = db.session.scalars(select(School).order_by(School.code)).all()
    chosen = rng.sample(schools, spec["apps"])
    criteria = db.session.scalars(
        select(Criterion).where(Criterion.competition_id == competition.id).order_by(Criterion.id)
    ).all()
    conflicts: dict[int, set[int]] = {u.id: set() for u in reviewers}
    for user_id, district_id in db.session.execute(blocked_districts([u.id for u in reviewers])):
        conflicts[user_id].add(district_id)
    for n, school in enumerate(chosen, start=1):
        app = add_application(competition, school, n, rng, utcnow())
        if n == len(chosen):  # one screened-out application shows the ineligible path
            app.eligible, app.ineligible_reason = (
                False,
                "Missing the superintendent's signature [I]",
            )
        quality = rng.uniform(0.45, 0.95)
        eligible_reviewers = [r for r in reviewers if school.district_id not in conflicts[r.id]]
        panel = rng.sample(eligible_reviewers, 3)
        if n == 2:  # one application left with a single submitted review: shows "incomplete"
            panel = panel[:1]
        for reviewer in panel:
            db.session.add(
                ReviewerAssignment(
                    application=app,
                    reviewer=reviewer,
                    status=AssignmentStatus.ASSIGNED,
                    no_conflict_declared_at=utcnow(),
                )
            )
            leniency = {0: 0.0, 1: 0.08, 2: -0.06, 3: 0.03, 4: -0.02}.get(reviewer.id % 5, 0.0)
            review = Review(
                application=app,
                reviewer=reviewer,
                status=ReviewStatus.SUBMITTED,
                submitted_at=competition.closes_at + timedelta(days=rng.randint(3, 20)),
                overall_comment="Synthetic review for the demo [I].",
            )
            for criterion in criteria:
                level = min(1.0, max(0.0, rng.gauss(quality + leniency, 0.12)))
                points = Decimal(round(level * float(criterion.max_points)))
                review.scores.append(
                    CriterionScore(
                        criterion=criterion,
                        points=points,
                        max_points=criterion.max_points,
                        comment=None,
                    )
                )
            db.session.add(review)
    competition.rubric_frozen_at = utcnow()
    db.session.flush()
    return len(chosen)


def seed_demo() -> list[dict]:
    """Create the whole demo in the current session; returns the accounts."""
    rng = random.Random(20161)
    districts = seed_geography(rng)
    accounts = seed_accounts(districts)
    reviewers = db.session.scalars(
        select(users.User).where(users.User.role == Role.REVIEWER).order_by(users.User.id)
    ).all()
    competitions = []
    for spec in demo_data.COMPETITIONS:
        competition = seed_competition(spec)
        if spec["state"] == "in_review":
            seed_review_round(competition, spec, rng, reviewers)
        elif spec["apps"]:
            seed_applications(competition, spec, rng, reviewers)
        if spec["state"] == "open":
            applicants = select(users.User).where(users.User.role == Role.APPLICANT)
            seed_applicant_drafts(competition, db.session.scalars(applicants.order_by("id")).all())
        competitions.append((competition, spec))
    audit.record("demo.seed", "competition", note="Demo data loaded (illustrative)")
    return accounts


def rank_seeded() -> None:
    """One ranking run for each seeded competition that has applications."""
    from scoring.services import ranking

    staff = db.session.scalar(select(users.User).where(users.User.email == DEMO_ACCOUNTS[0][1]))
    for spec in demo_data.COMPETITIONS:
        if spec["state"] != "ranked":
            continue
        competition = db.session.scalar(select(Competition).where(Competition.slug == spec["slug"]))
        run = ranking.create_run(competition, actor=staff)
        db.session.commit()
        ranking.execute_run(run.id)
        db.session.commit()
