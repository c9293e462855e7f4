"""Authorization of the staff's reviewer panel: every route refused to reviewers and applicants,
ids that do not belong together are 404, and every POST needs the CSRF token."""

from __future__ import annotations

import re

import pytest

from scoring.extensions import db
from scoring.models import (
    AuditEvent,
    Competition,
    Program,
    ReviewerAssignment,
    ReviewerConflict,
)
from tests import review_support as rs


@pytest.fixture
def ids(app):
    world = rs.build(app)
    assignment = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    review = rs.submitted_review(app, world.apps["SIG-003"], world.users["r4"], [5, 2, 9])
    with app.app_context():
        other = Competition(slug="other", program=Program.TIME, title="Other", total_funds=1)
        db.session.add(other)
        db.session.commit()
        conflict = db.session.scalar(db.select(ReviewerConflict.id))
        values = {
            "cid": world.competition,
            "aid": world.apps["SIG-001"],
            "asid": assignment,
            "rid": review,
            "uid": world.users["r2"],
            "conflict_id": conflict,
            "other_cid": other.id,
        }
    return world, values


def _panel_calls(app, values: dict) -> list[tuple[str, str]]:
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("panel."):
            continue
        url = re.sub(r"<int:(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
        calls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return calls


def _count_events(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("role", ["r3", "applicant"])
def test_every_panel_route_is_refused_to_reviewers_and_applicants(app, client, ids, role):
    world, values = ids
    rs.login(client, world.emails[role])
    token = rs.token(client, "/")
    before = _count_events(app)
    calls = _panel_calls(app, values)
    assert len(calls) >= 20
    for method, url in calls:
        response = (
            client.get(url)
            if method == "GET"
            else client.post(url, data={"csrf_token": token, "note": "x"})
        )
        assert response.status_code == 403, (method, url, response.status_code)
    assert _count_events(app) == before


def test_every_panel_page_sends_anonymous_users_to_sign_in(app, client, ids):
    _, values = ids
    for method, url in _panel_calls(app, values):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302 and response.headers["Location"].startswith(
                "/login"
            ), url


def test_staff_can_open_every_panel_page(app, client, ids):
    world, values = ids
    rs.login(client, world.emails["staff"])
    for method, url in _panel_calls(app, values):
        if method == "GET":
            assert client.get(url).status_code == 200, url


def test_every_panel_post_needs_the_csrf_token(app, client, ids):
    world, values = ids
    rs.login(client, world.emails["staff"])
    before = _count_events(app)
    for method, url in _panel_calls(app, values):
        if method == "POST":
            assert client.post(url, data={"note": "x", "reason": "x"}).status_code == 400, url
    assert _count_events(app) == before


def test_ids_that_do_not_belong_together_are_404(app, client, ids):
    world, values = ids
    rs.login(client, world.emails["staff"])
    token = rs.token(client, "/staff/panel/")
    cid, aid, other = values["cid"], values["aid"], values["other_cid"]
    with app.app_context():
        foreign_assignment = rs.assign(app, world.apps["SIG-002"], world.users["r4"])
    gets = [
        f"/staff/panel/c/{other}/a/{aid}",
        f"/staff/panel/c/{cid}/a/99999",
        "/staff/panel/c/99999/",
        "/staff/panel/c/99999/assign",
        "/staff/panel/c/99999/stats",
        "/staff/panel/c/99999/discrepancies",
        f"/staff/panel/reviewers/{world.users['staff']}",
        "/staff/panel/reviewers/99999",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        f"/staff/panel/c/{cid}/a/{aid}/assignments/{foreign_assignment}/remove",
        f"/staff/panel/c/{cid}/a/{aid}/reviews/{values['rid']}/reopen",
        f"/staff/panel/c/{other}/a/{aid}/notes",
        f"/staff/panel/c/{other}/a/{aid}/extra",
        f"/staff/panel/reviewers/{world.users['r3']}/conflicts/{values['conflict_id']}/delete",
        f"/staff/panel/reviewers/{world.users['applicant']}/deactivate",
    ]
    before = _count_events(app)
    for url in posts:
        response = client.post(url, data={"csrf_token": token, "reason": "x", "note": "x"})
        assert response.status_code == 404, url
    assert _count_events(app) == before
    with app.app_context():
        assert db.session.get(ReviewerAssignment, foreign_assignment).status.value == "assigned"
