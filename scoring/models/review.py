"""Reviewer assignments, conflict declarations, reviews and per-criterion scores."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import Points, UTCDateTime, str_enum, utcnow
from scoring.models.application import Application
from scoring.models.competition import Criterion
from scoring.models.user import User


class AssignmentStatus(enum.StrEnum):
    """Where a reviewer's assignment stands: assigned, conflict declared or removed."""

    ASSIGNED = "assigned"
    #: The reviewer declared a conflict: the assignment no longer counts; staff must reassign.
    CONFLICT = "conflict"
    REMOVED = "removed"


class ReviewerAssignment(db.Model):
    """A reviewer assigned to an application, with the conflict-of-interest declaration."""

    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus, "assignment_status"), default=AssignmentStatus.ASSIGNED
    )
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The reviewer certified no conflict of interest before seeing the application.
    no_conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conflict_reason: Mapped[str | None] = mapped_column(String(500))

    application: Mapped[Application] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class ReviewStatus(enum.StrEnum):
    """Where a review stands: draft, submitted or withdrawn."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Review(db.Model):
    """A reviewer's scores for an application; only submitted reviews count (docs/ranking.md §1)."""

    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, "review_status"), default=ReviewStatus.DRAFT
    )
    overall_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()
    #: Optimistic locking: two tabs saving the same review → the later one gets a 409.
    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship()
    reviewer: Mapped[User] = relationship()
    scores: Mapped[list[CriterionScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan"
    )


class CriterionScore(db.Model):
    """Points for one criterion. ``max_points`` is copied from the (frozen) rubric so the database
    itself refuses a score outside ``[0, max_points]``."""

    __table_args__ = (
        UniqueConstraint("review_id", "criterion_id"),
        CheckConstraint("points >= 0 AND points <= max_points", name="points_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id", ondelete="CASCADE"))
    #: None only on a draft (a comment written before the points); a submitted review has all.
    points: Mapped[Decimal | None] = mapped_column(Points)
    max_points: Mapped[Decimal] = mapped_column(Points)
    comment: Mapped[str | None] = mapped_column(Text)

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class ReconciliationNote(db.Model):
    """Staff's record of how a score discrepancy was handled (docs/ranking.md §4 `discrepancy`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text)
    #: The ranking run whose result the note reconciles (None: written before any run).
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ranking_run.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()


class ExtraReviewerRequest(db.Model):
    """Staff asked for one more reviewer of an application: work for the
    ``assign_extra_reviewer`` task, committed with the request (a dispatch row, like a queued
    run or a pending mail), so that a broker away at that moment loses nothing: the relay
    (``services/recovery.py``) sends it again until a worker has done it (``done_at``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    #: How many active reviewers the application is to have (the task is idempotent on it).
    target: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the relay last sent it to the broker (None: only the request's own attempt).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a worker did it (reviewers added, or none eligible: see the audit trail).
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
