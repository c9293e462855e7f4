"""Export files made by the worker: one row per file asked for, kept with its run."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.extensions import db
from scoring.models._types import UTCDateTime, str_enum, utcnow
from scoring.models.ranking import RankingRun
from scoring.models.user import User


class ExportStatus(enum.StrEnum):
    """Where an export file is: waiting for the worker, being written, ready, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(db.Model):
    """A file of a run (award list, board or score detail in one format) built by a task and
    stored under ``EXPORT_DIR``; ``rows_done`` of ``rows_total`` shows its progress."""

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ranking_run.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # awards, board, scores
    fmt: Mapped[str] = mapped_column(String(8))  # csv, xlsx, pdf
    comments: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ExportStatus] = mapped_column(
        str_enum(ExportStatus, "export_status"), default=ExportStatus.QUEUED
    )
    rows_total: Mapped[int | None] = mapped_column()
    rows_done: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[RankingRun] = relationship()
    requested_by: Mapped[User | None] = relationship()
