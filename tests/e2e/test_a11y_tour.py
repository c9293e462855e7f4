"""Accessibility of every page, journeys or not: each role opens every HTML page of its area
(read from the app's URL map, so a new page is picked up on its own) in Debian's chromium, and
axe-core checks it at 1280 and 390 px (tests/e2e/a11y.py); any violation fails.

The data is tests/fixtures/small_bundle.json, ranked, with its award list approved and
published, so that the board, the explanation, the decisions and the public list all have
content. A page whose URL needs a value the tour cannot give is listed in a warning.
"""

from __future__ import annotations

import re
import warnings

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    Criterion,
    Priority,
    RankingRun,
    ReviewerAssignment,
    RubricSection,
    School,
    User,
)
from scoring.services.decisions import decisions
from tests import factories
from tests.e2e.a11y import check_a11y
from tests.staff_world import APPLICANT, APPROVER, PREPARER, build

pytestmark = pytest.mark.e2e

REVIEWER = "r1@example.org"  # a reviewer of the bundle, with assignments
#: Which prefixes each role's tour opens (the public pages and sign-in pages: signed out).
#: A page under /accounts/ is opened by every signed-in role (one that refuses it is skipped).
AREAS = {
    PREPARER: ("/staff/", "/apply/staff/", "/accounts/"),
    APPLICANT: ("/apply/", "/accounts/"),
    REVIEWER: ("/review/", "/accounts/"),
    None: ("/public/", "/login", "/accounts/forgot"),
}
#: Not pages: files, feeds and downloads.
NOT_PAGES = re.compile(
    r"\.(ics|csv|json|xlsx|pdf|<kind>)$|/files/|/attachments/|export-files|/export/"
)


def _world(app) -> dict[str, object]:
    """The bundle ranked, its award list approved and published; the values URLs need."""
    world = build(app)
    with app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        preparer = db.session.scalar(select(User).where(User.email == PREPARER))
        approver = db.session.scalar(select(User).where(User.email == APPROVER))
        slate = decisions.prepare_slate(run, actor=preparer)
        db.session.commit()
        decisions.approve_slate(slate, actor=approver)
        db.session.commit()
        from scoring.services.decisions import publication

        publication.publish_run(run, actor=approver, public_url="http://127.0.0.1/public")
        db.session.commit()
        reviewer = db.session.scalar(select(User).where(User.email == REVIEWER))
        reviewer.password_hash = preparer.password_hash
        applicant = db.session.scalar(select(User).where(User.email == APPLICANT))
        own = db.session.scalar(
            select(Application.id)
            .join(School, School.id == Application.school_id)
            .where(School.district_id == applicant.district_id)
            .order_by(Application.id)
        )
        values = {
            "competition_id": world.competition_id,
            "cid": world.competition_id,
            "run_id": world.run_id,
            "ref": "T-002",
            "slug": world.slug,
            "app_id": own,
            "aid": own,
            "uid": reviewer.id,
            "district_id": applicant.district_id,
            "assignment_id": db.session.scalar(
                select(ReviewerAssignment.id)
                .where(ReviewerAssignment.reviewer_id == reviewer.id)
                .order_by(ReviewerAssignment.id)
            ),
            "section_id": db.session.scalar(select(RubricSection.id).order_by(RubricSection.id)),
            "criterion_id": db.session.scalar(select(Criterion.id).order_by(Criterion.id)),
            "priority_id": db.session.scalar(select(Priority.id).order_by(Priority.id)),
        }
        db.session.commit()
    return values


NOT_FOUND = "/staff/runs/999999/applications/NOPE"  # the error page, as staff see it


def _pages(app, values: dict[str, object]) -> tuple[dict[str | None, list[str]], list[str]]:
    """Each role's page URLs, and the rules the tour cannot fill in."""
    pages: dict[str | None, list[str]] = {who: [] for who in AREAS}
    missing = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or NOT_PAGES.search(rule.rule):
            continue
        roles = [w for w, prefixes in AREAS.items() if rule.rule.startswith(prefixes)]
        if not roles:
            continue
        if any(arg not in values for arg in rule.arguments):
            missing.append(rule.rule)
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
        for who in [None] if None in roles else roles:  # a signed-out page: signed out only
            pages[who].append(url)
    pages[PREPARER].append(NOT_FOUND)
    return pages, missing


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_every_page_of_every_role_passes_axe(live_app, live_server, browser):
    values = _world(live_app)
    pages, missing = _pages(live_app, values)
    if missing:
        warnings.warn(f"pages the accessibility tour cannot open: {missing}", stacklevel=1)
    assert len(sum(pages.values(), [])) >= 40, pages  # the tour really walks the app
    checked = []
    for who, urls in pages.items():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15000)
        if who is not None:
            _sign_in(page, live_server, who)
        for url in urls:
            response = page.goto(live_server + url)
            if url == NOT_FOUND and response is not None and response.status == 404:
                check_a11y(page, url)  # the error page
                checked.append(url)
                continue
            if response is None or response.status != 200:
                continue  # e.g. a confirmation page that redirects once the step is done
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            check_a11y(page, url)
            checked.append(url)
        context.close()
    assert "/staff/runs/{run_id}/applications/T-002".format(**values) in checked
    assert "/public/awards/{slug}".format(**values) in checked
    assert "/review/a/{assignment_id}".format(**values) in checked
    assert NOT_FOUND in checked
