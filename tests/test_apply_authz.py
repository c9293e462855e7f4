"""Authorization for every route of the apply and accounts areas: another district's user gets
404 (no existence leak), other roles 403, anonymous users the login page; POSTs without a CSRF
token are refused; GETs change nothing; a refused request changes nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Attachment, User
from tests import apply_helpers as h
from tests.conftest import csrf_token_from

#: Every route of the area and who owns it. A new route fails ``test_every_route_is_covered``.
OWNED = {  # a district's application: another district gets 404
    "apply.edit",
    "apply.receipt",
    "apply.withdraw",
    "apply.budget_export",
    "apply.budget_upload",
    "apply.attachment_add",
    "apply.attachment_download",
    "apply.attachment_remove",
    "apply.autosave",
}
APPLICANT_ONLY = {"apply.home", "apply.competitions", "apply.start", "apply.budget_template"} | (
    OWNED - {"apply.attachment_download"}
)
STAFF_ONLY = {
    "apply.staff_applications",
    "apply.screen",
    "apply.confirm_as_claimed",
    "apply.extend",
    "accounts.invite",
}
PUBLIC = {"accounts.forgot", "accounts.choose_password", "accounts.open_password_link"}
#: A district's people: their rule (``access.district``) is walked by tests/test_people.py and
#: tests/test_access_rules.py.
PEOPLE = {
    "accounts.districts",
    "accounts.my_people",
    "accounts.people_page",
    "accounts.person_role",
    "accounts.person_deactivate",
    "accounts.person_reactivate",  # its rule: test_only_managers_of_the_district_reactivate
}


@pytest.fixture
def world(app):
    return h.make_world(app)


@pytest.fixture
def owned(app, client, world):
    """A Bridgeport draft with a PDF, submitted so the receipt exists; and the URL values."""
    token = h.login(client, world.emails["applicant"])
    app_id = h.create_draft(client, world, token)
    client.post(
        f"/apply/applications/{app_id}/attachments",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(h.minimal_pdf()), "plan.pdf")},
    )
    client.post(
        f"/apply/applications/{app_id}", data=h.valid_form(world, csrf_token=token, submit_app="1")
    )
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
        colleague = db.session.scalar(
            select(User.id).where(User.email == world.emails["colleague"])
        )
    return {
        "district_id": world.district_id,
        "user_id": colleague,
        "app_id": app_id,
        "attachment_id": attachment_id,
        "competition_id": world.competition_id,
        "token": "made-up-token",
    }


def _rules(app):
    return [
        r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in ("apply", "accounts")
    ]


def _url(rule, values) -> str:
    return rule.build({k: values[k] for k in rule.arguments})[1]


def _payload(endpoint: str, world, token: str) -> dict:
    """A request that would change something if it were let through."""
    data = {"csrf_token": token}
    if endpoint in ("apply.edit", "apply.autosave"):
        data |= h.valid_form(world, title="Hijacked", save_draft="1")
    elif endpoint == "apply.withdraw":
        data |= {"confirm": "y"}
    elif endpoint == "apply.attachment_add":
        data |= {"file": (io.BytesIO(h.minimal_pdf()), "x.pdf")}
    elif endpoint == "apply.budget_upload":
        data |= {"workbook": (io.BytesIO(b"PK"), "x.xlsx")}
    elif endpoint == "apply.screen":
        data |= {"eligible": "no", "reason": "hijacked"}
    elif endpoint == "apply.confirm_as_claimed":
        data |= {"applications": "1"}
    elif endpoint == "apply.extend":
        data |= {"until": "2099-01-01T12:00", "reason": "hijacked by someone"}
    elif endpoint == "apply.start":
        data |= h.valid_form(world, school=str(world.school2_id), save_draft="1")
    return data


def test_every_route_is_covered(app):
    endpoints = {r.endpoint for r in _rules(app)}
    assert endpoints == APPLICANT_ONLY | STAFF_ONLY | PUBLIC | PEOPLE | {
        "apply.attachment_download"
    }


def test_another_districts_user_gets_404_on_every_route_of_an_application(app, world, owned):
    attacker = app.test_client()
    token = h.login(attacker, world.emails["other"])
    state, counts = h.application_state(app, owned["app_id"]), h.row_counts(app)
    for rule in _rules(app):
        if rule.endpoint not in OWNED:
            continue
        url = _url(rule, owned)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = attacker.get(url)
            else:
                response = attacker.post(
                    url,
                    data=_payload(rule.endpoint, world, token),
                    content_type="multipart/form-data",
                )
            assert response.status_code == 404, (rule.endpoint, method, response.status_code)
            assert "There is nothing here, or you do not have access to it." in h.text(response)
    assert h.application_state(app, owned["app_id"]) == state and h.row_counts(app) == counts


@pytest.mark.parametrize("who", ["reviewer", "staff"])
def test_other_roles_get_403_on_applicant_routes(app, world, owned, who):
    other = app.test_client()
    token = h.login(other, world.emails[who])
    state, counts = h.application_state(app, owned["app_id"]), h.row_counts(app)
    for rule in _rules(app):
        if rule.endpoint not in APPLICANT_ONLY:
            continue
        url = _url(rule, owned)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = (
                other.get(url)
                if method == "GET"
                else other.post(
                    url,
                    data=_payload(rule.endpoint, world, token),
                    content_type="multipart/form-data",
                )
            )
            assert response.status_code == 403, (rule.endpoint, method)
    assert h.application_state(app, owned["app_id"]) == state and h.row_counts(app) == counts


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_staff_routes_refuse_everyone_else(app, world, owned, who):
    other = app.test_client()
    token = h.login(other, world.emails[who])
    state, counts = h.application_state(app, owned["app_id"]), h.row_counts(app)
    for rule in _rules(app):
        if rule.endpoint not in STAFF_ONLY:
            continue
        url = _url(rule, owned)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = (
                other.get(url)
                if method == "GET"
                else other.post(
                    url,
                    data=_payload(rule.endpoint, world, token),
                    content_type="multipart/form-data",
                )
            )
            assert response.status_code == 403, (rule.endpoint, method)
    assert h.application_state(app, owned["app_id"]) == state and h.row_counts(app) == counts


def test_anonymous_users_are_sent_to_sign_in(app, world, owned):
    anonymous = app.test_client()
    for rule in _rules(app):
        if rule.endpoint in PUBLIC or "GET" not in rule.methods:
            continue
        response = anonymous.get(_url(rule, owned))
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), (
            rule.endpoint
        )


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, world, owned):
    # ``client`` is signed in as the applicant (the ``owned`` fixture).
    staff = app.test_client()
    h.login(staff, world.emails["staff"])
    state, counts = h.application_state(app, owned["app_id"]), h.row_counts(app)
    for rule in _rules(app):
        if "POST" not in rule.methods:
            continue
        who = staff if rule.endpoint in STAFF_ONLY else client
        data = {k: v for k, v in _payload(rule.endpoint, world, "").items() if k != "csrf_token"}
        response = who.post(_url(rule, owned), data=data, content_type="multipart/form-data")
        assert response.status_code == 400, rule.endpoint
        assert "form expired or was not sent from this site" in h.text(response)
    assert h.application_state(app, owned["app_id"]) == state and h.row_counts(app) == counts


def test_gets_change_nothing(app, client, world, owned):
    counts = h.row_counts(app)
    for rule in _rules(app):
        if "GET" in rule.methods and rule.endpoint not in STAFF_ONLY:
            assert client.get(_url(rule, owned)).status_code < 500, rule.endpoint
    assert h.row_counts(app) == counts


def test_ids_beyond_the_integer_range_are_404_on_postgresql(pg_app):
    """A 20-digit id must not reach PostgreSQL as an out-of-range integer (a 500)."""
    world = h.make_world(pg_app)
    client = pg_app.test_client()
    token = h.login(client, world.emails["applicant"])
    huge = "9" * 20
    for url in (
        f"/apply/applications/{huge}",
        f"/apply/applications/{huge}/receipt",
        f"/apply/applications/1/attachments/{huge}",
        f"/apply/competitions/{huge}/apply",
        f"/apply/competitions/{huge}/budget-template.xlsx",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/apply/applications/{huge}/withdraw", data={"csrf_token": token}).status_code
        == 404
    )
    staff = pg_app.test_client()
    h.login(staff, world.emails["staff"])
    assert staff.get(f"/apply/staff/applications?competition={huge}").status_code == 200
    assert staff.get(f"/apply/staff/applications/{huge}/screen").status_code == 404


def test_control_characters_in_the_forgot_form_are_refused_on_postgresql(pg_app):
    h.make_world(pg_app)
    client = pg_app.test_client()
    token = csrf_token_from(client.get("/accounts/forgot").get_data(as_text=True))
    response = client.post(
        "/accounts/forgot", data={"email": "a\x00@example.org", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "Remove the invisible control characters" in h.text(response)
