"""Authorization of the reviewer area: anything not assigned to you is a 404 (no existence leak),
other roles are refused, and nothing changes in the database on a refused request."""

from __future__ import annotations

import pytest

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    Attachment,
    AuditEvent,
    CriterionScore,
    Review,
    ReviewerAssignment,
)
from tests import review_support as rs


def _snapshot(app) -> tuple:
    with app.app_context():
        count = lambda model: db.session.scalar(db.select(db.func.count()).select_from(model))  # noqa: E731
        statuses = tuple(
            db.session.scalars(db.select(ReviewerAssignment.status).order_by(ReviewerAssignment.id))
        )
        return (
            count(ReviewerAssignment),
            count(Review),
            count(CriterionScore),
            count(AuditEvent),
            statuses,
        )


@pytest.fixture
def setup(app):
    world = rs.build(app)
    mine = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    theirs = rs.assign(app, world.apps["SIG-003"], world.users["r4"], declared=True)
    conflict = rs.assign(app, world.apps["SIG-002"], world.users["r3"])
    removed = rs.assign(app, world.apps["SIG-004"], world.users["r3"])
    with app.app_context():
        db.session.get(ReviewerAssignment, conflict).status = AssignmentStatus.CONFLICT
        db.session.get(ReviewerAssignment, removed).status = AssignmentStatus.REMOVED
        file = Attachment(
            application_id=world.apps["SIG-003"],
            stored_name="x",
            filename="x.pdf",
            size=1,
            sha256="0" * 64,
        )
        db.session.add(file)
        db.session.commit()
        ids = {
            "mine": mine,
            "theirs": theirs,
            "conflict": conflict,
            "removed": removed,
            "file": file.id,
        }
    return world, ids


def _review_urls(assignment_id: int, file_id: int) -> dict[str, list[tuple[str, str]]]:
    """Every route of the review blueprint that takes an id, for one assignment."""
    return {
        "review.score": [
            ("GET", f"/review/a/{assignment_id}"),
            ("POST", f"/review/a/{assignment_id}"),
        ],
        "review.declare": [
            ("GET", f"/review/a/{assignment_id}/declare"),
            ("POST", f"/review/a/{assignment_id}/declare"),
        ],
        "review.confirm": [
            ("GET", f"/review/a/{assignment_id}/confirm"),
            ("POST", f"/review/a/{assignment_id}/confirm"),
        ],
        "review.attachment": [("GET", f"/review/a/{assignment_id}/files/{file_id}")],
    }


def test_every_id_route_of_the_review_area_is_covered(app):
    # the private calendar feed takes a secret token, not an id (tests/test_calendar_feeds.py)
    endpoints = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("review.") and r.arguments - {"token"}
    }
    assert endpoints == set(_review_urls(1, 1))


@pytest.mark.parametrize("which", ["theirs", "conflict", "removed", "missing"])
def test_anything_not_assigned_to_you_is_404(app, client, setup, which):
    world, ids = setup
    rs.login(client, world.emails["r3"])
    token = rs.token(client)
    before = _snapshot(app)
    assignment_id = ids.get(which, 99999)
    for endpoint, calls in _review_urls(assignment_id, ids["file"]).items():
        for method, url in calls:
            data = {"csrf_token": token, "decision": "none", "version": "1", "save": "x"}
            response = client.get(url) if method == "GET" else client.post(url, data=data)
            assert response.status_code == 404, (endpoint, method, url, response.status_code)
            assert "nothing here" in response.get_data(as_text=True)
    assert _snapshot(app) == before


def test_an_attachment_of_another_application_is_404_even_on_your_own_assignment(
    app, client, setup
):
    world, ids = setup
    rs.login(client, world.emails["r3"])
    assert client.get(f"/review/a/{ids['mine']}/files/{ids['file']}").status_code == 404


def test_a_draft_application_is_invisible_to_its_reviewer(app, client, setup):
    world, ids = setup
    with app.app_context():
        db.session.get(Application, world.apps["SIG-001"]).status = ApplicationStatus.DRAFT
        db.session.commit()
    rs.login(client, world.emails["r3"])
    assert client.get(f"/review/a/{ids['mine']}").status_code == 404
    assert "SIG-001" not in client.get("/review/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["staff", "applicant"])
def test_other_roles_are_refused_the_review_area(app, client, setup, role):
    world, ids = setup
    rs.login(client, world.emails[role])
    token = rs.token(client, "/")
    before = _snapshot(app)
    assert client.get("/review/").status_code == 403
    for calls in _review_urls(ids["mine"], ids["file"]).values():
        for method, url in calls:
            response = (
                client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
            )
            assert response.status_code == 403, url
    assert _snapshot(app) == before


def test_anonymous_users_are_sent_to_sign_in(client, setup):
    _, ids = setup
    for calls in _review_urls(ids["mine"], ids["file"]).values():
        for method, url in calls:
            if method == "GET":
                response = client.get(url)
                assert response.status_code == 302 and response.headers["Location"].startswith(
                    "/login"
                )


def test_posts_without_a_csrf_token_are_refused(app, client, setup):
    world, ids = setup
    rs.login(client, world.emails["r3"])
    before = _snapshot(app)
    for url in (f"/review/a/{ids['mine']}", f"/review/a/{ids['mine']}/declare"):
        assert (
            client.post(
                url, data={"decision": "conflict", "reason": "x", "version": "1"}
            ).status_code
            == 400
        )
    assert _snapshot(app) == before
