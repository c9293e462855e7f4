"""Assigning reviewers: the automatic balanced plan (preview, then save), manual add and remove,
and one extra reviewer for an application whose scores disagree.

The rules and the algorithm are in :mod:`scoring.core.assignment` (pure); this module reads the
database into its values and writes the chosen pairs back, auditing each one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update

from scoring.core.assignment import ApplicationNeed, Plan, Reviewer, plan_assignment
from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    Competition,
    ExtraReviewerRequest,
    OutboxMessage,
    ReviewerAssignment,
    ReviewStatus,
    Role,
    User,
)
from scoring.models._types import utcnow
from scoring.runtime import render_text
from scoring.services import audit, mail
from scoring.services.queries import blocked_districts
from scoring.services.reviews.reviews import review_of


def active_reviewers() -> list[User]:
    """Active reviewers, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.REVIEWER, User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def reviewable_applications(competition: Competition) -> list[Application]:
    """Submitted, eligible applications: the ones that need reviewers."""
    return list(
        db.session.scalars(
            select(Application)
            .where(
                Application.competition_id == competition.id,
                Application.status == ApplicationStatus.SUBMITTED,
                Application.eligible.is_(True),
            )
            .order_by(Application.ref)
        )
    )


def _assignments(competition: Competition) -> list[ReviewerAssignment]:
    return list(
        db.session.scalars(
            select(ReviewerAssignment)
            .join(Application)
            .where(Application.competition_id == competition.id)
            .order_by(ReviewerAssignment.id)
        )
    )


def _blocked_districts(users: list[User]) -> dict[int, frozenset[int]]:
    """Each user's blocked districts (:func:`scoring.services.queries.blocked_districts`)."""
    blocked: dict[int, set[int]] = {u.id: set() for u in users}
    for user_id, district_id in db.session.execute(blocked_districts([u.id for u in users])):
        blocked[user_id].add(district_id)
    return {user_id: frozenset(districts) for user_id, districts in blocked.items()}


def _inputs(
    competition: Competition, apps: list[Application], target: dict[int, int] | None = None
):
    """The pure algorithm's values: each application's need and each reviewer's load."""
    rows = _assignments(competition)
    current, blocked = defaultdict(set), defaultdict(set)
    load: Counter[int] = Counter()
    for a in rows:
        if a.status == AssignmentStatus.ASSIGNED:
            current[a.application_id].add(a.reviewer_id)
            load[a.reviewer_id] += 1
        else:
            blocked[a.application_id].add(a.reviewer_id)
    wanted = target or {}
    needs = [
        ApplicationNeed(
            id=app.id,
            district_id=app.school.district_id,
            needed=max(
                0, wanted.get(app.id, competition.reviewers_per_application) - len(current[app.id])
            ),
            current=frozenset(current[app.id]),
            blocked=frozenset(blocked[app.id]),
        )
        for app in apps
    ]
    reviewers = active_reviewers()
    blocked_by = _blocked_districts(reviewers)
    people = [Reviewer(u.id, blocked_by[u.id], load[u.id]) for u in reviewers]
    return needs, people


def default_cap(competition: Competition) -> int:
    """A balanced load plus one: ⌈N × applications / reviewers⌉ + 1 (room to route around
    conflicts)."""
    reviewers = len(active_reviewers())
    if reviewers == 0:
        return 0
    slots = competition.reviewers_per_application * len(reviewable_applications(competition))
    return math.ceil(slots / reviewers) + 1


@dataclass(frozen=True)
class Preview:
    """A plan to show before saving; ``digest`` ties the save to exactly this plan."""

    cap: int
    plan: Plan
    digest: str
    applications: dict[int, Application]
    reviewers: dict[int, User]
    #: application id → names of the reviewers it already has.
    current: dict[int, list[str]]

    def new_for(self, application_id: int) -> list[User]:
        """The reviewers the plan adds to an application."""
        return [self.reviewers[r] for a, r in self.plan.pairs if a == application_id]

    def loads(self) -> list[tuple[User, int, int]]:
        """Each active reviewer with their load now and after saving."""
        added = Counter(r for _, r in self.plan.pairs)
        return [
            (self.reviewers[r], after - added[r], after) for r, after in self.plan.loads.items()
        ]


def preview(competition: Competition, cap: int) -> Preview:
    """Plan the automatic assignment for ``competition`` with at most ``cap`` per reviewer."""
    if cap < 0:
        raise InputError("must be 0 or more", "cap")
    apps = reviewable_applications(competition)
    needs, people = _inputs(competition, apps)
    plan = plan_assignment(needs, people, cap)
    digest = hashlib.sha256(json.dumps({"cap": cap, "pairs": plan.pairs}).encode()).hexdigest()
    current: dict[int, list[str]] = defaultdict(list)
    for row in _assignments(competition):
        if row.status == AssignmentStatus.ASSIGNED:
            current[row.application_id].append(row.reviewer.name)
    return Preview(
        cap,
        plan,
        digest,
        {a.id: a for a in apps},
        {u.id: u for u in active_reviewers()},
        dict(current),
    )


def save(competition: Competition, *, cap: int, digest: str, actor: User) -> list[OutboxMessage]:
    """Save the previewed plan; raise ``Conflict`` if anything changed since the preview.

    Returns one notification per reviewer given new work (send after the commit).
    """
    planned = preview(competition, cap)
    if planned.digest != digest:
        raise Conflict(
            "Assignments or reviewers changed since the preview. "
            "Check the new preview and save again."
        )
    made = [
        _create(planned.applications[a], planned.reviewers[r], actor, "auto")
        for a, r in planned.plan.pairs
    ]
    return _notify(made)


