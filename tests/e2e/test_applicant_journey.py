"""The applicant's journey in Debian's chromium, on the embedded default (file SQLite, tasks run
in-process) with mail delivered over SMTP to a real server on loopback:

staff invite → the invitee sets a password from the mailed link → signs in → opens the open
competition → fills the form built from the rubric (narratives, request, priority, budget lines
with live totals) → downloads the budget workbook, fills it, uploads it → uploads a PDF →
submits inside the window → receipt with the confirmation number (and its mail) → status before
publication → ranking, approval and publication by staff (issue #6's services) → the decision.

Screenshots of every page, on a desktop and a phone-sized viewport, go to /tmp/shots/apply/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    Criterion,
    CriterionScore,
    Review,
    ReviewStatus,
    Role,
    User,
)
from scoring.models._types import utcnow
from tests import apply_helpers as h
from tests.conftest import pass_second_factor
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/apply")
PHONE = {"width": 390, "height": 844}
NEW_USER = "principal.new@bridgeport.example.org"
NEW_PASSWORD = "maple syrup in march"


def shot(page, name: str) -> None:
    """A screenshot of the page, and its accessibility check point (tests/e2e/a11y.py)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"e2e-{name}.png"), full_page=True)
    check_a11y(page, name)


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    pass_second_factor(page, email)


@pytest.fixture
def smtp():
    sink = h.SmtpSink().start()
    yield sink
    sink.stop()


def _publish_decision(app, world, application_id: int) -> None:
    """Two submitted reviews, a ranking run, four-eyes approval and publication (issue #6)."""
    from scoring import clock
    from scoring.services import ranking
    from scoring.services.applications import screening
    from scoring.services.decisions import decisions, publication

    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == world.emails["staff"]))
        approver = h.person(Role.STAFF, "approver@sde.example.org", can_approve=True)
        criteria = db.session.scalars(select(Criterion).order_by(Criterion.id)).all()
        for n, share in enumerate((Decimal("0.8"), Decimal("1.0")), start=1):
            reviewer = h.person(Role.REVIEWER, f"panel{n}@example.org")
            review = Review(
                application_id=application_id,
                reviewer_id=reviewer.id,
                status=ReviewStatus.SUBMITTED,
                submitted_at=utcnow(),
                overall_comment=f"Panel comment {n}",
            )
            for c in criteria:
                review.scores.append(
                    CriterionScore(
                        criterion=c,
                        points=(c.max_points * share).quantize(Decimal(1)),
                        max_points=c.max_points,
                    )
                )
            db.session.add(review)
        application = db.session.get(Application, application_id)
        competition = application.competition
        competition.comments_visible_to_applicants = True
        with clock.frozen(competition.closes_at + timedelta(hours=1)):  # after the close
            screening.screen(application, staff, eligible=True, reason="", now=clock.now())
            for link in application.priority_links:
                link.confirmed = True
            run = ranking.create_run(competition, actor=staff)
            db.session.commit()
            run = ranking.execute_run(run.id)
            db.session.commit()
            slate = decisions.prepare_slate(run, actor=staff)
            db.session.commit()
            decisions.approve_slate(slate, actor=approver)
            db.session.commit()
            publication.publish_run(run, actor=staff, public_url="http://127.0.0.1/public")
            db.session.commit()


