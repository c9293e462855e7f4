"""Rules several places need, each written once as a function returning a query.

The caller executes the query (and may narrow it with ``.where`` or read it as a subquery), so a
rule such as "which districts may this reviewer not review" has one definition.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import CompoundSelect, Select, select, union

from scoring.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    ReviewerAssignment,
    ReviewerConflict,
    User,
)


def blocked_districts(reviewer_ids: Iterable[int] | None = None, *,
                      own_district: bool = True) -> Select | CompoundSelect:
    """``(user_id, district_id)`` rows: the districts each reviewer may not review.

    Those are the districts the reviewer declared a conflict with (``ReviewerConflict``) and,
    unless ``own_district`` is false, the district the reviewer works in. ``reviewer_ids``
    narrows the rows to those reviewers (all users when ``None``).
    """
    ids = None if reviewer_ids is None else list(reviewer_ids)
    declared = select(ReviewerConflict.user_id.label("user_id"),
                      ReviewerConflict.district_id.label("district_id"))
    if ids is not None:
        declared = declared.where(ReviewerConflict.user_id.in_(ids))
    if not own_district:
        return declared
    own = select(User.id.label("user_id"), User.district_id.label("district_id")) \
        .where(User.district_id.is_not(None))
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
        .where(ReviewerAssignment.reviewer_id == reviewer_id,
               ReviewerAssignment.status == AssignmentStatus.ASSIGNED,
               Application.status != ApplicationStatus.DRAFT)
        .order_by(ReviewerAssignment.assigned_at, ReviewerAssignment.id)
    )
