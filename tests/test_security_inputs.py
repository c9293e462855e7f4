"""Issue 12: hosts, proxies, production settings, redirects after sign-in, request ids, caching,
bounded ids, control characters, far dates and mail subjects. Each test failed before the fix."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config import ProductionConfig, TestConfig
from scoring import create_app
from scoring.extensions import db
from scoring.models import AuditEvent, OutboxMessage
from scoring.services import mail
from tests import apply_helpers as h
from tests.conftest import AuthActions, csrf_token_from


@pytest.fixture
def world(app):
    return h.make_world(app)


# --------------------------------------------------------------------------- settings


def test_production_refuses_to_start_without_secret_key_or_public_url():
    class NoKey(ProductionConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        SECRET_KEY = None
        PUBLIC_URL = "https://grants.example.test"

    class NoUrl(NoKey):
        SECRET_KEY = "a-long-random-secret"
        PUBLIC_URL = None

    class Both(NoUrl):
        PUBLIC_URL = "https://grants.example.test"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(NoKey)
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(NoUrl)
    assert create_app(Both).config["SECRET_KEY"] == "a-long-random-secret"


def test_requests_for_another_host_are_refused(tmp_path):
    class Hosts(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        TRUSTED_HOSTS = ["grants.example.test"]

    client = create_app(Hosts).test_client()
    assert client.get("/login", headers={"Host": "grants.example.test"}).status_code == 200
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


def _bad_logins(client, forwarded_for: str, count: int) -> list[int]:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    codes = []
    for i in range(count):
        response = client.post(
            "/login",
            data={
                "email": f"u{i}@x.example.org",
                "password": "wrong password",
                "csrf_token": token,
            },
            headers={"X-Forwarded-For": forwarded_for},
        )
        codes.append(response.status_code)
    return codes


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_per_address_login_limit_follows_the_configured_proxy_count(proxies):
    class Proxied(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        PROXY_COUNT = proxies

    app = create_app(Proxied)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    assert _bad_logins(client, "198.51.100.1", 21)[-1] == 429  # 20 a minute per address
    other = _bad_logins(client, "198.51.100.2", 1)[0]
    # Behind one proxy each client has its own budget; with no proxy configured the header is
    # not believed (a client could otherwise pick a fresh address for every try).
    assert other == (200 if proxies else 429)


# --------------------------------------------------------------------------- redirect after sign-in


def _staff_sign_in(app, client, world, query: str):
    """Staff sign in with ``query`` on the sign-in address: password, then the code step (the
    staff member set up two-factor sign-in before); the last response."""
    AuthActions(app.test_client()).login(world.emails["staff"], h.PASSWORD)  # enrolled once
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/login{query}",
        data={"email": world.emails["staff"], "password": h.PASSWORD, "csrf_token": token},
    )
    if response.status_code != 302:
        return response
    assert response.headers["Location"] == "/login/code"
    return AuthActions(client).code(world.emails["staff"])


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example/",
        "/%0D/evil.example/",
        "/%0A%0DLocation:%20http://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%00",
    ],
)
def test_login_never_redirects_off_the_site(app, client, world, target):
    response = _staff_sign_in(app, client, world, f"?next={target}")
    # Either the sign-in goes home, or (control characters in the query) the request is refused.
    assert response.status_code in (302, 400)
    assert response.headers.get("Location", "/staff/") == "/staff/"


def test_login_keeps_a_next_on_this_site(app, client, world):
    response = _staff_sign_in(app, client, world, "?next=/staff/audit%3Fpage%3D1")
    assert response.headers["Location"] == "/staff/audit?page=1"


# --------------------------------------------------------------------------- request ids


@pytest.mark.parametrize("header", ["x" * 41, "evil\u202ename", "a b", "fake-id-42"])
def test_the_request_id_header_never_breaks_sign_in_nor_reaches_the_audit(
    app, client, world, header
):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": world.emails["applicant"], "password": h.PASSWORD, "csrf_token": token},
        headers={"X-Request-Id": header},
    )
    assert response.status_code == 302
    assert response.headers["X-Request-Id"] != header
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.login"))
        assert event.request_id and event.request_id != header


# --------------------------------------------------------------------------- caching


def test_authenticated_pages_are_not_stored_by_caches(client, world):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    h.login(client, world.emails["staff"])
    for url in ("/staff/", "/apply/staff/applications", "/staff/audit"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url


# --------------------------------------------------------------------------- ids and text


@pytest.mark.parametrize(
    "url",
    [
        "/public/awards/%00",
        "/public/awards/x%00y",
        "/staff/competitions/99999999999999999999999",
        "/staff/competitions/2147483648/",
        "/staff/competitions/%C2%B2",  # a superscript two
        "/staff/competitions/%D9%A1",  # an Arabic-Indic one
        "/staff/competitions/99999999999999999999999/edit",
        "/staff/criteria/4294967296/edit",
    ],
)
def test_odd_ids_and_nul_in_urls_are_not_found_not_errors(any_app, url):
    world = h.make_world(any_app)
    client = any_app.test_client()
    h.login(client, world.emails["staff"])
    assert client.get(url).status_code == 404


def test_nul_in_a_form_field_is_refused_with_what_to_fix(any_app):
    world = h.make_world(any_app)
    client = any_app.test_client()
    token = h.login(client, world.emails["staff"])
    before = h.row_counts(any_app)
    response = client.post(
        "/apply/staff/applications/1/screen",
        data={"eligible": "no", "reason": "bad\x00reason", "csrf_token": token},
    )
    assert response.status_code in (400, 404)
    response = client.post(
        "/accounts/invite",
        data={"email": "a@b.org", "name": "N\x00", "district": "1", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "Remove the invisible control characters" in h.text(response)
    assert h.row_counts(any_app) == before


# --------------------------------------------------------------------------- dates


def test_a_far_date_on_the_audit_page_is_shown_as_an_error_not_a_500(any_app):
    world = h.make_world(any_app)
    client = any_app.test_client()
    h.login(client, world.emails["staff"])
    response = client.get("/staff/audit?date_to=9999-12-31&date_from=0001-01-01")
    assert response.status_code == 200
    assert "Enter a date between" in h.text(response)


def test_a_far_closing_date_is_refused_beside_the_field(any_app):
    world = h.make_world(any_app)
    client = any_app.test_client()
    h.login(client, world.emails["staff"])
    url = f"/staff/competitions/{world.competition_id}/edit"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "title": "SIG",
            "opens_at": "2026-01-01T09:00",
            "closes_at": "9999-12-31T23:59",
        },
    )
    assert response.status_code in (200, 400)
    assert "Enter a date between" in h.text(response)


# --------------------------------------------------------------------------- mail subjects


def test_a_line_break_in_a_subject_never_stops_the_mail(app):
    with app.app_context():
        message = mail.queue("a@example.org", "Award for Title\r\nBcc: x@evil.example", "Body\n")
        db.session.commit()
        stored = db.session.get(OutboxMessage, message.id)
        assert stored.subject == "Award for Title Bcc: x@evil.example"


@pytest.mark.parametrize(
    "form_path, field",
    [
        ("scoring.review.forms:ConflictForm", "reason"),
        ("scoring.review.forms:ScoreFormBase", "overall_comment"),
        ("scoring.staff.panel_forms:DistrictConflictForm", "reason"),
        ("scoring.staff.panel_forms:ReopenForm", "reason"),
    ],
)
def test_nul_in_reviewer_comments_conflict_reasons_and_panel_notes_is_refused(
    app, form_path, field
):
    """These forms had no check of their own: a NUL reached PostgreSQL (a 500)."""
    import importlib

    from werkzeug.datastructures import MultiDict

    module, _, name = form_path.partition(":")
    form_class = getattr(importlib.import_module(module), name)
    with app.test_request_context(method="POST"):
        form = form_class(
            formdata=MultiDict({field: "a reason \x00 with a NUL"}), meta={"csrf": False}
        )
        form.validate()
        assert any("control characters" in e for e in form[field].errors), form[field].errors


# --------------------------------------------------------------------------- found by the walk


def test_every_date_and_number_field_gets_the_rules_once(any_app):
    """tests/test_route_inputs.py found a far date in a form without ``sane_date`` (an
    overflow in ``to_utc``) and a huge id in a multiple choice (an integer overflow in the
    query): the rules now reach every field of every form through one hook."""
    world = h.make_world(any_app)
    applicant = any_app.test_client()
    app_id = h.create_draft(applicant, world, h.login(applicant, world.emails["applicant"]))
    client = any_app.test_client()
    token = h.login(client, world.emails["staff"])
    before = h.row_counts(any_app)
    response = client.post(
        "/apply/staff/applications/confirm",
        data={"csrf_token": token, "applications": str(10**30)},
    )
    assert response.status_code == 400
    response = client.post(
        f"/apply/staff/applications/{app_id}/extend",
        data={"csrf_token": token, "until": "9999-12-31T23:59", "reason": "A long enough reason"},
    )
    assert response.status_code == 400
    assert "Enter a date between" in h.text(response)
    assert h.row_counts(any_app) == before
