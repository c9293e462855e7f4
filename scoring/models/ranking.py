"""Ranking runs, their per-application results, award overrides and the approved slate."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import Money, Points, UTCDateTime, str_enum, utcnow
from scoring.models.application import Application
from scoring.models.competition import Competition
from scoring.models.user import User

#: Reported scores: rounded to 4 places (docs/ranking.md §3.3).
Score = Numeric(12, 4, asdecimal=True)


class RunStatus(enum.StrEnum):
    """Where a ranking run stands: queued, running, done or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RankingRun(db.Model):
    """One ranking of a competition: the policy used, an inputs hash, totals and timings."""

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(
        str_enum(RunStatus, "run_status"), default=RunStatus.QUEUED
    )
    #: A what-if run saved from the board; never the basis of a published award list by itself.
    what_if: Mapped[bool] = mapped_column(default=False)
    label: Mapped[str | None] = mapped_column(String(200))
    #: Policy overrides asked for (what-if); the policy actually used is in ``policy``.
    policy_overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    policy: Mapped[dict | None] = mapped_column(JSON)
    inputs_sha256: Mapped[str | None] = mapped_column(String(64))
    total_funds: Mapped[Decimal | None] = mapped_column(Money)
    total_awarded: Mapped[Decimal | None] = mapped_column(Money)
    remaining: Mapped[Decimal | None] = mapped_column(Money)
    #: Global and per-reviewer normalisation statistics, for the explanation.
    stats: Mapped[dict | None] = mapped_column(JSON)
    timings: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the relay last sent the run to the broker (``None``: only the request's attempt).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The lease of a running run: the worker (host name) and task holding it, renewed by
    #: ``heartbeat_at``; a lease older than ``RUN_LEASE_SECONDS`` has lapsed (docs/operations.md).
    worker: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    competition: Mapped[Competition] = relationship()
    created_by: Mapped[User | None] = relationship()


class RankingResult(db.Model):
    """One application's result in a run (docs/ranking.md §7), with its explanation."""

    __table_args__ = (
        UniqueConstraint("run_id", "application_id"),
        UniqueConstraint("run_id", "position"),
        CheckConstraint("award >= 0", name="award_nonneg"),
        # a result looked up by ref (explanation page). Funding order and look-ups by
        # application are the unique constraints above; the board sorts and filters a run's
        # kept columns in memory (services/ranking/board_index.py), so no index per sort key.
        Index("ix_ranking_result_run_ref", "run_id", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No index of its own: every index above starts with run_id (one btree insertion less
    #: per result row).
    run_id: Mapped[int] = mapped_column(ForeignKey("ranking_run.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    #: Place in the result document: funding order, then incomplete, then ineligible.
    position: Mapped[int] = mapped_column()
    ref: Mapped[str] = mapped_column(String(40))
    school_code: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(String(16))
    tier: Mapped[int] = mapped_column()
    reviews: Mapped[int] = mapped_column()
    review_scores: Mapped[list[float]] = mapped_column(JSON)
    base: Mapped[Decimal | None] = mapped_column(Score)
    priority_points: Mapped[Decimal] = mapped_column(Points)
    final: Mapped[Decimal | None] = mapped_column(Score)
    sections: Mapped[dict | None] = mapped_column(JSON)
    rank: Mapped[int | None] = mapped_column()
    flags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    award: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(500))
    explanation: Mapped[dict | None] = mapped_column(JSON)

    run: Mapped[RankingRun] = relationship()
    application: Mapped[Application] = relationship()


class SlateStatus(enum.StrEnum):
    """Where an award slate stands: prepared, approved or published."""

    PREPARED = "prepared"
    APPROVED = "approved"
    PUBLISHED = "published"


class AwardSlate(db.Model):
    """The award list of one run, prepared by one staff member and approved by another."""

    __table_args__ = (
        CheckConstraint(
            "approved_by_id IS NULL OR approved_by_id != prepared_by_id", name="four_eyes"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ranking_run.id"), unique=True)
    status: Mapped[SlateStatus] = mapped_column(
        str_enum(SlateStatus, "slate_status"), default=SlateStatus.PREPARED
    )
    prepared_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[RankingRun] = relationship()
    prepared_by: Mapped[User] = relationship(foreign_keys=[prepared_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])


class AwardOverride(db.Model):
    """Staff's exception to the computed award of one application in a run, with its reason."""

    __table_args__ = (
        UniqueConstraint("run_id", "application_id"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ranking_run.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    justification: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    decided_by: Mapped[User] = relationship()
