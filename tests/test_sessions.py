"""Per-device sessions (issue 13 §1, issue 12 §9): signing in elsewhere never ends a session;
logout ends this one, "sign out everywhere" all, a password change all others, deactivation all;
idle (30 min) and absolute (12 h) timeouts enforced on the server from the row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import AuditEvent, Role, UserSession
from scoring.services.accounts import users
from scoring.services.reviews import reviewers
from tests import factories
from tests.conftest import AuthActions, csrf_token_from

WRITER = "grants@bridgeport.example.org"
STAFF = "staff@example.org"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def app(any_app):
    with any_app.app_context():
        factories.user(Role.APPLICANT, WRITER, d=factories.district())
        factories.user(Role.REVIEWER, "reviewer@example.org")
        factories.user(Role.STAFF, STAFF)
        db.session.commit()
    return any_app


def _browser(app, email=WRITER, agent=FIREFOX, address="192.0.2.10"):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    assert AuthActions(client).login(email, factories.PASSWORD).status_code == 302
    return client


def _home(email=WRITER) -> str:
    return "/staff/" if email == STAFF else "/apply/"


def _in(client, email=WRITER) -> bool:
    return client.get(_home(email)).status_code == 200


def _post(client, url, **data):
    token = csrf_token_from(client.get("/accounts/security").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _rows(app, email=WRITER) -> list[UserSession]:
    with app.app_context():
        user = users.find_by_email(email)
        rows = db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_signing_in_elsewhere_never_ends_another_session(app):
    first = _browser(app)
    second = _browser(app, agent=PHONE, address="198.51.100.7")
    assert _in(first) and _in(second)
    page = second.get("/accounts/security").get_data(as_text=True)
    assert "Firefox on Windows" in page and "192.0.2.10" in page
    assert "Safari on iPhone" in page and "This device" in page
    rows = _rows(app)
    assert len(rows) == 2 and all(r.ended_at is None for r in rows)
    assert all(len(r.secret_hash) == 64 for r in rows)  # a hash, never the secret


def test_logout_ends_this_session_only_and_a_copied_cookie_is_dead(app):
    first, second = _browser(app), _browser(app)
    cookie = first.get_cookie("session").value
    AuthActions(first).logout()
    assert not _in(first) and _in(second)
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/apply/").status_code == 302  # the row is ended: the cookie is worthless
    assert [r.end_reason for r in _rows(app)] == ["logout", None]


def test_sign_out_everywhere_ends_every_session(app):
    first, second = _browser(app), _browser(app)
    response = _post(second, "/accounts/sessions/end-all")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _in(first) and not _in(second)
    assert [r.end_reason for r in _rows(app)] == ["everywhere", "everywhere"]
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent.after).where(AuditEvent.action == "session.end_all")
        ) == {"reason": "everywhere", "ended": 2, "kept": None}


def test_ending_one_other_session_from_the_list(app):
    first, second = _browser(app), _browser(app, agent=PHONE)
    phone = _rows(app)[1].id
    assert _post(first, f"/accounts/sessions/{phone}/end").status_code == 302
    assert _in(first) and not _in(second)
    other = _browser(app, email=STAFF)  # someone else's session is not yours to end
    assert _post(other, f"/accounts/sessions/{_rows(app)[0].id}/end").status_code == 404
    assert _in(first)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    first, second = _browser(app), _browser(app)
    new = "a brand new passphrase 2026"
    wrong = _post(
        second,
        "/accounts/security/password",
        current="not my password",
        password=new,
        confirm=new,
    )
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(True)
    assert _in(first)
    done = _post(
        second,
        "/accounts/security/password",
        current=factories.PASSWORD,
        password=new,
        confirm=new,
    )
    assert done.status_code == 302
    assert _in(second) and not _in(first)
    assert [r.end_reason for r in _rows(app)] == ["password", None]
    assert AuthActions(app.test_client()).password(WRITER, new).status_code == 302


def test_deactivation_ends_every_session(app):
    reviewer = _browser(app, email="reviewer@example.org")
    assert reviewer.get("/review/").status_code == 200
    with app.app_context():
        person = users.find_by_email("reviewer@example.org")
        reviewers.deactivate(person, actor=users.find_by_email(STAFF))
        db.session.commit()
    assert reviewer.get("/review/").status_code == 302
    assert {r.end_reason for r in _rows(app, "reviewer@example.org")} == {"deactivated"}


def test_an_idle_session_ends_after_30_minutes_on_the_server(app):
    client = _browser(app)
    start = clock.now()
    with clock.frozen(start + timedelta(minutes=29)):
        assert _in(client)
    with clock.frozen(start + timedelta(minutes=29 + 31)):
        response = client.get("/apply/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "without activity" in page
    assert [r.end_reason for r in _rows(app)] == ["idle"]
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent.after).where(AuditEvent.action == "session.end")
        )["reason"] == ("idle")


def test_a_busy_session_still_ends_12_hours_after_sign_in(app):
    client = _browser(app)
    start = clock.now()
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes: never idle
        with clock.frozen(start + timedelta(minutes=minutes)):
            assert _in(client), minutes
    with clock.frozen(start + timedelta(hours=12, minutes=1)):
        assert not _in(client)
    assert [r.end_reason for r in _rows(app)] == ["expired"]


def test_last_seen_is_written_at_most_once_a_minute(app):
    client = _browser(app)
    signed_in = _rows(app)[0].last_seen_at
    start = clock.now()
    with clock.frozen(start + timedelta(seconds=30)):
        assert _in(client)
    assert _rows(app)[0].last_seen_at == signed_in
    with clock.frozen(start + timedelta(seconds=90)):
        assert _in(client)
    assert _rows(app)[0].last_seen_at > signed_in


def test_staff_sessions_are_per_device_too(app):
    first = _browser(app, email=STAFF)
    second = _browser(app, email=STAFF)
    assert _in(first, STAFF) and _in(second, STAFF)
