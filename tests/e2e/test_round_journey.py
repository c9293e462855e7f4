"""One round by the clock, in Debian's chromium (issue 10). The server's clock is set by the test
(``scoring.clock.frozen``: the live server runs in this process).

Inside the window a district submits; after the close a late submission is refused; an official
ranking before the close is refused with the reason; after the close staff screen (confirm a
priority, refuse another, set the tiers), rank, approve and publish through the confirmation
pages. Hand-computed: the rubric has 30 points, so A (24 points) scores 80 + 5 (confirmed
priority) = 85 and B (25 points) scores 83.33 with its claim refused: A ranks 1, B ranks 2; with
at most 1 award per district B is waitlisted, "district limit of 1 award reached", which its
applicant and the public page show. Then the calendar page and both ICS feeds.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import (
    Application,
    Competition,
    Criterion,
    CriterionScore,
    DistrictRole,
    RankingResult,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    Role,
    User,
)
from scoring.models._types import utcnow
from tests import apply_helpers as h
from tests.conftest import pass_second_factor
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e

CAP = "district limit of 1 award reached"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", h.PASSWORD)
    page.click("form button[type=submit]")
    pass_second_factor(page, email)


def fill_application(page, world, school_label: str) -> None:
    page.select_option("#school", label=school_label)
    for name, value in h.valid_form(world).items():
        if name in ("school", "priorities") or not value:
            continue
        page.fill(f"[name='{name}']", value)
    page.check("text=School is Turnaround")


def _reviews(app, points: dict[int, list[int]]) -> None:
    """Two submitted reviews per application, each giving ``points`` in rubric order."""
    with app.app_context():
        criteria = db.session.scalars(select(Criterion).order_by(Criterion.id)).all()
        reviewers = [h.person(Role.REVIEWER, f"panel{n}@example.org") for n in (1, 2)]
        db.session.flush()
        for application_id, given in points.items():
            for reviewer in reviewers:
                db.session.add(
                    ReviewerAssignment(
                        application_id=application_id,
                        reviewer_id=reviewer.id,
                        no_conflict_declared_at=utcnow(),
                    )
                )
                review = Review(
                    application_id=application_id,
                    reviewer_id=reviewer.id,
                    status=ReviewStatus.SUBMITTED,
                    submitted_at=utcnow(),
                )
                for c, p in zip(criteria, given, strict=True):
                    review.scores.append(
                        CriterionScore(criterion=c, points=Decimal(p), max_points=c.max_points)
                    )
                db.session.add(review)
        db.session.commit()


def test_one_round_by_the_clock(live_app, live_server, browser):
    app, base = live_app, live_server
    world = h.make_world(app, district_max_awards=1)
    with app.app_context():
        h.person(Role.STAFF, "approver@sde.example.org", can_approve=True)
        colleague = db.session.scalar(select(User).where(User.email == world.emails["colleague"]))
        colleague.district_role = DistrictRole.SUBMITTER  # a district's second user is a writer
        c = db.session.get(Competition, world.competition_id)
        closes = c.closes_at
        c.review_due_at = closes + timedelta(days=14)
        c.decision_at = closes + timedelta(days=30)
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)

    # 1. Inside the window: A is submitted in the browser; B by a colleague; a Hartford draft.
    sign_in(page, base, world.emails["applicant"])
    page.goto(f"{base}/apply/competitions/{world.competition_id}/apply")
    expect(page.locator(".phase")).to_contain_text("Open for applications")
    check_a11y(page, "apply-form-open")
    fill_application(page, world, "Bridgeport Elementary (0150011)")
    page.click("button[name=submit_app]")
    expect(page.locator("body")).to_contain_text("confirmation number")
    check_a11y(page, "receipt")
    client = app.test_client()
    token = h.login(client, world.emails["colleague"])
    b_id = h.create_draft(client, world, token, school=str(world.school2_id))
    submitted = client.post(
        f"/apply/applications/{b_id}",
        data=h.valid_form(world, csrf_token=token, submit_app="1", school=str(world.school2_id)),
    )
    assert submitted.status_code == 302, h.text(submitted)[:500]
    other = app.test_client()
    other_token = h.login(other, world.emails["other"])
    late_id = h.create_draft(other, world, other_token, school=str(world.other_school_id))
    with app.app_context():
        a_id = db.session.scalar(
            select(Application.id).where(Application.school_id == world.school_id)
        )
    _reviews(app, {a_id: [12, 8, 4], b_id: [13, 8, 4]})

    # 2. Before the close an official ranking is refused, with the reason.
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.set_default_timeout(20000)
    sign_in(staff, base, world.emails["staff"])
    staff.goto(f"{base}/staff/competitions/{world.competition_id}/board")
    expect(staff.locator("#rank-refusal")).to_contain_text("possible only after the close")
    check_a11y(staff, "board-before-close")
    staff.get_by_role("button", name="Start a ranking").click()
    expect(staff.locator("body")).to_contain_text("possible only after the close")

    with clock.frozen(closes + timedelta(hours=1)):
        # 3. After the close: a late submission is refused. (The jump in time idled out the
        # applicant's session: 30 minutes without a request. Sign in again.)
        other_token = h.login(other, world.emails["other"])
        sign_in(staff, base, world.emails["staff"])  # the staff browser's session too
        refused = other.post(
            f"/apply/applications/{late_id}",
            data=h.valid_form(
                world,
                csrf_token=other_token,
                submit_app="1",
                school=str(world.other_school_id),
            ),
        )
        assert refused.status_code == 409 and "has passed" in h.text(refused)
        # (a second device of the same user: the test client's session goes on)
        late = browser.new_context().new_page()
        late.set_default_timeout(20000)
        sign_in(late, base, world.emails["other"])
        late.goto(f"{base}/apply/applications/{late_id}")
        expect(late.locator("body")).to_contain_text("Closed")
        assert late.locator("button[name=submit_app]").count() == 0
        check_a11y(late, "draft-after-close")

        # 4. Ranking waits for screening; staff screen: A's priority confirmed, B's refused.
        staff.goto(f"{base}/staff/competitions/{world.competition_id}/board")
        expect(staff.locator("#rank-refusal")).to_contain_text("Screening is not complete")
        staff.goto(f"{base}/apply/staff/applications/{a_id}/screen")
        check_a11y(staff, "screening")
        staff.fill("#tier", "1")
        staff.check(f"#priority_{world.priority_id}-0")  # confirm
        staff.click("text=Save screening")
        expect(staff.locator(".flash-info")).to_contain_text("screened as eligible, tier 1")
        staff.goto(f"{base}/apply/staff/applications/{b_id}/screen")
        staff.fill("#tier", "1")
        staff.check(f"#priority_{world.priority_id}-1")  # refuse
        staff.fill(f"#priority_{world.priority_id}_reason", "Not on the Turnaround list.")
        staff.click("text=Save screening")
        expect(staff.locator("table").first).to_contain_text("claimed → refused")
        check_a11y(staff, "screened")

        # 5. The official ranking, as hand-computed.
        staff.goto(f"{base}/staff/competitions/{world.competition_id}/board")
        staff.get_by_role("button", name="Start a ranking").click()
        staff.wait_for_url(re.compile(r".*/board\?run=\d+$"))
        run_id = int(staff.url.rsplit("=", 1)[1])
        check_a11y(staff, "board")
        with app.app_context():
            results = {
                r.application_id: r
                for r in db.session.scalars(
                    select(RankingResult).where(RankingResult.run_id == run_id)
                )
            }
        a, b = results[a_id], results[b_id]
        assert (a.final, a.rank, a.status) == (Decimal("85.0000"), 1, "funded")
        assert b.rank == 2 and b.status == "waitlisted" and b.priority_points == 0
        assert abs(b.final - Decimal("83.3333")) < Decimal("0.001")

        # 6. Approve and publish through the confirmation pages.
        staff.get_by_role("button", name="Submit for approval").click()
        approver = browser.new_context().new_page()
        approver.set_default_timeout(20000)
        sign_in(approver, base, "approver@sde.example.org")
        approver.goto(f"{base}/staff/competitions/{world.competition_id}/board")
        approver.get_by_role("link", name="Approve this award list").click()
        approver.get_by_role("button", name="Approve this award list").click()
        expect(approver.locator("body")).to_contain_text("Award list approved")
        approver.get_by_role("link", name="Publish and notify applicants").click()
        expect(approver.locator("main")).to_contain_text("2 decision mail(s) go out")
        approver.get_by_role("button", name="Publish and notify applicants").click()
        expect(approver.locator("body")).to_contain_text("Published.")
        check_a11y(approver, "published")

    # 7. The capped application's reason, to its applicant and on the public page.
    colleague = browser.new_context().new_page()
    sign_in(colleague, base, world.emails["colleague"])
    colleague.goto(f"{base}/apply/applications/{b_id}")
    expect(colleague.locator(".decision-reason")).to_have_text("District limit of 1 award reached.")
    check_a11y(colleague, "applicant-status")
    public = browser.new_context().new_page()
    with app.app_context():
        slug = db.session.get(Competition, world.competition_id).slug
    public.goto(f"{base}/public/awards/{slug}")
    expect(public.locator(".missing-ranks")).to_contain_text("Rank 2 ")
    expect(public.locator(".missing-ranks")).to_contain_text(CAP)
    check_a11y(public, "public-awards")
    public.goto(f"{base}/public/")
    check_a11y(public, "public-list")

    # 8. The calendar page and both ICS feeds.
    public.goto(f"{base}/public/calendar")
    expect(public.locator("main, body").first).to_contain_text("Reviews due")
    check_a11y(public, "public-calendar")
    feed = public.request.get(f"{base}/public/calendar.ics")
    events = {str(e["summary"]): e for e in Calendar.from_ical(feed.body()).walk("VEVENT")}
    assert events["TIME Collaborative, Cohort 4: applications due"].decoded(
        "dtstart"
    ) == closes.replace(microsecond=0)
    reviewer = browser.new_context().new_page()
    sign_in(reviewer, base, "panel1@example.org")
    reviewer.goto(f"{base}/review/calendar")
    reviewer.get_by_role("button", name="Make a feed link").click()
    link = reviewer.locator("#feed-link").inner_text()
    check_a11y(reviewer, "review-calendar")
    path = link[link.index("/review/calendar/") :]
    private = browser.new_context().request.get(base + path)
    mine = Calendar.from_ical(private.body()).walk("VEVENT")
    assert [str(e["summary"]) for e in mine] == [
        "TIME Collaborative, Cohort 4: your 2 review(s) due"
    ]
    with app.app_context():
        assert db.session.scalar(
            select(User.calendar_token_hash).where(User.email == "panel1@example.org")
        )
    context.close()
