"""Screening is after the close (issue 10 §2): the service refuses it before, with the reason,
and the staff pages hide its controls; the extension of one draft is reached from the staff
list while the competition is open or closed and not ranked (issue 10 §1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scoring import clock
from scoring.errors import Conflict
from scoring.extensions import db
from scoring.models import Application, AuditEvent, Competition, User
from scoring.services import ranking
from scoring.services.applications import screening
from tests import apply_helpers as h


@pytest.fixture
def world(app):
    # these tests move the clock by days; how long a session lasts is not what they test
    app.config.update(SESSION_IDLE_MINUTES=10**7, SESSION_ABSOLUTE_HOURS=10**6)
    return h.make_world(app)


def _screens(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(AuditEvent.action == "application.screen")
        )


def _screen_data(token, world) -> dict:
    return {
        "csrf_token": token,
        "eligible": "yes",
        "tier": "2",
        f"priority_{world.priority_id}": "confirm",
    }


def test_screening_before_the_close_is_refused_and_its_controls_are_hidden(app, client, world):
    token = h.login(client, world.emails["applicant"])
    app_id = h.submit_new(client, world, token)
    staff = app.test_client()
    staff_token = h.login(staff, world.emails["staff"])
    listing = h.text(staff.get(f"/apply/staff/applications?competition={world.competition_id}"))
    assert "screening opens at the close" in listing
    assert f'id="pick-{app_id}"' not in listing and "Confirm ticked applications" not in listing
    assert f"/apply/staff/applications/{app_id}/screen" not in listing
    form = h.text(staff.get(f"/apply/staff/applications/{app_id}/screen"))
    assert "Screening starts after the close" in form and "Save screening" not in form

    state, counts = h.application_state(app, app_id), h.row_counts(app)
    refused = staff.post(
        f"/apply/staff/applications/{app_id}/screen", data=_screen_data(staff_token, world)
    )
    assert refused.status_code == 409
    assert "Screening starts after the close" in h.text(refused)
    bulk = staff.post(
        "/apply/staff/applications/confirm",
        data={"csrf_token": staff_token, "applications": [str(app_id)]},
    )
    assert bulk.status_code == 409 and "Screening starts after the close" in h.text(bulk)
    assert h.application_state(app, app_id) == state and h.row_counts(app) == counts
    assert _screens(app) == 0
    with app.app_context():  # the service holds the rule, whoever calls it
        application = db.session.get(Application, app_id)
        actor = db.session.scalar(select(User).where(User.email == world.emails["staff"]))
        with pytest.raises(Conflict, match="Screening starts after the close"):
            screening.screen(application, actor, eligible=True, reason="", now=clock.now())
        with pytest.raises(Conflict, match="Screening starts after the close"):
            screening.confirm_as_claimed([app_id], actor, clock.now())
        db.session.rollback()

    with clock.frozen(h.closes_at(app, world)):  # at the close itself screening opens
        listing = h.text(staff.get(f"/apply/staff/applications?competition={world.competition_id}"))
        assert f'id="pick-{app_id}"' in listing and "Confirm ticked applications" in listing
        assert "Save screening" in h.text(staff.get(f"/apply/staff/applications/{app_id}/screen"))
        done = staff.post(
            f"/apply/staff/applications/{app_id}/screen", data=_screen_data(staff_token, world)
        )
        assert done.status_code == 302
    assert _screens(app) == 1
    with app.app_context():
        assert db.session.get(Application, app_id).tier == 2


def _extend_links(page: str) -> list[str]:
    return re.findall(r'href="(/apply/staff/applications/(\d+)/extend)"', page)


def test_the_extension_page_is_linked_while_open_or_just_closed(app, client, world):
    token = h.login(client, world.emails["applicant"])
    submitted = h.submit_new(client, world, token)
    draft = h.create_draft(client, world, token, school=str(world.school2_id))
    staff = app.test_client()
    staff_token = h.login(staff, world.emails["staff"])
    url = f"/apply/staff/applications?competition={world.competition_id}"

    links = _extend_links(h.text(staff.get(url)))  # open
    assert [int(i) for _, i in links] == [draft]  # the draft only, never a submitted one
    page = staff.get(links[0][0])
    assert page.status_code == 200 and "Grant the extension" in h.text(page)

    closes = h.closes_at(app, world)
    with clock.frozen(closes + timedelta(hours=2)):  # closed, screening under way
        listing = h.text(staff.get(url))
        assert [int(i) for _, i in _extend_links(listing)] == [draft]
        from scoring.staff.forms import to_local_naive

        until = to_local_naive(closes + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        granted = staff.post(
            links[0][0],
            data={"csrf_token": staff_token, "until": until, "reason": "Flooded office, day 1."},
        )
        assert granted.status_code == 302
        listing = h.text(staff.get(url))
        assert "extended until" in listing and f"change the extension of {_ref(app, draft)}" in (
            listing
        )

    with clock.frozen(closes + timedelta(days=3)):  # the extension over; screened; ranked
        screened = staff.post(
            f"/apply/staff/applications/{submitted}/screen", data=_screen_data(staff_token, world)
        )
        assert screened.status_code == 302
        assert _extend_links(h.text(staff.get(url)))  # in review: still possible
        with app.app_context():
            competition = db.session.get(Competition, world.competition_id)
            run = ranking.create_run(competition)
            db.session.commit()
            ranking.execute_run(run.id)
            db.session.commit()
        listing = h.text(staff.get(url))
        assert _extend_links(listing) == [] and "No draft can be given an extension now" in listing


def _ref(app, app_id: int) -> str:
    with app.app_context():
        return db.session.get(Application, app_id).ref
