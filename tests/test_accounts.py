"""Accounts: staff invitations, choosing a password from an emailed one-time link, password
reset, login limits. Mail goes through the outbox, a real Celery worker and a real SMTP server."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from scoring import clock
from scoring.extensions import db
from scoring.models import (
    MailStatus,
    OutboxMessage,
    Role,
    TokenPurpose,
    User,
    UserToken,
)
from scoring.models._types import utcnow
from scoring.services import mail
from tests import apply_helpers as h
from tests.conftest import csrf_token_from


@pytest.fixture
def smtp():
    sink = h.SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def world(app, smtp):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    app.extensions["celery"].control.purge()  # nothing left over from other tests' apps
    return h.make_world(app)


def _invite(client, token, world, email="new.person@bridgeport.example.org", **over):
    data = {
        "email": email,
        "name": "New Person",
        "district": str(world.district_id),
        "csrf_token": token,
    }
    data.update(over)
    return client.post("/accounts/invite", data={k: v for k, v in data.items() if v is not None})


def _set_password(client, link: str, password: str, confirm: str | None = None):
    """Open the mailed link (it redirects to the token-free form) and send the form."""
    page = client.get(link, follow_redirects=True)
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    assert page.request.path == "/accounts/password"  # no token in the address bar
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/accounts/password",
        data={"password": password, "confirm": confirm or password, "csrf_token": token},
    )


def test_staff_invite_mail_link_sets_password_once_then_the_user_signs_in(app, client, world, smtp):
    token = h.login(client, world.emails["staff"])
    assert client.get("/accounts/invite").status_code == 200
    response = _invite(client, token, world)
    assert response.status_code == 302
    assert "Invitation sent to new.person@bridgeport.example.org" in client.get(
        "/accounts/invite"
    ).get_data(as_text=True)

    h.run_outbox_with_worker(app)  # the view's send_mail.delay(id), run by a real worker
    [message] = smtp.to("new.person@bridgeport.example.org")
    assert "invited" in message["Subject"]
    link = h.link_in(smtp.body(message))
    raw = link.rsplit("/", 1)[-1]
    with app.app_context():
        stored = db.session.scalars(select(UserToken)).all()
        assert [t.token_hash for t in stored] == [hashlib.sha256(raw.encode()).hexdigest()]
        assert stored[0].purpose == TokenPurpose.INVITE
        user = db.session.scalar(
            select(User).where(User.email == "new.person@bridgeport.example.org")
        )
        assert (
            user.role == Role.APPLICANT
            and user.district_id == world.district_id
            and user.password_hash is None
        )

    newcomer = app.test_client()
    assert "Welcome" in newcomer.get(link, follow_redirects=True).get_data(as_text=True)
    done = _set_password(newcomer, link, "a long enough phrase")
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    again = newcomer.get(link)
    assert again.status_code == 400 and "no longer works" in again.get_data(as_text=True)

    page = newcomer.get("/login")
    signed_in = newcomer.post(
        "/login",
        data={
            "email": "new.person@bridgeport.example.org",
            "password": "a long enough phrase",
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert signed_in.headers["Location"] == "/apply/"
    with app.app_context():
        actions = [
            e.action for e in db.session.scalars(select(h.AuditEvent).order_by(h.AuditEvent.id))
        ]
    assert "user.invite" in actions and "user.password_set" in actions


@pytest.mark.parametrize("who, expected", [("applicant", 403), ("reviewer", 403), (None, 302)])
def test_only_staff_may_invite(client, world, who, expected):
    if who:
        h.login(client, world.emails[who])
    assert client.get("/accounts/invite").status_code == expected


@pytest.mark.parametrize(
    "over, field_text",
    [
        ({"email": ""}, "Enter the person's email address."),
        ({"email": "not-an-email"}, "Enter a full email address"),
        ({"email": "a" * 250 + "@example.org"}, "Field cannot be longer than 254 characters."),
        ({"name": ""}, "Enter the person's name."),
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"district": "abc"}, "Choose the district from the list."),
        ({"district": "99999"}, "Choose the district from the list."),
        ({"district": None}, "Choose the district from the list."),
        ({"email": "nul\x00@example.org"}, "Enter a full email address"),
    ],
)
def test_invite_bad_input_is_refused_beside_the_field_and_saves_nothing(
    app, client, world, over, field_text
):
    token = h.login(client, world.emails["staff"])
    before = h.row_counts(app)
    response = _invite(client, token, world, **over)
    assert response.status_code == 400
    assert field_text in h.text(response)
    assert h.row_counts(app) == before


def test_inviting_an_existing_account_says_what_to_do(app, client, world):
    token = h.login(client, world.emails["staff"])
    before = h.row_counts(app)
    taken = _invite(client, token, world, email=world.emails["colleague"])
    assert taken.status_code == 400 and "Forgot your password?" in taken.get_data(as_text=True)
    wrong_kind = _invite(client, token, world, email=world.emails["reviewer"])
    assert wrong_kind.status_code == 400 and "another kind of account" in wrong_kind.get_data(
        as_text=True
    )
    assert h.row_counts(app) == before


def test_a_second_invitation_voids_the_first_link(app, client, world, smtp):
    token = h.login(client, world.emails["staff"])
    _invite(client, token, world)
    _invite(client, token, world)
    with app.app_context():
        for message in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            mail.deliver(message.id)
        db.session.commit()
    first, second = (h.link_in(smtp.body(m)) for m in smtp.to("new.person@bridgeport.example.org"))
    other = app.test_client()
    assert other.get(first).status_code == 400
    assert _set_password(other, second, "another good phrase").status_code == 302


def test_an_expired_link_is_refused_with_what_to_do(app, client, world, smtp):
    token = h.login(client, world.emails["staff"])
    _invite(client, token, world)
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        mail.deliver(message.id)
        db.session.scalar(select(UserToken)).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    link = h.link_in(smtp.body(smtp.messages[0]))
    response = app.test_client().get(link)
    assert response.status_code == 400
    assert "expired or was already used" in response.get_data(as_text=True)
    assert "Ask for a new link" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["x", "A" * 500, "%00", "..%2F..%2Fetc"])
def test_a_made_up_token_is_refused_not_an_error(client, world, token):
    assert client.get(f"/accounts/password/{token}").status_code in (400, 404)


def _count_statements(app, action):
    """Run ``action`` and return the SQL statements it sent to the database."""
    from sqlalchemy import event

    statements: list[str] = []

    def _seen(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _seen)
    try:
        response = action()
    finally:
        event.remove(engine, "before_cursor_execute", _seen)
    return response, statements


def test_forgot_password_answers_the_same_and_mails_only_real_accounts(app, client, world, smtp):
    """Issue 12: the page does the same work for a known and an unknown address (measured as
    the SQL it sends: none, it only queues), and the worker mails only the real account."""
    page = client.get("/accounts/forgot")
    token = csrf_token_from(page.get_data(as_text=True))

    def ask(email):
        return lambda: client.post(
            "/accounts/forgot", data={"email": email, "csrf_token": token}, follow_redirects=False
        )

    known, known_sql = _count_statements(app, ask(world.emails["applicant"]))
    unknown, unknown_sql = _count_statements(app, ask("nobody@nowhere.example.org"))
    assert known.status_code == unknown.status_code == 302
    assert known_sql == unknown_sql  # the same statements, in the same order
    assert not any("user_token" in s or "outbox" in s for s in known_sql)
    after = client.get("/accounts/forgot").get_data(as_text=True)
    assert "If an account uses that address" in after
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []  # nothing done yet
    _run_worker_until(app, lambda: smtp.to(world.emails["applicant"]))
    assert smtp.to("nobody@nowhere.example.org") == []
    [message] = smtp.to(world.emails["applicant"])
    assert "expires in 60 minutes" in smtp.body(message)


def _run_worker_until(app, done) -> None:
    """A real in-thread Celery worker runs the queued tasks until ``done()`` is true."""
    import threading

    from celery.contrib.testing.worker import start_worker

    wait = threading.Event()
    with start_worker(
        app.extensions["celery"], pool="solo", perform_ping_check=False, shutdown_timeout=30
    ):
        for _ in range(1200):
            if done():
                break
            wait.wait(0.05)
    assert done(), "the worker did not finish the queued work"


def test_reset_changes_the_password_and_ends_existing_sessions(app, client, world, smtp):
    signed_in = app.test_client()
    h.login(signed_in, world.emails["applicant"])
    assert signed_in.get("/apply/").status_code == 200
    token = csrf_token_from(client.get("/accounts/forgot").get_data(as_text=True))
    client.post("/accounts/forgot", data={"email": world.emails["applicant"], "csrf_token": token})
    _run_worker_until(app, lambda: smtp.messages)
    link = h.link_in(smtp.body(smtp.messages[0]))
    assert "new password" in client.get(link, follow_redirects=True).get_data(as_text=True)
    assert _set_password(client, link, "brand new passphrase").status_code == 302
    assert signed_in.get("/apply/").status_code == 302  # the old session is over
    with app.app_context():
        from scoring.services.accounts import users

        assert users.authenticate(world.emails["applicant"], h.PASSWORD) is None
        assert users.authenticate(world.emails["applicant"], "brand new passphrase") is not None


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("short", "short", "Use 12 to 256 characters."),
        ("aaaaaaaa", "aaaaaaaa", "Use 12 to 256 characters."),
        ("elevenchars", "elevenchars", "Use 12 to 256 characters."),
        ("password1234", "password1234", "is too common"),
        ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "is too common"),
        ("qwertyuiop123", "qwertyuiop123", "is too common"),
        ("liverpool1234", "liverpool1234", "is too common"),
        ("a good long phrase", "a different phrase", "The two passwords are not the same."),
        ("", "", "Choose a password."),
        ("x" * 257, "x" * 257, "Use 12 to 256 characters."),
    ],
)
def test_password_rules_are_explained_beside_the_field(
    app, client, world, password, confirm, message
):
    with app.app_context():
        from scoring.services.accounts import accounts

        user = db.session.scalar(select(User).where(User.email == world.emails["applicant"]))
        raw = accounts.issue_token(user, TokenPurpose.RESET)
        db.session.commit()
    before = h.row_counts(app)
    response = _set_password(client, f"/accounts/password/{raw}", password, confirm)
    assert response.status_code == 400
    assert message in h.text(response)
    assert h.row_counts(app) == before
    still = client.get(f"/accounts/password/{raw}", follow_redirects=True)
    assert still.status_code == 200  # still usable in this browser


def test_a_long_unicode_password_is_kept_verbatim(app, client, world):
    password = "Ünïcødé pässwörd ✓ " * 3 + "with spaces  "
    with app.app_context():
        from scoring.services.accounts import accounts

        user = db.session.scalar(select(User).where(User.email == world.emails["applicant"]))
        raw = accounts.issue_token(user, TokenPurpose.RESET)
        db.session.commit()
    assert _set_password(client, f"/accounts/password/{raw}", password).status_code == 302
    with app.app_context():
        from scoring.services.accounts import users

        assert users.authenticate(world.emails["applicant"], password) is not None
        assert users.authenticate(world.emails["applicant"], password.strip()) is None


def test_forgot_password_is_rate_limited_per_address(client, world):
    token = csrf_token_from(client.get("/accounts/forgot").get_data(as_text=True))
    codes = [
        client.post(
            "/accounts/forgot", data={"email": world.emails["applicant"], "csrf_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [302] * 5 + [429]


def test_login_limit_per_address_gives_the_same_words_for_unknown_and_known(client, world):
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    answers = []
    for n in range(21):
        email = world.emails["applicant"] if n in (3, 7) else f"nobody{n}@example.org"
        answers.append(
            client.post(
                "/login", data={"email": email, "password": "wrong password!", "csrf_token": token}
            )
        )
    assert [r.status_code for r in answers[:20]] == [200] * 20
    assert answers[20].status_code == 429
    assert all("Email or password is not right." in r.get_data(as_text=True) for r in answers[:20])
    assert "Too many attempts. Wait a minute and try again." in answers[20].get_data(as_text=True)


def test_login_limit_per_account_for_an_unknown_user_reads_like_a_known_one(client, world):
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    texts = {}
    at = clock.now()  # the refusal names the time to try again: the same instant for both
    for email in ("ghost@example.org", world.emails["colleague"]):
        with clock.frozen(at):
            codes = [
                client.post(
                    "/login", data={"email": email, "password": "nope nope", "csrf_token": token}
                )
                for _ in range(6)
            ]
        assert [c.status_code for c in codes] == [200] * 5 + [429]
        texts[email] = re.sub(
            r'(csrf-token" content|name="csrf_token"[^>]*value|name="email"[^>]*value)="[^"]+"',
            "",
            codes[-1].get_data(as_text=True),
        )  # the form keeps what was typed in it; the rest must be the same
    assert texts["ghost@example.org"] == texts[world.emails["colleague"]]


def test_pages_with_tokens_are_not_cached(client, world):
    assert client.get("/accounts/forgot").headers["Cache-Control"] == "no-store"


def test_mail_failure_is_kept_in_the_outbox(app, client, world):
    app.config.update(MAIL_PORT=1, MAIL_MAX_ATTEMPTS=2)  # nothing listens there
    token = h.login(client, world.emails["staff"])
    _invite(client, token, world)
    with app.app_context():
        message = mail.deliver(db.session.scalar(select(OutboxMessage)).id)
        db.session.commit()
        # the first failure: still pending, retried later by the relay
        assert message.status == MailStatus.PENDING and message.last_error
        assert message.next_attempt_at > message.created_at
        message = mail.deliver(message.id)
        db.session.commit()
        assert message.status == MailStatus.FAILED and message.attempts == 2


def test_a_nul_in_the_login_email_is_refused_not_a_500_on_postgresql(pg_app):
    client = pg_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": "a\x00@example.org", "password": "whatever!", "csrf_token": token}
    )
    assert response.status_code == 200 and "Remove the invisible control characters." in h.text(
        response
    )


def test_a_reset_link_ignores_a_forged_host_header(app, client, world, smtp):
    forged = {"base_url": "http://evil.example"}
    token = csrf_token_from(client.get("/accounts/forgot", **forged).get_data(as_text=True))
    response = client.post(
        "/accounts/forgot",
        data={"email": world.emails["applicant"], "csrf_token": token},
        **forged,
    )
    assert response.status_code == 302
    _run_worker_until(app, lambda: smtp.messages)
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage)).body
    assert "https://grants.example.test/accounts/password/" in body
    assert "evil.example" not in body
