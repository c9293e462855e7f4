"""Automatic assignment with a preview, manual add and remove, and the conflict → reassign loop."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    AuditEvent,
    OutboxMessage,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    User,
)
from tests import review_support as rs


@pytest.fixture
def world(app, client):
    world = rs.build(app)
    rs.login(client, world.emails["staff"])
    return world


@pytest.fixture
def mails(monkeypatch):
    from workers import tasks

    return rs.capture_delays(monkeypatch, tasks.send_mail)


def _rows(app):
    with app.app_context():
        return sorted(
            (a.application.ref, a.reviewer.email, a.status.value)
            for a in db.session.scalars(db.select(ReviewerAssignment))
        )


def _hidden(html: str) -> dict:
    return dict(re.findall(r'<input[^>]*name="(cap|digest)"[^>]*value="([^"]*)"', html))


def _check_district_rules(app):
    with app.app_context():
        for a in db.session.scalars(db.select(ReviewerAssignment)):
            reviewer = a.reviewer
            blocked = {reviewer.district_id} | {c.district_id for c in reviewer.conflicts}
            assert a.application.school.district_id not in blocked, (
                a.application.ref,
                reviewer.email,
            )


def test_the_preview_shows_the_plan_and_saves_nothing(app, client, world):
    page = client.get(f"/staff/panel/c/{world.competition}/assign")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "8 new assignment(s) for 4 application(s)" in body
        and "Every application will have its reviewers" in body
    )
    assert "Riley One" in body and "Save these 8 assignments" in body
    assert _rows(app) == []


def test_saving_the_preview_creates_exactly_that_plan_audits_it_and_mails_the_reviewers(
    app, client, world, mails
):
    page = client.get(f"/staff/panel/c/{world.competition}/assign").get_data(as_text=True)
    hidden = _hidden(page)
    response = rs.post(
        client,
        f"/staff/panel/c/{world.competition}/assign",
        {"submit": "Save", **hidden},
        token_from=f"/staff/panel/c/{world.competition}/assign",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/c/{world.competition}/"
    )
    rows = _rows(app)
    assert len(rows) == 8 and Counter(ref for ref, _, _ in rows) == {
        f"SIG-00{i}": 2 for i in range(1, 5)
    }
    loads = Counter(email for _, email, _ in rows)
    assert max(loads.values()) - min(loads.values()) <= 1
    _check_district_rules(app)
    with app.app_context():
        events = db.session.scalars(
            db.select(AuditEvent).filter_by(action="assignment.create")
        ).all()
        assert len(events) == 8 and {e.after["method"] for e in events} == {"auto"}
        messages = db.session.scalars(db.select(OutboxMessage)).all()
        assert sorted(m.to_addr for m in messages) == sorted(loads)
        assert sorted(call[0] for call in mails) == sorted(m.id for m in messages)
        assert all("new application(s) to review" in m.subject for m in messages)


def test_the_same_state_always_gives_the_same_plan(client, world):
    url = f"/staff/panel/c/{world.competition}/assign?cap=3"
    assert _hidden(client.get(url).get_data(as_text=True)) == _hidden(
        client.get(url).get_data(as_text=True)
    )


def test_a_change_after_the_preview_refuses_the_save_and_shows_a_new_preview(
    app, client, world, mails
):
    url = f"/staff/panel/c/{world.competition}/assign"
    hidden = _hidden(client.get(url).get_data(as_text=True))
    rs.assign(app, world.apps["SIG-003"], world.users["r4"])
    response = rs.post(client, url, {"submit": "Save", **hidden}, token_from=url)
    assert response.status_code == 302 and "assign?cap=" in response.headers["Location"]
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed since the preview" in follow and "7 new assignment(s)" in follow
    assert len(_rows(app)) == 1 and mails == []


def test_the_cap_limits_loads_and_the_shortfall_is_shown(client, world):
    body = client.get(f"/staff/panel/c/{world.competition}/assign?cap=1").get_data(as_text=True)
    assert "4 new assignment(s)" in body and "4 place(s) cannot be filled" in body


@pytest.mark.parametrize("cap", ["abc", "-1", "", "1.5", "99999999999999999999"])
def test_a_bad_cap_is_a_message_not_a_500(app, client, world, cap):
    response = client.get(f"/staff/panel/c/{world.competition}/assign?cap={cap}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter a whole number" in body or "Not a valid integer value" in body
    assert "Save these" not in body


@pytest.mark.parametrize(
    "data", [{"cap": "abc", "digest": "0" * 64}, {"cap": "2", "digest": "zz"}, {}]
)
def test_a_tampered_save_form_saves_nothing(app, client, world, data):
    url = f"/staff/panel/c/{world.competition}/assign"
    response = rs.post(client, url, data, token_from=url)
    assert response.status_code == 302
    assert "preview was incomplete" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert _rows(app) == []


def _add(client, world, ref, reviewer):
    url = f"/staff/panel/c/{world.competition}/a/{world.apps[ref]}"
    return rs.post(client, url + "/assign", {"reviewer": str(reviewer)}, token_from=url)


def test_manual_add_follows_the_same_rules(app, client, world, mails):
    cases = [
        ("SIG-001", world.users["r1"], "works in or declared a conflict"),  # r1's own district
        ("SIG-002", world.users["r2"], "works in or declared a conflict"),  # r2's declared district
        ("SIG-001", "abc", "Choose a reviewer from the list."),
        ("SIG-001", "99999", "Choose a reviewer from the list."),
        ("SIG-001", "", "Choose a reviewer from the list."),
    ]
    for ref, reviewer, message in cases:
        response = _add(client, world, ref, reviewer)
        assert response.status_code == 400 and message in response.get_data(as_text=True), (
            ref,
            reviewer,
        )
    assert _rows(app) == []
    assert _add(client, world, "SIG-001", world.users["r3"]).status_code == 302
    assert _rows(app) == [("SIG-001", "r3@example.org", "assigned")]
    again = _add(client, world, "SIG-001", world.users["r3"])
    assert again.status_code == 400 and "already assigned" in again.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="assignment.create"))
        assert event.after == {
            "application": "SIG-001",
            "reviewer": "r3@example.org",
            "method": "manual",
        }
    assert len(mails) == 1


def test_a_reviewer_who_declared_a_conflict_cannot_be_added_back(app, client, world):
    assignment = rs.assign(app, world.apps["SIG-001"], world.users["r3"])
    with app.app_context():
        db.session.get(ReviewerAssignment, assignment).status = AssignmentStatus.CONFLICT
        db.session.commit()
    response = _add(client, world, "SIG-001", world.users["r3"])
    assert response.status_code == 400 and "declared a conflict of interest" in response.get_data(
        as_text=True
    )


def test_removing_a_reviewer_withdraws_their_review_and_is_audited(app, client, world):
    review_id = rs.submitted_review(app, world.apps["SIG-001"], world.users["r3"], [5, 2, 9])
    with app.app_context():
        assignment = db.session.scalar(db.select(ReviewerAssignment.id))
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-001']}"
    response = rs.post(client, f"{url}/assignments/{assignment}/remove", token_from=url)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(ReviewerAssignment, assignment).status == AssignmentStatus.REMOVED
        assert db.session.get(Review, review_id).status == ReviewStatus.WITHDRAWN
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="assignment.remove"))
        assert event.before == {"status": "assigned", "review": "submitted"}
    again = rs.post(client, f"{url}/assignments/{assignment}/remove", token_from=url)
    assert again.status_code == 409


def test_after_a_declared_conflict_the_automatic_assignment_fills_the_gap_with_someone_else(
    app, client, world
):
    url = f"/staff/panel/c/{world.competition}/assign"
    rs.post(
        client,
        url,
        {"submit": "Save", **_hidden(client.get(url).get_data(as_text=True))},
        token_from=url,
    )
    with app.app_context():
        row = db.session.scalar(
            db.select(ReviewerAssignment)
            .join(Application)
            .where(Application.ref == "SIG-003")
            .order_by(ReviewerAssignment.id)
        )
        conflicted, row_id = row.reviewer_id, row.id
    reviewer = app.test_client()
    rs.login(reviewer, next(e for k, e in world.emails.items() if world.users[k] == conflicted))
    rs.post(
        reviewer, f"/review/a/{row_id}/declare", {"decision": "conflict", "reason": "Board member"}
    )
    board = client.get(f"/staff/panel/c/{world.competition}/").get_data(as_text=True)
    assert "reassign" in board and "Board member" in board
    preview = client.get(url).get_data(as_text=True)
    assert "1 new assignment(s) for 1 application(s)" in preview
    rs.post(client, url, {"submit": "Save", **_hidden(preview)}, token_from=url)
    with app.app_context():
        sig3 = db.session.scalars(
            db.select(ReviewerAssignment)
            .join(Application)
            .where(
                Application.ref == "SIG-003", ReviewerAssignment.status == AssignmentStatus.ASSIGNED
            )
        ).all()
        assert len(sig3) == 2 and conflicted not in {a.reviewer_id for a in sig3}
        assert db.session.get(User, conflicted).active
    _check_district_rules(app)
