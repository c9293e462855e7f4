"""Tokens out of the URL (issue 12 §9): an invitation or reset link moves its token into the
browser's session on the first GET and redirects to a token-free address; the token stays valid
there until the form is sent; another browser with the same link is told what happened."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Role, TokenPurpose, UserToken
from scoring.services.accounts import accounts, users
from tests import factories
from tests.conftest import csrf_token_from

EMAIL = "writer@bridgeport.example.org"
NEW = "a fresh long passphrase"


@pytest.fixture
def link(any_app):
    with any_app.app_context():
        user = factories.user(Role.APPLICANT, EMAIL, d=factories.district())
        raw = accounts.issue_token(user, TokenPurpose.RESET)
        db.session.commit()
    return any_app, raw


def _token_row(app) -> UserToken:
    with app.app_context():
        row = db.session.scalar(select(UserToken))
        db.session.expunge(row)
        return row


def _send(client, password=NEW):
    page = client.get("/accounts/password")
    return client.post(
        "/accounts/password",
        data={"password": password, "confirm": password, "csrf_token": csrf_token_from(page.text)},
    )


def test_the_first_visit_moves_the_token_into_the_session(link):
    app, raw = link
    browser = app.test_client()
    first = browser.get(f"/accounts/password/{raw}")
    assert first.status_code == 302 and first.headers["Location"] == "/accounts/password"
    assert first.headers["Cache-Control"] == "no-store"
    form = browser.get("/accounts/password")
    assert form.status_code == 200 and "Choose a new password" in form.text
    assert raw not in form.text  # not in the page, its form action or any link (Referer)
    assert _token_row(app).opened_at is not None and _token_row(app).used_at is None
    again = browser.get(f"/accounts/password/{raw}", follow_redirects=True)  # a reload
    assert again.status_code == 200 and again.request.path == "/accounts/password"
    assert _send(browser).status_code == 302
    with app.app_context():
        assert users.authenticate(EMAIL, NEW) is not None
    assert browser.get("/accounts/password").status_code == 400  # used up
    assert browser.get(f"/accounts/password/{raw}").status_code == 400


def test_a_second_browser_with_the_same_link_is_told_and_the_first_still_works(link):
    app, raw = link
    first, second = app.test_client(), app.test_client()
    assert first.get(f"/accounts/password/{raw}").status_code == 302
    other = second.get(f"/accounts/password/{raw}")
    assert other.status_code == 409
    assert "already opened in another browser" in other.text and "ask for a new link" in other.text
    assert second.get("/accounts/password").status_code == 400  # nothing in its session
    assert _send(first).status_code == 302  # the token stayed valid in the first browser
    with app.app_context():
        assert users.authenticate(EMAIL, NEW) is not None


def test_the_form_without_an_opened_link_says_the_link_does_not_work(link):
    app, _ = link
    response = app.test_client().get("/accounts/password")
    assert response.status_code == 400 and "Ask for a new link" in response.text
    assert _token_row(app).opened_at is None


def test_the_mailed_link_is_the_only_place_the_token_travels(link):
    app, raw = link
    browser = app.test_client()
    browser.get(f"/accounts/password/{raw}")
    refused = browser.post(
        "/accounts/password",
        data={
            "password": "short",
            "confirm": "short",
            "csrf_token": csrf_token_from(browser.get("/accounts/password").text),
        },
    )
    assert refused.status_code == 400 and raw not in refused.text
    assert _token_row(app).used_at is None  # a refused form keeps the link usable
