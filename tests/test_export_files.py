"""Export files made by the worker: each file equals the direct download of the same run (and
the in-memory board), on SQLite and PostgreSQL and through a real worker process on Redis; only
staff ask for and download them; a competition too large for a direct download is sent to the
worker; a file that cannot be written leaves a failed job with its reason."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from scoring.core.wording import status_words
from scoring.extensions import db
from scoring.models import AuditEvent, ExportJob, ExportStatus, RankingRun
from scoring.services.ranking import board as boards
from tests.conftest import start_worker_process, stop_worker_process, worker_env
from tests.staff_world import APPLICANT, PREPARER, REVIEWER, build, login, post, text_of

FILES = [
    ("awards", "csv"),
    ("awards", "xlsx"),
    ("awards", "pdf"),
    ("board", "csv"),
    ("scores", "csv"),
    ("scores", "xlsx"),
]


def _direct_url(run_id: int, kind: str, fmt: str) -> str:
    return f"/staff/runs/{run_id}/export/{kind}.{fmt}" + ("?comments=y" if kind == "scores" else "")


def _prepare(staff, run_id: int, kind: str, fmt: str) -> int:
    data = {"kind": kind, "fmt": fmt}
    if kind == "scores":
        data["comments"] = "y"
    response = post(staff, f"/staff/runs/{run_id}/export-files", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return max(_job_ids(staff.application))


def _job_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(ExportJob.id)))


def _job(app, job_id: int) -> ExportJob:
    with app.app_context():
        job = db.session.get(ExportJob, job_id)
        db.session.expunge(job)
        return job


def content(body: bytes, fmt: str):
    """What a reader sees in a file (an XLSX's cell values, a PDF's text): the files' own
    timestamps aside, the same content means the same file for a person."""
    if fmt == "csv":
        return body.decode("utf-8-sig")
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(body))
        return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


def download(staff, job_id: int) -> bytes:
    response = staff.get(f"/staff/export-files/{job_id}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    return response.data


@pytest.fixture
def world(any_app):
    world = build(any_app)
    world.staff = login(any_app, PREPARER)
    response = post(
        world.staff,
        f"/staff/runs/{world.run_id}/overrides",
        {
            "application_id": str(_app_id(any_app, "T-002")),
            "status": "partially_funded",
            "amount": "150000",
            "justification": "reduced: double-counted staff costs",
        },
    )
    assert response.status_code == 302
    return world


def _app_id(app, ref: str) -> int:
    from scoring.models import Application

    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == ref))


@pytest.mark.parametrize(("kind", "fmt"), FILES)
def test_the_workers_file_equals_the_direct_download(any_app, world, kind, fmt):
    from workers.tasks import make_export

    job_id = _prepare(world.staff, world.run_id, kind, fmt)
    assert _job(any_app, job_id).status == ExportStatus.QUEUED
    pending = world.staff.get(f"/staff/export-files/{job_id}")
    assert pending.status_code == 409 and "queued" in text_of(pending)
    make_export(job_id)  # the task body, in this process
    job = _job(any_app, job_id)
    assert job.status == ExportStatus.DONE and job.size > 0 and job.rows_done > 0
    streamed = download(world.staff, job_id)
    direct = world.staff.get(_direct_url(world.run_id, kind, fmt))
    assert direct.status_code == 200
    assert content(streamed, fmt) == content(direct.data, fmt)
    if fmt == "csv":
        assert streamed == direct.data  # byte for byte
    make_export(job_id)  # delivered twice: the finished file is left as it is
    assert _job(any_app, job_id).finished_at == job.finished_at


def test_the_streamed_award_list_agrees_with_the_in_memory_board(any_app, world):
    from workers.tasks import make_export

    job_id = _prepare(world.staff, world.run_id, "awards", "csv")
    make_export(job_id)
    *rows, total = csv.DictReader(io.StringIO(download(world.staff, job_id).decode("utf-8-sig")))
    with any_app.app_context():
        view = boards.board(db.session.get(RankingRun, world.run_id))
        expected = [
            (r.result.ref, status_words(r.status), r.award, r.override is not None)
            for r in view.rows
        ]
        effective_total = view.effective_total
    assert [
        (r["Ref"], r["Decision"], Decimal(r["Award"]), r["Staff exception"] == "Yes") for r in rows
    ] == expected
    assert Decimal(total["Award"]) == effective_total == Decimal("700000.00")


def test_a_large_competition_is_sent_to_the_worker(any_app, world):
    any_app.config["EXPORT_DIRECT_MAX_ROWS"] = 3
    response = world.staff.get(f"/staff/runs/{world.run_id}/export/awards.xlsx")
    assert response.status_code == 302 and "/exports" in response.headers["Location"]
    page = text_of(world.staff.get(response.headers["Location"]))
    assert "too large to download the award list directly" in page
    assert "Prepare award list (Excel, XLSX)" in page and "Award list (CSV)" not in page
    _prepare(world.staff, world.run_id, "awards", "xlsx")
    page = text_of(world.staff.get(f"/staff/competitions/{world.competition_id}/exports"))
    assert "Award list (XLSX)" in page and "Waiting for the worker" in page


def test_only_staff_ask_for_and_download_files(any_app, world):
    from workers.tasks import make_export

    job_id = _prepare(world.staff, world.run_id, "scores", "csv")
    make_export(job_id)
    for email in (APPLICANT, REVIEWER):
        other = login(any_app, email)
        assert other.get(f"/staff/export-files/{job_id}").status_code == 403
        before = _job_ids(any_app)
        response = post(
            other, f"/staff/runs/{world.run_id}/export-files", {"kind": "awards", "fmt": "csv"}
        )
        assert response.status_code == 403 and _job_ids(any_app) == before
    anonymous = any_app.test_client()
    response = anonymous.get(f"/staff/export-files/{job_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert world.staff.get("/staff/export-files/9999").status_code == 404
    bad = post(
        world.staff, f"/staff/runs/{world.run_id}/export-files", {"kind": "scores", "fmt": "pdf"}
    )
    assert bad.status_code == 400
    no_csrf = world.staff.post(
        f"/staff/runs/{world.run_id}/export-files", data={"kind": "awards", "fmt": "csv"}
    )
    assert no_csrf.status_code == 400
    with any_app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.scores")
        ).one()
        assert event.actor.email == PREPARER
        assert event.after == {"comments": True, "format": "csv", "job": job_id}


def test_a_file_that_cannot_be_written_fails_with_its_reason(any_app, world, tmp_path):
    from workers.tasks import make_export

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    any_app.config["EXPORT_DIR"] = blocker / "exports"
    job_id = _prepare(world.staff, world.run_id, "awards", "csv")
    make_export(job_id)
    job = _job(any_app, job_id)
    assert job.status == ExportStatus.FAILED and "could not be written" in job.error
    page = text_of(world.staff.get(f"/staff/competitions/{world.competition_id}/exports"))
    assert "Failed: the file could not be written" in page
    assert world.staff.get(f"/staff/export-files/{job_id}").status_code == 409


@pytest.mark.worker
def test_a_worker_process_builds_the_files(worker_app, tmp_path):
    world = build(worker_app)
    staff = login(worker_app, PREPARER)
    export_dir = worker_app.config["EXPORT_DIR"]
    proc, log = start_worker_process(tmp_path, env=worker_env({"EXPORT_DIR": str(export_dir)}))
    try:
        ids = {(k, f): _prepare(staff, world.run_id, k, f) for k, f in FILES}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = {_job(worker_app, i).status for i in ids.values()}
            if states <= {ExportStatus.DONE, ExportStatus.FAILED}:
                break
            time.sleep(0.3)
        for (kind, fmt), job_id in ids.items():
            job = _job(worker_app, job_id)
            assert job.status == ExportStatus.DONE, (kind, fmt, job.error, log.read_text()[-2000:])
            direct = staff.get(_direct_url(world.run_id, kind, fmt)).data
            assert content(download(staff, job_id), fmt) == content(direct, fmt), (kind, fmt)
            totals_row = kind in ("awards", "board") and fmt != "pdf"
            assert job.rows_done == job.rows_total + totals_row
        page = text_of(staff.get(f"/staff/competitions/{world.competition_id}/exports"))
        assert page.count("Ready (") == len(FILES)
    finally:
        stop_worker_process(proc)
