"""Export files of a run: written straight into a response for a small competition, or built
by the worker into ``EXPORT_DIR`` (an :class:`ExportJob`) and downloaded when ready.

The same streaming writers serve both, so a file made by the worker has the same content as
the direct download of the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from scoring import clock
from scoring.errors import Conflict, InputError, NotFound
from scoring.extensions import db
from scoring.models import ExportJob, ExportStatus, RankingRun, RunStatus, User
from scoring.runtime import app_config
from scoring.services import audit
from scoring.services.db import is_postgres
from scoring.services.exports import awards, score_csv, score_xlsx, scores
from scoring.services.exports.pdf import write_pdf
from scoring.services.exports.writers import Sheet, write_csv, write_xlsx

#: (kind, format) pairs a run can be exported as.
FORMATS = {
    "awards": ("csv", "xlsx", "pdf"),
    "board": ("csv",),
    "scores": ("csv", "xlsx"),
}
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
LABELS = {"awards": "Award list", "board": "Board", "scores": "Score detail"}
Progress = Callable[[int], None]


def check(kind: str, fmt: str) -> None:
    """A kind and format that exist, else NotFound."""
    if fmt not in FORMATS.get(kind, ()):
        raise NotFound(f"There is no {fmt} export of {kind}.")


def done_run(run_id: int) -> RankingRun:
    """The run, if it is done (Conflict while it is not, NotFound when there is none)."""
    run = db.session.get(RankingRun, run_id)
    if run is None:
        raise NotFound("There is no such ranking run.")
    if run.status != RunStatus.DONE:
        raise Conflict(
            f"Ranking run {run.id} is {run.status.value}; there is nothing to export yet."
        )
    return run


def filename(run: RankingRun, kind: str, fmt: str) -> str:
    """The file's name as the browser saves it."""
    return f"{run.competition.slug}-run{run.id}-{kind}.{fmt}"


def rows_total(run: RankingRun, kind: str) -> int:
    """The number of rows the export will have (its progress bar's end)."""
    return scores.count(run) if kind == "scores" else awards.count(run)


def is_small(run: RankingRun, kind: str) -> bool:
    """Small enough to be written straight into the response (``EXPORT_DIRECT_MAX_ROWS``)."""
    return rows_total(run, kind) <= int(app_config().get("EXPORT_DIRECT_MAX_ROWS", 20000))


def _counting(rows: Iterator[Any], progress: Progress | None, every: int = 5000):
    n = 0
    last = time.monotonic()
    for row in rows:
        yield row
        n += 1
        if progress is not None and n % every == 0 and time.monotonic() - last > 0.5:
            progress(n)
            last = time.monotonic()


def write(
    out: IO[bytes],
    run: RankingRun,
    kind: str,
    fmt: str,
    *,
    comments: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write one export of ``run`` into ``out`` as it is read; returns the rows written."""
    check(kind, fmt)
    if kind == "awards" and fmt == "pdf":
        return write_pdf(out, run, progress)
    if kind == "scores" and fmt == "csv" and is_postgres():
        return score_csv.write(out, run, comments=comments, progress=progress)
    if kind == "scores":
        columns = scores.columns(comments)
        if is_postgres():  # the same cells, read as the fast CSV reads them
            rows = score_xlsx.rows(run, comments=comments)
        else:
            rows = scores.rows(run, comments=comments)
        sheets = [Sheet("Score detail", columns, _counting(rows, progress), landscape=True)]
    elif kind == "board":
        columns, rows = awards.BOARD_COLUMNS, awards.board_rows(run)
        sheets = [Sheet("Board", columns, _counting(rows, progress), totals=True)]
    else:
        columns, rows = awards.AWARD_COLUMNS, awards.award_rows(run)
        sheets = [Sheet("Award list", columns, _counting(rows, progress), totals=True)]
    if fmt == "csv":
        return write_csv(out, [c.name for c in columns], sheets[0].rows)
    return write_xlsx(out, sheets)


# --------------------------------------------------------------------------- jobs


def export_dir() -> Path:
    """``EXPORT_DIR``, made when missing."""
    path = Path(app_config()["EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def request(
    run: RankingRun, kind: str, fmt: str, *, comments: bool = False, actor: User | None = None
) -> ExportJob:
    """Queue a file of ``run`` (the caller commits, then dispatches the task)."""
    check(kind, fmt)
    run = done_run(run.id)
    if comments and kind != "scores":
        raise InputError("Only the score detail has reviewers' comments.")
    job = ExportJob(
        run=run,
        kind=kind,
        fmt=fmt,
        comments=comments and kind == "scores",
        requested_by=actor,
        requested_at=clock.now(),
        rows_total=rows_total(run, kind),
    )
    db.session.add(job)
    db.session.flush()
    if kind == "scores":
        scores.record_export(run, comments=job.comments, actor=actor, format=fmt, job=job.id)
    else:
        audit.record(
            "export.requested", "export_job", job.id, actor=actor,
            competition_id=run.competition_id, after={"kind": kind, "format": fmt},
        )  # fmt: skip
    return job


def start(job_id: int) -> ExportJob | None:
    """Mark the job running (the task commits); None when it is already done."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status == ExportStatus.DONE:
        return None
    job.status = ExportStatus.RUNNING
    job.started_at = clock.now()
    job.error = None
    return job


def build(job_id: int, progress: Progress | None = None) -> ExportJob:
    """Write the job's file under ``EXPORT_DIR`` (a temporary name, renamed when complete)."""
    job = db.session.get(ExportJob, job_id)
    run = db.session.get(RankingRun, job.run_id)
    name = f"{job.id}-{filename(run, job.kind, job.fmt)}"
    final = export_dir() / name
    partial = final.with_suffix(final.suffix + ".part")
    with partial.open("wb") as out:
        rows = write(out, run, job.kind, job.fmt, comments=job.comments, progress=progress)
    os.replace(partial, final)
    job.filename = name
    job.size = final.stat().st_size
    job.rows_done = rows
    job.status = ExportStatus.DONE
    job.finished_at = clock.now()
    return job


def mark_failed(job_id: int, message: str) -> None:
    """The job failed with ``message`` (shown on the downloads page); a done job stays done."""
    job = db.session.get(ExportJob, job_id)
    if job is not None and job.status != ExportStatus.DONE:
        job.status = ExportStatus.FAILED
        job.error = message[:500]
        job.finished_at = clock.now()


def jobs_of(run: RankingRun, limit: int = 20) -> list[ExportJob]:
    """The run's latest export jobs, newest first."""
    return list(
        db.session.scalars(
            select(ExportJob)
            .where(ExportJob.run_id == run.id)
            .order_by(ExportJob.id.desc())
            .limit(limit)
        )
    )


def file_of(job_id: int) -> tuple[ExportJob, Path]:
    """The finished file of a job (NotFound while it is not ready or when it is gone)."""
    job = db.session.get(ExportJob, job_id)
    if job is None:
        raise NotFound("There is no such export.")
    if job.status != ExportStatus.DONE or not job.filename:
        raise Conflict(f"This export is {job.status.value}; it can be downloaded when it is done.")
    root = export_dir().resolve()
    path = (root / job.filename).resolve()
    if path.parent != root or not path.is_file():
        raise NotFound("The file of this export is no longer on the server.")
    return job, path
