"""Rules that several services need, each written once as a function returning a query.

* ``counted_reviews`` / ``review_is_counted``: the counted reviews of docs/ranking.md §1.
* ``official_run``: the run a competition's board, what-if and decisions start from.
* ``blocked_districts``: the districts a reviewer may not review.
* ``reviewer_worklist``: the reviewer's open assignments, as their home lists them.

Each returns a SQLAlchemy ``Select`` (or a SQL condition) for the caller to refine, execute or
compile; nothing here executes a query. ``tests/test_queries.py`` checks the SQL against the
rule written in plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    exists,
    select,
    union,
)
from sqlalchemy.orm import aliased

from scoring.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    AwardSlate,
    RankingRun,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    RunStatus,
    School,
    SlateStatus,
    User,
)

__all__ = [
    "blocked_districts",
    "counted_reviews",
    "official_run",
    "review_is_counted",
    "reviewer_worklist",
]


# --------------------------------------------------------------------------- counted reviews


def review_is_counted(review: Any = Review, district_id: Any = None) -> ColumnElement[bool]:
    """The condition "this review is counted" (docs/ranking.md §1), for ``review`` (``Review`` or
    an alias of it):

    * the review is ``submitted``;
    * its reviewer has no ``ReviewerAssignment`` in status ``conflict`` on the application;
    * its reviewer has no ``ReviewerConflict`` on the application's district.

    ``district_id`` is the application's district column when the caller's query already
    joins the school (the condition then uses it); otherwise the district is looked up.
    """
    conflict_assignment = exists().where(
        ReviewerAssignment.application_id == review.application_id,
        ReviewerAssignment.reviewer_id == review.reviewer_id,
        ReviewerAssignment.status == AssignmentStatus.CONFLICT,
    )
    if district_id is None:
        app, school = aliased(Application), aliased(School)
        district_id = (
            select(school.district_id)
            .join(app, app.school_id == school.id)
            .where(app.id == review.application_id)
            .scalar_subquery()
        )
    district_conflict = exists().where(
        ReviewerConflict.user_id == review.reviewer_id, ReviewerConflict.district_id == district_id
    )
    return and_(review.status == ReviewStatus.SUBMITTED, ~conflict_assignment, ~district_conflict)


def counted_reviews(
    competition_id: int, *columns: Any, submitted_applications: bool = False
) -> Select:
    """The counted reviews of a competition: ``SELECT columns`` (default: review id,
    application id, reviewer id) over reviews joined to their application and its school.

    ``submitted_applications`` keeps only reviews of submitted applications (a ranking run
    ranks nothing else). Add ``order_by``/``where`` as needed.
    """
    columns = columns or (Review.id, Review.application_id, Review.reviewer_id)
    stmt = (
        select(*columns)
        .select_from(Review)
        .join(Application, Application.id == Review.application_id)
        .join(School, School.id == Application.school_id)
        .where(
            Application.competition_id == competition_id,
            review_is_counted(Review, School.district_id),
        )
    )
    if submitted_applications:
        stmt = stmt.where(Application.status == ApplicationStatus.SUBMITTED)
    return stmt


# --------------------------------------------------------------------------- official run


def official_run(competition_id: int) -> Select:
    """The competition's official run: the run of its approved or published award list, else
    its latest done run that is not a what-if run (``None`` when it has neither).

    ``SELECT ranking_run`` limited to one row: ``db.session.scalar(official_run(id))``.
    """
    decided = select(AwardSlate.run_id).where(
        AwardSlate.competition_id == competition_id,
        AwardSlate.status.in_([SlateStatus.APPROVED, SlateStatus.PUBLISHED]),
    )
    return (
        select(RankingRun)
        .where(
            RankingRun.competition_id == competition_id,
            RankingRun.status == RunStatus.DONE,
            RankingRun.what_if.is_(False),
        )
        .order_by(RankingRun.id.in_(decided).desc(), RankingRun.id.desc())
        .limit(1)
    )


# --------------------------------------------------------------------------- reviewers


def blocked_districts(
    reviewer_ids: Iterable[int] | None = None, *, own_district: bool = True
) -> Select | CompoundSelect:
    """``(user_id, district_id)`` rows: the districts each reviewer may not review.

    Those are the districts the reviewer declared a conflict with (``ReviewerConflict``) and,
    unless ``own_district`` is false, the district the reviewer works in. ``reviewer_ids``
    narrows the rows to those reviewers (all users when ``None``).
    """
    ids = None if reviewer_ids is None else list(reviewer_ids)
    declared = select(
        ReviewerConflict.user_id.label("user_id"), ReviewerConflict.district_id.label("district_id")
    )
    if ids is not None:
        declared = declared.where(ReviewerConflict.user_id.in_(ids))
    if not own_district:
        return declared
    own = select(User.id.label("user_id"), User.district_id.label("district_id")).where(
        User.district_id.is_not(None)
    )
    if ids is not None:
        own = own.where(User.id.in_(ids))
    return union(declared, own)


def reviewer_worklist(reviewer_id: int) -> Select:
    """The reviewer's assignments as their home lists them: active (``assigned``), on an
    application that is no longer a draft, oldest assignment first.

    A reviewer may open an assignment only if it is on this list
    (:func:`scoring.services.reviews.reviews.assignment_for`).
    """
    return (
        select(ReviewerAssignment)
        .join(Application, Application.id == ReviewerAssignment.application_id)
        .where(
            ReviewerAssignment.reviewer_id == reviewer_id,
            ReviewerAssignment.status == AssignmentStatus.ASSIGNED,
            Application.status != ApplicationStatus.DRAFT,
        )
        .order_by(ReviewerAssignment.assigned_at, ReviewerAssignment.id)
    )
