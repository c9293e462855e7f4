"""What the applicant sees: status, staff screening (with the reason), the published decision,
reviewer comments only where allowed and never who wrote them or other applications' data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import (
    Application,
    AuditEvent,
    AwardOverride,
    AwardSlate,
    Competition,
    Criterion,
    CriterionScore,
    OutboxMessage,
    RankingResult,
    RankingRun,
    Review,
    ReviewStatus,
    Role,
    RunStatus,
    SlateStatus,
    User,
)
from scoring.models._types import utcnow
from scoring.services import mail
from tests import apply_helpers as h
from tests.conftest import csrf_token_from


@pytest.fixture
def world(app):
    # these tests move the clock by days; how long a session lasts is not what they test
    app.config.update(SESSION_IDLE_MINUTES=10**7, SESSION_ABSOLUTE_HOURS=10**6)
    return h.make_world(app)


@pytest.fixture
def submitted(app, client, world):
    token = h.login(client, world.emails["applicant"])
    app_id = h.create_draft(client, world, token)
    client.post(
        f"/apply/applications/{app_id}", data=h.valid_form(world, csrf_token=token, submit_app="1")
    )
    with app.app_context():
        assert db.session.get(Application, app_id).submitted_at is not None
    return app_id


def _staff(app, world):
    staff = app.test_client()
    return staff, h.login(staff, world.emails["staff"])


def _screen(staff, token, app_id, **data):
    """Post a screening after the close (screening is refused before it)."""
    with staff.application.app_context():
        closes = db.session.get(Application, app_id).competition.closes_at
    with clock.frozen(closes + timedelta(hours=1)):
        return staff.post(
            f"/apply/staff/applications/{app_id}/screen", data={"csrf_token": token, **data}
        )


def test_staff_screen_out_with_a_reason_the_applicant_sees_and_is_mailed(
    app, client, world, submitted
):
    staff, token = _staff(app, world)
    listing = h.text(staff.get("/apply/staff/applications"))
    assert "Bridgeport Elementary" in listing and "screen" in listing
    assert staff.get(f"/apply/staff/applications/{submitted}/screen").status_code == 200
    response = _screen(
        staff, token, submitted, eligible="no", reason="Missing the superintendent's signature"
    )
    assert response.status_code == 302
    home = h.text(client.get("/apply/"))
    assert (
        "Screened out: ineligible" in home
        and "Reason: Missing the superintendent's signature" in home
    )
    view = h.text(client.get(f"/apply/applications/{submitted}"))
    assert (
        "screened this application as <strong>ineligible</strong>" in view
        and "Missing the superintendent's signature" in view
    )
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "application.screen")
        )
        assert event.before["eligible"] is True and event.before["ineligible_reason"] is None
        assert event.before["screened"] is False
        assert event.after["eligible"] is False and event.after["screened"] is True
        assert event.after["ineligible_reason"] == "Missing the superintendent's signature"
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.subject.contains("ineligible"))
        )
        message_id = message.id
    sink = h.SmtpSink().start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
        with app.app_context():
            mail.deliver(message_id)
            db.session.commit()
        [sent] = sink.to(world.emails["applicant"])
        assert "Missing the superintendent's signature" in sink.body(sent)
    finally:
        sink.stop()
    # Screened back in: the reason goes away.
    assert _screen(staff, token, submitted, eligible="yes", reason="").status_code == 302
    assert "Submitted — under review" in h.text(client.get("/apply/"))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"eligible": "no", "reason": ""}, "Give the reason; the applicant will see it."),
        ({"eligible": "no", "reason": "   "}, "Give the reason; the applicant will see it."),
        ({"eligible": "maybe", "reason": "x"}, "Not a valid choice"),
        ({"reason": "x"}, "Choose eligible or ineligible."),
        ({"eligible": "no", "reason": "r" * 501}, "Keep the reason to 500 characters."),
        ({"eligible": "no", "reason": "bad\x00reason"}, "Remove the invisible control characters"),
    ],
)
def test_screening_bad_input_is_refused_and_nothing_changes(app, world, submitted, data, message):
    staff, token = _staff(app, world)
    state, counts = h.application_state(app, submitted), h.row_counts(app)
    response = _screen(staff, token, submitted, **data)
    assert response.status_code == 400 and message in h.text(response)
    assert h.application_state(app, submitted) == state and h.row_counts(app) == counts


def test_only_submitted_applications_are_screened(app, client, world):
    token = h.login(client, world.emails["applicant"])
    draft = h.create_draft(client, world, token)
    staff, staff_token = _staff(app, world)
    response = _screen(staff, staff_token, draft, eligible="no", reason="x")
    assert response.status_code == 409 and "Only submitted applications are screened" in h.text(
        response
    )


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_screening_is_for_staff_only(app, world, submitted, who):
    other = app.test_client()
    token = h.login(other, world.emails[who])
    assert other.get("/apply/staff/applications").status_code == 403
    assert _screen(other, token, submitted, eligible="no", reason="x").status_code == 403
    assert h.application_state(app, submitted)["eligible"] is True


# --- Decisions and comments ---------------------------------------------------------------------


def _review(
    app, app_id, reviewer_email, *, comment, criterion_comment, status=ReviewStatus.SUBMITTED
):
    with app.app_context():
        reviewer = db.session.scalar(select(User).where(User.email == reviewer_email))
        if reviewer is None:
            reviewer = h.person(Role.REVIEWER, reviewer_email)
        review = Review(
            application_id=app_id,
            reviewer_id=reviewer.id,
            status=status,
            overall_comment=comment,
            submitted_at=utcnow() if status == ReviewStatus.SUBMITTED else None,
        )
        for criterion in db.session.scalars(select(Criterion).order_by(Criterion.id)):
            review.scores.append(
                CriterionScore(
                    criterion=criterion,
                    points=criterion.max_points,
                    max_points=criterion.max_points,
                    comment=criterion_comment if criterion.key == "need.data" else None,
                )
            )
        db.session.add(review)
        db.session.commit()


def _publish(app, world, app_id, *, status="funded", award="150000.00", override=None):
    """Insert a published decision through the models (the path issue #6's publish_run leaves)."""
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == world.emails["staff"]))
        approver = h.person(Role.STAFF, f"approver{app_id}@sde.example.org", can_approve=True)
        run = RankingRun(
            competition_id=world.competition_id,
            status=RunStatus.DONE,
            total_funds=Decimal("1200000"),
        )
        db.session.add(run)
        db.session.flush()
        a = db.session.get(Application, app_id)
        db.session.add(
            RankingResult(
                run_id=run.id,
                application_id=app_id,
                position=1,
                ref=a.ref,
                school_code=a.school.code,
                district_code="015",
                tier=1,
                reviews=2,
                review_scores=[90.0, 80.0],
                base=Decimal(85),
                priority_points=Decimal(0),
                final=Decimal(85),
                sections={},
                rank=1,
                flags=[],
                status=status,
                award=Decimal(award),
                reason=None,
                explanation={},
            )
        )
        if override:
            db.session.add(
                AwardOverride(
                    run_id=run.id,
                    application_id=app_id,
                    decided_by_id=staff.id,
                    justification="Board decision",
                    **override,
                )
            )
        db.session.add(
            AwardSlate(
                competition_id=world.competition_id,
                run_id=run.id,
                status=SlateStatus.PUBLISHED,
                prepared_by_id=staff.id,
                approved_by_id=approver.id,
                approved_at=utcnow(),
                published_by_id=staff.id,
                published_at=utcnow(),
            )
        )
        db.session.commit()


