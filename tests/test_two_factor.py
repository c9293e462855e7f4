"""Two-factor sign-in (issue 12 §10): whoever may approve or publish signs in with a password AND
a code; enrolment, single-use codes, recovery codes, and a reset by another staff member."""

from __future__ import annotations

import hashlib
import re

import pyotp
import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import AuditEvent, RecoveryCode, Role, User
from scoring.services.accounts import users
from tests import factories
from tests.conftest import AuthActions, csrf_token_from, totp_step

APPROVER = "approver@example.org"
PREPARER = "preparer@example.org"
REVIEWER = "reviewer@example.org"


@pytest.fixture
def people(any_app):
    with any_app.app_context():
        factories.user(Role.STAFF, APPROVER, can_approve=True)
        factories.user(Role.STAFF, PREPARER)
        factories.user(Role.REVIEWER, REVIEWER)
        db.session.commit()
    return any_app


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _user(app, email: str) -> User:
    with app.app_context():
        user = users.find_by_email(email)
        db.session.expunge(user)
        return user


def _enrolled(app, email: str) -> AuthActions:
    """A client of ``email`` that set up two-factor sign-in (and is signed in)."""
    client = app.test_client()
    actions = AuthActions(client)
    assert actions.login(email, factories.PASSWORD).status_code == 302
    return actions


