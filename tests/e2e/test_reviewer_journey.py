"""In Debian's chromium: staff assign reviewers (preview, then save); a reviewer declares no
conflict, scores the rubric, saves a draft and submits; another declares a conflict and staff see
"reassign". Then every reviewing page is opened at desktop and phone size (no sideways scroll).

Screenshots go to ``$REVIEW_SHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from scoring.extensions import db
from scoring.models import AssignmentStatus, Review, ReviewerAssignment, ReviewStatus
from tests import factories
from tests import review_support as rs
from tests.conftest import pass_second_factor
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("REVIEW_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    pass_second_factor(page, email)


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_assign_declare_score_submit_and_conflict_in_the_browser(
    live_app, live_server, page, shots
):
    world = rs.build(live_app)
    base = live_server
    page.set_viewport_size(DESKTOP)

    # Staff: preview the automatic assignment, then save it.
    _sign_in(page, base, world.emails["staff"])
    page.get_by_role("link", name="Reviewing").click()
    page.get_by_role("link", name="Assign").first.click()
    assert "8 new assignment(s) for 4 application(s)" in page.content()
    page.screenshot(path=str(shots / "journey-1-preview.png"), full_page=True)
    check_a11y(page, "assign-preview")
    with live_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ReviewerAssignment)) == 0
    page.get_by_role("button", name="Save these 8 assignments").click()
    page.wait_for_url(f"{base}/staff/panel/c/{world.competition}/")
    assert "Assignments saved" in page.content()
    check_a11y(page, "panel-board")
    _sign_out(page)

    # Reviewer r3: declare no conflict, score, save a draft, submit.
    with live_app.app_context():
        mine = db.session.scalars(
            db.select(ReviewerAssignment)
            .filter_by(reviewer_id=world.users["r3"])
            .order_by(ReviewerAssignment.id)
        ).all()
        first_ref, first_id = mine[0].application.ref, mine[0].id
    _sign_in(page, base, world.emails["r3"])
    page.wait_for_url(base + "/review/")
    check_a11y(page, "review-home")
    page.get_by_role("link", name="Declare and open").first.click()
    check_a11y(page, "declare")
    page.get_by_label("I have no conflict of interest with this application.").check()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{base}/review/a/{first_id}")
    assert first_ref in page.locator("h1").inner_text()
    c = world.criteria
    page.locator(f'input[name="points_{c[0]}"]').fill("8")
    page.locator(f'textarea[name="comment_{c[0]}"]').fill("Uses three years of data.")
    page.get_by_role("button", name="Save draft").click()
    assert page.get_by_role("status").inner_text() == "Draft saved."
    check_a11y(page, "scoring-form")
    assert page.locator(f'input[name="points_{c[0]}"]').input_value() == "8"
    page.locator(f'input[name="points_{c[1]}"]').fill("2.5")
    # the running totals follow the typing (static/score.js): 8 + 2.5 of 30, 2 of 3 scored
    assert page.locator('[data-total="all"]').inner_text() == "10.5"
    assert page.locator("span[data-scored='']").inner_text() == "2"
    page.get_by_role("button", name="Check totals and submit").click()  # one still empty
    assert "Enter points for this criterion to submit" in page.content()
    page.get_by_role("link", name="Enter points for this criterion to submit").first.click()
    assert page.evaluate("location.hash") == f"#points_{c[2]}"
    page.screenshot(path=str(shots / "journey-2-missing.png"), full_page=True)
    check_a11y(page, "scoring-form-missing")
    page.locator(f'input[name="points_{c[2]}"]').fill("12")
    page.get_by_label("Overall comment").fill("A solid plan.")
    page.get_by_role("button", name="Check totals and submit").click()
    # (the browser keeps the #fragment of the error link across the redirect)
    page.wait_for_url(re.compile(rf"{re.escape(base)}/review/a/{first_id}/confirm(#.*)?$"))
    assert "22.5 of 30" in page.content() and "75.00" in page.content()
    check_a11y(page, "confirm")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/review/(#.*)?$"))
    assert "Review submitted" in page.content()
    page.screenshot(path=str(shots / "journey-3-submitted.png"), full_page=True)
    check_a11y(page, "review-submitted")
    with live_app.app_context():
        review = db.session.scalar(
            db.select(Review).filter_by(
                reviewer_id=world.users["r3"], application_id=mine[0].application_id
            )
        )
        assert review.status == ReviewStatus.SUBMITTED
        assert [float(s.points) for s in sorted(review.scores, key=lambda s: s.criterion_id)] == [
            8,
            2.5,
            12,
        ]
    _sign_out(page)

    # Reviewer r4 declares a conflict on their first assignment.
    with live_app.app_context():
        theirs = db.session.scalars(
            db.select(ReviewerAssignment)
            .filter_by(reviewer_id=world.users["r4"])
            .order_by(ReviewerAssignment.id)
        ).all()
        conflict_ref, conflict_id = theirs[0].application.ref, theirs[0].id
    _sign_in(page, base, world.emails["r4"])
    page.goto(f"{base}/review/a/{conflict_id}/declare")
    page.get_by_label("I have a conflict of interest and cannot review it.").check()
    page.get_by_role("button", name="Confirm").click()
    assert "Say briefly what the conflict is" in page.content()
    check_a11y(page, "declare-refused")
    page.get_by_label("If you have a conflict, say briefly why").fill("I coach at this school")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(base + "/review/")
    assert "staff will reassign it" in page.content()
    with live_app.app_context():
        assert db.session.get(ReviewerAssignment, conflict_id).status == AssignmentStatus.CONFLICT
    _sign_out(page)

    # Staff see who has done what, and that the conflicted application must be reassigned.
    _sign_in(page, base, world.emails["staff"])
    page.goto(f"{base}/staff/panel/c/{world.competition}/")
    reassign = page.locator("section.warn")
    assert "reassign" in reassign.inner_text() and conflict_ref in reassign.inner_text()
    assert "I coach at this school" in reassign.inner_text()
    page.screenshot(path=str(shots / "journey-4-board.png"), full_page=True)
    check_a11y(page, "panel-reassign")


def _fill_for_pages(app, world):
    """Reviews, a flagged run and a note, so every page has something to show."""
    from datetime import timedelta
    from decimal import Decimal

    from scoring.models import RankingResult, RankingRun, ReconciliationNote, RunStatus
    from scoring.models._types import utcnow

    plan = {
        "SIG-002": {"r3": [9, 4, 14], "r4": [4, 2, 6], "r1": [7, 3, 10]},
        "SIG-003": {"r3": [8, 4.5, 13], "r4": [3, 1, 5]},
        "SIG-005": {"r3": [10, 5, 15], "r1": [8, 3.5, 11]},
        "SIG-006": {"r4": [2, 1, 4], "r1": [5, 2.5, 8]},
    }
    for ref, by in plan.items():
        for who, points in by.items():
            rs.submitted_review(
                app, world.apps[ref], world.users[who], points, comment="Reasoned comment."
            )
    draft = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    with app.app_context():
        run = RankingRun(
            competition_id=world.competition,
            status=RunStatus.DONE,
            finished_at=utcnow() - timedelta(hours=1),
        )
        db.session.add(run)
        db.session.flush()
        for position, (ref, app_id) in enumerate(sorted(world.apps.items())):
            flagged = ref == "SIG-003"
            db.session.add(
                RankingResult(
                    run_id=run.id,
                    application_id=app_id,
                    position=position,
                    ref=ref,
                    school_code="s",
                    district_code="d",
                    tier=1,
                    reviews=2 if flagged else 0,
                    review_scores=[90.0, 30.0] if flagged else [],
                    priority_points=Decimal(0),
                    flags=["discrepancy"] if flagged else [],
                    status="ranked",
                    award=Decimal(0),
                )
            )
        db.session.add(
            ReconciliationNote(
                application_id=world.apps["SIG-003"],
                author_id=world.users["staff"],
                note="Panel call on Oct 3: scores stand.",
                run_id=run.id,
            )
        )
        db.session.commit()
    return draft


def test_every_reviewing_page_reads_well_on_desktop_and_phone(
    live_app, live_server, browser, shots
):
    world = rs.build(live_app, applications=6)
    draft = _fill_for_pages(live_app, world)
    c, a = world.competition, world.apps["SIG-003"]
    staff_pages = {
        "panel-index": "/staff/panel/",
        "roster": "/staff/panel/reviewers",
        "reviewer": f"/staff/panel/reviewers/{world.users['r3']}",
        "board": f"/staff/panel/c/{c}/",
        "assign": f"/staff/panel/c/{c}/assign",
        "application": f"/staff/panel/c/{c}/a/{a}",
        "discrepancies": f"/staff/panel/c/{c}/discrepancies",
        "stats": f"/staff/panel/c/{c}/stats",
    }
    reviewer_pages = {
        "review-home": "/review/",
        "review-score": f"/review/a/{draft}",
        "review-declare": f"/review/a/{draft}/declare",
    }
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        for who, pages in (("staff", staff_pages), ("r3", reviewer_pages)):
            context = browser.new_context(viewport=size)
            page = context.new_page()
            _sign_in(page, live_server, world.emails[who])
            for name, path in pages.items():
                response = page.goto(live_server + path)
                assert response.status == 200, path
                page.screenshot(path=str(shots / f"{name}-{size_name}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at {size_name} size"
                if size_name == "desktop":  # (the check point itself looks at both widths)
                    check_a11y(page, name)
            context.close()


def test_two_tabs_the_later_save_gets_the_conflict_page_and_loses_nothing(
    live_app, live_server, browser, shots
):
    world = rs.build(live_app)
    assignment = rs.assign(live_app, world.apps["SIG-001"], world.users["r3"], declared=True)
    context = browser.new_context(viewport=DESKTOP)
    tab_a = context.new_page()
    _sign_in(tab_a, live_server, world.emails["r3"])
    tab_b = context.new_page()
    url = f"{live_server}/review/a/{assignment}"
    tab_a.goto(url)
    tab_b.goto(url)
    c = world.criteria
    tab_a.locator(f'input[name="points_{c[0]}"]').fill("9")
    tab_a.get_by_role("button", name="Save draft").click()
    assert tab_a.get_by_role("status").inner_text() == "Draft saved."
    tab_b.locator(f'input[name="points_{c[0]}"]').fill("3")
    tab_b.locator(f'textarea[name="comment_{c[0]}"]').fill("Written in the second tab")
    response = None
    with tab_b.expect_response(url) as info:
        tab_b.get_by_role("button", name="Save draft").click()
    response = info.value
    assert response.status == 409
    text = tab_b.content()
    assert "Not saved: this review changed since you opened it." in text
    assert tab_b.locator(f'input[name="points_{c[0]}"]').input_value() == "9"
    assert "You typed: 3" in text and "You typed: Written in the second tab" in text
    tab_b.screenshot(path=str(shots / "review-409-desktop.png"), full_page=True)
    # Copy the entry over and save again: now it is accepted.
    tab_b.locator(f'textarea[name="comment_{c[0]}"]').fill("Written in the second tab")
    tab_b.get_by_role("button", name="Save draft").click()
    assert tab_b.get_by_role("status").inner_text() == "Draft saved."
    with live_app.app_context():
        review = db.session.scalar(db.select(Review).filter_by(reviewer_id=world.users["r3"]))
        score = next(s for s in review.scores if s.criterion_id == c[0])
        assert (float(score.points), score.comment) == (9.0, "Written in the second tab")
    for name in (f"points_{c[1]}", f"points_{c[2]}"):
        tab_b.locator(f'input[name="{name}"]').fill("4")
    tab_b.get_by_role("button", name="Check totals and submit").click()
    tab_b.get_by_role("button", name="Submit review").click()
    tab_b.wait_for_url(f"{live_server}/review/")
    tab_b.goto(url)
    assert "locked" in tab_b.content() and tab_b.locator('input[name^="points_"]').count() == 0
    tab_b.screenshot(path=str(shots / "review-locked-desktop.png"), full_page=True)
    tab_b.set_viewport_size(PHONE)
    tab_b.screenshot(path=str(shots / "review-locked-phone.png"), full_page=True)
    context.close()