def test_before_publication_the_applicant_sees_under_review_and_no_comments(
    app, client, world, submitted
):
    with app.app_context():
        db.session.get(Competition, world.competition_id).comments_visible_to_applicants = True
        db.session.commit()
    _review(
        app,
        submitted,
        world.emails["reviewer"],
        comment="Strong plan overall",
        criterion_comment="Good data",
    )
    view = h.text(client.get(f"/apply/applications/{submitted}"))
    assert "Submitted — under review" in view and "Reviewers are scoring" in view
    assert "Strong plan overall" not in view and "Decision" not in view


def test_after_publication_the_decision_and_award_are_shown(app, client, world, submitted):
    _publish(app, world, submitted, status="partially_funded", award="120000.00")
    home = h.text(client.get("/apply/"))
    assert "Awarded in part" in home and "Award $120,000.00" in home
    view = h.text(client.get(f"/apply/applications/{submitted}"))
    assert (
        "Awarded in part" in view and "$120,000.00" in view and "decided by exception" not in view
    )


def test_an_override_is_what_the_applicant_sees_marked_as_an_exception(
    app, client, world, submitted
):
    _publish(
        app,
        world,
        submitted,
        status="waitlisted",
        award="0.00",
        override={"status": "funded", "amount": Decimal("100000.00")},
    )
    view = h.text(client.get(f"/apply/applications/{submitted}"))
    assert "Awarded" in view and "$100,000.00" in view and "decided by exception" in view
    assert "Not funded (waitlist)" not in view


