"""The fast score detail CSV of PostgreSQL (services/exports/score_csv.py) writes exactly the bytes
of the row-by-row writer (``write_csv`` over ``scores.rows``): formula-like, quoted, multi-line and
Unicode text, half points, a review missing a criterion and one with a blank score, conflicted
reviews, with and without comments, with and without the stability figures."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from scoring.extensions import db
from scoring.models import CriterionScore, RankingRun, Review, ReviewStatus
from scoring.services.exports import jobs, score_csv, scores
from scoring.services.exports.writers import csv_bytes, write_csv
from scoring.services.ranking import stability
from tests.staff_world import build, bundle_data


def _world(app):
    data = bundle_data()
    data["schools"][1]["name"] = '=HYPERLINK("http://evil.example/","click")'
    data["schools"][3]["name"] = 'Beta, "Ünïcode"\nschool'
    data["reviews"][0]["comments"] = {
        "need.data": '+1 strong, "quoted"\r\nuse of data; café',
        "need.gap": "-",
        "plan.goals": "line one\nline two",
    }
    return build(app, data=data)


def _both(run_id: int, comments: bool) -> tuple[bytes, bytes]:
    run = db.session.get(RankingRun, run_id)
    slow = io.BytesIO()
    write_csv(slow, [c.name for c in scores.columns(comments)], scores.rows(run, comments=comments))
    fast = io.BytesIO()
    rows = score_csv.write(fast, run, comments=comments)
    assert rows == len(slow.getvalue().decode("utf-8-sig").splitlines()) - 1 or comments
    return slow.getvalue(), fast.getvalue()


def test_the_fast_csv_is_byte_identical_to_the_row_writer(pg_app):
    world = _world(pg_app)
    with pg_app.app_context():
        for comments in (False, True):  # no stability yet: empty columns
            slow, fast = _both(world.run_id, comments)
            assert fast == slow, comments
            assert b"\r\n" in fast and fast.startswith("\ufeff".encode())
        stability.compute_stability(world.run_id, resamples=50)
        # then one review without a row for a criterion, one with a blank score
        submitted = db.session.scalars(
            select(Review.id).where(Review.status == ReviewStatus.SUBMITTED).order_by(Review.id)
        ).all()
        first = db.session.scalars(
            select(CriterionScore.id).where(CriterionScore.review_id == submitted[1])
        ).first()
        db.session.execute(delete(CriterionScore).where(CriterionScore.id == first))
        db.session.execute(
            update(CriterionScore)
            .where(CriterionScore.review_id == submitted[2])
            .values(points=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        for comments in (False, True):
            slow, fast = _both(world.run_id, comments)
            assert fast == slow, comments
        text = fast.decode("utf-8-sig")
        assert '"\'+1 strong, ""quoted""\r\nuse of data; café"' in text
        assert ",yes\r\n" in text or ",no\r\n" in text  # the stability columns are filled
        # what the worker and the download write on PostgreSQL is this fast file
        out = io.BytesIO()
        jobs.write(out, db.session.get(RankingRun, world.run_id), "scores", "csv", comments=True)
        assert out.getvalue() == fast


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(), st.none(), st.decimals(allow_nan=False, allow_infinity=False)))
def test_field_quotes_like_the_csv_writer(value):
    written = csv_bytes(["x"], [[value, "end"]]).decode("utf-8-sig")
    assert written == "x\r\n" + score_csv.field(value) + ",end\r\n"


def test_an_xlsx_sheet_too_long_for_excel_goes_on_in_the_next_sheet(monkeypatch):
    """xlsxwriter drops rows past Excel's 1,048,576 silently; the writer continues instead."""
    from openpyxl import load_workbook

    from scoring.services.exports import writers

    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    columns = [writers.Column("n", "int"), writers.Column("text")]
    out = io.BytesIO()
    rows = [[i, f"row {i}"] for i in range(7)] + [["Total", "7 rows"]]
    sheet = writers.Sheet("Score detail", columns, iter(rows), totals=True)
    assert writers.write_xlsx(out, [sheet]) == 8
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["Score detail", "Score detail (2)", "Score detail (3)"]
    got = [[c.value for c in r] for ws in wb for r in ws.iter_rows()]
    header = ["n", "text"]
    assert got == [header, *rows[:3], header, *rows[3:6], header, *rows[6:]]
    assert wb["Score detail (3)"]["A3"].font.b  # the totals row is still the bold last row
