"""Every export opened by its own reader (csv, openpyxl, pypdf) and checked against the run; text
that looks like a formula stays text; the bundle export is the bundle service's document."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from scoring.core.wording import status_words
from scoring.extensions import db
from scoring.models import Application, Competition, RankingRun, Review, ReviewStatus
from scoring.services import bundles, ranking
from tests.staff_world import PREPARER, build, bundle_data, login, post, text_of

EVIL = '=HYPERLINK("http://evil.example/","click")'


@pytest.fixture
def world(app):
    data = bundle_data()
    data["schools"][1]["name"] = EVIL  # T-002's school
    data["schools"][3]["name"] = "<script>alert(1)</script> Beta Ünïcode"  # T-003, T-006
    data["reviews"][0]["comments"] = {"need.data": "+1 strong use of data; café"}
    world = build(app, data=data)
    staff = login(app, PREPARER)
    response = post(
        staff,
        f"/staff/runs/{world.run_id}/overrides",
        {
            "application_id": str(_app_id(app, "T-002")),
            "status": "partially_funded",
            "amount": "150000",
            "justification": "-reduced: double-counted staff costs",
        },
    )
    assert response.status_code == 302
    world.staff = staff
    return world


def _app_id(app, ref):
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == ref))


def _document(app, run_id) -> dict:
    with app.app_context():
        return ranking.result_document_for_run(db.session.get(RankingRun, run_id))


def _get(world, url):
    response = world.staff.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response


def _award_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_award_list_csv_matches_the_run(app, world):
    response = _get(world, f"/staff/runs/{world.run_id}/export/awards.csv")
    assert response.mimetype == "text/csv"
    *rows, total = _award_rows(response)
    document = _document(app, world.run_id)
    assert [r["Ref"] for r in rows] == [a["ref"] for a in document["applications"]]
    for row, a in zip(rows, document["applications"], strict=True):
        assert row["Rank"] == ("" if a["rank"] is None else str(a["rank"]))
        assert row["Computed decision"] == status_words(a["status"])
        assert Decimal(row["Computed award"]) == Decimal(a["award"])
        assert row["Final score"] == "" or Decimal(row["Final score"]) == Decimal(str(a["final"]))
        assert row["Review scores"].split() == [
            format(Decimal(str(s)).normalize(), "f") for s in a["review_scores"]
        ]
        assert row["Reason"]  # every decision says why, in words
    t002 = rows[[r["Ref"] for r in rows].index("T-002")]
    assert (t002["Decision"], t002["Award"], t002["Staff exception"]) == (
        "Partly funded",
        "150000.00",
        "Yes",
    )
    assert t002["Computed award"] == "350000.00" and t002["Requested"] == "500000.00"
    assert t002["Reason"] == "funded in part with the funds left"
    assert t002["School"] == "'" + EVIL  # a formula made inert
    assert t002["Justification"] == "'-reduced: double-counted staff costs"
    t004 = rows[[r["Ref"] for r in rows].index("T-004")]
    assert (t004["Decision"], t004["Reason"]) == (
        "Waitlisted",
        "district limit of 2 awards reached",
    )
    assert total["Ref"] == "Total" and total["School"] == "8 applications"
    assert Decimal(total["Award"]) == sum(Decimal(r["Award"]) for r in rows) == Decimal("700000")
    assert Decimal(total["Requested"]) == sum(Decimal(r["Requested"]) for r in rows)
    assert Decimal(total["Computed award"]) == Decimal("900000.00")
    assert total["Staff exception"] == "1"


def test_board_csv_has_running_total_and_funding_line(world):
    *rows, total = _award_rows(_get(world, f"/staff/runs/{world.run_id}/export/board.csv"))
    ranked = [r for r in rows if r["Rank"]]
    running = Decimal(0)
    for row in ranked:
        running += Decimal(row["Award"])
        assert Decimal(row["Running total"]) == running
    above = [r["Ref"] for r in rows if r["Above the funding line"] == "Yes"]
    assert above == ["T-001", "T-003", "T-002"]
    assert total["Award"] == "700000.00" and total["Decision"] == "3 with an award"


def test_award_list_xlsx_matches_the_run_and_holds_no_formula(app, world):
    response = _get(world, f"/staff/runs/{world.run_id}/export/awards.xlsx")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["Award list"]
    header = [c.value for c in ws[1]]
    *rows, total = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)
    ]
    document = _document(app, world.run_id)
    assert [r["Ref"] for r in rows] == [a["ref"] for a in document["applications"]]
    for row, a in zip(rows, document["applications"], strict=True):
        assert row["Rank"] == a["rank"] and row["Computed decision"] == status_words(a["status"])
        assert Decimal(str(row["Computed award"])) == Decimal(a["award"])
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    t002 = next(r for r in rows if r["Ref"] == "T-002")
    assert t002["School"] == EVIL and t002["Award"] == 150000
    money_cell = ws.cell(row=2, column=header.index("Award") + 1)
    assert money_cell.number_format == '"$"#,##0.00' and money_cell.data_type == "n"
    assert total["Ref"] == "Total" and total["Award"] == 700000 and total["Requested"] == 1720000
    # made to be printed and handed on
    assert ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1"
    setup = ws.page_setup  # fit to one page wide (1 is the default, so it may be left out)
    assert setup.orientation == "landscape" and setup.fitToWidth in (None, 1)
    assert setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["E"].width >= 28  # School
    assert ws.column_dimensions[money_cell.column_letter].width >= 15


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_score_detail_has_every_reviewers_points_and_the_run_scores(app, world, kind):
    url = f"/staff/runs/{world.run_id}/export/scores.{kind}?comments=y"
    response = _get(world, url)
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    else:
        ws = load_workbook(io.BytesIO(response.data))["Score detail"]
        header = [c.value for c in ws[1]]
        rows = [
            {
                k: ("" if v is None else str(v))
                for k, v in zip(header, (c.value for c in r), strict=True)
            }
            for r in ws.iter_rows(min_row=2)
        ]
    with app.app_context():
        submitted = db.session.scalars(
            select(Review.id).where(Review.status == ReviewStatus.SUBMITTED)
        ).all()
        assert len(rows) == len(submitted) * 4  # 4 criteria per submitted review
    document = _document(app, world.run_id)
    by_ref: dict[str, set] = {}
    for row in rows:
        if row["counted"] == "yes":
            by_ref.setdefault(row["ref"], set()).add(
                (row["reviewer"], Decimal(row["review_score"]))
            )
    for a in document["applications"]:
        scores = sorted(Decimal(str(s)) for s in a["review_scores"])
        assert sorted(s for _, s in by_ref.get(a["ref"], set())) == scores, a["ref"]
    commented = [r for r in rows if "strong use of data" in r["comment"]]
    assert (
        len(commented) == 1 and commented[0]["comment"].lstrip("'") == "+1 strong use of data; café"
    )
    assert commented[0]["criterion"] == "need.data" and commented[0]["ref"] == "T-001"
    if kind == "csv":
        assert commented[0]["comment"] == "'+1 strong use of data; café"
    # S_r by hand (docs/ranking.md §3.1): need (max 10, weight 10) and plan (max 20, weight 40)
    reviews: dict[tuple, dict] = {}
    for row in rows:
        reviews.setdefault((row["ref"], row["reviewer"]), {"score": row["review_score"]})[
            row["criterion"]
        ] = Decimal(row["points"])
    assert "4.5" in {r["points"] for r in rows if r["criterion"] == "need.gap"}  # half points
    for review in reviews.values():
        need = review["need.data"] + review["need.gap"]
        plan = review["plan.goals"] + review["plan.budget"]
        by_hand = 100 * (10 * need / 10 + 40 * plan / 20) / 50
        assert Decimal(review["score"]) == by_hand.quantize(Decimal("0.0001")).normalize()


def test_score_detail_without_comments_has_no_comment_column(world):
    response = _get(world, f"/staff/runs/{world.run_id}/export/scores.csv")
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert "comment" not in header and header[:3] == ["ref", "school_code", "reviewer"]


def test_printable_award_list_pdf(app, world):
    response = _get(world, f"/staff/runs/{world.run_id}/export/awards.pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    compact = " ".join(text.split())
    assert "Award list: School Improvement Grant, test cohort" in compact
    assert "Total funds $900,000.00; awarded $700,000.00; remaining $200,000.00." in compact
    assert "Total: 8 applications; requested $1,720,000.00; 3 with an award; awarded" in compact
    assert "district limit of 2 awards reached" in compact and "not eligible: Late" in compact
    document = _document(app, world.run_id)
    for a in document["applications"]:
        assert a["ref"] in compact
    for amount in ("$300,000.00", "$250,000.00", "$150,000.00"):
        assert amount in compact
    assert "T-002: computed partly funded $350,000.00, set to partly funded $150,000.00" in compact
    assert "double-counted staff costs" in compact
    assert "Ünïcode" in compact  # a Unicode font, not Latin-1 only


def test_bundle_export_is_the_competitions_bundle(app, world):
    response = _get(world, f"/staff/competitions/{world.competition_id}/export/bundle.json")
    data = json.loads(response.data)
    with app.app_context():
        expected = bundles.export_bundle(db.session.get(Competition, world.competition_id))
    assert data == json.loads(json.dumps(expected))
    assert data["competition"]["slug"] == "sig-test" and len(data["applications"]) == 8


def test_exports_page_lists_the_downloads(world):
    page = text_of(world.staff.get(f"/staff/competitions/{world.competition_id}/exports"))
    for label in (
        "Award list (CSV)",
        "Award list (Excel, XLSX)",
        "Printable award list (PDF)",
        "Score detail (CSV)",
        "Board (CSV)",
        "Bundle (JSON)",
    ):
        assert label in page


def test_a_run_that_is_not_done_cannot_be_exported(app, world):
    with app.app_context():
        run = ranking.create_run(db.session.get(Competition, world.competition_id))
        db.session.commit()
        run_id = run.id
    for kind in ("awards.csv", "awards.pdf", "scores.xlsx"):
        response = world.staff.get(f"/staff/runs/{run_id}/export/{kind}")
        assert response.status_code == 409 and "nothing to export yet" in text_of(response)
    assert world.staff.get("/staff/runs/999/export/awards.csv").status_code == 404


def test_names_are_escaped_on_the_pages(world):
    board = world.staff.get(f"/staff/competitions/{world.competition_id}/board").get_data(
        as_text=True
    )
    assert "<script>alert(1)</script>" not in board
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Beta Ünïcode" in board
