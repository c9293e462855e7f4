"""Progress board, reminders by mail, reopening, discrepancies (extra reviewer task, notes) and
reviewer statistics."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from scoring.core import reliability
from scoring.extensions import db
from scoring.models import (
    AssignmentStatus,
    AuditEvent,
    OutboxMessage,
    RankingResult,
    RankingRun,
    ReconciliationNote,
    Review,
    ReviewerAssignment,
    ReviewStatus,
    RunStatus,
)
from scoring.models._types import utcnow
from tests import review_support as rs


@pytest.fixture
def world(app, client):
    world = rs.build(app, applications=6)
    rs.login(client, world.emails["staff"])
    return world


@pytest.fixture
def mails(monkeypatch):
    from workers import tasks

    return rs.capture_delays(monkeypatch, tasks.send_mail)


def _events(app, action):
    with app.app_context():
        return db.session.scalars(
            db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
        ).all()


def test_the_board_shows_who_has_done_what(app, client, world):
    rs.submitted_review(app, world.apps["SIG-002"], world.users["r3"], [5, 2, 9])
    rs.assign(app, world.apps["SIG-003"], world.users["r3"], declared=True)
    rs.assign(app, world.apps["SIG-004"], world.users["r4"])
    page = client.get(f"/staff/panel/c/{world.competition}/").get_data(as_text=True)
    assert "1 of 12 reviews submitted · 3 assigned" in page
    r3 = re.search(r"Jordan Three</a>.*?</tr>", page, re.S).group(0)
    cells = re.findall(r'class="num">(?:<strong>)?(\d+)', r3)
    assert cells == [
        "2",
        "0",
        "1",
        "1",
        "1",
    ]  # assigned, to declare, drafts, submitted, still to do
    assert 'value="50"' in r3
    r4 = re.search(r"Casey Four</a>.*?</tr>", page, re.S).group(0)
    assert re.findall(r'class="num">(?:<strong>)?(\d+)', r4) == ["1", "1", "0", "0", "1"]
    assert "needs reviewers" in page


def test_reminders_go_to_everyone_behind_once_a_day(app, client, world, mails):
    rs.submitted_review(app, world.apps["SIG-002"], world.users["r3"], [5, 2, 9])  # r3: done
    rs.assign(app, world.apps["SIG-003"], world.users["r4"])  # r4: behind
    rs.assign(app, world.apps["SIG-004"], world.users["r2"], declared=True)  # r2: behind (draft)
    url = f"/staff/panel/c/{world.competition}/"
    response = rs.post(client, url + "remind", token_from=url)
    assert response.status_code == 302
    assert "Reminders sent to 2 reviewer(s)." in client.get(url).get_data(as_text=True)
    with app.app_context():
        messages = db.session.scalars(
            db.select(OutboxMessage).order_by(OutboxMessage.to_addr)
        ).all()
        assert [m.to_addr for m in messages] == ["r2@example.org", "r4@example.org"]
        assert "1 review(s) still to submit" in messages[1].body
        assert "waiting for your conflict-of-interest declaration" in messages[1].body
    assert sorted(c[0] for c in mails) == sorted(m.id for m in messages)
    rs.post(client, url + "remind", token_from=url)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 2
    assert len(_events(app, "reviews.remind")) == 2


def test_staff_reopen_a_submitted_review_with_a_reason(app, client, world, mails):
    review_id = rs.submitted_review(app, world.apps["SIG-001"], world.users["r3"], [5, 2, 9])
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-001']}"
    missing = rs.post(client, f"{url}/reviews/{review_id}/reopen", {"reason": "  "}, token_from=url)
    assert missing.status_code == 400 and "Say why the review is reopened." in missing.get_data(
        as_text=True
    )
    response = rs.post(
        client,
        f"{url}/reviews/{review_id}/reopen",
        {"reason": "Budget score looks mistyped"},
        token_from=url,
    )
    assert response.status_code == 302
    with app.app_context():
        review = db.session.get(Review, review_id)
        assert review.status == ReviewStatus.DRAFT and review.submitted_at is None
        message = db.session.scalar(db.select(OutboxMessage))
        assert message.to_addr == "r3@example.org" and "Budget score looks mistyped" in message.body
    event = _events(app, "review.reopen")[0]
    assert event.note == "Budget score looks mistyped"
    assert event.before["points"] == {"need.data": "5", "need.root": "2", "plan.main": "9"}
    assert mails == [(message.id,)]
    again = rs.post(
        client, f"{url}/reviews/{review_id}/reopen", {"reason": "again"}, token_from=url
    )
    assert again.status_code == 409
    reviewer = app.test_client()
    rs.login(reviewer, world.emails["r3"])
    with app.app_context():
        assignment = db.session.scalar(
            db.select(ReviewerAssignment.id).filter_by(reviewer_id=world.users["r3"])
        )
    page = reviewer.get(f"/review/a/{assignment}").get_data(as_text=True)
    assert (
        "Check totals and submit" in page
        and rs.form_values(page)[f"points_{world.criteria[0]}"] == "5"
    )


def _run_with_flags(app, world, flagged_ref: str, scores: list[float]) -> int:
    with app.app_context():
        run = RankingRun(
            competition_id=world.competition,
            status=RunStatus.DONE,
            finished_at=utcnow() - timedelta(minutes=5),
        )
        db.session.add(run)
        db.session.flush()
        for position, (ref, app_id) in enumerate(sorted(world.apps.items())):
            flagged = ref == flagged_ref
            db.session.add(
                RankingResult(
                    run_id=run.id,
                    application_id=app_id,
                    position=position,
                    ref=ref,
                    school_code="s",
                    district_code="d",
                    tier=1,
                    reviews=len(scores) if flagged else 0,
                    review_scores=scores if flagged else [],
                    priority_points=Decimal(0),
                    flags=["discrepancy"] if flagged else [],
                    status="incomplete",
                    award=Decimal(0),
                )
            )
        db.session.commit()
        return run.id


def test_discrepancies_list_the_flagged_applications_and_an_extra_reviewer_is_added_by_the_task(
    app, client, world, monkeypatch, mails
):
    from workers import tasks

    rs.submitted_review(app, world.apps["SIG-003"], world.users["r3"], [10, 5, 15])
    rs.submitted_review(app, world.apps["SIG-003"], world.users["r4"], [2, 1, 3])
    run_id = _run_with_flags(app, world, "SIG-003", [100.0, 20.0])
    url = f"/staff/panel/c/{world.competition}/discrepancies"
    page = client.get(url).get_data(as_text=True)
    assert f"From ranking run {run_id}" in page and "SIG-003" in page and "80.00" in page
    assert "SIG-001" not in page and "nothing yet" in page
    extra = rs.capture_delays(monkeypatch, tasks.assign_extra_reviewer)
    aid = world.apps["SIG-003"]
    response = rs.post(
        client,
        f"/staff/panel/c/{world.competition}/a/{aid}/extra",
        {"back": "discrepancies"},
        token_from=url,
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/discrepancies")
    assert extra == [(aid, 3, world.users["staff"])]
    tasks.assign_extra_reviewer(*extra[0])  # the task itself, in-process, after the commit
    tasks.assign_extra_reviewer(*extra[0])  # a redelivery adds nobody
    with app.app_context():
        rows = db.session.scalars(
            db.select(ReviewerAssignment).filter_by(
                application_id=aid, status=AssignmentStatus.ASSIGNED
            )
        ).all()
        added = [r for r in rows if r.reviewer_id not in (world.users["r3"], world.users["r4"])]
        assert len(rows) == 3 and len(added) == 1
        # SIG-003 is in New Haven (093): r1 (Bridgeport) and r2 (conflict with Hartford) may both
        # take it; both have load 0, so the lower id is picked.
        assert added[0].reviewer_id == world.users["r1"]
        assert (
            db.session.scalar(
                db.select(AuditEvent).filter_by(action="assignment.create", entity_id=added[0].id)
            ).after["method"]
            == "discrepancy"
        )
    page = client.get(url).get_data(as_text=True)
    assert "Extra reviewer asked for" in page and "+1 since the run" in page
    assert len(mails) == 1  # the new reviewer's notification


def test_no_eligible_reviewer_for_the_extra_reviewer_is_recorded(app, client, world):
    from workers import tasks

    for who in ("r1", "r2", "r3", "r4"):
        rs.assign(app, world.apps["SIG-003"], world.users[who])
    _run_with_flags(app, world, "SIG-003", [90.0, 10.0])
    tasks.assign_extra_reviewer(world.apps["SIG-003"], 5, world.users["staff"])
    page = client.get(f"/staff/panel/c/{world.competition}/discrepancies").get_data(as_text=True)
    assert "No eligible reviewer found" in page


def test_a_reconciliation_note_is_kept_with_the_result(app, client, world):
    run_id = _run_with_flags(app, world, "SIG-003", [100.0, 20.0])
    aid = world.apps["SIG-003"]
    url = f"/staff/panel/c/{world.competition}/a/{aid}"
    empty = rs.post(client, url + "/notes", {"note": "   "}, token_from=url)
    assert empty.status_code == 400 and "Write what was decided and why." in empty.get_data(
        as_text=True
    )
    too_long = rs.post(client, url + "/notes", {"note": "x" * 5001}, token_from=url)
    assert too_long.status_code == 400
    response = rs.post(
        client,
        url + "/notes",
        {"note": "Panel met; reviewer 2 misread the budget."},
        token_from=url,
    )
    assert response.status_code == 302
    with app.app_context():
        note = db.session.scalar(db.select(ReconciliationNote))
        assert note.run_id == run_id and note.author_id == world.users["staff"]
    assert (
        _events(app, "reconciliation.note")[0].note == "Panel met; reviewer 2 misread the budget."
    )
    assert "reviewer 2 misread the budget" in client.get(url).get_data(as_text=True)
    assert "reviewer 2 misread the budget" in client.get(
        f"/staff/panel/c/{world.competition}/discrepancies"
    ).get_data(as_text=True)


def test_the_statistics_page_shows_leniency_and_reliability_as_tables_and_charts(
    app, client, world
):
    # r3 scores high, r4 low, r1 in between, on shared applications (SIG-002, 003, 005, 006 are
    # not Bridgeport).
    plan = {
        "SIG-002": {"r3": [9, 4, 14], "r4": [4, 2, 6], "r1": [7, 3, 10]},
        "SIG-003": {"r3": [8, 4.5, 13], "r4": [3, 1, 5]},
        "SIG-005": {"r3": [10, 5, 15], "r1": [8, 3.5, 11]},
        "SIG-006": {"r4": [2, 1, 4], "r1": [5, 2.5, 8]},
    }
    for ref, by in plan.items():
        for who, points in by.items():
            rs.submitted_review(app, world.apps[ref], world.users[who], points)
    page = client.get(f"/staff/panel/c/{world.competition}/stats").get_data(as_text=True)
    assert "From 9 counted review(s)" in page
    assert (
        page.count("<svg") == 4
        and "Reviewer leniency" in page
        and "Krippendorff" in page
        and "ICC(1)" in page
    )
    triples = [(who, ref, 100 * sum(p) / 30) for ref, by in plan.items() for who, p in by.items()]
    units = list(reliability.units_from(triples).values())
    assert f"{reliability.krippendorff_alpha_interval(units):.3f}" in page
    assert f"{reliability.icc1(units):.3f}" in page
    lenient = reliability.leniency(triples)
    r3_row = re.search(r"Jordan Three</a>.*?</tr>", page, re.S).group(0)
    assert f"{lenient['r3'].offset:+.1f}" in r3_row and "lenient" in r3_row
    assert "strict" in re.search(r"Casey Four</a>.*?</tr>", page, re.S).group(0)
    assert "<script" not in page


def test_one_leniency_reading_on_the_statistics_page_and_the_panel_board(app, client, world):
    # r3 and r4 share three applications (r3 higher each time); r1 has one review only.
    plan = {
        "SIG-002": {"r3": [9, 4, 14], "r4": [4, 2, 6], "r1": [10, 5, 15]},
        "SIG-003": {"r3": [8, 4.5, 13], "r4": [3, 1, 5]},
        "SIG-005": {"r3": [10, 5, 15], "r4": [6, 3, 9]},
    }
    for ref, by in plan.items():
        for who, points in by.items():
            rs.submitted_review(app, world.apps[ref], world.users[who], points)
    triples = [(who, ref, 100 * sum(p) / 30) for ref, by in plan.items() for who, p in by.items()]
    lenient = reliability.leniency(triples)
    stats = client.get(f"/staff/panel/c/{world.competition}/stats").get_data(as_text=True)
    board = client.get(f"/staff/panel/c/{world.competition}/").get_data(as_text=True)
    for page in (stats, board):
        r1 = re.search(r"Riley One</a>.*?</tr>", page, re.S).group(0)
        assert "too few reviews to judge" in r1 and "lenient" not in r1
        r3 = re.search(r"Jordan Three</a>.*?</tr>", page, re.S).group(0)
        assert f"{lenient['r3'].offset:+.1f}" in r3 and "lenient" in r3
        r4 = re.search(r"Casey Four</a>.*?</tr>", page, re.S).group(0)
        assert f"{lenient['r4'].offset:+.1f}" in r4 and "strict" in r4
    # the chart draws r3 right of the panel line, r4 left, and words for r1
    assert f'data-offset="{lenient["r3"].offset:+.1f}"' in stats
    assert f'data-offset="{lenient["r4"].offset:+.1f}"' in stats
    assert stats.count('class="mark"') == 4  # two reviewers, wide and narrow drawings


def test_statistics_with_nothing_submitted(client, world):
    page = client.get(f"/staff/panel/c/{world.competition}/stats")
    assert page.status_code == 200 and "No review has been submitted yet." in page.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "path, data, message",
    [
        ("reopen", {"reason": "x" * 501}, "Field cannot be longer than 500 characters."),
        ("notes", {"note": "x" * 5001}, "Field cannot be longer than 5000 characters."),
        ("assign", {"reviewer": "-1"}, "Choose a reviewer from the list."),
        ("assign", {"reviewer": "1" * 40}, "Choose a reviewer from the list."),
    ],
)
def test_bad_input_on_the_application_page_is_shown_beside_the_field(
    app, client, world, path, data, message
):
    review_id = rs.submitted_review(app, world.apps["SIG-002"], world.users["r3"], [5, 2, 9])
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-002']}"
    target = f"{url}/reviews/{review_id}/reopen" if path == "reopen" else f"{url}/{path}"
    before = len(_events(app, "review.reopen")) + len(_events(app, "reconciliation.note"))
    response = rs.post(client, target, data, token_from=url)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert len(_events(app, "review.reopen")) + len(_events(app, "reconciliation.note")) == before
    with app.app_context():
        assert db.session.get(Review, review_id).status == ReviewStatus.SUBMITTED


def test_a_tampered_extra_reviewer_form_is_refused(app, client, world, monkeypatch):
    from workers import tasks

    calls = rs.capture_delays(monkeypatch, tasks.assign_extra_reviewer)
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-002']}"
    assert (
        rs.post(
            client, url + "/extra", {"back": "https://evil.example"}, token_from=url
        ).status_code
        == 400
    )
    assert calls == [] and _events(app, "assignment.extra_requested") == []


def test_the_reconciliation_partial_renders_for_an_explained_result(app, client, world):
    from flask import render_template

    run_id = _run_with_flags(app, world, "SIG-003", [100.0, 20.0])
    url = f"/staff/panel/c/{world.competition}/a/{world.apps['SIG-003']}"
    rs.post(
        client, url + "/notes", {"note": "Third reader agreed with reviewer 1."}, token_from=url
    )
    with app.test_request_context(), app.app_context():
        result = db.session.scalar(db.select(RankingResult).filter_by(run_id=run_id, ref="SIG-003"))
        html = render_template("staff/panel/_reconciliation.html", result=result)
    assert "Third reader agreed with reviewer 1." in html and f"about ranking run {run_id}" in html
