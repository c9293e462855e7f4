"""A round held to its calendar (issue 10): the phase derived in one place, the window enforced
by the server clock (with a documented extension), screening of eligibility, tier and
priorities (used by the ranking), and no official ranking, approval or publication before the
close and the screening. What-if runs stay allowed at any time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from scoring import clock
from scoring.errors import Conflict
from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    AwardSlate,
    Competition,
    RankingResult,
    SlateStatus,
    User,
)
from scoring.services import ranking
from scoring.services.competitions.phases import phase_of
from scoring.services.decisions import publication
from tests import apply_helpers as h
from tests.staff_world import APPROVER2, PREPARER, build, login, post, text_of


@pytest.fixture
def world(app):
    # these tests move the clock by days; how long a session lasts is not what they test
    app.config.update(SESSION_IDLE_MINUTES=10**7, SESSION_ABSOLUTE_HOURS=10**6)
    return h.make_world(app)


def _close(app, world):
    with app.app_context():
        return db.session.get(Competition, world.competition_id).closes_at


def _submitted(app, client, world, token, **over) -> int:
    return h.submit_new(client, world, token, **over)


def _staff(app, world):
    staff = app.test_client()
    return staff, h.login(staff, world.emails["staff"])


def _queue(app, world, **overrides):
    with app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        actor = db.session.scalar(select(User).where(User.email == world.emails["staff"]))
        run = ranking.create_run(competition, actor=actor, overrides=overrides or None)
        db.session.commit()
        return run.id


def _phase(app, world) -> str:
    with app.app_context():
        return phase_of(db.session.get(Competition, world.competition_id), clock.now()).key


def test_the_round_follows_its_calendar(any_app):
    """Submit inside the window; late refused; official ranking refused before the close and
    before screening (what-if allowed); screening makes it possible; phases shown. On SQLite
    and PostgreSQL."""
    app = any_app
    # these tests move the clock by days; how long a session lasts is not what they test
    app.config.update(SESSION_IDLE_MINUTES=10**7, SESSION_ABSOLUTE_HOURS=10**6)
    world = h.make_world(app)
    client = app.test_client()
    token = h.login(client, world.emails["applicant"])
    app_id = _submitted(app, client, world, token)
    late_draft = h.create_draft(client, world, token, school=str(world.school2_id))
    assert _phase(app, world) == "open"
    page = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "Phase: Open for applications" in page

    with pytest.raises(Conflict, match="only after the close"):
        _queue(app, world)
    assert _queue(app, world, min_score="10")  # a what-if run is allowed at any time

    closes = _close(app, world)
    with clock.frozen(closes + timedelta(hours=1)):
        response = client.post(
            f"/apply/applications/{late_draft}",
            data=h.valid_form(
                world, csrf_token=token, submit_app="1", school=str(world.school2_id)
            ),
        )
        assert response.status_code == 409 and "has passed" in h.text(response)
        assert h.application_state(app, late_draft)["status"] == ApplicationStatus.DRAFT
        assert _phase(app, world) == "closed"
        with pytest.raises(Conflict, match="Screening is not complete: 1 submitted"):
            _queue(app, world)

        staff, staff_token = _staff(app, world)
        listing = h.text(staff.get(f"/apply/staff/applications?competition={world.competition_id}"))
        assert "Phase: Closed" in listing and "not screened" in listing
        form = h.text(staff.get(f"/apply/staff/applications/{app_id}/screen"))
        assert f'name="priority_{world.priority_id}"' in form and "claimed" in form
        response = staff.post(
            f"/apply/staff/applications/{app_id}/screen",
            data={
                "csrf_token": staff_token,
                "eligible": "yes",
                "reason": "",
                "tier": "2",
                f"priority_{world.priority_id}": "confirm",
            },
        )
        assert response.status_code == 302
        assert _phase(app, world) == "in_review"
        run_id = _queue(app, world)
        from workers.tasks import rank_competition

        rank_competition(run_id)
        with app.app_context():
            result = db.session.scalar(
                select(RankingResult).where(
                    RankingResult.run_id == run_id, RankingResult.application_id == app_id
                )
            )
            # the confirmed "turnaround" priority is worth 5 points; the tier is the screened one
            assert result.priority_points == Decimal(5) and result.tier == 2
        assert _phase(app, world) == "ranked"


def test_a_refused_priority_earns_nothing_and_the_applicant_sees_why(app, client, world):
    token = h.login(client, world.emails["applicant"])
    app_id = _submitted(app, client, world, token)
    staff, staff_token = _staff(app, world)
    with clock.frozen(_close(app, world) + timedelta(minutes=5)):
        refused = staff.post(
            f"/apply/staff/applications/{app_id}/screen",
            data={
                "csrf_token": staff_token,
                "eligible": "yes",
                "tier": "1",
                f"priority_{world.priority_id}": "refuse",
            },
        )
        assert refused.status_code == 400 and "Give the reason for refusing" in h.text(refused)
        with app.app_context():
            assert db.session.get(Application, app_id).screened_at is None  # nothing half-written
        ok = staff.post(
            f"/apply/staff/applications/{app_id}/screen",
            data={
                "csrf_token": staff_token,
                "eligible": "yes",
                "tier": "1",
                f"priority_{world.priority_id}": "refuse",
                f"priority_{world.priority_id}_reason": "Not on the state's Turnaround list.",
            },
        )
        assert ok.status_code == 302
        run_id = _queue(app, world)
        from workers.tasks import rank_competition

        rank_competition(run_id)
        with app.app_context():
            result = db.session.scalar(select(RankingResult).where(RankingResult.run_id == run_id))
            assert result.priority_points == Decimal(0)
            event = db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "application.screen")
            )
            assert event.after["priorities"]["turnaround"]["refused_reason"] == (
                "Not on the state's Turnaround list."
            )


def test_staff_add_a_missed_priority_and_bulk_confirm_as_claimed(app, client, world):
    token = h.login(client, world.emails["applicant"])
    first = _submitted(app, client, world, token, priorities=None)  # claims nothing
    second = _submitted(app, client, world, token, school=str(world.school2_id))
    staff, staff_token = _staff(app, world)
    with clock.frozen(_close(app, world) + timedelta(minutes=5)):
        added = staff.post(
            f"/apply/staff/applications/{first}/screen",
            data={
                "csrf_token": staff_token,
                "eligible": "yes",
                "tier": "1",
                f"priority_{world.priority_id}": "confirm",
            },
        )
        assert added.status_code == 302
        bulk = staff.post(
            "/apply/staff/applications/confirm",
            data={"csrf_token": staff_token, "applications": [str(second)]},
        )
        assert bulk.status_code == 302
        with app.app_context():
            a1, a2 = db.session.get(Application, first), db.session.get(Application, second)
            assert [(x.claimed, x.confirmed) for x in a1.priority_links] == [(False, True)]
            assert [(x.claimed, x.confirmed) for x in a2.priority_links] == [(True, True)]
            assert a1.screened_at and a2.screened_at
        listing = h.text(staff.get("/apply/staff/applications"))
        assert "added by staff → confirmed" in listing and "claimed → confirmed" in listing


@pytest.mark.parametrize(
    "data, message",
    [
        ({"applications": []}, "Tick at least one application"),
        ({"applications": ["999999"]}, "Only submitted applications"),
        ({"applications": ["abc"]}, ""),
    ],
)
def test_bulk_confirm_bad_input_changes_nothing(app, client, world, data, message):
    token = h.login(client, world.emails["applicant"])
    _submitted(app, client, world, token)
    staff, staff_token = _staff(app, world)
    before = h.row_counts(app)
    response = staff.post(
        "/apply/staff/applications/confirm", data={"csrf_token": staff_token, **data}
    )
    assert response.status_code == 400 and message in h.text(response)
    with app.app_context():
        assert db.session.scalar(select(Application.screened_at)) is None
    assert h.row_counts(app) == before


@pytest.mark.parametrize(
    "data, message",
    [
        ({"tier": "0", "eligible": "yes"}, "The tier is a whole number from 1 to 9"),
        ({"tier": "x", "eligible": "yes"}, "Not a valid integer value"),
        ({"tier": "1", "eligible": "yes", "priority_{p}": "maybe"}, "Not a valid choice"),
    ],
)
def test_screening_bad_input_is_refused(app, client, world, data, message):
    token = h.login(client, world.emails["applicant"])
    app_id = _submitted(app, client, world, token)
    staff, staff_token = _staff(app, world)
    data = {k.format(p=world.priority_id): v for k, v in data.items()}
    with clock.frozen(_close(app, world) + timedelta(minutes=5)):
        response = staff.post(
            f"/apply/staff/applications/{app_id}/screen", data={"csrf_token": staff_token, **data}
        )
    assert response.status_code == 400 and message in h.text(response)
    with app.app_context():
        assert db.session.get(Application, app_id).screened_at is None


def test_an_extension_lets_one_application_submit_late_and_is_audited(app, client, world):
    token = h.login(client, world.emails["applicant"])
    draft = h.create_draft(client, world, token)
    staff, staff_token = _staff(app, world)
    closes = _close(app, world)
    with clock.frozen(closes + timedelta(hours=1)):
        bad = staff.post(
            f"/apply/staff/applications/{draft}/extend",
            data={"csrf_token": staff_token, "until": "2000-01-01T12:00", "reason": "Power cut."},
        )
        assert bad.status_code == 400 and "must end after now" in h.text(bad)
        short = staff.post(
            f"/apply/staff/applications/{draft}/extend",
            data={"csrf_token": staff_token, "until": "2099-01-01T12:00", "reason": "x"},
        )
        assert short.status_code == 400 and "at least 10 characters" in h.text(short)
        from scoring.staff.forms import to_local_naive

        until = to_local_naive(closes + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        ok = staff.post(
            f"/apply/staff/applications/{draft}/extend",
            data={
                "csrf_token": staff_token,
                "until": until,
                "reason": "Storm closed the district office on the closing day.",
            },
        )
        assert ok.status_code == 302
        with pytest.raises(Conflict, match="still have an extension running"):
            _queue(app, world)
        submitted = client.post(
            f"/apply/applications/{draft}",
            data=h.valid_form(world, csrf_token=token, submit_app="1"),
        )
        assert submitted.status_code == 302
        with app.app_context():
            assert db.session.get(Application, draft).status == ApplicationStatus.SUBMITTED
            event = db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "application.extend")
            )
            assert "Storm closed" in event.after["reason"]
    with clock.frozen(closes + timedelta(days=3)):  # the extension is over
        assert _phase(app, world) == "closed"  # and the late application waits for screening


def test_approval_and_publication_wait_for_the_close(app):
    """If the close moves later after a ranking, the award list cannot be approved or
    published until the new close (the server refuses, not only the button)."""
    world = build(app)
    preparer = login(app, PREPARER)
    assert post(preparer, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    with app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        competition.closes_at = clock.now() + timedelta(days=1)
        db.session.commit()
    approver = login(app, APPROVER2)
    refused = post(approver, f"/staff/runs/{world.run_id}/approve")
    assert refused.status_code == 409 and "approval is possible only after the close" in text_of(
        refused
    )
    with app.app_context():
        slate = db.session.scalar(select(AwardSlate))
        assert slate.status == SlateStatus.PREPARED
        slate.status = SlateStatus.APPROVED  # as if approved before the close moved
        db.session.commit()
        run = slate.run
        actor = db.session.scalar(select(User).where(User.email == APPROVER2))
        with pytest.raises(Conflict, match="publication is possible only after the close"):
            publication.publish_run(run, actor=actor, public_url="http://x.example")
        db.session.rollback()
        assert db.session.scalar(select(AwardSlate)).status == SlateStatus.APPROVED
