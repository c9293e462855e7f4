"""Drafts never lose text, in Debian's chromium (issue 13 item 2): the autosave script
(``static/draft_autosave.js``, interval from the form's data attribute, here 1 s) saves what is
typed, valid or not; a reload shows it again with the invalid entry marked and linked from the
summary; a colleague's save in between gives the 409 page with both versions. The People page
and the form are looked at (and checked with axe) at desktop and 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import apply_helpers as h
from tests.e2e.a11y import check_a11y

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/people")  # screenshots to look at, as in the applicant journey
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"people-{name}.png"), full_page=True)
    check_a11y(page, name)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", h.PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your district's applications")


def test_autosave_keeps_what_is_typed_and_a_colleagues_save_shows_both(
    live_app, live_server, page, browser
):
    live_app.config["AUTOSAVE_SECONDS"] = 1
    world = h.make_world(live_app)
    base = live_server
    page.set_viewport_size(DESKTOP)
    sign_in(page, base, world.emails["applicant"])

    # An empty "Save and submit" asks for the school; nothing is created.
    page.goto(f"{base}/apply/competitions/{world.competition_id}/apply")
    page.click("button[name=submit_app]")
    expect(page.locator("#error-summary")).to_contain_text(
        "Choose the school this application is for."
    )
    page.click("#error-summary a[href='#school']")
    page.select_option("#school", str(world.school_id))
    page.fill("#title", "First title")
    page.click("button[name=save_draft]")
    expect(page.locator("h1")).to_contain_text("Draft")
    draft_url = page.url.split("#")[0]

    # Type, valid and not; the script saves it within a second or two; reload: all is there.
    page.fill("#title", "Typed and autosaved")
    page.fill("#principal_email", "jreed at bridgeportedu.net")
    expect(page.locator("#autosave-status")).to_contain_text("saved automatically")
    page.goto(draft_url)
    expect(page.locator("#title")).to_have_value("Typed and autosaved")
    expect(page.locator("#principal_email")).to_have_value("jreed at bridgeportedu.net")
    expect(page.locator("#error-summary a[href='#principal_email']")).to_be_visible()
    expect(page.locator(".flash-ok")).to_have_count(0)  # never "complete" with an invalid entry
    shot(page, "form-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "form-phone")

    # A colleague (a writer) saves the same draft from another browser.
    other = browser.new_context(viewport=PHONE).new_page()
    sign_in(other, base, world.emails["colleague"])
    other.goto(draft_url)
    expect(other.locator("button[name=submit_app]")).to_have_count(0)  # a writer: no submit
    other.fill("#title", "The writer's title")
    other.click("button[name=save_draft]")
    expect(other.locator(".flash")).to_contain_text("saved")
    shot(other, "writer-form-phone")

    # This page still holds the old version: its save shows both versions, nothing lost.
    page.fill("#title", "My late title")
    page.click("button[name=save_draft]")
    expect(page.locator("#stale")).to_contain_text("Someone else saved this draft")
    expect(page.locator("[data-theirs=title]")).to_have_text("The writer's title")
    expect(page.locator("[data-yours=title]")).to_have_value("My late title")
    shot(page, "conflict-phone")
    page.set_viewport_size(DESKTOP)
    shot(page, "conflict-desktop")

    # The People page: the submitter manages; the writer only reads it, on a phone too.
    page.goto(f"{base}/accounts/people")
    expect(page.locator("h1")).to_have_text("People of Bridgeport")
    shot(page, "people-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "people-phone")
    other.goto(f"{base}/accounts/people")
    expect(other.locator("#invite")).to_have_count(0)
    shot(other, "people-writer-phone")
    other.context.close()