def _create(
    application: Application, reviewer: User, actor: User | None, method: str
) -> ReviewerAssignment:
    row = db.session.scalar(
        select(ReviewerAssignment).where(
            ReviewerAssignment.application_id == application.id,
            ReviewerAssignment.reviewer_id == reviewer.id,
        )
    )
    if row is None:
        row = ReviewerAssignment(application=application, reviewer=reviewer)
        db.session.add(row)
    row.status = AssignmentStatus.ASSIGNED
    row.assigned_by_id = actor.id if actor else None
    row.no_conflict_declared_at = None
    db.session.flush()
    audit.record(
        "assignment.create",
        "reviewer_assignment",
        row.id,
        actor=actor,
        competition_id=application.competition_id,
        after={"application": application.ref, "reviewer": reviewer.email, "method": method},
    )
    return row


def _notify(made: list[ReviewerAssignment]) -> list[OutboxMessage]:
    by_reviewer: dict[int, list[ReviewerAssignment]] = defaultdict(list)
    for row in made:
        by_reviewer[row.reviewer_id].append(row)
    messages = []
    for rows in by_reviewer.values():
        reviewer = rows[0].reviewer
        body = render_text("emails/review_assigned.txt", reviewer=reviewer, assignments=rows)
        messages.append(
            mail.queue(reviewer.email, f"{len(rows)} new application(s) to review", body)
        )
    return messages


def why_not(application: Application, reviewer: User) -> str | None:
    """Why ``reviewer`` may not be added to ``application`` by hand, or ``None`` if they may."""
    if reviewer.role != Role.REVIEWER or not reviewer.active:
        return "is not an active reviewer"
    if application.school.district_id in _blocked_districts([reviewer])[reviewer.id]:
        return "works in or declared a conflict with the applicant's district"
    row = db.session.scalar(
        select(ReviewerAssignment).where(
            ReviewerAssignment.application_id == application.id,
            ReviewerAssignment.reviewer_id == reviewer.id,
        )
    )
    if row is not None and row.status == AssignmentStatus.ASSIGNED:
        return "is already assigned to this application"
    if row is not None and row.status == AssignmentStatus.CONFLICT:
        return "declared a conflict of interest on this application"
    return None


def add_reviewer(application: Application, reviewer: User, *, actor: User) -> list[OutboxMessage]:
    """Assign ``reviewer`` by hand (the load cap is staff's call here); raise ``InputError``."""
    problem = why_not(application, reviewer)
    if problem:
        raise InputError(f"{reviewer.name} {problem}.", "reviewer")
    return _notify([_create(application, reviewer, actor, "manual")])


def remove_assignment(assignment: ReviewerAssignment, *, actor: User) -> None:
    """Take a reviewer off an application; their review (even a submitted one) stops counting."""
    if assignment.status != AssignmentStatus.ASSIGNED:
        raise Conflict("This assignment is not active.")
    review = review_of(assignment)
    before = {"status": "assigned", "review": review.status.value if review else None}
    assignment.status = AssignmentStatus.REMOVED
    if review is not None:
        review.status = ReviewStatus.WITHDRAWN
    audit.record(
        "assignment.remove",
        "reviewer_assignment",
        assignment.id,
        actor=actor,
        competition_id=assignment.application.competition_id,
        before=before,
        after={
            "status": "removed",
            "application": assignment.application.ref,
            "reviewer": assignment.reviewer.email,
        },
    )
    db.session.flush()


def active_count(application: Application) -> int:
    """How many active (assigned) reviewers the application has."""
    return len(
        [
            a
            for a in _assignments(application.competition)
            if a.application_id == application.id and a.status == AssignmentStatus.ASSIGNED
        ]
    )


def add_extra_reviewer(application_id: int, target: int, actor_id: int | None) -> list[int]:
    """Bring ``application_id`` up to ``target`` active reviewers by the automatic rules (no cap,
    lightest load first). Idempotent: nothing happens once ``target`` is reached. Returns the ids
    of the notifications queued; records ``assignment.extra_unavailable`` if no one is eligible.
    The requests this answers (``ExtraReviewerRequest`` up to ``target``) are marked done, so
    the relay stops sending them."""
    made = _add_extra_reviewer(application_id, target, actor_id)
    db.session.execute(
        update(ExtraReviewerRequest)
        .where(
            ExtraReviewerRequest.application_id == application_id,
            ExtraReviewerRequest.target <= target,
            ExtraReviewerRequest.done_at.is_(None),
        )
        .values(done_at=utcnow())
    )
    return made


def _add_extra_reviewer(application_id: int, target: int, actor_id: int | None) -> list[int]:
    # the row lock makes a second delivery of the same request wait, then find it done
    application = db.session.get(Application, application_id, with_for_update=True)
    if application is None or application.status != ApplicationStatus.SUBMITTED:
        return []
    competition = application.competition
    needs, people = _inputs(competition, [application], {application_id: target})
    if needs[0].needed == 0:
        return []
    actor = db.session.get(User, actor_id) if actor_id else None
    plan = plan_assignment(needs, people, None)
    users = {u.id: u for u in active_reviewers()}
    made = [_create(application, users[r], actor, "discrepancy") for _, r in plan.pairs]
    if plan.shortfall:
        audit.record(
            "assignment.extra_unavailable",
            "application",
            application.id,
            actor=actor,
            competition_id=competition.id,
            after={"application": application.ref, "target": target},
            note="No eligible reviewer under the assignment rules.",
        )
    return [m.id for m in _notify(made)]
