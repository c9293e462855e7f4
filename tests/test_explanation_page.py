"""The staff explanation page: the stored explanation as tables in plain words (issue 13, item 6).

The data is tests/fixtures/small_bundle.json ranked with its own policy (see
tests/test_staff_board.py for the whole ranking worked out by hand). T-002, by hand:

    r1: need 10/10, plan 19/20 → 100 × (10 × 10/10 + 40 × 19/20) ÷ 50 = 96
    r2: need 5/10, plan 13.5/20 → 100 × (10 × 5/10 + 40 × 13.5/20) ÷ 50 = 64
    no normalisation; base = (96 + 64) ÷ 2 = 80; no priority; final 80 (tied with T-004)
    funding: 3rd of 5 in funding order, $350,000.00 left, request $500,000.00 capped at
    $400,000.00 → partly funded $350,000.00, $0.00 left; district 001 had 1 award, $300,000.00

The page is built from the structured explanation (never by parsing its text), and the CLI's
plain text stays byte-identical (the golden text below is ``flask explain sig-test T-002``).
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import RankingResult, RankingRun
from scoring.services import ranking
from tests.staff_world import PREPARER, build, login, text_of


class Tables(HTMLParser):
    """Each <table>'s caption and rows of cell texts (th and td alike)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows, self._caption = [], ""
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("th", "td") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("th", "td") and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._caption] = self._rows
            self._rows = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data.strip()
        elif self._cell is not None:
            self._cell.append(data)


GOLDEN_T002 = """\
Application T-002 (school 0010002, district 001, tier 1)
Status: partially_funded; award 350000.00; rank 4

Review scores (§3.1): S = 100 × Σ w_s × (P_s / M_s) / Σ w_s
Normalisation (§3.2): none, so S' = S
  Reviewer r1@example.org:
    need: P_s = 10 of M_s = 10, P_s/M_s = 1 (100%), weight w_s = 10
    plan: P_s = 19 of M_s = 20, P_s/M_s = 0.95 (95%), weight w_s = 40
    S = 100 × (10 × 10/10 + 40 × 19/20) / 50 = 96
    S' = S = 96
  Reviewer r2@example.org:
    need: P_s = 5 of M_s = 10, P_s/M_s = 0.5 (50%), weight w_s = 10
    plan: P_s = 13.5 of M_s = 20, P_s/M_s = 0.675 (67.5%), weight w_s = 40
    S = 100 × (10 × 5/10 + 40 × 13.5/20) / 50 = 64
    S' = S = 64

Application score (§3.3): mean of S' over 2 counted review(s) (min_reviews 2)
  base = mean(96, 64) = 80
  priority points: none = 0
  final = base + priority points = 80 + 0 = 80 (compared at 6 places: 80)
  section percentages (mean of 100 × P_s / M_s): need 75%, plan 81.25%
  spread of raw review scores = 32 > threshold 15: flagged discrepancy

Status (§4, §6): partially_funded: request 400000.00 > room 350000.00; partial funding is on \
and room >= partial_min 100000.00, so award = room = 350000.00

Rank (§5): 4 of 5; order: final score desc, then section:plan, then priority_points, then ref asc
  below T-004 (final 80), separated by: section:plan
  tie: same final (6 places) as T-004

Funding (§6): position 3 of 5 in funding order (tier, then rank); total_funds 900000.00
  request = min(requested 500000.00, max_award 400000.00) = 400000.00
  remaining before 350000.00, after 0.00
  district 001 before it: 1 award(s), 300000.00 awarded (caps: 2 awards, None)
"""

CODE_WORDS = ("priority_points", "max_points", "partially_funded", "§", "section:plan", "None")


@pytest.fixture
def app(any_app):
    """Each test on SQLite and on PostgreSQL."""
    return any_app


@pytest.fixture
def world(app):
    return build(app)


@pytest.fixture
def staff(app, world):
    return login(app, PREPARER)


def _stored(app, run_id: int, ref: str) -> dict:
    with app.app_context():
        run = db.session.get(RankingRun, run_id)
        result = db.session.scalar(
            select(RankingResult).where(RankingResult.run_id == run_id, RankingResult.ref == ref)
        )
        return ranking.explanation_for(run, result.explanation)


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_the_cli_text_is_unchanged(app, world):
    with app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        assert ranking.explanation_text(run, "T-002") == GOLDEN_T002