def test_from_invitation_to_a_published_decision(
    live_app, live_server, browser, page, smtp, tmp_path
):
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    world = h.make_world(live_app)
    base = live_server

    # 1. Staff invite a district user.
    sign_in(page, base, world.emails["staff"], h.PASSWORD)
    page.goto(f"{base}/accounts/invite")
    shot(page, "01-invite-desktop")
    page.fill("#email", NEW_USER)
    page.fill("#name", "Robin Principal")
    page.select_option("#district", label="Bridgeport (015)")
    page.click("form button[type=submit] >> text=Send invitation")
    expect(page.locator(".flash-info")).to_contain_text(f"Invitation sent to {NEW_USER}")

    # 2. The invitee sets a password from the mailed link.
    [invitation] = smtp.to(NEW_USER)
    link = h.url_in(smtp.body(invitation))
    applicant = browser.new_context().new_page()
    applicant.set_default_timeout(15000)
    applicant.goto(link)
    expect(applicant.locator("h1")).to_contain_text("Welcome")
    applicant.fill("#password", "short")
    applicant.fill("#confirm", "short")
    applicant.click("form button[type=submit]")
    expect(applicant.locator(".field-error")).to_contain_text("Use 12 to 256 characters.")
    applicant.fill("#password", NEW_PASSWORD)
    applicant.fill("#confirm", NEW_PASSWORD)
    shot(applicant, "02-set-password-desktop")
    applicant.click("form button[type=submit]")
    expect(applicant.locator(".flash-info")).to_contain_text("Your password is set")

    # 3. Sign in and open the open competition.
    sign_in(applicant, base, NEW_USER, NEW_PASSWORD)
    expect(applicant.locator("h1")).to_have_text("Your district's applications")
    shot(applicant, "03-home-empty-desktop")
    applicant.click("text=Open competitions (1)")
    expect(applicant.locator(".competition h2")).to_contain_text("TIME Collaborative, Cohort 4")
    expect(applicant.locator(".competition")).to_contain_text("$100,000.00 to $400,000.00")
    expect(applicant.locator(".competition")).to_contain_text(
        "Schools classified Focus or Turnaround"
    )
    expect(applicant.locator("table.rubric")).to_contain_text("Use of data")
    expect(applicant.locator("table.rubric caption .badge")).to_have_text("illustrative")
    shot(applicant, "04-competitions-desktop")
    applicant.click("text=Start an application")

    # 4. Fill the form built from the rubric; the budget totals run live.
    expect(applicant.locator("h1")).to_have_text("New application")
    applicant.select_option("#school", label="Bridgeport Elementary (0150011)")
    applicant.fill("#title", "300 more hours for every student")
    applicant.fill("#principal_name", "Robin Principal")
    applicant.fill("#principal_email", "robin@school.example.org")
    applicant.fill("#grant_contact_name", "Gale Grants")
    applicant.fill("#grant_contact_email", "gale@district.example.org")
    applicant.fill(
        f"#narrative_{world.required_section_id}", "Our students need more time to learn."
    )
    expect(applicant.locator(f"#narrative_{world.required_section_id}-count")).to_contain_text(
        "37 / 500 characters"
    )
    applicant.check("text=School is Turnaround")
    applicant.fill("#requested_amount", "150000")
    applicant.fill("#b_100_1", "60,000")
    applicant.fill("#b_100_2", "40000.50")
    expect(applicant.locator("[data-row-total='100']")).to_have_text("$100,000.50")
    expect(applicant.locator("[data-grand-total]")).to_have_text("$100,000.50")
    expect(applicant.locator("[data-budget-check]")).to_contain_text(
        "differs from the request by $49,999.50"
    )
    shot(applicant, "05-form-filled-desktop")
    applicant.click("button[name=save_draft]")
    expect(applicant.locator(".flash-info")).to_contain_text("saved")
    expect(applicant.locator(".todo-box")).to_contain_text(
        "The budget totals $100,000.50 but the request is $150,000.00"
    )
    shot(applicant, "06-draft-with-todo-desktop")
    app_id = int(re.search(r"/apply/applications/(\d+)", applicant.url).group(1))

    # 5. The budget workbook: download it, fill it, upload it.
    with applicant.expect_download() as download:
        applicant.click("text=Download the workbook with this budget (.xlsx)")
    book = tmp_path / "budget.xlsx"
    download.value.save_as(book)
    wb = openpyxl.load_workbook(book)
    ws = wb["Budget"]
    rows = {c.value: c.row for c in ws["A"] if isinstance(c.value, int)}
    ws.cell(row=rows[100], column=5).value = "forty thousand"
    wb.save(book)
    applicant.set_input_files("#workbook-file", str(book))
    applicant.click("text=Upload workbook")
    expect(applicant.locator("#workbook .field-error")).to_contain_text(
        f"Budget!E{rows[100]}: “forty thousand” is not an amount"
    )
    shot(applicant, "06b-workbook-refused-desktop")
    ws.cell(row=rows[100], column=5).value = 40000
    ws.cell(row=rows[300], column=4).value = 50000
    ws.cell(row=rows[300], column=3).value = "Coaching partner"
    wb.save(book)
    applicant.set_input_files("#workbook-file", str(book))
    applicant.click("text=Upload workbook")
    expect(applicant.locator(".flash-info")).to_contain_text(
        "Budget filled from the workbook: 3 amounts, total $150,000.00"
    )
    expect(applicant.locator("[data-grand-total]")).to_have_text("$150,000.00")
    expect(applicant.locator("[data-budget-check]")).to_have_text(
        "The budget total equals the request."
    )

    # 6. A PDF attachment (and a file that only claims to be one).
    fake = tmp_path / "not-really.pdf"
    fake.write_bytes(b"<html>not a pdf</html>")
    applicant.set_input_files("#attachment-file", str(fake))
    applicant.click("text=Upload PDF")
    expect(applicant.locator("#attachments .field-error")).to_contain_text("This file is not a PDF")
    shot(applicant, "06c-pdf-refused-desktop")
    pdf = tmp_path / "Budget narrative.pdf"
    pdf.write_bytes(h.minimal_pdf(pages=2))
    applicant.set_input_files("#attachment-file", str(pdf))
    applicant.click("text=Upload PDF")
    expect(applicant.locator("ul.files")).to_contain_text("Budget narrative.pdf")
    expect(applicant.locator(".flash-ok")).to_contain_text("This draft is complete")
    shot(applicant, "07-draft-complete-desktop")

    # 7. Submit inside the window: the receipt, and the same number by mail.
    applicant.click("text=Save and submit application")
    expect(applicant.locator("h1")).to_have_text("Application received")
    number = applicant.locator(".confirmation").inner_text()
    assert re.fullmatch(r"CT-\d{3}-\d{6}-[0-9A-F]{4}", number)
    shot(applicant, "08-receipt-desktop")
    invitation_again, receipt = smtp.to(NEW_USER)
    assert invitation_again["Subject"] == invitation["Subject"]
    assert number in receipt["Subject"] and number in smtp.body(receipt)
    with live_app.app_context():
        saved = db.session.get(Application, app_id)
        assert saved.status == ApplicationStatus.SUBMITTED and saved.confirmation_number == number
        assert saved.requested_amount == Decimal("150000.00") and len(saved.attachments) == 1

    # 8. Before publication: submitted, under review.
    applicant.click("text=All your applications")
    expect(applicant.locator("td[data-label=Status]")).to_contain_text("Submitted — under review")
    shot(applicant, "09-home-submitted-desktop")
    applicant.goto(f"{base}/apply/applications/{app_id}")
    expect(applicant.locator(".status-card")).to_contain_text("Reviewers are scoring")
    shot(applicant, "10-view-under-review-desktop")

    # A second draft's form on a phone, while the window is open.
    phone = browser.new_context(viewport=PHONE).new_page()
    sign_in(phone, base, NEW_USER, NEW_PASSWORD)
    phone.goto(f"{base}/apply/competitions/{world.competition_id}/apply")
    phone.select_option("#school", label="Bridgeport Middle (0150012)")
    phone.fill("#b_200_1", "1000")
    expect(phone.locator("[data-grand-total]")).to_have_text("$1,000.00")
    phone.click("button[name=save_draft]")
    expect(phone.locator(".todo-box")).to_be_visible()
    shot(phone, "16-draft-phone")

    # 9. After the close: staff screen, rank, a second staff member approves, staff publish;
    # the applicant sees the decision.
    _publish_decision(live_app, world, app_id)
    # The phone's sign-in did not end this browser's session (one session per device).
    applicant.goto(f"{base}/apply/applications/{app_id}")
    expect(applicant.locator(".status-card")).to_contain_text("Awarded")
    expect(applicant.locator(".status-card")).to_contain_text("$150,000.00")
    expect(applicant.locator("body")).to_contain_text("Reviewer 1")
    expect(applicant.locator("body")).not_to_contain_text("panel1@example.org")
    shot(applicant, "11-view-decision-desktop")

    # 10. The same pages on a phone, plus a second draft's form.
    phone = browser.new_context(viewport=PHONE).new_page()
    sign_in(phone, base, NEW_USER, NEW_PASSWORD)
    shot(phone, "12-home-phone")
    phone.goto(f"{base}/apply/competitions")
    shot(phone, "13-competitions-phone")
    phone.goto(f"{base}/apply/applications/{app_id}")
    shot(phone, "14-view-decision-phone")
    phone.goto(f"{base}/apply/applications/{app_id}/receipt")
    shot(phone, "15-receipt-phone")
    page.goto(f"{base}/accounts/invite")
    page.set_viewport_size(PHONE)
    shot(page, "17-invite-phone")
    page.goto(f"{base}/apply/staff/applications")
    shot(page, "18-staff-screening-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/apply/staff/applications/{app_id}/screen")
    shot(page, "19-staff-screen-desktop")
    anonymous = browser.new_context(viewport=PHONE).new_page()
    anonymous.goto(link)  # the invitation link, already used
    expect(anonymous.locator("h1")).to_have_text("This link no longer works")
    shot(anonymous, "20-used-link-phone")
    anonymous.click("text=Ask for a new link")
    anonymous.fill("#email", NEW_USER)
    anonymous.click("form button[type=submit]")
    expect(anonymous.locator(".flash-info")).to_contain_text("If an account uses that address")
    shot(anonymous, "21-forgot-sent-phone")
    assert "Choose a new password" in smtp.to(NEW_USER)[-1]["Subject"]
