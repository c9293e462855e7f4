"""The reviewer roster: invitation by real SMTP to a first sign-in, bad input, deactivation,
district conflicts."""

from __future__ import annotations

import re

import pytest

from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    AuditEvent,
    OutboxMessage,
    Review,
    ReviewerAssignment,
    ReviewerConflict,
    ReviewStatus,
    Role,
    User,
)
from tests import factories
from tests import review_support as rs
from tests.conftest import AuthActions, csrf_token_from


@pytest.fixture
def world(app, client):
    world = rs.build(app)
    rs.login(client, world.emails["staff"])
    return world


@pytest.fixture
def mails(monkeypatch):
    from workers import tasks

    return rs.capture_delays(monkeypatch, tasks.send_mail)


@pytest.fixture
def smtp(app):
    server = rs.Smtp()
    server.controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.controller.stop()


def _users(app):
    with app.app_context():
        return sorted(u.email for u in db.session.scalars(db.select(User)))


def test_an_invited_reviewer_gets_a_link_by_smtp_chooses_a_password_and_signs_in(
    app, client, world, mails, smtp
):
    from workers.tasks import send_mail

    response = rs.post(
        client,
        "/staff/panel/reviewers",
        {
            "name": "Morgan Marker",
            "email": "Morgan@Example.org",
            "district": str(world.districts["093"]),
        },
        token_from="/staff/panel/reviewers",
    )
    assert response.status_code == 302
    with app.app_context():
        person = db.session.scalar(db.select(User).filter_by(email="morgan@example.org"))
        assert person.role == Role.REVIEWER and person.password_hash is None
        assert person.district_id == world.districts["093"]
        assert (
            db.session.scalar(db.select(AuditEvent).filter_by(action="reviewer.invite")).entity_id
            == person.id
        )
    assert len(mails) == 1
    send_mail(mails[0][0])  # the task, in-process, after the view's commit
    assert len(smtp.received) == 1
    message = smtp.received[0]
    assert message["To"] == "morgan@example.org" and "invited to review" in message["Subject"]
    link = re.search(
        r"https://grants.example.test(/accounts/password/\S+)", message.get_content()
    ).group(1)
    newcomer = app.test_client()
    page = newcomer.get(link, follow_redirects=True)
    assert page.status_code == 200
    done = newcomer.post(
        "/accounts/password",
        data={
            "password": "a long new password",
            "confirm": "a long new password",
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert done.status_code == 302
    signed_in = AuthActions(newcomer).login("morgan@example.org", "a long new password")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/review/"
    assert newcomer.get(link).status_code == 400  # the link works once


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"name": "", "email": "x@example.org", "district": "None"},
            "Enter the reviewer&#39;s name.",
        ),
        ({"name": "X", "email": "", "district": "None"}, "Enter an email address."),
        (
            {"name": "X", "email": "not-an-email", "district": "None"},
            "Enter an email address like name@example.org.",
        ),
        ({"name": "X", "email": "r3@example.org", "district": "None"}, "Already has an account."),
        ({"name": "X", "email": "R3@EXAMPLE.ORG", "district": "None"}, "Already has an account."),
        (
            {"name": "X", "email": "x@example.org", "district": "abc"},
            "Choose a district from the list, or none.",
        ),
        (
            {"name": "X", "email": "x@example.org", "district": "99999"},
            "Choose a district from the list, or none.",
        ),
        (
            {"name": "X" * 201, "email": "x@example.org", "district": "None"},
            "Field cannot be longer than 200",
        ),
    ],
)
def test_bad_invitations_are_refused_beside_the_field(app, client, world, mails, data, message):
    before = _users(app)
    response = rs.post(client, "/staff/panel/reviewers", data, token_from="/staff/panel/reviewers")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _users(app) == before and mails == []


def test_deactivation_ends_sessions_blocks_sign_in_and_releases_unfinished_work(app, client, world):
    draft = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    submitted = rs.submitted_review(app, world.apps["SIG-003"], world.users["r3"], [5, 2, 9])
    reviewer = app.test_client()
    rs.login(reviewer, world.emails["r3"])
    assert reviewer.get("/review/").status_code == 200
    url = f"/staff/panel/reviewers/{world.users['r3']}"
    response = rs.post(client, url + "/deactivate", token_from=url)
    assert response.status_code == 302
    assert "1 unfinished assignment(s) released" in client.get(url).get_data(as_text=True)
    gone = reviewer.get("/review/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    assert (
        AuthActions(app.test_client()).login(world.emails["r3"], factories.PASSWORD).status_code
        == 200
    )
    with app.app_context():
        assert db.session.get(ReviewerAssignment, draft).status == AssignmentStatus.REMOVED
        assert db.session.get(Review, submitted).status == ReviewStatus.SUBMITTED
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="user.deactivate"))
        assert event.after == {"active": False, "released_assignments": 1}
    assert "deactivated" in client.get("/staff/panel/reviewers").get_data(as_text=True)
    assert rs.post(client, url + "/reactivate", token_from=url).status_code == 302
    assert (
        AuthActions(app.test_client()).login(world.emails["r3"], factories.PASSWORD).status_code
        == 302
    )


def test_district_conflicts_are_recorded_respected_and_removable(app, client, world):
    url = f"/staff/panel/reviewers/{world.users['r3']}"
    response = rs.post(
        client,
        url + "/conflicts",
        {"district": str(world.districts["093"]), "reason": "Spouse"},
        token_from=url,
    )
    assert response.status_code == 302
    again = rs.post(
        client, url + "/conflicts", {"district": str(world.districts["093"])}, token_from=url
    )
    assert again.status_code == 400 and "New Haven is already listed." in again.get_data(
        as_text=True
    )
    bad = rs.post(client, url + "/conflicts", {"district": "zz"}, token_from=url)
    assert bad.status_code == 400 and "Choose a district from the list." in bad.get_data(
        as_text=True
    )
    preview = client.get(f"/staff/panel/c/{world.competition}/assign").get_data(as_text=True)
    sig3 = re.search(r"<td data-label=\"Application\">SIG-003</td>.*?</tr>", preview, re.S).group(0)
    assert "Jordan Three" not in sig3
    with app.app_context():
        conflict_id = db.session.scalar(
            db.select(ReviewerConflict.id).filter_by(user_id=world.users["r3"])
        )
    assert (
        rs.post(client, f"{url}/conflicts/{conflict_id}/delete", token_from=url).status_code == 302
    )
    with app.app_context():
        actions = [
            e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert (
        actions[-2:] == ["reviewer.conflict_add", "reviewer.conflict_remove"]
        or actions.count("reviewer.conflict_add") == 1
        and actions[-1] == "reviewer.conflict_remove"
    )


def test_a_new_invitation_link_only_before_a_password_is_set(app, client, world, mails):
    url = f"/staff/panel/reviewers/{world.users['r3']}"
    assert rs.post(client, url + "/resend", token_from=url).status_code == 409
    rs.post(
        client,
        "/staff/panel/reviewers",
        {"name": "New One", "email": "new@example.org", "district": "None"},
        token_from="/staff/panel/reviewers",
    )
    with app.app_context():
        uid = db.session.scalar(db.select(User.id).filter_by(email="new@example.org"))
    assert (
        rs.post(client, f"/staff/panel/reviewers/{uid}/resend", token_from=url).status_code == 302
    )
    with app.app_context():
        bodies = [
            m.body for m in db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    first, second = (re.search(r"/accounts/password/(\S+)", b).group(0) for b in bodies)
    assert first != second
    assert client.get(first).status_code == 400 and app.test_client().get(second).status_code == 302
    assert len(mails) == 2