def test_the_page_shows_the_stored_numbers_in_tables(app, staff, world):
    data = _stored(app, world.run_id, "T-002")
    html = staff.get(f"/staff/runs/{world.run_id}/applications/T-002").get_data(as_text=True)
    tables = Tables(_main(html)).tables

    reviews = tables["Reviews of this application"]
    assert reviews[0] == [
        "Reviewer",
        "Needs analysis (out of 10)",
        "Plan (out of 20)",
        "How the review score is worked out",
        "Review score (out of 100)",
        "Counted",
    ]
    assert reviews[1] == [
        "Reviewer One (r1@example.org)",
        "10",
        "19",
        "100 × (10 × 10/10 + 40 × 19/20) ÷ 50",
        "96",
        "Yes",
    ]
    assert reviews[2][1:3] == ["5", "13.5"] and reviews[2][4] == "64"
    # The same numbers as the stored explanation, row by row.
    for row, stored in zip(reviews[1:], data["reviews"], strict=True):
        assert row[0].endswith(f"({stored['reviewer']})")
        assert [float(x) for x in row[1:3]] == stored["points"]
        assert float(row[4]) == stored["score"]

    sections = tables["Sections, weights and section scores"]
    assert sections[1] == ["Needs analysis", "10", "10 (its maximum points)", "20%", "75%"]
    assert sections[2] == ["Plan", "20", "40", "80%", "81.25%"]
    assert sections[3] == ["All sections", "", "50", "100%", ""]
    assert [float(r[4].rstrip("%")) for r in sections[1:3]] == list(data["sections"].values())

    norm = tables["Each review before and after"]
    assert norm[1][:7] == ["Reviewer One (r1@example.org)", "96", "4", "78.5", "18.1865", "—", "96"]
    assert norm[1][7] == "Used as given"
    stats = data["reviews"][1]["reviewer_stats"]
    assert norm[2][2:5] == [str(stats["n"]), "71", "18.1187"]

    prios = tables["Priorities claimed and confirmed"]
    assert prios[1:] == [
        ["Commissioner's Network school", "5", "No", "No", "0"],
        ["Turnaround school", "2", "No", "No", "0"],
        ["Total", "", "", "", "0"],
    ]

    funding = dict(tuple(r) for r in tables["This application's funding step"][1:])
    assert funding["Place in the funding order"] == "3 of 5"
    assert funding["Funds available in total"] == "$900,000.00"
    assert funding["Requested"] == "$500,000.00"
    assert funding["Request considered (at most the largest award, $400,000.00)"] == "$400,000.00"
    assert funding["Funds left before this application"] == "$350,000.00"
    assert funding["District 001 before this application"] == "1 award, $300,000.00"
    assert funding["Award"] == "$350,000.00" == f"${float(data['funding']['award']):,.2f}"
    assert funding["Funds left after"] == "$0.00"
    assert funding["Outcome"] == "Partly funded: funded in part with the funds left"

    text = text_of(_main(html))
    assert "Application score: the mean of the scores used, (96 + 64) ÷ 2 = 80." in text
    assert "Final score = application score + priority points = 80 + 0 = 80." in text
    assert "The raw review scores are 32 points apart, more than the 15 allowed" in text
    assert "Rank 4 of 5." in text and "Same final score as T-004." in text
    assert "decided by: higher section “Plan” score first." in text
    assert "Tier 1." in text


def test_no_text_dump_and_no_code_words(app, staff, world):
    for ref in ("T-001", "T-002", "T-004", "T-005", "T-006", "T-007"):
        html = staff.get(f"/staff/runs/{world.run_id}/applications/{ref}").get_data(as_text=True)
        main = _main(html)
        assert "<pre" not in main
        text = text_of(main)
        for word in CODE_WORDS:
            assert word not in text, (ref, word)
        assert "How the numbers were reached" in text


def test_waitlisted_for_the_district_limit_and_not_ranked_in_words(app, staff, world):
    page = text_of(
        _main(staff.get(f"/staff/runs/{world.run_id}/applications/T-004").get_data(as_text=True))
    )
    assert "Waitlisted: district limit of 2 awards reached" in page
    assert "at most 2 awards per district" in page
    page = text_of(
        _main(staff.get(f"/staff/runs/{world.run_id}/applications/T-006").get_data(as_text=True))
    )
    assert "Not ranked: ineligible (not eligible: Late submission)." in page
    page = text_of(
        _main(staff.get(f"/staff/runs/{world.run_id}/applications/T-001").get_data(as_text=True))
    )
    assert "Commissioner's Network school 5 Yes Yes 5" in page


def test_reviews_the_run_did_not_count_are_listed_with_why(app, staff, world):
    from scoring.models import Application, Review, ReviewStatus, User

    with app.app_context():
        application = db.session.scalar(select(Application).where(Application.ref == "T-002"))
        reviewer = db.session.scalar(select(User).where(User.email == "reviewer@example.org"))
        db.session.add(
            Review(
                application_id=application.id, reviewer_id=reviewer.id, status=ReviewStatus.DRAFT
            )
        )
        db.session.commit()
    html = staff.get(f"/staff/runs/{world.run_id}/applications/T-002").get_data(as_text=True)
    rows = Tables(_main(html)).tables["Reviews of this application"]
    assert rows[-1] == [
        "Test reviewer reviewer (reviewer@example.org)",
        "—",
        "—",
        "—",
        "—",
        "No: not submitted (a draft)",
    ]
    assert [r[-1] for r in rows[1:-1]] == ["Yes", "Yes"]
