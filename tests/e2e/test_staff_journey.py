"""In a real browser (Debian's chromium), a program manager takes a competition from set-up to a
published award list, and a second staff member approves it.

The embedded default serves the app (file SQLite, tasks run in-process), as a newcomer runs it.
Screenshots go to ``$SHOTS_DIR`` (default: the test's temporary folder)."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Competition,
    MailStatus,
    OutboxMessage,
    RankingRun,
    SlateStatus,
)
from scoring.services import ranking
from tests import factories
from tests.conftest import pass_second_factor
from tests.e2e.a11y import check_a11y
from tests.staff_world import APPROVER, PREPARER, geography, populate

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"journey-{name}.png"), full_page=True)
        check_a11y(page, name)  # each screenshot is an accessibility check point

    return shot


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    pass_second_factor(page, email)
    page.wait_for_url(base + "/staff/")


def test_from_set_up_to_a_published_award_list(live_app, live_server, browser, shots):
    geography(live_app)
    base = live_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, base, PREPARER)
    check_a11y(page, "staff-home")

    # 1. A new competition with its policy.
    page.get_by_role("link", name="New competition").click()
    page.get_by_label("Short name for links (slug)").fill("time-cohort-5")
    page.get_by_label("Program", exact=True).select_option("TIME Collaborative")
    page.get_by_label("Title", exact=True).fill("TIME Collaborative, Cohort 5")
    page.get_by_label("Opens (Connecticut time)").fill("2025-01-06T09:00")
    page.get_by_label("Closes (Connecticut time)").fill("2025-02-28T16:00")
    page.get_by_label("Total funds available ($)").fill("1000000")
    page.get_by_label("Largest award, caps each request ($)").fill("400000")
    page.get_by_label("Lowest fundable final score").fill("60")
    page.get_by_label("Tie-breaker 1").select_option("requested_amount")
    page.get_by_label("Largest award, caps each request ($)").fill("-5")  # a mistake first
    shots(page, "01-new-competition")
    page.get_by_role("button", name="Create competition").click()
    assert page.locator("#max_award-err").inner_text() == "must be more than 0"
    page.get_by_label("Largest award, caps each request ($)").fill("400000")
    page.get_by_role("button", name="Create competition").click()
    page.wait_for_url(re.compile(r".*/rubric$"))
    assert "Competition “TIME Collaborative, Cohort 5” created" in page.content()

    # 2. The rubric builder: a section with its first criterion, a weighted section, descriptors.
    page.get_by_label("Key (used in tie-breakers, e.g. “plan”)").fill("plan")
    page.get_by_label("Title", exact=True).fill("Schedule and plan")
    page.get_by_label("First criterion's key (e.g. “plan.goals”)").fill("plan.hours")
    page.get_by_label("First criterion's title").fill("Adds 300 hours a year")
    page.get_by_label("Its maximum points").fill("10")
    page.get_by_role("button", name="Add section").click()
    page.get_by_label("Key (used in tie-breakers, e.g. “plan”)").fill("sustain")
    page.get_by_label("Title", exact=True).fill("Sustainability")
    page.get_by_label("Weight (blank = the section's maximum points)").fill("5")
    page.get_by_label("First criterion's key (e.g. “plan.goals”)").fill("sustain.money")
    page.get_by_label("First criterion's title").fill("Financing after the grant")
    page.get_by_label("Its maximum points").fill("5")
    page.get_by_role("button", name="Add section").click()
    page.get_by_role("link", name="Add a criterion").first.click()
    page.get_by_label("Key (e.g. “need.data”)").fill("plan.staff")
    page.get_by_label("Title", exact=True).fill("Teacher collaboration time")
    page.get_by_label("Maximum points", exact=True).fill("10")
    page.get_by_label("Rating levels, one per line: points | label | description").fill(
        "0 | Insufficient | No time set aside\n5 | Developing\n10 | Exemplary | Weekly, protected"
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/rubric$"))
    assert "max 20 pts · weight 20 (= max) · 80.0% of the score" in page.inner_text("main")
    assert "max 5 pts · weight 5 · 20.0% of the score" in page.inner_text("main")
    shots(page, "02-rubric")

    with live_app.app_context():
        cid = db.session.scalar(select(Competition.id).where(Competition.slug == "time-cohort-5"))
    # 3. Applications and reviews arrive (the reviewing side is another issue).
    populate(
        live_app,
        cid,
        [
            ("J-001", "0010001", Decimal("300000"), [0.9, 0.85]),
            ("J-002", "0020001", Decimal("400000"), [0.8, 0.9]),
            ("J-003", "0030001", Decimal("250000"), [0.75, 0.7]),
            ("J-004", "0010002", Decimal("200000"), [0.7, 0.6]),
            ("J-005", "0020002", Decimal("150000"), [0.5, 0.4]),
            ("J-006", "0030002", Decimal("350000"), [0.95, 0.45]),
        ],
    )
    page.reload()
    assert "Frozen." in page.inner_text("main") and "Add a section" not in page.inner_text("main")

    # 4. Rank from the page; the board shows the funding order and the line.
    page.get_by_role("link", name="Ranking board", exact=True).click()
    page.get_by_role("button", name="Start a ranking").click()
    page.wait_for_url(re.compile(r".*/board\?run=\d+$"))
    run_id = int(page.url.rsplit("=", 1)[1])
    with live_app.app_context():
        document = ranking.result_document_for_run(db.session.get(RankingRun, run_id))
    funded = [a for a in document["applications"] if Decimal(a["award"]) > 0]
    board = page.inner_text("main")
    assert (
        f"Funding line: ${Decimal(document['total_awarded']):,.2f} awarded of $1,000,000.00"
        in board
    )
    for a in document["applications"]:
        assert a["ref"] in board
    rows = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.classList.contains('funding-line') ? 'LINE'"
        " : r.querySelector('a').textContent)"
    )
    assert rows[: rows.index("LINE")] == [a["ref"] for a in funded]  # the line under the last award
    shots(page, "03-board")

    # 5. What-if: less money, seen at once, nothing saved.
    page.get_by_role("link", name="What-if", exact=True).click()
    page.get_by_label("Total funds ($)").fill("700000")
    page.get_by_role("button", name="Try it").click()
    leave = page.locator(
        "section", has=page.get_by_role("heading", name="Would leave the funded set")
    )
    assert "J-003" in leave.inner_text()
    shots(page, "04-what-if")

    # 6. An exception with a justification.
    page.get_by_role("link", name="Ranking board", exact=True).click()
    page.get_by_role("link", name="J-006").click()
    assert "How the numbers were reached" in page.inner_text("main")
    check_a11y(page, "explanation")
    page.get_by_label("Decision").select_option("partially_funded")
    page.get_by_label("Award ($)").fill("50000")
    page.get_by_role("button", name="Save the exception").click()
    assert page.locator("#justification-err").inner_text() == "a justification is required"
    check_a11y(page, "exception-refused")
    page.get_by_label("Justification (required; shown with the exception)").fill(
        "The district commits the remaining cost; a reduced start-up grant is enough."
    )
    page.get_by_role("button", name="Save the exception").click()
    page.wait_for_url(re.compile(r".*/board\?run=\d+(#override)?$"))
    assert "staff exception" in page.locator("table.board").inner_text()
    shots(page, "05-exception")

    # 7. Submit for approval; the preparer cannot approve their own list.
    page.get_by_role("button", name="Submit for approval").click()
    assert "you cannot approve it" in page.inner_text("main")
    assert page.get_by_role("button", name="Approve this award list").count() == 0
    page.get_by_role("button", name="Sign out").click()

    # 8. A second staff member with approval rights approves and publishes.
    sign_in(page, base, APPROVER)
    page.get_by_role("link", name="TIME Collaborative, Cohort 5").click()
    check_a11y(page, "competition")
    page.get_by_role("link", name="Ranking board", exact=True).click()
    page.get_by_role("link", name="Approve this award list").click()
    assert "award(s) totalling" in page.inner_text("main")  # the confirmation page says what
    check_a11y(page, "approve-confirm")
    page.get_by_role("button", name="Approve this award list").click()
    assert "Award list approved." in page.inner_text("main")
    page.get_by_role("link", name="Publish and notify applicants").click()
    confirm = page.inner_text("main")
    assert "6 decision mail(s) go out" in confirm and "cannot be undone" in confirm
    shots(page, "06-publish-confirm")
    page.get_by_role("button", name="Publish and notify applicants").click()
    assert "Published. 6 decision mail(s) queued." in page.inner_text("main")
    shots(page, "06-published")
    page.get_by_role("link", name="Audit trail").first.click()
    check_a11y(page, "audit")
    with live_app.app_context():
        run = db.session.get(RankingRun, run_id)
        assert run.status.value == "done"
        from scoring.models import AwardSlate

        assert db.session.scalar(select(AwardSlate)).status == SlateStatus.PUBLISHED
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert len(statuses) == 6 and set(statuses) == {MailStatus.SENT}  # in-process here

    # 9. Anyone, signed in or not, opens the public award list.
    public = browser.new_context(viewport=PHONE)
    anon = public.new_page()
    anon.goto(base + "/public/")
    anon.get_by_role("link", name="TIME Collaborative, Cohort 5").click()
    text = anon.inner_text("main")
    assert "award list" in text and "Sign out" not in anon.content()
    assert "J-006" in text and "exception" in text and "$50,000.00" in text
    shots(anon, "07-public-phone")
    public.close()

    # 10. The same board on a phone.
    phone = browser.new_context(viewport=PHONE)
    small = phone.new_page()
    sign_in(small, base, APPROVER)
    small.goto(f"{base}/staff/competitions/{cid}/board")
    assert small.locator("table.board").is_visible()
    shots(small, "08-board-phone")
    small.goto(f"{base}/staff/competitions/{cid}/board?q=J-00&sort=score")
    assert small.locator("table.board").is_visible()
    small.goto(f"{base}/staff/competitions/{cid}/what-if?total_funds=700000")
    assert "J-003" in small.inner_text("main")
    shots(small, "09-what-if-phone")
    phone.close()
    context.close()
