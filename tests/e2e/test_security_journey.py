"""In a real browser: an approver sets up two-factor sign-in (QR code, key, recovery codes),
signs in again with a code, sees two devices on "Sign-in and security" and signs one out."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest

from scoring.extensions import db
from scoring.models import Role
from tests import factories
from tests.conftest import totp_step
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e

APPROVER = "approver@example.org"


@pytest.fixture
def approver(live_app):
    with live_app.app_context():
        factories.user(Role.STAFF, APPROVER, can_approve=True)
        factories.user(Role.STAFF, "colleague@example.org")
        db.session.commit()
    return live_app


@pytest.fixture
def shot(tmp_path):
    folder = Path(os.environ.get("REVIEW_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(folder / f"auth-{name}.png"), full_page=True)

    return take


def _password(page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(APPROVER)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_enrol_sign_in_with_a_code_and_end_another_session(approver, live_server, browser, shot):
    base = live_server
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desktop.set_default_timeout(15000)
    _password(desktop, base)
    assert desktop.url == base + "/accounts/two-factor"  # nothing else before enrolment
    assert desktop.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    check_a11y(desktop, "enrol")
    shot(desktop, "enrol-desktop")
    desktop.set_viewport_size({"width": 390, "height": 844})
    shot(desktop, "enrol-390")
    desktop.set_viewport_size({"width": 1280, "height": 900})
    secret = desktop.inner_text("#secret").replace(" ", "")
    desktop.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    desktop.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = desktop.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    check_a11y(desktop, "recovery-codes")
    shot(desktop, "recovery-codes-desktop")
    desktop.get_by_role("link", name="I have kept them: continue").click()
    desktop.wait_for_url(base + "/staff/")

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.set_default_timeout(15000)
    _password(phone, base)
    assert phone.url == base + "/login/code"
    check_a11y(phone, "code")
    shot(phone, "code-390")
    with totp_step(approver, APPROVER) as code, phone.expect_navigation():
        phone.get_by_label("Code").fill(code)
        phone.get_by_role("button", name="Sign in").click()
    assert phone.url == base + "/staff/"

    phone.get_by_role("link", name=re.compile("Test staff")).click()
    phone.wait_for_url(base + "/accounts/security")
    assert phone.locator("table.sessions tbody tr").count() == 2
    check_a11y(phone, "security")
    shot(phone, "security-390")
    desktop.goto(base + "/accounts/security")
    shot(desktop, "security-desktop")
    # From the phone, sign the desktop out: the desktop's next request is the sign-in page.
    phone.locator("table.sessions tbody tr:not(.current) button").click()
    phone.wait_for_load_state()
    assert "Signed out" in phone.inner_text(".flash")
    assert phone.locator("table.sessions tbody tr").count() == 1
    desktop.goto(base + "/staff/")
    assert desktop.url.startswith(base + "/login")

    phone.goto(base + "/accounts/people/two-factor")
    check_a11y(phone, "two-factor-people")
    shot(phone, "people-390")
    phone.set_viewport_size({"width": 1280, "height": 900})
    shot(phone, "people-desktop")
