"""In a real browser: each role signs in, lands on its home page, and signs out."""

from __future__ import annotations

import pytest

from scoring.extensions import db
from scoring.models import Role
from tests import factories
from tests.conftest import pass_second_factor
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e


@pytest.fixture
def accounts(live_app):
    with live_app.app_context():
        d = factories.district()
        made = [
            factories.user(Role.STAFF, "staff@example.org"),
            factories.user(Role.REVIEWER, "reviewer@example.org"),
            factories.user(Role.APPLICANT, "applicant@example.org", d=d),
        ]
        db.session.commit()
        return [(u.email, u.role.value) for u in made]


def test_each_role_signs_in_and_out_in_the_browser(live_server, page, accounts, tmp_path):
    homes = {"staff": "/staff/", "reviewer": "/review/", "applicant": "/apply/"}
    for email, role in accounts:
        page.goto(live_server + "/")
        check_a11y(page, "login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        pass_second_factor(page, email)
        page.wait_for_url(live_server + homes[role])
        assert page.locator("h1").is_visible()
        check_a11y(page, f"home-{role}")
        page.screenshot(path=str(tmp_path / f"home-{role}.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(live_server + "/login")
        assert "You are signed out." in page.content()
        check_a11y(page, "signed-out")


def test_wrong_password_message_in_the_browser(live_server, page, accounts):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(accounts[0][0])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Email or password is not right."
    check_a11y(page, "login-refused")
