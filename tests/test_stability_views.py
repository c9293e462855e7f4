"""Rank stability where decisions are made: the board column and toss-ups, the explanation's
interval and "one more review", the what-if, and the one-step extra reviewers for toss-ups.

Data: tests/fixtures/small_bundle.json (see tests/test_staff_board.py for its ranking by hand).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import AuditEvent, RankingRun
from scoring.services.ranking import stability
from tests.staff_world import PREPARER, build, login, post, text_of


@pytest.fixture
def world(app):
    return build(app)


@pytest.fixture
def staff(app, world):
    return login(app, PREPARER)


def latest_run_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(RankingRun.id).order_by(RankingRun.id.desc()))


def with_stability(app) -> tuple[int, dict]:
    from workers.tasks import rank_stability

    run_id = latest_run_id(app)
    rank_stability(run_id)  # the task body, in this process
    with app.app_context():
        return run_id, stability.stability_records(db.session.get(RankingRun, run_id))


def test_board_says_while_it_is_computed_then_shows_the_column(app, staff, world):
    board = f"/staff/competitions/{world.competition_id}/board"
    assert "The stability of this run is being computed" in text_of(staff.get(board))
    run_id, figures = with_stability(app)
    html = staff.get(board).get_data(as_text=True)
    assert "Funded in resamples" in html
    cells = dict(
        re.findall(r'>([A-Z]-\d{3})</a>.*?data-label="Funded in resamples">(.*?)</td>', html, re.S)
    )
    assert len(cells) == 8
    for ref, f in figures.items():
        if f["rank_interval"] is None:
            assert cells[ref] == "—", ref
        else:
            assert cells[ref].startswith(f"{round(f['p_funded'] * 100)}%"), ref
            assert ("toss-up" in cells[ref]) == f["toss_up"], ref
    tossups = sum(f["toss_up"] for f in figures.values())
    assert f"{tossups} toss-up application(s)" in text_of(html)


def test_explanation_shows_the_interval_and_one_more_review(app, staff, world):
    run_id, figures = with_stability(app)
    f = figures["T-002"]
    page = text_of(staff.get(f"/staff/runs/{run_id}/applications/T-002"))
    lo, hi = f["rank_interval"]
    assert f"rank it between {lo} and {hi}" in page
    assert f"Funded in {round(f['p_funded'] * 100, 1)}%" in page
    assert "One more review" in page and "lowest funded final score of" in page
    # an incomplete application has no interval
    assert "How sure is this decision?" not in text_of(
        staff.get(f"/staff/runs/{run_id}/applications/T-005")
    )


def test_one_step_extra_reviewer_for_every_toss_up_asks_once(app, staff, world):
    run_id, figures = with_stability(app)
    tossups = sorted(ref for ref, f in figures.items() if f["toss_up"])
    response = post(staff, f"/staff/runs/{run_id}/stability/extra-reviewers")
    assert response.status_code == 302
    again = post(staff, f"/staff/runs/{run_id}/stability/extra-reviewers", follow_redirects=True)
    assert "Finding one more reviewer for 0 toss-up application(s)" in text_of(again)
    with app.app_context():
        asked = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assignment.extra_requested")
        ).all()
        assert sorted(e.after["application"] for e in asked) == tossups
        assert all(e.after["run_id"] == run_id for e in asked)
        summary = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ranking.stability_extra_reviewers")
        ).all()
        assert [e.after for e in summary] == [
            {"toss_ups": len(tossups), "requested": len(tossups)},
            {"toss_ups": len(tossups), "requested": 0},
        ]
    # no CSRF token: refused, nothing asked
    assert staff.post(f"/staff/runs/{run_id}/stability/extra-reviewers").status_code == 400


def test_before_the_stability_is_done_the_action_says_so(app, staff, world):
    run_id = latest_run_id(app)
    page = post(staff, f"/staff/runs/{run_id}/stability/extra-reviewers", follow_redirects=True)
    assert "The stability of this run is not computed yet." in text_of(page)


def test_what_if_shows_the_stability_of_the_new_set(app, staff, world):
    page = text_of(
        staff.get(f"/staff/competitions/{world.competition_id}/what-if?total_funds=600000")
    )
    assert "Funded in resamples" in page
    assert re.search(r"\d+ toss-up\(s\), i.e. funded in 20–80% of 200 resamples", page)
