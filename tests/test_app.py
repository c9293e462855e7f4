"""The web shell: login per role, logout ending the session, guards, errors, headers, CSRF."""

from __future__ import annotations

import pytest

from scoring.extensions import db
from scoring.models import AuditEvent, Role
from tests import factories
from tests.conftest import csrf_token_from


@pytest.fixture
def people(app):
    with app.app_context():
        d = factories.district()
        made = {
            "applicant": factories.user(Role.APPLICANT, d=d),
            "reviewer": factories.user(Role.REVIEWER),
            "staff": factories.user(Role.STAFF),
            "admin": factories.user(Role.ADMIN),
        }
        db.session.commit()
        return {k: v.email for k, v in made.items()}


@pytest.mark.parametrize(
    "role, home, text",
    [
        ("applicant", "/apply/", "Your district"),
        ("reviewer", "/review/", "Your assigned applications"),
        ("staff", "/staff/", "Competitions"),
        ("admin", "/staff/", "Competitions"),
    ],
)
def test_each_role_lands_on_its_home(client, auth, people, role, home, text):
    response = auth.login(people[role], factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    page = client.get(home)
    assert page.status_code == 200
    assert text in page.get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_message(client, auth, people):
    wrong = auth.login(people["staff"], "not the password").get_data(as_text=True)
    unknown = auth.login("nobody@example.org", "not the password").get_data(as_text=True)
    assert "Email or password is not right." in wrong
    assert "Email or password is not right." in unknown


def test_role_guard_refuses_other_roles(client, auth, people):
    auth.login(people["applicant"], factories.PASSWORD)
    assert client.get("/staff/").status_code == 403
    assert client.get("/review/").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, auth, people):
    auth.login(people["staff"], factories.PASSWORD)
    stolen = client.get_cookie("session").value
    assert auth.logout().status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_login_issues_a_new_session(client, auth, people):
    client.get("/login")
    before = client.get_cookie("session").value
    auth.login(people["staff"], factories.PASSWORD)
    assert client.get_cookie("session").value != before


def test_login_and_logout_are_audited(app, auth, people):
    auth.login(people["staff"], factories.PASSWORD)
    auth.logout()
    with app.app_context():
        actions = [
            e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
        ]
    # Staff: two factors; logout ends this device's session.
    assert actions == ["user.2fa_enrol", "user.login", "session.end", "user.logout"]


def test_csrf_missing_or_foreign_token_is_refused(app, client, auth, people):
    response = client.post(
        "/login", data={"email": people["staff"], "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    other = app.test_client()
    foreign = csrf_token_from(other.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": people["staff"], "password": factories.PASSWORD, "csrf_token": foreign},
    )
    assert response.status_code == 400


def test_login_is_rate_limited_per_account(client, auth, people):
    codes = [auth.login(people["staff"], "wrong password!").status_code for _ in range(6)]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    assert "Too many attempts" in auth.login(people["staff"], "wrong").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/nope", "/api/health", "/api/nope"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_errors_are_friendly_html_and_json_under_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "Not found" in page.get_data(as_text=True)
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.get_json() == {
        "error": {"status": 404, "message": api.get_json()["error"]["message"]}
    }


def test_unexpected_error_shows_no_traceback(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals SELECT * FROM user")

    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in body and "secret internals" not in body
    assert "Reference:" in body


def test_upload_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"x": "y" * 4096})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_passwords_are_argon2id(app, people):
    from scoring.models import User

    with app.app_context():
        hashes = [u.password_hash for u in db.session.scalars(db.select(User))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_outside_the_tests_a_password_hash_costs_64_mib_and_three_passes():
    from argon2 import extract_parameters
    from flask import Flask

    from config import Config, TestConfig
    from scoring.services.accounts import users

    for config, cost in ((Config, (65536, 3, 4)), (TestConfig, (8, 1, 1))):
        app = Flask(__name__)
        app.config.from_object(config)
        with app.app_context():
            made = extract_parameters(users.hash_password("a long pass phrase"))
        assert (made.memory_cost, made.time_cost, made.parallelism) == cost
    assert extract_parameters(users.hash_password("no app")).memory_cost == 65536


def test_health(client):
    response = client.get("/api/health")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert (body["database"], body["broker"]) == ("ok", "ok")
    assert body["worker"] == "silent" and body["oldest_queued_run_seconds"] is None


def test_only_page_less_commands_load_without_views():
    """``flask rank``/``explain``/``bundle``/``ops`` start without the views; a server, a test
    and every other command get them (scoring.serves_pages)."""
    from scoring import serves_pages

    flask = "/venv/bin/flask"
    module = "/venv/lib/python3.11/site-packages/flask/__main__.py"
    assert not serves_pages([flask, "--app", "scoring", "rank", "bench", "--json"])
    assert not serves_pages([module, "-A", "scoring", "bundle", "import", "x.json"])
    assert not serves_pages([flask, "explain", "s", "ref"])
    assert serves_pages([flask, "--app", "scoring", "run"])
    assert serves_pages([flask, "--app", "rank", "routes"])  # "rank" here is the app's name
    assert serves_pages([flask, "--app", "scoring", "seed-demo"])
    assert serves_pages(["/venv/bin/gunicorn", "scoring:create_app()"])
    assert serves_pages(["/venv/bin/pytest", "rank"])
    assert serves_pages([])
