"""The reviewer's side: conflict gate, the rubric form, drafts, submit, lock, 409, blind review."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.extensions import db
from scoring.models import (
    Application,
    AssignmentStatus,
    AuditEvent,
    Competition,
    CriterionScore,
    Review,
    ReviewerAssignment,
    ReviewStatus,
)
from tests import review_support as rs


@pytest.fixture
def world(app):
    return rs.build(app)


@pytest.fixture
def r3(app, client, world):
    """Reviewer r3 signed in, assigned to SIG-001 (a Bridgeport application)."""
    rs.login(client, world.emails["r3"])
    return rs.assign(app, world.apps["SIG-001"], world.users["r3"])


def _review(app, world, who="r3", ref="SIG-001"):
    with app.app_context():
        review = db.session.scalar(
            db.select(Review).filter_by(
                application_id=world.apps[ref], reviewer_id=world.users[who]
            )
        )
        if review is None:
            return None
        return {
            "status": review.status.value,
            "version": review.version,
            "overall": review.overall_comment,
            "scores": {s.criterion_id: (s.points, s.comment) for s in review.scores},
        }


def _actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def _declare_none(client, assignment_id):
    url = f"/review/a/{assignment_id}/declare"
    return rs.post(client, url, {"decision": "none", "reason": ""})


def test_content_is_hidden_until_no_conflict_is_declared(client, world, r3):
    home = client.get("/review/").get_data(as_text=True)
    assert "SIG-001" in home and "Declare and open" in home
    assert "Turnaround plan 1" not in home  # the title is content too
    response = client.get(f"/review/a/{r3}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/review/a/{r3}/declare"
    )
    gate = client.get(f"/review/a/{r3}/declare").get_data(as_text=True)
    assert "Bridgeport Test Academy" in gate  # identity, so the reviewer can judge a conflict
    assert "NEED-NARRATIVE-1" not in gate and "Use of data" not in gate


def test_declaring_no_conflict_opens_the_form_built_from_the_rubric(app, client, world, r3):
    response = _declare_none(client, r3)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/review/a/{r3}")
    page = client.get(f"/review/a/{r3}").get_data(as_text=True)
    for text in [
        "Needs analysis",
        "Use of data",
        "Root causes",
        "Plan quality",
        "NEED-NARRATIVE-1",
        "PLAN-NARRATIVE-1",
        "Exemplary",
        "Compelling, specific evidence.",
        "0 to 10 points, in steps of 1",
        "0 to 5 points, in steps of 0.5",
        "Save draft",
        "Check totals and submit",
        "Overall comment",
    ]:
        assert text in page, text
    for cid in world.criteria:
        assert f'name="points_{cid}"' in page and f'name="comment_{cid}"' in page
    assert _actions(app)[-1] == "assignment.declare_no_conflict"
    assert _review(app, world)["status"] == "draft"


def test_declaring_a_conflict_removes_the_assignment_and_staff_see_reassign(app, client, world, r3):
    assert (
        rs.post(
            client, f"/review/a/{r3}/declare", {"decision": "conflict", "reason": ""}
        ).status_code
        == 400
    )
    response = rs.post(
        client,
        f"/review/a/{r3}/declare",
        {"decision": "conflict", "reason": "My sister teaches there"},
    )
    assert response.status_code == 302
    with app.app_context():
        a = db.session.get(ReviewerAssignment, r3)
        assert (
            a.status == AssignmentStatus.CONFLICT and a.conflict_reason == "My sister teaches there"
        )
        event = db.session.scalar(
            db.select(AuditEvent).filter_by(action="assignment.declare_conflict")
        )
        assert event.entity_id == r3 and event.note == "My sister teaches there"
    assert "staff will reassign it" in client.get("/review/").get_data(as_text=True)  # the flash
    assert "SIG-001" not in client.get("/review/").get_data(as_text=True)
    assert client.get(f"/review/a/{r3}").status_code == 404
    staff = app.test_client()
    rs.login(staff, world.emails["staff"])
    board = staff.get(f"/staff/panel/c/{world.competition}/").get_data(as_text=True)
    assert (
        "Reassign: a reviewer declared a conflict" in board and "My sister teaches there" in board
    )


def test_a_draft_keeps_partial_points_and_comments(app, client, world, r3):
    _declare_none(client, r3)
    v = _review(app, world)["version"]
    data = rs.score_form(
        world, [7, None, None], ["", "Root causes unclear", ""], version=v, overall="So far good"
    )
    response = rs.post(client, f"/review/a/{r3}", data)
    assert response.status_code == 302
    saved = _review(app, world)
    assert (
        saved["status"] == "draft"
        and saved["version"] == v + 1
        and saved["overall"] == "So far good"
    )
    assert saved["scores"] == {
        world.criteria[0]: (Decimal("7.0000"), None),
        world.criteria[1]: (None, "Root causes unclear"),
    }
    values = rs.form_values(client.get(f"/review/a/{r3}").get_data(as_text=True))
    assert values[f"points_{world.criteria[0]}"] == "7" and values["version"] == str(v + 1)


def test_submit_needs_every_criterion_and_saves_nothing_otherwise(app, client, world, r3):
    _declare_none(client, r3)
    v = _review(app, world)["version"]
    before = _review(app, world)
    response = rs.post(
        client, f"/review/a/{r3}", rs.score_form(world, [7, 3.5, None], version=v, action="submit")
    )
    assert response.status_code == 400
    assert "Enter points for this criterion to submit" in response.get_data(as_text=True)
    assert _review(app, world) == before


def test_submit_locks_the_review_freezes_the_rubric_and_is_audited(app, client, world, r3):
    _declare_none(client, r3)
    v = _review(app, world)["version"]
    response = rs.post(
        client, f"/review/a/{r3}", rs.score_form(world, [8, 2.5, 12], version=v, action="submit")
    )
    assert response.status_code == 302
    saved = _review(app, world)
    assert saved["status"] == "submitted"
    with app.app_context():
        assert db.session.get(Competition, world.competition).rubric_frozen_at is not None
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="review.submit"))
        # (8 + 2.5) / 15 of "need" and 12 / 15 of "plan", plain points: 100 × 22.5 / 30 = 75.
        assert event.after["score"] == 75.0
        assert event.after["points"] == {"need.data": "8", "need.root": "2.5", "plan.main": "12"}
    assert _actions(app)[-2:] == ["rubric.freeze", "review.submit"]
    page = client.get(f"/review/a/{r3}").get_data(as_text=True)
    assert "Submitted" in page and "75.00" in page and 'name="points_' not in page
    again = rs.post(
        client,
        f"/review/a/{r3}",
        rs.score_form(world, [1, 1, 1], version=saved["version"]),
        token_from="/review/",
    )
    assert again.status_code == 409 and "locked" in again.get_data(as_text=True)
    assert _review(app, world) == saved


BAD = [
    (0, "abc", "Enter a number, for example 7 or 7.5."),
    (0, "NaN", "Enter a number, for example 7 or 7.5."),
    (0, "Infinity", "Enter a number, for example 7 or 7.5."),
    (0, "-1", "Enter a number from 0 to 10."),
    (0, "11", "Enter a number from 0 to 10."),
    (0, "1e999999", "Enter a number from 0 to 10."),
    (0, "9" * 400, "Enter a number from 0 to 10."),
    (0, "2.5", "Use steps of 1 point(s)"),
    (1, "0.25", "Use steps of 0.5 point(s)"),
    (1, "5.5", "Enter a number from 0 to 5."),
    (2, "7,5", "Enter a number, for example 7 or 7.5."),
    (2, "<script>", "Enter a number, for example 7 or 7.5."),
]


@pytest.mark.parametrize("action", ["save", "submit"])
@pytest.mark.parametrize("index, value, message", BAD)
def test_bad_points_never_500_and_never_half_save(
    app, client, world, r3, action, index, value, message
):
    _declare_none(client, r3)
    before = _review(app, world)
    points = [5, 2, 9]
    points[index] = value
    response = rs.post(
        client,
        f"/review/a/{r3}",
        rs.score_form(
            world,
            points,
            ["kept?", "kept?", "kept?"],
            version=before["version"],
            action=action,
            overall="x",
        ),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body and "Nothing was saved" in body
    assert _review(app, world) == before


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("comment", "x" * 5001, "Field cannot be longer than 5000 characters."),
        ("overall_comment", "x" * 10001, "Field cannot be longer than 10000 characters."),
        ("version", "abc", "This page was out of date"),
        ("version", "", "This page was out of date"),
    ],
)
def test_bad_comments_and_version_never_500(app, client, world, r3, field, value, message):
    _declare_none(client, r3)
    before = _review(app, world)
    data = rs.score_form(world, [5, 2, 9], version=before["version"])
    data[f"comment_{world.criteria[0]}" if field == "comment" else field] = value
    response = rs.post(client, f"/review/a/{r3}", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _review(app, world) == before


def test_extra_fields_are_ignored(app, client, world, r3):
    _declare_none(client, r3)
    v = _review(app, world)["version"]
    data = rs.score_form(world, [5, 2, 9], version=v)
    data.update(status="submitted", reviewer_id=str(world.users["r1"]), points_999999="3")
    assert rs.post(client, f"/review/a/{r3}", data).status_code == 302
    saved = _review(app, world)
    assert saved["status"] == "draft" and len(saved["scores"]) == 3


def test_a_stale_page_gets_409_with_the_saved_values_and_its_own_entries(app, client, world, r3):
    _declare_none(client, r3)
    v = _review(app, world)["version"]
    token = rs.token(client, f"/review/a/{r3}")  # a second tab has the page open at version v
    ok = rs.post(
        client,
        f"/review/a/{r3}",
        rs.score_form(world, [9, 4, 14], ["first tab", "", ""], version=v),
    )
    assert ok.status_code == 302
    data = rs.score_form(world, [1, 1, 1], ["second tab", "", ""], version=v)
    stale = client.post(f"/review/a/{r3}", data={**data, "csrf_token": token})
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "changed since you opened it" in body
    values = rs.form_values(body)
    assert values[f"points_{world.criteria[0]}"] == "9" and values["version"] == str(v + 1)
    assert "You typed: 1" in body and "You typed: second tab" in body and "first tab" in body
    saved = _review(app, world)
    assert saved["version"] == v + 1 and saved["scores"][world.criteria[0]] == (
        Decimal("9.0000"),
        "first tab",
    )


def _identity_texts(client, assignment_id):
    pages = [
        client.get("/review/").get_data(as_text=True),
        client.get(f"/review/a/{assignment_id}/declare").get_data(as_text=True),
    ]
    _declare_none(client, assignment_id)
    pages.append(client.get(f"/review/a/{assignment_id}").get_data(as_text=True))
    return pages


def _attachment(app, application_id, filename="plan.pdf"):
    from scoring.models import Attachment
    from tests.apply_helpers import minimal_pdf

    with app.app_context():
        folder = app.config["UPLOAD_DIR"]
        folder.mkdir(parents=True, exist_ok=True)
        data = minimal_pdf()  # a real PDF: blind review strips its metadata when it is sent
        (folder / "f").write_bytes(data)
        row = Attachment(
            application_id=application_id,
            stored_name="f",
            filename=filename,
            size=len(data),
            sha256="0" * 64,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_blind_review_hides_school_and_district_everywhere(app, client):
    world = rs.build(app, blind=True)
    rs.login(client, world.emails["r3"])
    assignment_id = rs.assign(app, world.apps["SIG-001"], world.users["r3"])
    file_id = _attachment(app, world.apps["SIG-001"], "Bridgeport Test Academy plan.pdf")
    for page in _identity_texts(client, assignment_id):
        assert "Bridgeport" not in page and "Test Academy" not in page
        assert "hidden (blind review)" in page
    download = client.get(f"/review/a/{assignment_id}/files/{file_id}")
    assert (
        download.status_code == 200 and "Bridgeport" not in download.headers["Content-Disposition"]
    )


def test_without_blind_review_the_school_is_shown(app, client, world, r3):
    for page in _identity_texts(client, r3):
        assert "Bridgeport Test Academy" in page


def test_a_reviewer_never_sees_another_reviewers_scores(app, client, world, r3):
    rs.submitted_review(
        app, world.apps["SIG-001"], world.users["r4"], [3, 1.5, 4], comment="R4-SECRET-COMMENT"
    )
    _declare_none(client, r3)
    for url in ["/review/", f"/review/a/{r3}", f"/review/a/{r3}/declare"]:
        page = client.get(url).get_data(as_text=True)
        assert "R4-SECRET-COMMENT" not in page and "Casey Four" not in page


def test_attachments_open_only_after_the_declaration(app, client, world, r3):
    attachment_id = _attachment(app, world.apps["SIG-001"])
    url = f"/review/a/{r3}/files/{attachment_id}"
    assert client.get(url).status_code == 404
    _declare_none(client, r3)
    response = client.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "plan.pdf" in response.headers["Content-Disposition"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get(f"/review/a/{r3}/files/{attachment_id + 1}").status_code == 404


@pytest.mark.parametrize(
    "data, message",
    [
        ({"decision": "maybe"}, "Not a valid choice."),
        ({}, "Choose one of the two statements."),
        (
            {"decision": "conflict", "reason": "x" * 501},
            "Field cannot be longer than 500 characters.",
        ),
        ({"decision": "conflict", "reason": "   "}, "Say briefly what the conflict is"),
    ],
)
def test_bad_declarations_are_refused_beside_the_field(app, client, world, r3, data, message):
    before = _actions(app)
    response = rs.post(client, f"/review/a/{r3}/declare", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _actions(app) == before
    with app.app_context():
        assert db.session.get(ReviewerAssignment, r3).status == AssignmentStatus.ASSIGNED


def test_a_conflict_can_still_be_declared_after_opening_but_not_after_submitting(
    app, client, world, r3
):
    _declare_none(client, r3)
    gate = client.get(f"/review/a/{r3}/declare").get_data(as_text=True)
    assert "I have a conflict of interest" in gate and "I have no conflict of interest" not in gate
    v = _review(app, world)["version"]
    rs.post(
        client, f"/review/a/{r3}", rs.score_form(world, [8, 2.5, 12], version=v, action="submit")
    )
    response = rs.post(
        client,
        f"/review/a/{r3}/declare",
        {"decision": "conflict", "reason": "late"},
        token_from="/review/",
    )
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(ReviewerAssignment, r3).status == AssignmentStatus.ASSIGNED


def test_a_withdrawn_application_cannot_be_scored(app, client, world, r3):
    from scoring.models import ApplicationStatus

    _declare_none(client, r3)
    v = _review(app, world)["version"]
    token = rs.token(client, f"/review/a/{r3}")
    with app.app_context():
        db.session.get(Application, world.apps["SIG-001"]).status = ApplicationStatus.WITHDRAWN
        db.session.commit()
    response = client.post(
        f"/review/a/{r3}", data={**rs.score_form(world, [1, 1, 1], version=v), "csrf_token": token}
    )
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CriterionScore)) == 0
    assert ReviewStatus.DRAFT.value == _review(app, world)["status"]
