"""Rank stability of a ranking run (docs/stability.md): one row per run, one per application."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import UTCDateTime, str_enum, utcnow
from scoring.models.ranking import RankingRun, RunStatus


class StabilityRun(db.Model):
    """The bootstrap of one ranking run: how many resamples, the seed, status and timing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ranking_run.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[RunStatus] = mapped_column(
        str_enum(RunStatus, "stability_status"), default=RunStatus.QUEUED
    )
    resamples: Mapped[int] = mapped_column()
    #: The numpy seed, derived from the run's inputs hash (reproducible).
    seed: Mapped[str | None] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[RankingRun] = relationship()


class StabilityResult(db.Model):
    """One application's figures over the resamples (docs/stability.md §3)."""

    __table_args__ = (UniqueConstraint("stability_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stability_id: Mapped[int] = mapped_column(
        ForeignKey("stability_run.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[str] = mapped_column(String(40))
    #: Resamples in which it got an award (funded or partially funded).
    funded_in: Mapped[int] = mapped_column()
    #: Resamples whose funded / not funded decision differs from the run's.
    crosses_line: Mapped[int] = mapped_column()
    #: 90% rank interval (5th and 95th percentile); null when not ranked.
    rank_lo: Mapped[int | None] = mapped_column()
    rank_hi: Mapped[int | None] = mapped_column()