@pytest.mark.parametrize("visible", [False, True])
def test_reviewer_comments_only_where_allowed_and_never_who_wrote_them(
    app, client, world, submitted, visible
):
    with app.app_context():
        db.session.get(Competition, world.competition_id).comments_visible_to_applicants = visible
        db.session.commit()
    _review(
        app,
        submitted,
        world.emails["reviewer"],
        comment="Strong plan overall",
        criterion_comment="Good data use",
    )
    _review(
        app, submitted, "riley.secret@example.org", comment="Clear goals", criterion_comment=None
    )
    _review(
        app,
        submitted,
        "drafty@example.org",
        comment="DRAFT NOT FOR APPLICANT",
        criterion_comment="draft note",
        status=ReviewStatus.DRAFT,
    )
    _publish(app, world, submitted)
    view = h.text(client.get(f"/apply/applications/{submitted}"))
    assert ("Strong plan overall" in view) is visible and ("Clear goals" in view) is visible
    assert ("Good data use" in view) is visible
    if visible:
        assert "Reviewer 1" in view and "Reviewer 2" in view and "Use of data" in view
    for secret in (
        "DRAFT NOT FOR APPLICANT",
        "draft note",
        "riley.secret",
        "reviewer@example.org",
        "Test reviewer",
        "drafty",
    ):
        assert secret not in view


def test_another_districts_decision_and_data_never_show(app, client, world, submitted):
    other = app.test_client()
    token = h.login(other, world.emails["other"])
    with app.app_context():  # Hartford's school becomes eligible so Hartford can apply too
        db.session.get(Competition, world.competition_id).alliance_only = False
        db.session.commit()
    hartford_id = h.create_draft(
        other,
        world,
        token,
        school=str(world.other_school_id),
        title="Hartford secret plan",
        requested_amount="123,456.00",
        b_100_1="123456",
        b_100_2="",
        b_300_1="",
        note_300="",
    )
    _publish(app, world, submitted)
    home = h.text(client.get("/apply/"))
    assert "Hartford" not in home and "123,456" not in home
    assert client.get(f"/apply/applications/{hartford_id}").status_code == 404
    other_home = h.text(other.get("/apply/"))
    assert "Bridgeport" not in other_home and "Awarded" not in other_home


def test_no_withdrawal_once_the_decision_is_published(app, client, world, submitted):
    _publish(app, world, submitted)
    assert "Withdraw" not in h.text(client.get(f"/apply/applications/{submitted}"))
    token = csrf_token_from(client.get("/accounts/forgot").get_data(as_text=True))
    response = client.post(
        f"/apply/applications/{submitted}/withdraw", data={"csrf_token": token, "confirm": "y"}
    )
    assert response.status_code == 409 and "decision on this application is published" in h.text(
        response
    )
    assert h.application_state(app, submitted)["status"].value == "submitted"