def test_an_approver_cannot_sign_in_with_a_password_alone(people):
    app = people
    # Not enrolled yet: the right password leads to enrolment, and nothing else opens.
    client = app.test_client()
    first = AuthActions(client).password(APPROVER, factories.PASSWORD)
    assert first.status_code == 302 and first.headers["Location"] == "/accounts/two-factor"
    for url in ("/staff/", "/staff/audit", "/accounts/invite", "/accounts/security"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "user.login" not in _actions(app)
    # Enrolled: the right password leads to the code step, and still nothing else opens.
    _enrolled(app, APPROVER).logout()
    client = app.test_client()
    second = AuthActions(client).password(APPROVER, factories.PASSWORD)
    assert second.status_code == 302 and second.headers["Location"] == "/login/code"
    for url in ("/staff/", "/accounts/two-factor", "/accounts/security"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get("/staff/", follow_redirects=True).get_data(as_text=True)
    assert "Sign in" in page and "Competitions" not in page


def test_every_staff_member_needs_it_because_any_may_publish(people):
    # services/decisions/permissions.py: every staff member may publish an approved list.
    response = AuthActions(people.test_client()).password(PREPARER, factories.PASSWORD)
    assert response.headers["Location"] == "/accounts/two-factor"
    reviewer = AuthActions(people.test_client()).password(REVIEWER, factories.PASSWORD)
    assert reviewer.headers["Location"] == "/review/"  # optional for reviewers


def test_enrolment_takes_effect_only_after_a_right_code(people):
    app = people
    client = app.test_client()
    AuthActions(client).password(APPROVER, factories.PASSWORD)
    page = client.get("/accounts/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn on the server
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert _user(app, APPROVER).totp_secret is None  # shown, not in force
    token = csrf_token_from(page)
    wrong = client.post("/accounts/two-factor", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 400 and "not the code your app shows" in wrong.get_data(True)
    assert _user(app, APPROVER).totp_secret is None
    assert client.get("/staff/").status_code == 302
    done = client.post(
        "/accounts/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.get_data(True))
    assert len(set(codes)) == 10
    assert client.get("/staff/").status_code == 200  # signed in now
    with app.app_context():
        stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
        user = users.find_by_email(APPROVER)
        assert user.totp_secret == secret and user.totp_pending_secret is None
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert _actions(app)[-3:] == ["user.2fa_failed", "user.2fa_enrol", "user.login"]


def test_a_code_works_once(people):
    app = people
    _enrolled(app, APPROVER)
    other = app.test_client()
    AuthActions(other).password(APPROVER, factories.PASSWORD)
    with app.app_context():
        user = users.find_by_email(APPROVER)
        replay = pyotp.TOTP(user.totp_secret).generate_otp(user.totp_last_counter)
    response = other.post(
        "/login/code",
        data={"code": replay, "csrf_token": csrf_token_from(other.get("/login/code").text)},
    )
    assert response.status_code == 400 and "already used" in response.get_data(True)
    assert other.get("/staff/").status_code == 302
    assert _actions(app)[-1] == "user.2fa_failed"
    assert AuthActions(other).code(APPROVER).status_code == 302  # the next code works
    assert other.get("/staff/").status_code == 200


def _recovery_codes(app, email: str) -> list[str]:
    """Enrol ``email`` by hand and return the recovery codes the page showed."""
    client = app.test_client()
    AuthActions(client).password(email, factories.PASSWORD)
    page = client.get("/accounts/two-factor").get_data(as_text=True)
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post(
        "/accounts/two-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token_from(page)},
    )
    return re.findall(r"<li><code>([a-z0-9-]{11})</code></li>", done.get_data(True))


def test_a_recovery_code_signs_in_once_and_is_audited(people):
    app = people
    codes = _recovery_codes(app, APPROVER)
    client = app.test_client()
    AuthActions(client).password(APPROVER, factories.PASSWORD)
    first = AuthActions(client).code(APPROVER, code=codes[3].upper(), follow=True)
    assert "recovery code" in first.get_data(True) and "9 left" in first.get_data(True)
    assert _actions(app)[-2:] == ["user.2fa_recovery_used", "user.login"]
    again = app.test_client()
    AuthActions(again).password(APPROVER, factories.PASSWORD)
    refused = AuthActions(again).code(APPROVER, code=codes[3])
    assert refused.status_code == 400 and again.get("/staff/").status_code == 302


def test_too_many_wrong_codes_send_back_to_the_password(people):
    app = people
    _enrolled(app, APPROVER)
    client = app.test_client()
    AuthActions(client).password(APPROVER, factories.PASSWORD)
    token = csrf_token_from(client.get("/login/code").get_data(as_text=True))
    statuses = [
        client.post("/login/code", data={"code": "12345x", "csrf_token": token}).status_code
        for _ in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 302]
    assert client.get("/login/code").headers["Location"] == "/login"
    assert _actions(app).count("user.2fa_failed") == 5


def test_another_staff_member_resets_it_and_the_user_enrols_again(people):
    app = people
    approver = _enrolled(app, APPROVER)
    preparer = _enrolled(app, PREPARER)
    approver_id, preparer_id = _user(app, APPROVER).id, _user(app, PREPARER).id
    page = approver._client.get("/accounts/people/two-factor").get_data(as_text=True)
    token = csrf_token_from(page)
    own = approver._client.post(
        f"/accounts/people/{approver_id}/two-factor/reset", data={"csrf_token": token}
    )
    assert own.status_code == 303
    assert "cannot reset your own" in approver._client.get(own.headers["Location"]).text
    assert _user(app, APPROVER).totp_secret is not None
    done = approver._client.post(
        f"/accounts/people/{preparer_id}/two-factor/reset", data={"csrf_token": token}
    )
    assert done.status_code == 302
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.2fa_reset")
        ).one()
        assert (event.actor_id, event.entity_id) == (approver_id, preparer_id)
        assert (
            db.session.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == preparer_id))
            is None
        )
    assert preparer._client.get("/staff/").status_code == 302  # their sessions ended
    again = AuthActions(app.test_client()).password(PREPARER, factories.PASSWORD)
    assert again.headers["Location"] == "/accounts/two-factor"  # enrol again


def test_a_reviewer_may_enrol_and_then_needs_a_code(people):
    app = people
    client = app.test_client()
    AuthActions(client).login(REVIEWER, factories.PASSWORD)
    assert "Off." in client.get("/accounts/security").get_data(as_text=True)
    AuthActions(client).enrol()
    assert "recovery codes left" in client.get("/accounts/security").get_data(as_text=True)
    fresh = app.test_client()
    assert AuthActions(fresh).password(REVIEWER, factories.PASSWORD).headers["Location"] == (
        "/login/code"
    )
    with totp_step(app, REVIEWER) as code:
        assert code.isdigit()
    assert AuthActions(fresh).code(REVIEWER).headers["Location"] == "/review/"


def test_an_approver_signed_in_without_it_is_sent_to_enrol(people):
    app = people
    client = app.test_client()
    AuthActions(client).login(REVIEWER, factories.PASSWORD)
    with app.app_context():  # made staff while signed in
        user = users.find_by_email(REVIEWER)
        user.role, user.can_approve = Role.STAFF, True
        db.session.commit()
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/two-factor"


def test_new_recovery_codes_need_a_current_app_code_and_replace_the_old(people):
    app = people
    old = _recovery_codes(app, APPROVER)
    client = app.test_client()
    AuthActions(client).password(APPROVER, factories.PASSWORD)
    AuthActions(client).code(APPROVER, code=old[0])  # signed in with a recovery code
    page = client.get("/accounts/security").get_data(as_text=True)
    assert "Make new recovery codes" in page
    # A recovery code is not enough to make more, and a wrong attempt is audited.
    refused = client.post(
        "/accounts/security/recovery-codes",
        data={"code": old[1], "csrf_token": csrf_token_from(page)},
    )
    assert refused.status_code == 400 and "not the code your app shows" in refused.get_data(True)
    assert _actions(app)[-1] == "user.2fa_failed"
    with totp_step(app, APPROVER) as code:
        done = client.post(
            "/accounts/security/recovery-codes",
            data={"code": code, "csrf_token": csrf_token_from(page)},
        )
    assert done.status_code == 200 and "Your new recovery codes" in done.get_data(True)
    new = re.findall(r"<li><code>([a-z0-9-]{11})</code></li>", done.get_data(True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _actions(app)[-1] == "user.2fa_recovery_renewed"
    # The old codes no longer sign in; a new one does.
    again = app.test_client()
    AuthActions(again).password(APPROVER, factories.PASSWORD)
    assert AuthActions(again).code(APPROVER, code=old[2]).status_code == 400
    assert AuthActions(again).code(APPROVER, code=new[0]).status_code == 302
    assert again.get("/staff/").status_code == 200
