"""The score detail carries each application's rank stability (docs/stability.md): ``p_funded``,
``rank_interval_90`` and ``toss_up`` equal the stored figures, in the CSV and the XLSX, downloaded
directly and made by the worker, on SQLite and PostgreSQL; while the stability is not computed
the columns are there and empty, and the downloads page says why."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from scoring.extensions import db
from scoring.models import ExportJob, RankingRun, StabilityResult
from scoring.services.ranking import stability
from tests.staff_world import PREPARER, build, login, post, text_of

COLUMNS = ["p_funded", "rank_interval_90", "toss_up"]


@pytest.fixture
def world(any_app):
    world = build(any_app)
    world.staff = login(any_app, PREPARER)
    return world


def _rows(body: bytes, fmt: str) -> list[dict]:
    """The file's rows as dicts of text ('' for an empty cell)."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    ws = load_workbook(io.BytesIO(body))["Score detail"]
    header = [c.value for c in ws[1]]
    return [
        {k: ("" if v is None else v) for k, v in zip(header, (c.value for c in r), strict=True)}
        for r in ws.iter_rows(min_row=2)
    ]


def _direct(world, fmt: str) -> bytes:
    response = world.staff.get(f"/staff/runs/{world.run_id}/export/scores.{fmt}?comments=y")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.data


def _worker_file(app, world, fmt: str) -> bytes:
    from workers.tasks import make_export

    data = {"kind": "scores", "fmt": fmt, "comments": "y"}
    response = post(world.staff, f"/staff/runs/{world.run_id}/export-files", data)
    assert response.status_code == 302
    with app.app_context():
        job_id = max(db.session.scalars(select(ExportJob.id)))
    make_export(job_id)  # the task body, in this process
    response = world.staff.get(f"/staff/export-files/{job_id}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.data


def _expected(figures: dict) -> tuple[Decimal, str, str]:
    interval = figures["rank_interval"]
    return (
        Decimal(str(figures["p_funded"])),
        "" if interval is None else f"{interval[0]}\u2013{interval[1]}",
        "yes" if figures["toss_up"] else "no",
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_stability_columns_equal_the_stored_figures(any_app, world, fmt):
    with any_app.app_context():
        row = stability.compute_stability(world.run_id, resamples=400)
        # the fixture's district caps leave no toss-up: make T-004 one (173 of 400 = 0.4325)
        db.session.execute(
            update(StabilityResult)
            .where(StabilityResult.stability_id == row.id, StabilityResult.ref == "T-004")
            .values(funded_in=173)
        )
        db.session.commit()
        figures = stability.stability_records(db.session.get(RankingRun, world.run_id))
    assert figures["T-004"]["toss_up"] and figures["T-004"]["p_funded"] == 0.4325
    assert any(f["rank_interval"] is None for f in figures.values())  # and unranked ones
    for source in ("direct", "worker"):
        body = _direct(world, fmt) if source == "direct" else _worker_file(any_app, world, fmt)
        rows = _rows(body, fmt)
        assert list(rows[0])[-4:] == ["comment", *COLUMNS]
        seen = set()
        for row in rows:
            got = (Decimal(str(row["p_funded"])), row["rank_interval_90"], row["toss_up"])
            assert got == _expected(figures[row["ref"]]), (source, row["ref"])
            seen.add(row["ref"])
        assert seen <= set(figures) and any(r["toss_up"] == "yes" for r in rows)
    page = text_of(world.staff.get(f"/staff/competitions/{world.competition_id}/exports"))
    assert "columns p_funded" not in page  # no note once the figures are there


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_without_stability_the_columns_are_empty_and_the_page_says_why(any_app, world, fmt):
    for source in ("direct", "worker"):
        body = _direct(world, fmt) if source == "direct" else _worker_file(any_app, world, fmt)
        rows = _rows(body, fmt)
        assert rows and list(rows[0])[-3:] == COLUMNS
        assert {(r["p_funded"], r["rank_interval_90"], r["toss_up"]) for r in rows} == {
            ("", "", "")
        }
    page = text_of(world.staff.get(f"/staff/competitions/{world.competition_id}/exports"))
    assert (
        f"The rank stability of run {world.run_id} is queued: the columns p_funded, "
        "rank_interval_90, toss_up are empty until it is done." in page
    )
