"""Reviews: the conflict-of-interest gate, drafts, submission with a version check, and reopening.

A reviewer sees an application's content only after declaring, for that assignment, that they
have no conflict of interest; that declaration creates the (empty) draft review, so every later
save is an UPDATE guarded by ``Review.version`` (``version_id_col``): a save made from a page
showing an older version raises :class:`StaleReview` (HTTP 409) instead of overwriting.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from scoring.core import rubric as pure_rubric
from scoring.core.numbers import fmt_decimal
from scoring.errors import MESSAGES, Conflict, InputError, NotFound
from scoring.extensions import db
from scoring.models import (
    ApplicationStatus,
    AssignmentStatus,
    Competition,
    Criterion,
    CriterionScore,
    OutboxMessage,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    RubricSection,
    User,
)
from scoring.models._types import utcnow
from scoring.runtime import render_text
from scoring.services import audit, mail
from scoring.services.reviews import vectors


class StaleReview(Conflict):
    """The review changed after the page was loaded; ``review`` holds the saved state."""

    def __init__(self, review: Review) -> None:
        super().__init__(
            "This review was saved somewhere else (another tab or device) after you opened it. "
            "The saved values are shown below, with what you entered beside them."
        )
        self.review = review


def rubric_criteria(competition_id: int) -> list[Criterion]:
    """The competition's criteria in rubric order (section position, then criterion position).

    Each criterion comes with its section, and each section with all its criteria (one more
    statement, ``selectinload``): :func:`to_rubric` and the scoring page, reading
    ``competition.sections`` and every ``section.criteria`` later in the request, find them
    loaded instead of issuing one query per section (bench/README.md, "Where a reviewer's save
    goes"). The criteria hold their sections, so the session keeps them while the caller does.
    """
    return list(
        db.session.scalars(
            select(Criterion)
            .join(Criterion.section)
            .where(Criterion.competition_id == competition_id)
            .order_by(RubricSection.position, RubricSection.id, Criterion.position, Criterion.id)
            .options(contains_eager(Criterion.section).selectinload(RubricSection.criteria))
        )
    )


def to_rubric(competition: Competition) -> pure_rubric.Rubric:
    """The competition's rubric as the pure value used for scores (docs/ranking.md §3.1)."""
    return pure_rubric.Rubric(
        tuple(
            pure_rubric.Section(
                key=s.key,
                title=s.title,
                weight=s.weight,
                criteria=tuple(
                    pure_rubric.Criterion(c.key, c.max_points, c.step, c.title) for c in s.criteria
                ),
            )
            for s in competition.sections
            if s.criteria
        )
    )


def review_score(
    competition: Competition, review: Review, rubric: pure_rubric.Rubric | None = None
) -> float | None:
    """``S_r`` (0-100) of a review whose every criterion is scored, else ``None``; ``rubric`` is
    :func:`to_rubric` of the competition, made here unless a caller scoring many reviews
    passes it."""
    points = {s.criterion.key: s.points for s in review.scores if s.points is not None}
    return points_score(rubric if rubric is not None else to_rubric(competition), points)


def points_score(rubric: pure_rubric.Rubric, points: Mapping[str, Decimal]) -> float | None:
    """``S_r`` of a review's points by criterion key (scored criteria only) when every criterion
    of ``rubric`` is scored, else ``None``."""
    if set(points) != set(rubric.criterion_index):
        return None
    try:
        return pure_rubric.review_score(rubric, points)
    except pure_rubric.RubricError:  # a rubric staff have not finished (e.g. all weights 0)
        return None


def assignment_for(assignment_id: int, reviewer: User, need: str = "see") -> ReviewerAssignment:
    """The reviewer's assignment whose application the application rule
    (``services/access.py``) lets them ``need`` (see: declare; read: score); else ``NotFound``
    (no leak)."""
    from scoring.services import access

    assignment = db.session.get(ReviewerAssignment, assignment_id)
    if assignment is None or assignment.reviewer_id != getattr(reviewer, "id", None):
        raise NotFound(MESSAGES[404])
    access.require(reviewer, assignment.application, need)
    active = access.active_assignment(reviewer, assignment.application)
    if active is None or active.id != assignment.id:  # an earlier, removed assignment
        raise NotFound(MESSAGES[404])
    return assignment


def review_of(assignment: ReviewerAssignment) -> Review | None:
    """The review belonging to an assignment, or None before one is started."""
    return db.session.scalar(
        select(Review).where(
            Review.application_id == assignment.application_id,
            Review.reviewer_id == assignment.reviewer_id,
        )
    )


def _audit(action: str, assignment: ReviewerAssignment, actor: User, **kw) -> None:
    audit.record(
        action,
        "reviewer_assignment",
        assignment.id,
        actor=actor,
        competition_id=assignment.application.competition_id,
        **kw,
    )


def declare_no_conflict(assignment: ReviewerAssignment, reviewer: User) -> Review:
    """Certify no conflict of interest; create the draft review. Idempotent."""
    if assignment.no_conflict_declared_at is None:
        assignment.no_conflict_declared_at = utcnow()
        _audit(
            "assignment.declare_no_conflict",
            assignment,
            reviewer,
            after={"application": assignment.application.ref, "conflict": False},
        )
    review = review_of(assignment)
    if review is None:
        review = Review(application_id=assignment.application_id, reviewer_id=reviewer.id)
        db.session.add(review)
    elif review.status == ReviewStatus.WITHDRAWN:
        review.status = ReviewStatus.DRAFT
    db.session.flush()
    return review


def declare_conflict(assignment: ReviewerAssignment, reviewer: User, reason: str) -> None:
    """Declare a conflict: the assignment stops counting and staff must reassign it.

    Raise ``Conflict`` if the review was already submitted (staff must reopen it first).
    """
    review = review_of(assignment)
    if review is not None and review.status == ReviewStatus.SUBMITTED:
        raise Conflict(
            "You already submitted this review. Ask staff to reopen it before declaring a conflict."
        )
    assignment.status = AssignmentStatus.CONFLICT
    assignment.conflict_declared_at = utcnow()
    assignment.conflict_reason = reason
    if review is not None:
        review.status = ReviewStatus.WITHDRAWN
    _audit(
        "assignment.declare_conflict",
        assignment,
        reviewer,
        before={"status": "assigned"},
        after={"status": "conflict", "application": assignment.application.ref},
        note=reason,
    )
    db.session.flush()


def check_points(
    competition: Competition,
    criteria: list[Criterion],
    points: Mapping[int, Decimal | None],
    *,
    complete: bool,
) -> None:
    """Raise ``InputError`` (path ``points_<id>``) for a value off the rubric (outside
    ``[0, max_points]`` or not a multiple of the step) or, when ``complete``, a missing one."""
    rubric = to_rubric(competition)
    for c in criteria:
        value = points.get(c.id)
        if value is None:
            if complete:
                raise InputError(
                    "enter points for every criterion before submitting", f"points_{c.id}"
                )
            continue
        problem = rubric.check_points(c.key, value)
        if problem:
            raise InputError(problem, f"points_{c.id}")


def record_review(
    assignment: ReviewerAssignment,
    *,
    reviewer: User,
    points: Mapping[int, Decimal | None],
    comments: Mapping[int, str | None],
    overall_comment: str | None,
    seen_version: int,
    submit: bool,
    review: Review | None = None,
    criteria: list[Criterion] | None = None,
) -> Review:
    """Save the reviewer's points and comments as a draft, or submit them.

    The review must be a draft at ``seen_version``: a newer saved version raises
    :class:`StaleReview`, a submitted review ``Conflict``. Submitting needs points for every
    criterion, freezes the competition's rubric (first submit) and is audited. A concurrent save
    that wins the race makes this flush raise ``StaleDataError`` (the caller answers 409 too).

    ``review`` (:func:`review_of` the assignment) and ``criteria`` (:func:`rubric_criteria` of
    its competition) are read here unless the caller already holds them.
    """
    if review is None:
        review = review_of(assignment)
    if review is None or assignment.no_conflict_declared_at is None:
        raise Conflict("Declare that you have no conflict of interest before scoring.")
    if review.version != seen_version:
        raise StaleReview(review)
    if review.status != ReviewStatus.DRAFT:
        raise Conflict(
            "This review is submitted and locked. Staff can reopen it if it must change."
        )
    if assignment.application.status != ApplicationStatus.SUBMITTED:
        raise Conflict("This application was withdrawn; it can no longer be scored.")
    competition = assignment.application.competition
    if criteria is None:
        criteria = rubric_criteria(competition.id)
    check_points(competition, criteria, points, complete=submit)
    review.updated_at = utcnow()
    review.overall_comment = (overall_comment or "").strip() or None
    db.session.flush()  # the version-checked UPDATE first: it takes the row lock
    scores_changed = _store_scores(review, criteria, points, comments)
    if submit:
        _submit(review, competition, reviewer, assignment)
    db.session.flush()
    if scores_changed:  # the triggers dropped the old vector with the rows' change
        vectors.refresh([review.id])
    return review


def submit_saved(assignment: ReviewerAssignment, *, reviewer: User, seen_version: int) -> Review:
    """Submit the saved draft as it stands (after the reviewer checked its totals on the
    confirmation page); same rules as :func:`record_review` with ``submit``."""
    review = review_of(assignment)
    if review is None:
        raise Conflict("Declare that you have no conflict of interest before scoring.")
    return record_review(
        assignment,
        reviewer=reviewer,
        points={s.criterion_id: s.points for s in review.scores},
        comments={s.criterion_id: s.comment for s in review.scores},
        overall_comment=review.overall_comment,
        seen_version=seen_version,
        submit=True,
    )


def _store_scores(review: Review, criteria: list[Criterion], points, comments) -> bool:
    """Set the review's score rows from the form; True when a row is added, removed or changed
    (its next flush writes ``criterion_score``, whose triggers drop the review's vector)."""
    existing = {s.criterion_id: s for s in review.scores}
    changed = False
    for c in criteria:
        value, comment = points.get(c.id), (comments.get(c.id) or "").strip() or None
        row = existing.get(c.id)
        if value is None and comment is None:
            if row is not None:
                review.scores.remove(row)
                changed = True
            continue
        if row is None:
            row = CriterionScore(criterion=c, max_points=c.max_points)
            review.scores.append(row)
        row.points = None if value is None else Decimal(fmt_decimal(value))
        row.max_points = c.max_points
        row.comment = comment
        changed = changed or row.id is None or db.session.is_modified(row)
    return changed


def _submit(
    review: Review, competition: Competition, reviewer: User, assignment: ReviewerAssignment
) -> None:
    now = utcnow()
    review.status = ReviewStatus.SUBMITTED
    review.submitted_at = now
    if competition.rubric_frozen_at is None:  # the first submitted review freezes the rubric
        competition.rubric_frozen_at = now
        audit.record(
            "rubric.freeze",
            "competition",
            competition.id,
            actor=reviewer,
            competition_id=competition.id,
            after={"rubric_frozen_at": now.isoformat(), "by_review_of": assignment.application.ref},
        )
    db.session.flush()
    score = review_score(competition, review)
    audit.record(
        "review.submit",
        "review",
        review.id,
        actor=reviewer,
        competition_id=competition.id,
        before={"status": "draft"},
        after={
            "status": "submitted",
            "application": assignment.application.ref,
            "score": None if score is None else round(score, 4),
            "points": {s.criterion.key: fmt_decimal(s.points) for s in review.scores},
        },
    )


def reopen_review(review: Review, *, actor: User, reason: str) -> OutboxMessage:
    """Staff reopen a submitted review (back to draft); audited; the reviewer is told by mail.

    Returns the queued message (send it after the commit). Raise ``Conflict`` unless submitted.
    """
    if review.status != ReviewStatus.SUBMITTED:
        raise Conflict("Only a submitted review can be reopened.")
    review.status = ReviewStatus.DRAFT
    review.submitted_at = None
    review.updated_at = utcnow()
    audit.record(
        "review.reopen",
        "review",
        review.id,
        actor=actor,
        competition_id=review.application.competition_id,
        before={
            "status": "submitted",
            "points": {s.criterion.key: fmt_decimal(s.points) for s in review.scores},
        },
        after={"status": "draft", "application": review.application.ref},
        note=reason,
    )
    body = render_text("emails/review_reopened.txt", review=review, reason=reason)
    message = mail.queue(review.reviewer.email, f"Review {review.application.ref} reopened", body)
    db.session.flush()
    return message
